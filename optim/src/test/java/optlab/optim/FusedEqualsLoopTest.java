package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import optlab.nn.ParameterArena;
import optlab.optim.Numerics.DecayConvention;
import optlab.optim.Numerics.EpsPlacement;
import optlab.optim.Numerics.StatePrecision;
import optlab.optim.Numerics.WeightDecayMode;
import optlab.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fused arena update equals a plain per-parameter loop over the reference ({@link ReferenceLoop}),
 * bit for bit in x and in every state buffer, over 100 steps of random gradients: every preset, every
 * numerics variant (eps placements, bias correction off, RMSProp's accumulator, every weight-decay mode
 * and convention, float64 state), on an arena of two parameter groups with per-group overrides and a
 * warmup-then-cosine schedule.
 */
class FusedEqualsLoopTest {
    static Stream<Arguments> settings() {
        List<OptimizerConfig> cs = new ArrayList<>();
        Schedule schedule = Schedule.warmup(10, Schedule.cosine(Schedule.Unit.STEP, 1, 100, 0.1));
        for (String p : Presets.names()) {
            OptimizerConfig base = Presets.get(p);
            OptimizerConfig.Builder b = base.toBuilder().lr(base.lr() * 3).schedule(schedule);
            if (base.numerics().weightDecayMode() != WeightDecayMode.NONE) b.weightDecay(0.05);
            b.group(new OptimizerConfig.GroupSettings("no_decay", base.lr(), 0.0));
            cs.add(b.build());
            if (base.rule().hasState()) cs.add(b.statePrecision(StatePrecision.FLOAT64).preset(p + "+float64").build());
        }
        cs.add(Presets.builder("pytorch.adam").epsPlacement(EpsPlacement.INSIDE_SQRT).eps(1e-3).preset("adam eps inside").build());
        cs.add(Presets.builder("choi.adam").biasCorrection(false).preset("adam without bias correction").build());
        cs.add(Presets.builder("choi.nadam").biasCorrection(false).statePrecision(StatePrecision.FLOAT64).preset("nadam no bc f64").build());
        cs.add(Presets.builder("choi.rmsprop").momentum(0.9).initialAccumulator(0).eps(1e-3)
                .epsPlacement(EpsPlacement.OUTSIDE_UNCORRECTED).preset("rmsprop v0=0 eps outside").build());
        cs.add(Presets.builder("choi.rmsprop").momentum(0.5).weightDecayMode(WeightDecayMode.PROXIMAL, DecayConvention.LAMBDA_LR)
                .weightDecay(0.1).preset("rmsprop proximal").build());
        cs.add(Presets.builder("choi.sgd").weightDecayMode(WeightDecayMode.L2, null).weightDecay(0.1).preset("sgd l2").build());
        cs.add(Presets.builder("choi.momentum").weightDecayMode(WeightDecayMode.DECOUPLED, DecayConvention.LAMBDA_ETA_T)
                .weightDecay(0.01).preset("momentum decoupled").build());
        cs.add(Presets.builder("choi.nesterov").weightDecayMode(WeightDecayMode.PROXIMAL, DecayConvention.LAMBDA_ETA_T)
                .weightDecay(0.01).statePrecision(StatePrecision.FLOAT64).preset("nesterov proximal f64").build());
        return cs.stream().map(c -> Arguments.of(c.preset(), c));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("settings")
    void fusedArenaUpdateEqualsAPerParameterLoop(String name, OptimizerConfig config) {
        try (ParameterArena arena = Fixtures.grouped(Fixtures.twoLayers()); Optimizer opt = config.create(arena)) {
            assertEquals(2, arena.groups().size());
            int n = arena.size();
            float[] x = arena.values().toFloatArray();
            Object[] state = ReferenceLoop.hostState(opt);
            SplittableRandom r = new SplittableRandom(5);
            for (int t = 1; t <= 100; t++) {
                float[] g = new float[n];
                for (int i = 0; i < n; i++) g[i] = (float) r.nextGaussian();
                arena.grads().copyFrom(Tensor.of(g, n));
                assertTrue(opt.step());
                ReferenceLoop.step(opt, arena, t, x, g, state);
            }
            float[] fused = arena.values().toFloatArray();
            assertArrayEquals(x, fused, name + ": x");
            int k = 0;
            for (var e : opt.stateTensors().entrySet()) {
                Object ref = state[k++];
                if (ref instanceof float[] f) assertArrayEquals(f, e.getValue().toFloatArray(), name + ": " + e.getKey());
                else assertArrayEquals((double[]) ref, e.getValue().toDoubleArray(), name + ": " + e.getKey());
            }
            for (float v : fused) assertTrue(Float.isFinite(v), name + ": non-finite weight");
        }
    }

    /** Every setting above with float64 state, for float64 parameters (duplicates dropped). */
    static Stream<Arguments> float64Settings() {
        return settings().map(a -> (OptimizerConfig) a.get()[1])
                .filter(c -> !c.preset().endsWith("+float64")) // the same setting as its preset's, converted below
                .map(c -> c.rule().hasState() ? c.toBuilder().statePrecision(StatePrecision.FLOAT64).build() : c)
                .distinct()
                .map(c -> Arguments.of(c.preset(), c));
    }

    /**
     * NOTE [float64-parameters]: over a FLOAT64 arena each rule's {@code <rule>_f64} pass equals the
     * per-parameter loop over its float64 {@code step}, bit for bit in x and the state, over
     * 100 steps of gradients that use all of float64's bits (not float32 values widened).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("float64Settings")
    void float64ParametersFusedUpdateEqualsAPerParameterLoop(String name, OptimizerConfig config) {
        try (ParameterArena arena = Fixtures.grouped64(); Optimizer opt = config.create(arena)) {
            assertEquals(optlab.kernels.DType.FLOAT64, arena.values().dtype());
            assertTrue(opt.fusedKernel().name().endsWith("_f64"), opt.fusedKernel().name());
            assertEquals(null, opt.fusedKernel().cuda(), "host-only kernel");
            int n = arena.size();
            double[] x = arena.values().toDoubleArray();
            Object[] state = ReferenceLoop.hostState(opt);
            for (Object st : state) assertTrue(st instanceof double[], name + ": float64 state");
            SplittableRandom r = new SplittableRandom(5);
            for (int t = 1; t <= 100; t++) {
                double[] g = new double[n];
                for (int i = 0; i < n; i++) g[i] = r.nextGaussian();
                arena.grads().copyFrom(Tensor.of(g, n));
                assertTrue(opt.step());
                ReferenceLoop.step(opt, arena, t, x, g, state);
            }
            double[] fused = arena.values().toDoubleArray();
            assertArrayEquals(x, fused, name + ": x");
            int k = 0;
            for (var e : opt.stateTensors().entrySet()) assertArrayEquals((double[]) state[k++], e.getValue().toDoubleArray(), name + ": " + e.getKey());
            for (double v : fused) assertTrue(Double.isFinite(v), name + ": non-finite weight");
            // the float64 run really is float64: some weight is not a float32 value
            boolean wide = false;
            for (double v : fused) wide |= (double) (float) v != v;
            assertTrue(wide, name + ": every weight is a float32 value");
        }
    }
}
