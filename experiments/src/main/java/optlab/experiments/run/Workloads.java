package optlab.experiments.run;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.experiments.run.Workload.Data;
import optlab.nn.models.AllCnnC;
import optlab.nn.models.CharLstm;
import optlab.nn.models.CifarResNet;
import optlab.nn.models.DenseNetBC;
import optlab.nn.models.ResNet50;
import optlab.nn.models.SimpleCnn;
import optlab.nn.models.Vgg11;

/**
 * The registry of the papers' workloads ({@code bin/optlab workloads} prints it). Each entry's defaults say where
 * they came from (docs/WORKLOADS.md has the table and the reasoning):
 * <ul>
 *   <li>[Z-code] Zhuang et al.'s released code, github.com/zhenxun-zhuang/AdamW-Scale-free (src/load_args.py,
 *       src/data_loader.py, src/train.py, README.md's commands; read 2026-12-06);</li>
 *   <li>[D-config] DeepOBS's {@code DEFAULT_TEST_PROBLEMS_SETTINGS} (deepobs/config.py: batch size and epochs per test
 *       problem) and its test problems (deepobs/tensorflow/testproblems/*.py), github.com/fsschneider/DeepOBS;</li>
 *   <li>[Choi] Choi et al. (2019); their exact batch sizes, budgets and search spaces (Table 2, Appendix D) could
 *       not be read here, so the Choi workloads take DeepOBS's settings where DeepOBS has the problem, and are marked
 *       UNVERIFIED otherwise;</li>
 *   <li>[OptLab] a choice of ours, with its reason.</li>
 * </ul>
 */
public final class Workloads {
    private Workloads() {}

    private static final Map<String, Workload> ALL = new LinkedHashMap<>();

    /** Zhuang et al.'s CIFAR protocol: batch 128, 300 epochs, eval every epoch, crop + flip, no validation split. */
    private static RunConfig zhuang(double lr, double weightDecay) {
        return RunConfig.fromMap(ordered(
                "batch_size", 128, "epochs", 300, "eval_every_epochs", 1, "augment", true, "drop_last", false, "valid_fraction", 0.0,
                "optimizer", "zhuang.adamw", "lr", lr, "weight_decay", weightDecay));
    }

    private static Map<String, String> zhuangSources(String model) {
        return Map.of(
                "model", model,
                "batch_size", "[Z-code] README: --batchsize 128 in every command",
                "epochs", "[Z-code] README: --train-epochs 300",
                "eval_every_epochs", "[Z-code] README: --eval-interval 1",
                "augment", "[Z-code] data_loader.py: RandomHorizontalFlip, RandomCrop(32, padding=4), ToTensor, Normalize",
                "drop_last", "[Z-code] data_loader.py: PyTorch DataLoader's default drop_last=False",
                "valid_fraction", "[Z-code] main.py evaluates on the test set unless --validation (val-ratio 0.1); set it for "
                        + "selection on validation",
                "optimizer", "[Z-code] README: the AdamW command for this family (decay lambda*eta_t, the paper's convention)");
    }

