package optlab.nn.models;

import java.util.ArrayList;
import java.util.List;
import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.nn.BatchNorm2d;
import optlab.nn.Conv2d;
import optlab.nn.Init;
import optlab.nn.Linear;
import optlab.nn.Module;
import optlab.nn.Sequential;
import optlab.tensor.Generator;

/**
 * DenseNet-BC (Huang et al. 2017) for CIFAR, as in the code of Zhuang et al. (PAPERS.md section 2;
 * DenseNet-BC-100 with growth k = 12 on CIFAR-100 there):
 * <pre>
 *   x (n, 3, h, w)                                          CIFAR: 32 x 32
 *   conv1 3x3, 3 -> 2k, no bias                             (n, 2k, h, w)                    24
 *   dense1: L bottleneck layers, each adds k channels       (n, 2k + Lk, h, w)               216
 *   trans1: [bn] ReLU conv1x1 to half the channels, avg pool 2   (n, c/2, h/2, w/2)          108
 *   dense2, trans2                                          (n, ..., h/4, w/4)               300 -> 150
 *   dense3                                                  (n, C, h/4, w/4)                 342
 *   [bn] ReLU, global average pool, linear C -> classes     (n, classes)
 * </pre>
 * with L = (depth - 4) / 6 (16 for depth 100; the right column is DenseNet-BC-100, k = 12). A bottleneck
 * layer: [bn1] ReLU conv1x1(4k) [bn2] ReLU conv3x3(k), its output concatenated to its input along the
 * channels. Without batch norm ({@code batchNorm = false}) the BN layers are absent (Zhuang's no-BN
 * variant); with it, every bn -> ReLU runs as one fused op ({@link BatchNorm2d#forwardRelu}, the unfused ops'
 * bits). Zhuang's code ({@code src/densenet.py} of zhenxun-zhuang/AdamW-Scale-free, checked 2026-11-21)
 * pools the final map with {@code self.avgpool = nn.AvgPool2d(8)}; at 32 x 32 that map is 8 x 8, so we
 * take the global average: the same there, and usable on the smaller images of the tests (where
 * AvgPool2d(8) would fail).
 *
 * <p>Initialization as that code: every conv weight N(0, 2 / (k*k*out_channels)) (Kaiming normal,
 * fan_out), BN weight 1 and bias 0, the linear layer PyTorch's default. DenseNet-BC-100 (k = 12) has
 * 800,032 parameters for 100 classes ("about 0.8M"; golden/param_counts.txt).
 *
 * <p>Names as that code: {@code conv1.weight}, {@code dense1.0.conv1.weight}, {@code dense1.0.bn1.running_mean},
 * {@code trans1.bn1.weight}, {@code trans1.conv1.weight}, ..., {@code bn.weight}, {@code fc.weight}; a bottleneck
 * registers conv1, conv2, bn1, bn2 in that order, a transition bn1 then conv1.
 */
public final class DenseNetBC extends Module {
    private final int depth, growth;
    private final boolean batchNorm;
    public final Conv2d conv1;
    public final Sequential dense1, dense2, dense3;
    public final Transition trans1, trans2;
    public final BatchNorm2d bn;
    public final Linear fc;

