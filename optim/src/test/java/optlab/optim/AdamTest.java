package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import optlab.nn.Linear;
import optlab.nn.ParameterArena;
import optlab.nn.Sequential;
import optlab.tensor.Generator;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;

class AdamTest {
    private static ParameterArena arenaOf(float[] x) {
        Linear lin = new Linear(x.length, 1, false, new Generator(0));
        lin.weight.data().copyFrom(Tensor.of(x, 1, x.length));
        return ParameterArena.pack(lin);
    }

    /**
     * By hand: with eps = 0 and the same gradient g every step, m_t = (1 - beta1^t) g and
     * v_t = (1 - beta2^t) g^2, so b_t m_t / sqrt(v_t) = sign(g): each step moves exactly alpha * sign(g).
     */
    @Test
    void constantGradientMovesAlphaTimesSignPerStep() {
        try (ParameterArena arena = arenaOf(new float[] {1f, -2f, 0.5f}); Adam adam = new Adam(arena, 0.01, 0.9, 0.999, 0)) {
            for (int t = 1; t <= 3; t++) {
                arena.grads().copyFrom(Tensor.of(new float[] {0.1f, 0.2f, -0.3f}, 3));
                adam.step();
            }
            float[] x = arena.values().toFloatArray();
            assertEquals(0.97, x[0], 1e-6);
            assertEquals(-2.03, x[1], 1e-6);
            assertEquals(0.53, x[2], 1e-6);
            assertEquals(3, adam.stepCount());
        }
    }

    /** The fused pass over the arena equals a plain loop over each parameter's elements, bit for bit, for 100 steps. */
    @Test
    void fusedArenaUpdateEqualsAPerParameterLoop() {
        Sequential model = new Sequential(new Linear(7, 5, true, new Generator(1)), new Linear(5, 3, true, new Generator(2)));
        try (ParameterArena arena = ParameterArena.pack(model); Adam adam = new Adam(arena, 3e-3, 0.8, 0.99, 1e-6)) {
            int n = arena.size();
            float[] x = arena.values().toFloatArray(), m = new float[n], v = new float[n];
            SplittableRandom r = new SplittableRandom(5);
            for (int t = 1; t <= 100; t++) {
                float[] g = new float[n];
                for (int i = 0; i < n; i++) g[i] = (float) r.nextGaussian();
                arena.grads().copyFrom(Tensor.of(g, n));
                adam.step();
                double bt = Math.sqrt(1 - Math.pow(0.99, t)) / (1 - Math.pow(0.8, t));
                // Choi's form: step size alpha*b_t, eps on the uncorrected sqrt(v) (d = 1), Adam, no weight decay
                Adam.Args s = new Adam.Args(3e-3 * bt, 0.8, 1 - 0.8, 0.99, 1 - 0.99, 1e-6, 1, false, false, WeightDecay.Args.NONE);
                for (ParameterArena.Entry e : arena.entries()) { // the plain loop, parameter by parameter
                    for (int j = 0; j < e.numel(); j++) {
                        int i = e.offset() + j;
                        x[i] = Adam.step(x[i], g[i], m, i, v, i, s);
                    }
                }
            }
            assertArrayEquals(x, arena.values().toFloatArray());
        }
    }

    @Test
    void invalidHyperparametersAreRefusedByName() {
        try (ParameterArena arena = arenaOf(new float[] {1f})) {
            var e = assertThrows(IllegalArgumentException.class, () -> new Adam(arena, -0.1));
            assertEquals("invalid learning rate: -0.1 (must be in [0.0, Infinity))", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new Adam(arena, 0.1, 1.0, 0.999, 1e-8));
            assertEquals("invalid beta1: 1.0 (must be in [0.0, 1.0))", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new Adam(arena, 0.1, 0.9, 0.999, -1e-8));
            assertEquals("invalid eps: -1.0E-8 (must be in [0.0, Infinity))", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new Adam(arena, Double.NaN));
            assertEquals("invalid learning rate: NaN (must be in [0.0, Infinity))", e.getMessage());
        }
    }
}