    static {
        add(new Workload("fmnist_2c2d", "Choi et al. (2019)", "Fashion-MNIST, DeepOBS's 2c2d CNN (3.3M parameters), classification",
                Data.FASHION_MNIST, (classes, init, dropout) -> new SimpleCnn(init),
                RunConfig.fromMap(ordered("batch_size", 128, "epochs", 100, "eval_every_epochs", 1, "augment", false, "drop_last", false,
                        "valid_fraction", 0.0, "optimizer", "choi.adam", "lr", 1e-3)),
                Map.of("model", "DeepOBS fmnist_2c2d (docs/MODELS.md)",
                        "batch_size", "[D-config] fmnist_2c2d: batch_size 128",
                        "epochs", "[D-config] fmnist_2c2d: num_epochs 100",
                        "augment", "[D-config] DeepOBS's Fashion-MNIST has no augmentation",
                        "drop_last", "[OptLab] keep the last partial batch, as the first training main did (its 88.47% after one "
                                + "epoch is reproduced bit for bit); DeepOBS drops it: set drop_last true",
                        "valid_fraction", "[OptLab] 0, as the first main; Choi et al. select on validation: sweeps set it (DeepOBS "
                                + "1.2 holds out 10,000 images, valid_fraction 0.1667)",
                        "optimizer", "[OptLab] choi.adam at 1e-3 (TensorFlow 1's defaults); Choi et al. tune every optimizer"),
                null));

        for (int depth : CifarResNet.DEPTHS) {
            for (boolean bn : new boolean[] {true, false}) {
                String name = "cifar10_resnet" + depth + (bn ? "" : "_nobn");
                // [Z-code] README: ResNet-110 with BN uses eta0 0.005 and weight decay 0; the no-BN commands 1e-3 and 5e-5
                RunConfig d = depth == 110 && bn ? zhuang(5e-3, 0) : zhuang(1e-3, 5e-5);
                boolean choi = depth == 32 && bn;
                add(new Workload(name, choi ? "Choi et al. (2019); Zhuang et al. (2022) family" : "Zhuang et al. (2022)",
                        "CIFAR-10, ResNet-" + depth + (bn ? " with batch norm" : " without batch norm") + ", classification",
                        Data.CIFAR10, (classes, init, dropout) -> new CifarResNet(depth, bn, classes, init), d,
                        zhuangSources("CIFAR ResNet-" + depth + " of Zhuang's resnet.py, option-A shortcuts" + (bn ? "" : ", BN removed")),
                        choi ? "Choi et al.'s ResNet-32 setup (batch size, steps, their augmentation) is UNVERIFIED: Zhuang's CIFAR "
                                + "protocol is used" : null));
            }
        }

        // Zhuang et al.'s architectures on the one image data set this machine has: an adaptation of ours, for the
        // reduced reproductions (docs/WORKLOADS.md). The 28x28 grey images enter the stem conv as 1 channel; the
        // stride-2 stages make 14x14 and 7x7 maps before the global pool.
        for (int depth : new int[] {20, 56}) {
            for (boolean bn : new boolean[] {true, false}) {
                String name = "fmnist_resnet" + depth + (bn ? "" : "_nobn");
                RunConfig d = RunConfig.fromMap(ordered("batch_size", 128, "epochs", 300, "eval_every_epochs", 1, "augment", false,
                        "drop_last", false, "valid_fraction", 0.0, "optimizer", "zhuang.adamw", "lr", 1e-3, "weight_decay", 5e-5));
                Map<String, String> src = new java.util.HashMap<>(zhuangSources("CIFAR ResNet-" + depth + " of Zhuang's resnet.py with a "
                        + "1-channel stem" + (bn ? "" : ", BN removed")));
                src.put("augment", "[OptLab] none: Fashion-MNIST has no augmentation in DeepOBS, and Zhuang's crop and flip are for CIFAR");
                add(new Workload(name, "Zhuang et al. (2022) protocol, OptLab's adaptation to Fashion-MNIST",
                        "Fashion-MNIST, ResNet-" + depth + (bn ? " with batch norm" : " without batch norm") + " (1-channel stem), classification",
                        Data.FASHION_MNIST, (classes, init, dropout) -> new CifarResNet(depth, bn, classes, 1, init), d, src,
                        "not a workload of the paper: Zhuang et al.'s CIFAR protocol and networks on the real data this machine has"));
            }
        }

        for (boolean bn : new boolean[] {true, false}) {
            String name = "cifar100_densenet_bc100" + (bn ? "" : "_nobn");
            RunConfig d = bn ? zhuang(5e-3, 0) : zhuang(1e-3, 5e-5);
            add(new Workload(name, "Zhuang et al. (2022)", "CIFAR-100, DenseNet-BC-100 (k = 12)" + (bn ? " with batch norm" : " without batch norm"),
                    Data.CIFAR100, (classes, init, dropout) -> new DenseNetBC(100, 12, bn, classes, init), d,
                    zhuangSources("DenseNet-BC-100, k = 12, of Zhuang's densenet.py" + (bn ? "" : ", BN removed")), null));
        }

        add(new Workload("cifar100_allcnnc", "Choi et al. (2019)", "CIFAR-100, DeepOBS's All-CNN-C (1.4M parameters), classification",
                Data.CIFAR100, (classes, init, dropout) -> new AllCnnC(classes, init, dropout),
                RunConfig.fromMap(ordered("batch_size", 256, "epochs", 350, "eval_every_epochs", 1, "augment", true, "drop_last", true,
                        "valid_fraction", 0.0, "l2_regularization", 5e-4, "optimizer", "choi.adam", "lr", 1e-3)),
                Map.of("model", "DeepOBS cifar100_allcnnc (docs/MODELS.md)",
                        "batch_size", "[D-config] cifar100_allcnnc: batch_size 256",
                        "epochs", "[D-config] cifar100_allcnnc: num_epochs 350",
                        "l2_regularization", "[DeepOBS] cifar100_allcnnc.py: weight_decay 5e-4 on the weights, not the biases",
                        "drop_last", "[DeepOBS] datasets/cifar100.py: batch(drop_remainder=True)",
                        "augment", "[OptLab] Zhuang's crop + flip + per-channel normalization (see notes)",
                        "optimizer", "[OptLab] choi.adam at 1e-3; Choi et al. tune every optimizer"),
                "DeepOBS augments CIFAR-100 also with random brightness, saturation and contrast and standardizes each image; "
                        + "OptLab uses Zhuang et al.'s crop + flip + per-channel normalization for every CIFAR workload"));

        add(new Workload("cifar10_vgg11", "Choi et al. (2019)", "CIFAR-10, VGG-11 with batch norm, classification",
                Data.CIFAR10, (classes, init, dropout) -> new Vgg11(true, classes, init),
                RunConfig.fromMap(ordered("batch_size", 128, "epochs", 100, "eval_every_epochs", 1, "augment", true, "drop_last", true,
                        "valid_fraction", 0.0, "optimizer", "choi.adam", "lr", 1e-3)),
                Map.of("model", "torchvision vgg11_bn features + one linear head (docs/MODELS.md: Choi et al.'s head NOT CHECKABLE)",
                        "batch_size", "[OptLab] 128, UNVERIFIED (Choi et al.'s Table 2 not read)",
                        "epochs", "[OptLab] 100, UNVERIFIED",
                        "augment", "[OptLab] Zhuang's crop + flip + per-channel normalization, UNVERIFIED for Choi",
                        "optimizer", "[OptLab] choi.adam at 1e-3; Choi et al. tune every optimizer"),
                "batch size, budget and augmentation are UNVERIFIED defaults"));

        add(new Workload("tolstoi_char_rnn", "Choi et al. (2019)",
                "character language model, DeepOBS's 2 x LSTM(128) char RNN; War and Peace stand-in: any UTF-8 text (default the KJV)",
                Data.TEXT, (vocab, init, dropout) -> new CharLstm(vocab, init, dropout),
                RunConfig.fromMap(ordered("batch_size", 50, "seq_length", 50, "epochs", 200, "eval_every_epochs", 1, "valid_fraction", 0.1,
                        "optimizer", "choi.adam", "lr", 1e-3)),
                Map.of("model", "DeepOBS tolstoi_char_rnn (docs/MODELS.md)",
                        "batch_size", "[D-config] tolstoi_char_rnn: batch_size 50",
                        "seq_length", "[DeepOBS] tolstoi_char_rnn.py: seq_length = 50",
                        "epochs", "[D-config] tolstoi_char_rnn: num_epochs 200",
                        "valid_fraction", "[OptLab] 10% of the text before DeepOBS's 20% test part, for selection on validation",
                        "data", "[DeepOBS] datasets/tolstoi.py: batch-contiguous streams, 80% train / 20% test by position",
                        "optimizer", "[OptLab] choi.adam at 1e-3; Choi et al. tune every optimizer"),
                "War and Peace is not available here; the default corpus is Debian's King James Bible text (4.3 MB, 73 "
                        + "characters), a real corpus of the same kind and size"));

        add(new Workload("imagenet_resnet50", "Choi et al. (2019)", "SYNTHETIC stand-in for ImageNet (seeded random images and labels), ResNet-50",
                Data.IMAGENET_SYNTHETIC, (classes, init, dropout) -> new ResNet50(classes, init),
                RunConfig.fromMap(ordered("batch_size", 256, "epochs", 90, "eval_every_epochs", 1, "augment", false, "drop_last", true,
                        "valid_fraction", 0.0, "image_size", 224, "synthetic_images", 2560, "optimizer", "choi.momentum", "lr", 0.1,
                        "momentum", 0.9)),
                Map.of("model", "torchvision resnet50 (v1.5) (docs/MODELS.md)",
                        "batch_size", "[OptLab] 256 (Goyal et al.'s reference batch), UNVERIFIED for Choi",
                        "epochs", "[OptLab] 90, UNVERIFIED",
                        "data", "[OptLab] no ImageNet pipeline is built: random pixels and labels, to measure speed and plumbing only",
                        "optimizer", "[OptLab] momentum 0.9 at lr 0.1 (the classic ImageNet recipe), UNVERIFIED"),
                "SYNTHETIC DATA: the accuracy of this workload means nothing; it exercises ResNet-50 at ImageNet shapes"));
    }

    private static void add(Workload w) {
        if (ALL.putIfAbsent(w.name(), w) != null) throw new IllegalStateException("workload " + w.name() + " registered twice");
    }

    /** Keys and values in order (Map.of has none). */
    private static Map<String, Object> ordered(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    /** Every workload, in registry order. */
    public static List<Workload> all() {
        return new ArrayList<>(ALL.values());
    }

    /** The workload called {@code name}; throws listing the names there are. */
    public static Workload get(String name) {
        Workload w = ALL.get(name);
        if (w == null) throw new IllegalArgumentException("no workload '" + name + "'; workloads: " + String.join(", ", ALL.keySet()));
        return w;
    }
}
