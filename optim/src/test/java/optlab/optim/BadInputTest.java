package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import optlab.nn.ParameterArena;
import optlab.optim.Numerics.WeightDecayMode;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Invalid hyperparameters are refused by name and value; non-finite gradients never reach the weights. */
class BadInputTest {
    private static String refused(Executable e) {
        return assertThrows(IllegalArgumentException.class, e).getMessage();
    }

    @Test
    void invalidHyperparametersAreRefusedNamingParameterAndValue() {
        assertEquals("invalid learning rate: -0.1 (must be in [0.0, Infinity))", refused(() -> Presets.builder("choi.sgd").lr(-0.1).build()));
        assertEquals("invalid learning rate: NaN (must be in [0.0, Infinity))", refused(() -> Presets.builder("zhuang.adamw").lr(Double.NaN).build()));
        assertEquals("invalid beta1: 1.0 (must be in [0.0, 1.0))", refused(() -> Presets.builder("pytorch.adam").beta1(1).build()));
        assertEquals("invalid beta2: -0.5 (must be in [0.0, 1.0))", refused(() -> Presets.builder("choi.nadam").beta2(-0.5).build()));
        assertEquals("invalid eps: -1.0E-8 (must be in [0.0, Infinity))", refused(() -> Presets.builder("choi.adam").eps(-1e-8).build()));
        assertEquals("invalid momentum: 1.0 (must be in [0.0, 1.0))", refused(() -> Presets.builder("choi.momentum").momentum(1).build()));
        assertEquals("invalid rho: 1.5 (must be in [0.0, 1.0])", refused(() -> Presets.builder("choi.rmsprop").rho(1.5).build()));
        assertEquals("invalid weight decay: -0.01 (must be in [0.0, Infinity))", refused(() -> Presets.builder("zhuang.adamw").weightDecay(-0.01).build()));
        assertEquals("invalid initial accumulator: -1.0 (must be in [0.0, Infinity))",
                refused(() -> Presets.builder("choi.rmsprop").initialAccumulator(-1).build()));
        assertEquals("invalid learning rate of group no_decay: -1.0 (must be in [0.0, Infinity))",
                refused(() -> new OptimizerConfig.GroupSettings("no_decay", -1.0, null)));
    }

    @Test
    void settingsThatDoNotFitTheRuleAreRefused() {
        assertEquals("beta1 does not apply to sgd (got 0.9)", refused(() -> Presets.builder("choi.sgd").beta1(0.9).build()));
        assertEquals("eps does not apply to momentum (got 1.0E-8)", refused(() -> Presets.builder("choi.momentum").eps(1e-8).build()));
        assertEquals("sgd: weight decay 0.1 given but numerics.weight_decay_mode is none",
                refused(() -> Presets.builder("choi.sgd").weightDecay(0.1).build()));
        assertEquals("adam: numerics.decay_convention is missing (weight decay mode DECOUPLED needs lambda_eta_t or lambda_lr)",
                refused(() -> Presets.builder("choi.adam").weightDecayMode(WeightDecayMode.DECOUPLED, null).build()));
        assertTrue(refused(() -> Presets.get("adamw")).startsWith("no optimizer preset 'adamw'; presets: choi.sgd, "));
        try (ParameterArena arena = Fixtures.arenaOf(1f)) {
            OptimizerConfig c = Presets.builder("zhuang.adamw").group(new OptimizerConfig.GroupSettings("no_decay", null, 0.0)).build();
            assertEquals("no parameter group 'no_decay' in this arena; its groups are [all]", refused(() -> c.create(arena)));
        }
    }

    @Test
    void constructorsOfTheRulesRefuseToo() {
        try (ParameterArena arena = Fixtures.arenaOf(1f)) {
            assertEquals("invalid learning rate: -1.0 (must be in [0.0, Infinity))", refused(() -> new Sgd(arena, -1)));
            assertEquals("invalid momentum: -0.5 (must be in [0.0, 1.0))", refused(() -> new Momentum(arena, 0.1, -0.5, true)));
            assertEquals("Sgd runs [SGD], not ADAM", refused(() -> new Sgd(arena, Presets.get("choi.adam"))));
        }
    }

