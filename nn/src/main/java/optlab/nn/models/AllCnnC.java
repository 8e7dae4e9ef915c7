package optlab.nn.models;

import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.nn.Conv2d;
import optlab.nn.Dropout;
import optlab.nn.Init;
import optlab.nn.Module;
import optlab.tensor.Generator;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/**
 * All-CNN-C (Springenberg et al. 2015) as DeepOBS's {@code cifar100_allcnnc}, Choi et al.'s CIFAR-100
 * workload (PAPERS.md section 2; DeepOBS {@code deepobs/tensorflow/testproblems/cifar100_allcnnc.py}):
 * <pre>
 *   x (n, 3, 32, 32); dropout 0.2
 *   conv1, conv2: 3x3, 96, same; conv3: 3x3, 96, stride 2, same   (n, 96, 16, 16)
 *   dropout 0.5
 *   conv4, conv5: 3x3, 192, same; conv6: 3x3, 192, stride 2, same (n, 192, 8, 8)
 *   dropout 0.5
 *   conv7: 3x3, 192, valid                                        (n, 192, 6, 6)
 *   conv8: 1x1, 192; conv9: 1x1, classes                          (n, classes, 6, 6)
 *   global mean                                                   (n, classes)
 * </pre>
 * ReLU after every convolution (the last included: DeepOBS's conv wrapper always has
 * {@code activation=tf.nn.relu}), all convs with bias. 1,387,108 parameters for 100 classes
 * (golden/param_counts.txt). Dropout masks come from the dropout generator; inference mode disables them.
 *
 * <p>Initialization as DeepOBS: weights {@code tf.keras.initializers.glorot_normal()}, which in the
 * TensorFlow 1.12 DeepOBS was tested with is a truncated normal of variance 2/(fan_in + fan_out)
 * ({@link Init#glorotTruncatedNormal}); biases {@code constant(0.1)}.
 *
 * <p>Padding: TensorFlow's "same" at stride 2 on an even size pads 0 before and 1 after (the total
 * padding (out - 1) * 2 + 3 - in = 1 goes to the end); PyTorch's symmetric padding 1 gives the same
 * output size on a grid shifted by one pixel. By default ({@code tfSamePadding = true}) conv3 and conv6
 * are valid convolutions (padding 0) of the input with one zero row appended at the bottom and one zero
 * column at the right: exactly TensorFlow's. With {@code false} they use symmetric padding 1 (the
 * layout of this model before 2026-11-21). The parameters and their names are the same either way.
 */
public final class AllCnnC extends Module {
    public final Conv2d conv1, conv2, conv3, conv4, conv5, conv6, conv7, conv8, conv9;
    private final Dropout dropIn, drop1, drop2;
    private final boolean tfSamePadding;

    /** DeepOBS's model, with TensorFlow's "same" padding at stride 2. */
    public AllCnnC(int numClasses, Generator init, Generator dropout) {
        this(numClasses, true, init, dropout);
    }

    /**
     * @param tfSamePadding true: the stride-2 convs pad (0, 1) as TensorFlow's "same" (DeepOBS); false:
     *                      they pad (1, 1) as PyTorch's {@code padding=1}
     */
    public AllCnnC(int numClasses, boolean tfSamePadding, Generator init, Generator dropout) {
        this.tfSamePadding = tfSamePadding;
        int stridePad = tfSamePadding ? 0 : 1;
        dropIn = register("drop_in", new Dropout(0.2, dropout));
        conv1 = register("conv1", new Conv2d(3, 96, 3, 1, 1, true, init));
        conv2 = register("conv2", new Conv2d(96, 96, 3, 1, 1, true, init));
        conv3 = register("conv3", new Conv2d(96, 96, 3, 2, stridePad, true, init));
        drop1 = register("drop1", new Dropout(0.5, dropout));
        conv4 = register("conv4", new Conv2d(96, 192, 3, 1, 1, true, init));
        conv5 = register("conv5", new Conv2d(192, 192, 3, 1, 1, true, init));
        conv6 = register("conv6", new Conv2d(192, 192, 3, 2, stridePad, true, init));
        drop2 = register("drop2", new Dropout(0.5, dropout));
        conv7 = register("conv7", new Conv2d(192, 192, 3, 1, 0, true, init));
        conv8 = register("conv8", new Conv2d(192, 192, 1, 1, 0, true, init));
        conv9 = register("conv9", new Conv2d(192, numClasses, 1, 1, 0, true, init));
        for (Module m : namedModules().values()) {
            if (m instanceof Conv2d c) {
                Init.glorotTruncatedNormal(c.weight.data(), init);
                Init.constant(c.bias.data(), 0.1);
            }
        }
    }

    public boolean tfSamePadding() {
        return tfSamePadding;
    }

    /** x is (n, 3, 32, 32); returns logits (n, classes). */
    @Override
    public Variable forward(Variable x) {
        if (x.dim() != 4 || x.size(1) != 3 || x.size(2) != 32 || x.size(3) != 32) {
            throw new IllegalArgumentException("AllCnnC: expects images of shape (n, 3, 32, 32), got " + x.shape());
        }
        Variable out = dropIn.forward(x);
        out = conv2.forward(conv1.forward(out).relu()).relu();
        out = conv3.forward(tfSamePadding ? tfSamePad(out, 3, 2) : out).relu();
        out = drop1.forward(out);
        out = conv5.forward(conv4.forward(out).relu()).relu();
        out = conv6.forward(tfSamePadding ? tfSamePad(out, 3, 2) : out).relu();
        out = drop2.forward(out);
        out = conv9.forward(conv8.forward(conv7.forward(out).relu()).relu()).relu();
        return Functional.globalAvgPool2d(out);
    }

    /**
     * TensorFlow's "same" padding, made explicit for a valid convolution with this kernel and stride:
     * out = ceil(in / stride), total = max((out - 1) * stride + kernel - in, 0), total / 2 zero rows
     * (columns) before and the rest after. (n, c, h, w) to (n, c, h + total_h, w + total_w).
     */
    static Variable tfSamePad(Variable x, int kernel, int stride) {
        for (int dim = 2; dim <= 3; dim++) {
            int in = x.size(dim), out = (in + stride - 1) / stride;
            int total = Math.max((out - 1) * stride + kernel - in, 0), before = total / 2, after = total - before;
            if (total == 0) continue;
            Variable b = before == 0 ? null : zeros(x, dim, before), a = after == 0 ? null : zeros(x, dim, after);
            x = b == null ? Variable.cat(dim, x, a) : a == null ? Variable.cat(dim, b, x) : Variable.cat(dim, b, x, a);
        }
        return x;
    }

    /** A constant of zeros shaped as x except {@code size} along {@code dim}. */
    private static Variable zeros(Variable x, int dim, int size) {
        int[] s = x.shape().toArray();
        s[dim] = size;
        return new Variable(Tensor.zeros(Shape.of(s), x.dtype(), x.data().device()));
    }
}