    /**
     * @param depth      6L + 4 (100 for DenseNet-BC-100; 10, 16, 22 for small test models)
     * @param growth     k, the channels each bottleneck layer adds (12)
     * @param batchNorm  false for Zhuang's no-BN variant
     * @param numClasses 100 for CIFAR-100
     */
    public DenseNetBC(int depth, int growth, boolean batchNorm, int numClasses, Generator g) {
        if (depth < 10 || (depth - 4) % 6 != 0) {
            throw new IllegalArgumentException("DenseNetBC: depth must be 6L+4 with L >= 1 (10, 16, ..., 100), got " + depth);
        }
        if (growth <= 0 || numClasses <= 0) {
            throw new IllegalArgumentException("DenseNetBC: growth and numClasses must be positive, got " + growth + " and " + numClasses);
        }
        this.depth = depth;
        this.growth = growth;
        this.batchNorm = batchNorm;
        int layers = (depth - 4) / 6;
        int c = 2 * growth;
        conv1 = register("conv1", new Conv2d(3, c, 3, 1, 1, false, g));
        dense1 = register("dense1", denseBlock(c, layers, g));
        c += layers * growth;
        trans1 = register("trans1", new Transition(c, c / 2, batchNorm, g));
        c /= 2;
        dense2 = register("dense2", denseBlock(c, layers, g));
        c += layers * growth;
        trans2 = register("trans2", new Transition(c, c / 2, batchNorm, g));
        c /= 2;
        dense3 = register("dense3", denseBlock(c, layers, g));
        c += layers * growth;
        bn = batchNorm ? register("bn", new BatchNorm2d(c)) : null;
        fc = register("fc", new Linear(c, numClasses, true, g));
        for (Module m : namedModules().values()) {
            if (m instanceof Conv2d conv) Init.kaimingNormal(conv.weight.data(), Init.FanMode.FAN_OUT, g);
        }
    }

    private Sequential denseBlock(int in, int layers, Generator g) {
        List<Module> list = new ArrayList<>();
        for (int i = 0; i < layers; i++) list.add(new Bottleneck(in + i * growth, growth, batchNorm, g));
        return new Sequential(list.toArray(Module[]::new));
    }

    public int depth() {
        return depth;
    }

    public boolean batchNorm() {
        return batchNorm;
    }

    /** x is (n, 3, h, w) with h, w >= 4 and divisible by 4; returns logits (n, classes). */
    @Override
    public Variable forward(Variable x) {
        if (x.dim() != 4 || x.size(1) != 3 || x.size(2) < 4 || x.size(3) < 4) {
            throw new IllegalArgumentException("DenseNetBC-" + depth + ": expects images of shape (n, 3, h, w) with h, w >= 4, got " + x.shape());
        }
        Variable out = trans1.forward(dense1.forward(conv1.forward(x)));
        out = dense3.forward(trans2.forward(dense2.forward(out)));
        out = bn != null ? bn.forwardRelu(out) : out.relu();
        return fc.forward(Functional.globalAvgPool2d(out));
    }

    /** [bn1] ReLU conv1x1(in -> 4k) [bn2] ReLU conv3x3(4k -> k), concatenated: (n, in, h, w) to (n, in + k, h, w). */
    public static final class Bottleneck extends Module {
        public final Conv2d conv1, conv2;
        public final BatchNorm2d bn1, bn2;

        public Bottleneck(int in, int growth, boolean batchNorm, Generator g) {
            conv1 = register("conv1", new Conv2d(in, 4 * growth, 1, 1, 0, false, g));
            conv2 = register("conv2", new Conv2d(4 * growth, growth, 3, 1, 1, false, g));
            bn1 = batchNorm ? register("bn1", new BatchNorm2d(in)) : null;
            bn2 = batchNorm ? register("bn2", new BatchNorm2d(4 * growth)) : null;
        }

        @Override
        public Variable forward(Variable x) {
            Variable out = conv1.forward(bn1 != null ? bn1.forwardRelu(x) : x.relu());
            out = conv2.forward(bn2 != null ? bn2.forwardRelu(out) : out.relu());
            return Variable.cat(1, x, out); // channel concatenation
        }
    }

    /** [bn1] ReLU conv1x1(in -> out), average pool 2x2 / 2: (n, in, h, w) to (n, out, h/2, w/2). */
    public static final class Transition extends Module {
        public final BatchNorm2d bn1;
        public final Conv2d conv1;

        public Transition(int in, int out, boolean batchNorm, Generator g) {
            bn1 = batchNorm ? register("bn1", new BatchNorm2d(in)) : null;
            conv1 = register("conv1", new Conv2d(in, out, 1, 1, 0, false, g));
        }

        @Override
        public Variable forward(Variable x) {
            Variable out = bn1 != null ? bn1.forwardRelu(x) : x.relu();
            return Functional.avgPool2d(conv1.forward(out), 2, 2, 0, true);
        }
    }
}
