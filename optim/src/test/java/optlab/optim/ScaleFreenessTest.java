package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.nn.ParameterArena;
import optlab.nn.models.CifarResNet;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Zhuang et al.'s scale-freeness (PAPERS.md section 1.1), bit for bit: on ResNet-20 without batch norm,
 * on one fixed batch, AdamW and AdamProx with eps = 0 reach bit-identical parameters after 50 steps
 * whether the loss is multiplied by 1 or by 2^k; Adam-L2 with lambda > 0 does not.
 *
 * <p>Why exact: multiplying the loss by c = 2^k multiplies every gradient by c exactly (each backward
 * op is linear in its upstream gradient, and scaling by a power of two commutes with float rounding
 * away from overflow and subnormals; the CPU kernels sum in a fixed order). Then m scales by c, v by
 * c^2, sqrt(v) by c, and u = (s m)/(sqrt(v)/d + 0) is unchanged to the bit. Adam-L2 adds lambda x to
 * c g, which does not scale. The batch is tiny (2 images of 16x16; the network is fully
 * convolutional up to its global pooling) to keep the test quick.
 */
class ScaleFreenessTest {
    private static final int STEPS = 50;
    private static final Map<String, float[]> CACHE = new HashMap<>();

    /** ResNet-20 (no BN) parameters after STEPS steps of {@code preset} (eps 0, lambda 5e-4) on loss * 2^k. */
    private static float[] train(String preset, int k) {
        return CACHE.computeIfAbsent(preset + " " + k, key -> {
            CifarResNet model = new CifarResNet(20, false, 10, new Generator(7));
            OptimizerConfig c = Presets.builder(preset).lr(1e-3).eps(0).weightDecay(5e-4).build();
            try (ParameterArena arena = ParameterArena.pack(model); Optimizer opt = c.create(arena);
                 Tensor x = Tensor.randn(new Generator(11), 2, 3, 16, 16); Tensor y = Tensor.ofInts(new int[] {3, 8}, 2)) {
                for (int t = 0; t < STEPS; t++) {
                    try (Scope s = Scope.open()) {
                        Variable loss = Functional.crossEntropy(model.forward(new Variable(x)), y).mul(Math.scalb(1.0, k));
                        opt.zeroGrad();
                        loss.backward();
                        assertTrue(opt.step(), "step " + t + " skipped: " + opt.lastSkipped());
                    }
                }
                float[] p = arena.values().toFloatArray();
                for (float v : p) assertTrue(Float.isFinite(v), preset + " k=" + k + ": a parameter is not finite");
                return p;
            }
        });
    }

    @Test
    void adamWIsScaleFreeBitForBit() {
        float[] base = train("zhuang.adamw", 0);
        assertArrayEquals(base, train("zhuang.adamw", 3), "loss x 8");
        assertArrayEquals(base, train("zhuang.adamw", -2), "loss x 1/4");
        assertArrayEquals(base, train("zhuang.adamw", 10), "loss x 1024");
    }

    @Test
    void adamProxIsScaleFreeBitForBit() {
        float[] base = train("zhuang.adamprox", 0);
        assertArrayEquals(base, train("zhuang.adamprox", 3), "loss x 8");
        assertArrayEquals(base, train("zhuang.adamprox", 10), "loss x 1024");
    }

    @Test
    void adamL2IsNot() {
        float[] base = train("zhuang.adam_l2", 0), scaled = train("zhuang.adam_l2", 3);
        assertFalse(Arrays.equals(base, scaled), "Adam-L2 with lambda > 0 must depend on the loss scale");
        // and the training did move the weights (so the identities above are not vacuous)
        try (ParameterArena arena = ParameterArena.pack(new CifarResNet(20, false, 10, new Generator(7)))) {
            assertFalse(Arrays.equals(arena.values().toFloatArray(), train("zhuang.adamw", 0)));
        }
    }
}
