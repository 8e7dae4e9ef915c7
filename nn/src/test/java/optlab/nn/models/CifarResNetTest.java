package optlab.nn.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.nn.ParameterArena;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CifarResNetTest {
    /** Published counts (He et al. 2016 Table 6; Zhuang's resnet.py header), in millions, rounded as published. */
    private static final double[] PUBLISHED_M = {0.27, 0.46, 0.66, 0.85, 1.7, 3.5};

    @Test
    void parameterCountsMatchThePyTorchReferenceAndThePublishedOnes() {
        for (int i = 0; i < CifarResNet.DEPTHS.size(); i++) {
            int depth = CifarResNet.DEPTHS.get(i);
            for (boolean bn : new boolean[] {true, false}) {
                for (int classes : new int[] {10, 100}) {
                    long n = new CifarResNet(depth, bn, classes, new Generator(0)).parameterCount();
                    String key = "CifarResNet-" + depth + "-" + (bn ? "bn" : "nobn") + "-c" + classes;
                    assertEquals(Golden.count(key), n, key);
                }
            }
            long withBn = Golden.count("CifarResNet-" + depth + "-bn-c10");
            double digits = PUBLISHED_M[i] >= 1 ? 10 : 100; // 0.27M has two decimals, 1.7M one
            assertEquals(PUBLISHED_M[i], Math.round(withBn / 1e6 * digits) / digits, 1e-9, "ResNet-" + depth);
        }
    }

    @Test
    void namesFollowTheZhuangCode() {
        CifarResNet m = new CifarResNet(20, true, 10, new Generator(0));
        // the state_dict keys of the PyTorch reference, in order (golden/state_names.txt)
        assertEquals(Golden.stateNames("CifarResNet-20-bn"), List.copyOf(m.namedState().keySet()));
        assertEquals(Shape.of(32, 16, 3, 3), m.namedParameters().get("layer2.0.conv1.weight").shape());
        CifarResNet noBn = new CifarResNet(20, false, 10, new Generator(0));
        assertEquals(Golden.stateNames("CifarResNet-20-nobn"), List.copyOf(noBn.namedState().keySet()));
        assertTrue(noBn.namedBuffers().isEmpty());
        assertEquals(19 + 2, noBn.namedParameters().size()); // 19 conv weights (stem + 9 blocks x 2), linear weight and bias
    }

    @Test
    void kaimingNormalFanInInitialization() {
        CifarResNet m = new CifarResNet(56, true, 10, new Generator(3));
        // layer3 convs: 64 * 9 = 576 inputs per output; 18 such convs with 36,864 weights each
        double sq = 0;
        long count = 0;
        for (var e : m.namedParameters().entrySet()) {
            if (e.getKey().startsWith("layer3.") && e.getKey().endsWith("conv2.weight")) {
                for (float v : e.getValue().data().toFloatArray()) sq += v * v;
                count += e.getValue().data().numel();
            }
        }
        assertEquals(Math.sqrt(2.0 / 576), Math.sqrt(sq / count), 0.01 * Math.sqrt(2.0 / 576));
        // the linear bias keeps PyTorch's default U(-1/8, 1/8); BN starts at weight 1, bias 0
        for (float b : m.linear.bias.data().toFloatArray()) assertTrue(Math.abs(b) <= 0.125f);
        for (float w : m.bn1.weight.data().toFloatArray()) assertEquals(1f, w);
    }

    @Test
    void optionAShortcutSubsamplesAndZeroPads() {
        var sc = new optlab.nn.OptionAShortcut(2);
        float[] v = new float[2 * 3 * 3];
        for (int i = 0; i < v.length; i++) v[i] = i + 1;
        Variable y = sc.forward(new Variable(Tensor.of(v, 1, 2, 3, 3)));
        assertEquals(Shape.of(1, 6, 2, 2), y.shape());
        // channels 0, 1 and 4, 5 are zero; channel 2 is x[0, 0, ::2, ::2], channel 3 is x[0, 1, ::2, ::2]
        assertEquals(List.of(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 1f, 3f, 7f, 9f, 10f, 12f, 16f, 18f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f),
                boxed(y.data().toFloatArray()));
    }

    private static List<Float> boxed(float[] a) {
        Float[] b = new Float[a.length];
        for (int i = 0; i < a.length; i++) b[i] = a[i];
        return List.of(b);
    }

    /**
     * A block's fused batch norms (bn1 -> ReLU, bn2 + shortcut -> ReLU; Backend's NOTE [bn-epilogue]) give the bits of the
     * same modules run as separate ops: output, input gradient (where the shortcut's and conv1's gradients meet) and every
     * parameter gradient; for the identity shortcut and for option A.
     */
    @Test
    void fusedBlocksGiveTheUnfusedOpsBits() {
        for (int[] shape : new int[][] {{4, 4, 1}, {4, 8, 2}}) {
            Supplier<CifarResNet.BasicBlock> block = () -> new CifarResNet.BasicBlock(shape[0], shape[1], shape[2], true,
                    new Generator(5)); // the same weights each time
            int outSide = 6 / shape[2];
            try (Tensor x = Tensor.randn(new Generator(6), 3, shape[0], 6, 6); Tensor w = Tensor.randn(new Generator(7), 3, shape[1], outSide, outSide)) {
                float[][] fused = blockPass(block.get(), x, w, (b, v) -> b.forward(v));
                float[][] unfused = blockPass(block.get(), x, w, (b, v) -> {
                    Variable out = b.conv2.forward(b.bn1.forward(b.conv1.forward(v)).relu());
                    return b.bn2.forward(out).add(b.shortcut == null ? v : b.shortcut.forward(v)).relu();
                });
                String[] names = {"output", "input gradient", "conv1", "conv2", "bn1.weight", "bn1.bias", "bn2.weight", "bn2.bias"};
                for (int i = 0; i < names.length; i++) {
                    assertArrayEquals(unfused[i], fused[i], Arrays.toString(shape) + ": " + names[i]);
                }
            }
        }
    }

    /** Output, input gradient and the parameters' gradients of sum(block(x) * w). */
    private static float[][] blockPass(CifarResNet.BasicBlock b, Tensor x, Tensor w,
                                       BiFunction<CifarResNet.BasicBlock, Variable, Variable> f) {
        try (ParameterArena arena = ParameterArena.pack(b); Scope s = Scope.open()) {
            Variable xv = new Variable(x.copy(), true);
            Variable y = f.apply(b, xv);
            y.mul(new Variable(w)).sum().backward();
            return new float[][] {y.data().toFloatArray(), xv.grad().toFloatArray(), b.conv1.weight.grad().toFloatArray(),
                b.conv2.weight.grad().toFloatArray(), b.bn1.weight.grad().toFloatArray(), b.bn1.bias.grad().toFloatArray(),
                b.bn2.weight.grad().toFloatArray(), b.bn2.bias.grad().toFloatArray()};
        }
    }

    /** Every depth, with and without BN, runs forward and backward (8x8 images keep the deep ones fast). */
    @ParameterizedTest
    @ValueSource(ints = {20, 32, 44, 56, 110, 218})
    void forwardAndBackwardOnATinyBatch(int depth) {
        for (boolean bn : new boolean[] {true, false}) {
            CifarResNet m = new CifarResNet(depth, bn, 10, new Generator(depth));
            try (ParameterArena arena = ParameterArena.pack(m); Scope s = Scope.open()) {
                Variable x = new Variable(Tensor.randn(new Generator(1), 2, 3, 8, 8));
                Variable logits = m.forward(x);
                assertEquals(Shape.of(2, 10), logits.shape());
                Functional.crossEntropy(logits, Tensor.ofInts(new int[] {3, 7}, 2)).backward();
                double norm = 0;
                for (float g : arena.grads().toFloatArray()) norm += g * g;
                assertTrue(norm > 0 && Double.isFinite(norm), "ResNet-" + depth + (bn ? "" : " without BN") + ": gradient norm " + norm);
                // every parameter gets a gradient
                for (var e : arena.entries()) {
                    double pn = 0;
                    for (float g : e.parameter().grad().toFloatArray()) pn += g * g;
                    assertTrue(pn > 0, e.name() + " has a zero gradient");
                }
            }
        }
    }

    @Test
    void badArgumentsAreNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> new CifarResNet(21, true, 10, new Generator(0)));
        assertTrue(e.getMessage().contains("got 21"), e.getMessage());
        CifarResNet m = new CifarResNet(20, false, 10, new Generator(0));
        e = assertThrows(IllegalArgumentException.class, () -> m.forward(new Variable(Tensor.zeros(2, 1, 32, 32))));
        assertEquals("CifarResNet-20: expects images of shape (n, 3, h, w) with h, w >= 4, got [2, 1, 32, 32]", e.getMessage());
        assertFalse(m.batchNorm());
    }
}