    /** An arena of two layers with gradient NaN (or inf) at element 2 of "1.bias"; returns the optimizer's state copies. */
    private static void poisonOneGradient(ParameterArena arena, float bad) {
        float[] g = new float[arena.size()];
        for (int i = 0; i < g.length; i++) g[i] = 0.01f * (i % 7 - 3);
        ParameterArena.Entry bias = arena.entries().stream().filter(e -> e.name().equals("1.bias")).findFirst().orElseThrow();
        g[bias.offset() + 2] = bad;
        arena.grads().copyFrom(Tensor.of(g, g.length));
    }

    private static List<float[]> snapshot(ParameterArena arena, Optimizer opt) {
        List<float[]> s = new ArrayList<>();
        s.add(arena.values().toFloatArray());
        for (Tensor t : opt.stateTensors().values()) s.add(t.toFloatArray());
        return s;
    }

    private static void assertUnchanged(List<float[]> before, List<float[]> after) {
        assertEquals(before.size(), after.size());
        for (int i = 0; i < before.size(); i++) assertArrayEquals(before.get(i), after.get(i), i == 0 ? "weights" : "state " + i);
    }

    @Test
    void aNanGradientIsReportedByNameAndTheStepSkippedByDefault() {
        try (ParameterArena arena = ParameterArena.pack(Fixtures.twoLayers()); Optimizer opt = Presets.get("zhuang.adamw").create(arena)) {
            // one good step first, so the state is not trivially zero
            poisonOneGradient(arena, 0.5f);
            assertTrue(opt.step());
            List<float[]> before = snapshot(arena, opt);
            poisonOneGradient(arena, Float.NaN);
            assertFalse(opt.step());
            assertUnchanged(before, snapshot(arena, opt));
            assertEquals(1, opt.stepCount());
            assertEquals(1, opt.skippedSteps());
            NonFiniteGradientException r = opt.lastSkipped();
            assertEquals("1.bias", r.parameter());
            assertEquals(2, r.index());
            assertEquals(2, r.step());
            assertEquals("non-finite gradient at step 2: 1.bias[2] (flat index within the parameter) is NaN; "
                    + "step skipped: weights and optimizer state unchanged", r.getMessage());
            // training goes on at step 2 once the gradient is good again
            poisonOneGradient(arena, 0.25f);
            assertTrue(opt.step());
            assertEquals(2, opt.stepCount());
        }
    }

    @Test
    void anInfiniteGradientThrowsUnderThePolicyThrowWithNothingWritten() {
        OptimizerConfig c = Presets.builder("choi.rmsprop").nonFiniteGradients(NonFinitePolicy.THROW).build();
        try (ParameterArena arena = ParameterArena.pack(Fixtures.twoLayers()); Optimizer opt = c.create(arena)) {
            List<float[]> before = snapshot(arena, opt);
            poisonOneGradient(arena, Float.NEGATIVE_INFINITY);
            var e = assertThrows(NonFiniteGradientException.class, opt::step);
            assertEquals("non-finite gradient at step 1: 1.bias[2] (flat index within the parameter) is -Infinity; nothing was written",
                    e.getMessage());
            assertUnchanged(before, snapshot(arena, opt));
            assertEquals(0, opt.stepCount());
        }
    }

    @Test
    void finiteGradientsWhoseSumOverflowsAreNotReported() {
        // 58 gradients of 3e38: their float sum overflows to infinity, but each is finite; the host scan
        // after the cheap check finds nothing, and the step runs
        try (ParameterArena arena = ParameterArena.pack(Fixtures.twoLayers());
             Optimizer opt = Presets.builder("choi.sgd").lr(0).nonFiniteGradients(NonFinitePolicy.THROW).build().create(arena)) {
            arena.grads().fillInPlace(3e38);
            assertTrue(opt.step());
            assertNull(opt.lastSkipped());
        }
    }

    @Test
    void uncheckedLetsTheNanThrough() {
        OptimizerConfig c = Presets.builder("choi.sgd").nonFiniteGradients(NonFinitePolicy.UNCHECKED).build();
        try (ParameterArena arena = ParameterArena.pack(Fixtures.twoLayers()); Optimizer opt = c.create(arena)) {
            poisonOneGradient(arena, Float.NaN);
            assertTrue(opt.step());
            ParameterArena.Entry bias = arena.entries().stream().filter(e -> e.name().equals("1.bias")).findFirst().orElseThrow();
            assertTrue(Float.isNaN(arena.values().toFloatArray()[bias.offset() + 2]));
        }
    }
}
