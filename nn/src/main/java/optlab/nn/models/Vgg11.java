package optlab.nn.models;

import java.util.ArrayList;
import java.util.List;
import optlab.autograd.Variable;
import optlab.nn.BatchNorm2d;
import optlab.nn.Conv2d;
import optlab.nn.Flatten;
import optlab.nn.Init;
import optlab.nn.Linear;
import optlab.nn.MaxPool2d;
import optlab.nn.Module;
import optlab.nn.ReLU;
import optlab.nn.Sequential;
import optlab.tensor.Generator;

/**
 * VGG-11 (Simonyan and Zisserman 2015, configuration A) for CIFAR-10, one of Choi et al.'s workloads
 * (PAPERS.md section 2):
 * <pre>
 *   x (n, 3, 32, 32)
 *   features: conv3x3 64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M
 *             (each conv padding 1 with bias, [BN], ReLU; M = max pool 2x2 / 2)   (n, 512, 1, 1)
 *   flatten; classifier: linear 512 -> classes                                     (n, classes)
 * </pre>
 * Names as torchvision's {@code vgg11_bn} features ({@code features.0.weight}, {@code features.1.running_mean},
 * ...; without BN the indices are those of {@code vgg11}), and a single linear {@code classifier} as the
 * common CIFAR adaptations have. Initialization as torchvision's VGG: conv weights Kaiming normal
 * (fan_out), conv biases 0, BN weight 1 and bias 0, linear weight N(0, 0.01^2) and bias 0.
 *
 * <p>Choi et al.'s VGG-11 is a TensorFlow model whose classifier head, use of batch norm and
 * initialization could not be checked (2026-11-21): the paper released no code, DeepOBS has no VGG-11
 * (its VGG-16/19 resize CIFAR to 224 x 224, have no BN, a 4096-4096-classes head with dropout and Glorot
 * normal convs), and {@code google/init2winit}, which postdates the paper, has only a CIFAR VGG with a
 * 512-512-classes head. The head, BN (a constructor argument) and init here remain documented defaults
 * (docs/MODELS.md). With BN and 10 classes it has 9,231,114 parameters (golden/param_counts.txt).
 */
public final class Vgg11 extends Module {
    /** Channels of each conv; 0 is a max pool. */
    private static final int[] CONFIG = {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0};

    public final Sequential features;
    public final Linear classifier;
    private final Flatten flatten = new Flatten();

    public Vgg11(boolean batchNorm, int numClasses, Generator g) {
        List<Module> layers = new ArrayList<>();
        int c = 3;
        for (int v : CONFIG) {
            if (v == 0) {
                layers.add(new MaxPool2d(2, 2, 0));
            } else {
                layers.add(new Conv2d(c, v, 3, 1, 1, true, g));
                if (batchNorm) layers.add(new BatchNorm2d(v));
                layers.add(new ReLU());
                c = v;
            }
        }
        features = register("features", new Sequential(layers.toArray(Module[]::new)));
        classifier = register("classifier", new Linear(512, numClasses, true, g));
        for (Module m : namedModules().values()) {
            if (m instanceof Conv2d conv) {
                Init.kaimingNormal(conv.weight.data(), Init.FanMode.FAN_OUT, g);
                conv.bias.data().zeroInPlace();
            }
        }
        Init.normal(classifier.weight.data(), 0, 0.01, g);
        classifier.bias.data().zeroInPlace();
    }

    /** x is (n, 3, 32, 32); returns logits (n, classes). */
    @Override
    public Variable forward(Variable x) {
        if (x.dim() != 4 || x.size(1) != 3 || x.size(2) != 32 || x.size(3) != 32) {
            throw new IllegalArgumentException("Vgg11: expects images of shape (n, 3, 32, 32), got " + x.shape());
        }
        return classifier.forward(flatten.forward(features.forward(x)));
    }
}
