package optlab.nn.models;

import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.nn.Conv2d;
import optlab.nn.Dropout;
import optlab.nn.Init;
import optlab.nn.Module;
import optlab.tensor.Generator;

/**
 * All-CNN-C (Springenberg et al. 2015) as DeepOBS's {@code cifar100_allcnnc}, Choi et al.'s CIFAR-100
 * workload (PAPERS.md section 2):
 * <pre>
 *   x (n, 3, 32, 32); dropout 0.2
 *   conv1, conv2: 3x3, 96, same; conv3: 3x3, 96, stride 2     (n, 96, 16, 16)
 *   dropout 0.5
 *   conv4, conv5: 3x3, 192, same; conv6: 3x3, 192, stride 2   (n, 192, 8, 8)
 *   dropout 0.5
 *   conv7: 3x3, 192, valid                                    (n, 192, 6, 6)
 *   conv8: 1x1, 192; conv9: 1x1, classes                      (n, classes, 6, 6)
 *   global mean                                               (n, classes)
 * </pre>
 * ReLU after every convolution (the last included), all convs with bias. 1,387,108 parameters for 100
 * classes (golden/param_counts.txt). Initialization as DeepOBS: weights Glorot normal, biases 0.1.
 * Dropout masks come from the dropout generator; inference mode disables them.
 *
 * <p>UNVERIFIED details: TensorFlow 1's {@code glorot_normal_initializer} draws from a truncated normal
 * (scaled so the variance is still 2/(fan_in + fan_out)); we draw from the plain normal. TensorFlow's
 * "same" padding with stride 2 on an even size pads (0, 1) where we pad (1, 1): the output size is the
 * same, the sampling grid is shifted by one pixel.
 */
public final class AllCnnC extends Module {
    public final Conv2d conv1, conv2, conv3, conv4, conv5, conv6, conv7, conv8, conv9;
    private final Dropout dropIn, drop1, drop2;

    public AllCnnC(int numClasses, Generator init, Generator dropout) {
        dropIn = register("drop_in", new Dropout(0.2, dropout));
        conv1 = register("conv1", new Conv2d(3, 96, 3, 1, 1, true, init));
        conv2 = register("conv2", new Conv2d(96, 96, 3, 1, 1, true, init));
        conv3 = register("conv3", new Conv2d(96, 96, 3, 2, 1, true, init));
        drop1 = register("drop1", new Dropout(0.5, dropout));
        conv4 = register("conv4", new Conv2d(96, 192, 3, 1, 1, true, init));
        conv5 = register("conv5", new Conv2d(192, 192, 3, 1, 1, true, init));
        conv6 = register("conv6", new Conv2d(192, 192, 3, 2, 1, true, init));
        drop2 = register("drop2", new Dropout(0.5, dropout));
        conv7 = register("conv7", new Conv2d(192, 192, 3, 1, 0, true, init));
        conv8 = register("conv8", new Conv2d(192, 192, 1, 1, 0, true, init));
        conv9 = register("conv9", new Conv2d(192, numClasses, 1, 1, 0, true, init));
        for (Module m : namedModules().values()) {
            if (m instanceof Conv2d c) {
                Init.glorotNormal(c.weight.data(), init);
                Init.constant(c.bias.data(), 0.1);
            }
        }
    }

    /** x is (n, 3, 32, 32); returns logits (n, classes). */
    @Override
    public Variable forward(Variable x) {
        if (x.dim() != 4 || x.size(1) != 3 || x.size(2) != 32 || x.size(3) != 32) {
            throw new IllegalArgumentException("AllCnnC: expects images of shape (n, 3, 32, 32), got " + x.shape());
        }
        Variable out = dropIn.forward(x);
        out = conv3.forward(conv2.forward(conv1.forward(out).relu()).relu()).relu();
        out = drop1.forward(out);
        out = conv6.forward(conv5.forward(conv4.forward(out).relu()).relu()).relu();
        out = drop2.forward(out);
        out = conv9.forward(conv8.forward(conv7.forward(out).relu()).relu()).relu();
        return Functional.globalAvgPool2d(out);
    }
}
