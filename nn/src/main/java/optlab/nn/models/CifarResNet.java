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
import optlab.nn.OptionAShortcut;
import optlab.nn.Sequential;
import optlab.tensor.Generator;

/**
 * The CIFAR ResNet-(6n+2) of He et al. (2016), as in the code of Zhuang et al. (PAPERS.md section 2):
 * n = 3, 5, 7, 9, 18, 36 gives ResNet-20, 32, 44, 56, 110, 218.
 * <pre>
 *   x (n, 3, h, w)                                      CIFAR: h = w = 32
 *   conv1 3x3, 3 -> 16, no bias; [bn1]; ReLU            (n, 16, h, w)
 *   layer1: n BasicBlocks, 16 planes, stride 1          (n, 16, h, w)
 *   layer2: n BasicBlocks, 32 planes, first stride 2    (n, 32, h/2, w/2)
 *   layer3: n BasicBlocks, 64 planes, first stride 2    (n, 64, h/4, w/4)
 *   global average pool                                 (n, 64)
 *   linear 64 -> classes (with bias)                    (n, classes)
 * </pre>
 * BasicBlock: conv3x3 -> [bn] -> ReLU -> conv3x3 -> [bn], plus the shortcut, then ReLU. With batch norm, bn -> ReLU and
 * bn + shortcut -> ReLU each run as one fused op ({@link BatchNorm2d#forwardRelu}, {@link BatchNorm2d#forwardAddRelu}),
 * with the unfused ops' bits. Where a block
 * changes the shape, the shortcut is "option A" ({@link OptionAShortcut}: stride-2 subsample, zero-padded
 * channels, no parameters); elsewhere the identity. Without batch norm ({@code batchNorm = false},
 * Zhuang's no-BN variant) the BN layers are simply absent; the convolutions stay bias-free.
 *
 * <p>Initialization as Zhuang's code: every conv and linear weight Kaiming normal, fan_in, gain
 * sqrt 2 (N(0, 2/fan_in)); the linear bias keeps PyTorch's default U(-1/8, 1/8) (fan_in 64); BN weight 1,
 * bias 0. Parameter counts (10 classes, with BN): 0.27M (20), 0.46M (32), 0.66M (44), 0.85M (56),
 * 1.7M (110), 3.5M (218); exact values in {@code nn/src/test/resources/golden/param_counts.txt}.
 *
 * <p>Names follow that PyTorch code ({@code conv1.weight}, {@code bn1.running_mean},
 * {@code layer2.0.conv1.weight}, {@code layer3.8.bn2.bias}, {@code linear.weight}), registered in its
 * order (a block registers conv1, conv2, bn1, bn2), so our state maps one to one onto its state_dict.
 */
public final class CifarResNet extends Module {
    /** The depths of the family. */
    public static final List<Integer> DEPTHS = List.of(20, 32, 44, 56, 110, 218);

    private final int depth, numClasses, inChannels;
    private final boolean batchNorm;
    public final Conv2d conv1;
    public final BatchNorm2d bn1;
    public final Sequential layer1, layer2, layer3;
    public final Linear linear;

    /**
     * @param depth      6n + 2 with n >= 1 (the published family is {@link #DEPTHS}; other depths of that form work)
     * @param batchNorm  false for Zhuang's no-BN variant
     * @param numClasses 10 for CIFAR-10, 100 for CIFAR-100
     * @param g          the initialization's random numbers
     */
    public CifarResNet(int depth, boolean batchNorm, int numClasses, Generator g) {
        this(depth, batchNorm, numClasses, 3, g);
    }

