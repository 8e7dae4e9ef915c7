package optlab.nn.models;

import java.util.ArrayList;
import java.util.List;
import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.nn.BatchNorm2d;
import optlab.nn.Conv2d;
import optlab.nn.Init;
import optlab.nn.Module;
import optlab.nn.Linear;
import optlab.nn.Sequential;
import optlab.tensor.Generator;

/**
 * ResNet-50 (He et al. 2016), ImageNet-style with bottleneck blocks, in torchvision's layout and with its
 * names, so a state_dict of {@code torchvision.models.resnet50()} maps one to one onto ours (Choi et al.'s
 * ImageNet workload, PAPERS.md section 2):
 * <pre>
 *   x (n, 3, h, w)                                   ImageNet: 224 x 224; also runs at 32 x 32
 *   conv1 7x7 / 2, 3 -> 64, no bias; bn1; ReLU       (n, 64, h/2, w/2)
 *   max pool 3x3 / 2, padding 1                      (n, 64, h/4, w/4)
 *   layer1: 3 bottlenecks, 64 planes   -> 256        (n, 256, h/4, w/4)
 *   layer2: 4 bottlenecks, 128 planes  -> 512, /2    (n, 512, h/8, w/8)
 *   layer3: 6 bottlenecks, 256 planes  -> 1024, /2   (n, 1024, h/16, w/16)
 *   layer4: 3 bottlenecks, 512 planes  -> 2048, /2   (n, 2048, h/32, w/32)
 *   global average pool; fc 2048 -> classes          (n, classes)
 * </pre>
 * Bottleneck: conv1x1 -> bn1 -> ReLU -> conv3x3 (the block's stride, "ResNet v1.5" as torchvision) -> bn2
 * -> ReLU -> conv1x1 (x4) -> bn3, plus the shortcut (identity, or {@code downsample}: conv1x1 with the
 * stride and BN, as {@code downsample.0} and {@code downsample.1}), then ReLU. 25,557,032 parameters for
 * 1000 classes (the published 25.6M; golden/param_counts.txt).
 *
 * <p>Initialization as torchvision: conv weights Kaiming normal with fan_out (N(0, 2/fan_out)), BN
 * weight 1 and bias 0, the fc layer PyTorch's default; no zero-initialized residual BN.
 *
 * <p>Choi et al. trained a TensorFlow ResNet-50 and published no code (checked 2026-11-21). Google's
 * reference TensorFlow ResNet-50 ({@code tensorflow/tpu} {@code models/official/resnet/resnet_model.py};
 * the same block in {@code google/init2winit}'s {@code resnet.py}) is also v1.5, with the stride on the
 * 3x3 conv, and symmetric explicit padding for strided convs, as here. It differs in initialization and
 * one padding: the last BN of each block starts with gamma 0, conv weights are
 * {@code tf.variance_scaling_initializer()} (truncated normal of variance 1/fan_in, half of ours), the fc
 * weight N(0, 0.01^2) with bias 0, and the stem max pool pads (0, 1) ("SAME") where we pad (1, 1).
 * docs/MODELS.md lists these; we keep torchvision's.
 */
public final class ResNet50 extends Module {
    public final Conv2d conv1;
    public final BatchNorm2d bn1;
    public final Sequential layer1, layer2, layer3, layer4;
    public final Linear fc;
    private int inplanes = 64;

    public ResNet50(int numClasses, Generator g) {
        if (numClasses <= 0) throw new IllegalArgumentException("ResNet50: numClasses must be positive, got " + numClasses);
        conv1 = register("conv1", new Conv2d(3, 64, 7, 2, 3, false, g));
        bn1 = register("bn1", new BatchNorm2d(64));
        layer1 = register("layer1", stage(64, 3, 1, g));
        layer2 = register("layer2", stage(128, 4, 2, g));
        layer3 = register("layer3", stage(256, 6, 2, g));
        layer4 = register("layer4", stage(512, 3, 2, g));
        fc = register("fc", new Linear(512 * Bottleneck.EXPANSION, numClasses, true, g));
        for (Module m : namedModules().values()) {
            if (m instanceof Conv2d c) Init.kaimingNormal(c.weight.data(), Init.FanMode.FAN_OUT, g);
        }
    }

    private Sequential stage(int planes, int blocks, int stride, Generator g) {
        List<Module> list = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            list.add(new Bottleneck(inplanes, planes, i == 0 ? stride : 1, g));
            inplanes = planes * Bottleneck.EXPANSION;
        }
        return new Sequential(list.toArray(Module[]::new));
    }

    /** x is (n, 3, h, w) with h, w >= 32 (224 on ImageNet); returns logits (n, classes). */
    @Override
    public Variable forward(Variable x) {
        if (x.dim() != 4 || x.size(1) != 3 || x.size(2) < 32 || x.size(3) < 32) {
            throw new IllegalArgumentException("ResNet50: expects images of shape (n, 3, h, w) with h, w >= 32, got " + x.shape());
        }
        Variable out = bn1.forward(conv1.forward(x)).relu();
        out = Functional.maxPool2d(out, 3, 2, 1);
        out = layer4.forward(layer3.forward(layer2.forward(layer1.forward(out))));
        return fc.forward(Functional.globalAvgPool2d(out));
    }

    /** torchvision's Bottleneck: (n, in, h, w) to (n, 4 planes, h/stride, w/stride). */
    public static final class Bottleneck extends Module {
        public static final int EXPANSION = 4;
        public final Conv2d conv1, conv2, conv3;
        public final BatchNorm2d bn1, bn2, bn3;
        public final Sequential downsample; // null: the identity

        public Bottleneck(int in, int planes, int stride, Generator g) {
            conv1 = register("conv1", new Conv2d(in, planes, 1, 1, 0, false, g));
            bn1 = register("bn1", new BatchNorm2d(planes));
            conv2 = register("conv2", new Conv2d(planes, planes, 3, stride, 1, false, g));
            bn2 = register("bn2", new BatchNorm2d(planes));
            conv3 = register("conv3", new Conv2d(planes, planes * EXPANSION, 1, 1, 0, false, g));
            bn3 = register("bn3", new BatchNorm2d(planes * EXPANSION));
            downsample = stride != 1 || in != planes * EXPANSION
                    ? register("downsample", new Sequential(new Conv2d(in, planes * EXPANSION, 1, stride, 0, false, g),
                            new BatchNorm2d(planes * EXPANSION)))
                    : null;
        }

        @Override
        public Variable forward(Variable x) {
            Variable out = bn1.forward(conv1.forward(x)).relu();
            out = bn2.forward(conv2.forward(out)).relu();
            out = bn3.forward(conv3.forward(out));
            return out.add(downsample == null ? x : downsample.forward(x)).relu();
        }
    }
}
