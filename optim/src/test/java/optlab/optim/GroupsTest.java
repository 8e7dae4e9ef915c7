package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import java.util.SplittableRandom;
import optlab.nn.ParameterArena;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Parameter groups: each group's range runs with its own resolved values, and only those: a group
 * with overrides evolves exactly as if the whole arena had its values.
 */
class GroupsTest {
    /** Final x after 30 steps over a grouped two-layer arena (decay: 50 weights first, then no_decay: 8 biases). */
    private static float[] run(OptimizerConfig c) {
        try (ParameterArena arena = Fixtures.grouped(Fixtures.twoLayers()); Optimizer opt = c.create(arena)) {
            SplittableRandom r = new SplittableRandom(9);
            int n = arena.size();
            for (int t = 1; t <= 30; t++) {
                float[] g = new float[n];
                for (int i = 0; i < n; i++) g[i] = (float) r.nextGaussian();
                arena.grads().copyFrom(Tensor.of(g, n));
                opt.step();
            }
            return arena.values().toFloatArray();
        }
    }

    @Test
    void noDecayOnBiasesAndAnotherLearningRate() {
        OptimizerConfig base = Presets.builder("zhuang.adamw").lr(1e-2).weightDecay(0.1).build();
        float[] mixed = run(base.toBuilder().group(new OptimizerConfig.GroupSettings("no_decay", 3e-2, 0.0)).build());
        float[] allDecay = run(base);
        float[] noDecayFastLr = run(base.toBuilder().lr(3e-2).weightDecay(0).build());
        // weights (offsets 0..49) as with the optimizer-wide values; biases (50..57) as with the override
        assertArrayEquals(Arrays.copyOfRange(allDecay, 0, 50), Arrays.copyOfRange(mixed, 0, 50));
        assertArrayEquals(Arrays.copyOfRange(noDecayFastLr, 50, 58), Arrays.copyOfRange(mixed, 50, 58));
        // and the override changed something
        assertFalse(Arrays.equals(Arrays.copyOfRange(allDecay, 50, 58), Arrays.copyOfRange(mixed, 50, 58)));
    }
}
