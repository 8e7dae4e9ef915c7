package optlab.experiments.run;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import optlab.experiments.data.CharCorpus;
import optlab.experiments.data.Cifar;
import optlab.experiments.data.FashionMnist;
import optlab.experiments.data.ImageDataset;
import optlab.experiments.data.ImageTransform;
import optlab.experiments.data.Split;
import optlab.kernels.DType;
import optlab.nn.Module;
import optlab.nn.io.Checkpoint;
import optlab.nn.io.CheckpointException;
import optlab.nn.models.CharLstm;

/**
 * Opens a workload's {@link Task} for a resolved run: reads its data (naming any bad or missing file), holds out the
 * validation split, builds the model from the initialization seed (or loads {@code --init}), converts it to the run's
 * dtype and moves it to its device.
 */
final class Tasks {
    private Tasks() {}


    static Task open(RunSpec spec, PrintStream out) {
        Workload w = spec.workload();
        RunConfig c = spec.config();
        DType dtype = spec.dtype();
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("kind", w.data().name().toLowerCase(java.util.Locale.ROOT));
        if (w.isLanguageModel()) {
            Path corpusFile = Path.of(c.corpus());
            CharCorpus corpus = CharCorpus.read(corpusFile, c.validFraction(), TEXT_TEST_FRACTION);
            CharLstm model = (CharLstm) model(spec, corpus.vocabSize(), out);
            TextTask t = new TextTask(model, corpus, c);
            out.println(t.describe());
            return t;
        }
        ImageDataset train, test;
        ImageTransform trainTransform, evalTransform;
        switch (w.data()) {
            case FASHION_MNIST -> {
                Path dir = Path.of(c.dataDir());
                train = FashionMnist.train(dir);
                test = FashionMnist.test(dir);
                if (c.augment()) throw new IllegalArgumentException("augment: no augmentation is defined for Fashion-MNIST (DeepOBS has none)");
                trainTransform = evalTransform = ImageTransform.identity();
                data.put("data_dir", dir.toString());
            }
            case CIFAR10, CIFAR100 -> {
                Cifar.Variant v = w.data() == Workload.Data.CIFAR10 ? Cifar.Variant.CIFAR10 : Cifar.Variant.CIFAR100;
                Path dir = Path.of(c.dataDir());
                train = Cifar.train(v, dir);
                test = Cifar.test(v, dir);
                trainTransform = c.augment() ? ImageTransform.cifarTrain(v) : ImageTransform.cifarEval(v);
                evalTransform = ImageTransform.cifarEval(v);
                data.put("data_dir", dir.toString());
            }
            case IMAGENET_SYNTHETIC -> {
                int size = c.imageSize();
                train = synthetic("synthetic-imagenet/train", c.syntheticImages(), size, 1000, 1);
                // a test set a fifth the size of the training set (ImageNet's 50,000 validation images are 1/25 of its)
                test = synthetic("synthetic-imagenet/test", Math.max(1, c.syntheticImages() / 5), size, 1000, 2);
                if (c.augment()) throw new IllegalArgumentException("augment: the synthetic stand-in has no augmentation");
                trainTransform = evalTransform = ImageTransform.identity();
                data.put("synthetic", "seeded uniform random pixels and labels; NOT ImageNet: accuracy means nothing here");
                out.println("imagenet_resnet50: SYNTHETIC stand-in data (no ImageNet pipeline is built): the accuracy means nothing");
            }
            default -> throw new AssertionError(w.data());
        }
        Split split = Split.holdOut(train, c.validFraction(), c.splitSeed());
        data.put("valid_fraction", c.validFraction());
        data.put("split_seed", c.splitSeed());
        Module model = model(spec, train.classes(), out);
        ImageTask t = new ImageTask(model, split.train(), split.valid(), test, trainTransform, evalTransform, c, dtype, data);
        out.println(t.describe());
        return t;
    }

    /** DeepOBS's tolstoi: the last 20% of the text is the test part. */
    static final double TEXT_TEST_FRACTION = 0.2;

    /**
     * The workload's model: created from the initialization seed in float32 on the CPU (initializers draw from Philox,
     * identical everywhere), then {@code --init}'s weights where given, then converted to the dtype and moved to the
     * device.
     */
    static Module model(RunSpec spec, int classes, PrintStream out) {
        RunConfig c = spec.config();
        Module m = spec.newModel(classes);
        if (spec.dtype() != DType.FLOAT32) m.to(spec.dtype());
        if (c.init() != null) {
            Path f = Path.of(c.init());
            try {
                List<String> ignored = Checkpoint.loadInitialization(f, m, Boolean.TRUE.equals(c.allowNonFinite()));
                if (!ignored.isEmpty()) {
                    out.println("warning: " + f + " holds tensors this model does not have, ignored: " + String.join(", ", ignored));
                }
            } catch (CheckpointException e) {
                throw new IllegalArgumentException("--init " + e.getMessage(), e);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the initialization " + f, e);
            }
        }
        m.to(spec.device());
        return m;
    }

    /**
     * A seeded synthetic image set (the ImageNet stand-in): uniform random pixels and labels, the same for every run
     * (a fixed seed per part).
     */
    static ImageDataset synthetic(String name, int count, int size, int classes, long seed) {
        SplittableRandom r = new SplittableRandom(0x5EED_0000L + seed);
        byte[] px = new byte[count * 3 * size * size];
        for (int i = 0; i < px.length; i += 8) {
            long v = r.nextLong();
            for (int j = 0; j < 8 && i + j < px.length; j++) px[i + j] = (byte) (v >>> (8 * j));
        }
        int[] labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = r.nextInt(classes);
        return new ImageDataset(name, px, labels, 3, size, size, classes);
    }
}