    /**
     * The same network for images of {@code inChannels} channels (the stem conv takes them; nothing else changes): 1 for
     * Fashion-MNIST's 28x28 grey images, which the stride-2 stages take to 14x14 and 7x7 before the global pool.
     */
    public CifarResNet(int depth, boolean batchNorm, int numClasses, int inChannels, Generator g) {
        if (inChannels < 1) throw new IllegalArgumentException("CifarResNet: inChannels must be positive, got " + inChannels);
        if (depth < 8 || (depth - 2) % 6 != 0) {
            throw new IllegalArgumentException("CifarResNet: depth must be 6n+2 with n >= 1 (20, 32, 44, 56, 110, 218), got " + depth);
        }
        if (numClasses <= 0) throw new IllegalArgumentException("CifarResNet: numClasses must be positive, got " + numClasses);
        this.depth = depth;
        this.batchNorm = batchNorm;
        this.numClasses = numClasses;
        this.inChannels = inChannels;
        int blocks = (depth - 2) / 6;
        conv1 = register("conv1", new Conv2d(inChannels, 16, 3, 1, 1, false, g));
        bn1 = batchNorm ? register("bn1", new BatchNorm2d(16)) : null;
        layer1 = register("layer1", stage(16, 16, blocks, 1, g));
        layer2 = register("layer2", stage(16, 32, blocks, 2, g));
        layer3 = register("layer3", stage(32, 64, blocks, 2, g));
        linear = register("linear", new Linear(64, numClasses, true, g));
        for (Module m : namedModules().values()) {
            if (m instanceof Conv2d c) Init.kaimingNormal(c.weight.data(), Init.FanMode.FAN_IN, g);
            else if (m instanceof Linear l) Init.kaimingNormal(l.weight.data(), Init.FanMode.FAN_IN, g);
        }
    }

    private Sequential stage(int in, int planes, int blocks, int stride, Generator g) {
        List<Module> list = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            list.add(new BasicBlock(i == 0 ? in : planes, planes, i == 0 ? stride : 1, batchNorm, g));
        }
        return new Sequential(list.toArray(Module[]::new));
    }

    public int depth() {
        return depth;
    }

    public boolean batchNorm() {
        return batchNorm;
    }

    public int numClasses() {
        return numClasses;
    }

    /** x is (n, inChannels, h, w) with h, w >= 4 (CIFAR: 3 x 32 x 32); returns logits (n, classes). */
    @Override
    public Variable forward(Variable x) {
        if (x.dim() != 4 || x.size(1) != inChannels || x.size(2) < 4 || x.size(3) < 4) {
            throw new IllegalArgumentException("CifarResNet-" + depth + ": expects images of shape (n, " + inChannels + ", h, w) with h, w >= 4, got "
                    + x.shape());
        }
        Variable out = conv1.forward(x);
        out = bn1 != null ? bn1.forwardRelu(out) : out.relu();
        out = layer3.forward(layer2.forward(layer1.forward(out)));
        return linear.forward(Functional.globalAvgPool2d(out));
    }

    /**
     * conv3x3(stride) -> [bn1] -> ReLU -> conv3x3 -> [bn2], plus the shortcut, then ReLU.
     * x (n, in, h, w) to (n, planes, h/stride, w/stride).
     */
    public static final class BasicBlock extends Module {
        public final Conv2d conv1, conv2;
        public final BatchNorm2d bn1, bn2;
        public final OptionAShortcut shortcut; // null: the identity

        public BasicBlock(int in, int planes, int stride, boolean batchNorm, Generator g) {
            conv1 = register("conv1", new Conv2d(in, planes, 3, stride, 1, false, g));
            conv2 = register("conv2", new Conv2d(planes, planes, 3, 1, 1, false, g));
            bn1 = batchNorm ? register("bn1", new BatchNorm2d(planes)) : null;
            bn2 = batchNorm ? register("bn2", new BatchNorm2d(planes)) : null;
            if (stride != 1 || in != planes) {
                if (stride != 2 || planes != 2 * in) {
                    throw new IllegalArgumentException("BasicBlock: option A needs stride 2 and doubled planes, got " + in + " -> " + planes
                            + " with stride " + stride);
                }
                shortcut = register("shortcut", new OptionAShortcut(planes / 4));
            } else {
                shortcut = null;
            }
        }

        @Override
        public Variable forward(Variable x) {
            Variable out = conv1.forward(x);
            out = conv2.forward(bn1 != null ? bn1.forwardRelu(out) : out.relu());
            Variable residual = shortcut == null ? x : shortcut.forward(x);
            return bn2 != null ? bn2.forwardAddRelu(out, residual) : out.add(residual).relu();
        }
    }
}
