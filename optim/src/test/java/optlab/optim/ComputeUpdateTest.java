package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.FusedKernel;
import optlab.nn.ParameterArena;
import optlab.optim.Numerics.DecayConvention;
import optlab.optim.Numerics.EpsPlacement;
import optlab.optim.Numerics.StatePrecision;
import optlab.optim.Numerics.WeightDecayMode;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Optimizer#computeUpdate} (NOTE [update-probe]): after each of 40 steps of random gradients, the update u it
 * writes equals, bit for bit, the u that the rule's {@code u} computes, recomputed here element by
 * element from x, g and the state as they were BEFORE the step (so the kernel must read the new state, and the u
 * function the step and the kernel share must compute what the step's math always did). Every Adam preset with
 * weight decay where it has one, eps placements, bias correction off, eps = 0 with coordinates that never see a
 * gradient (0/0 = 0, NOTE [zero-over-zero]), SGD, Momentum, Nesterov and RMSProp; float32 state, float64 state and
 * float64 parameters; two parameter groups with their own lr and weight decay, under a warmup-then-cosine schedule.
 * Then: that u really is the step's (x_t from x_{t-1} and u by the step's own formula, bit for bit), and every
 * refusal.
 */
class ComputeUpdateTest {
    private static final int STEPS = 40;

    static Stream<Arguments> settings() {
        Schedule schedule = Schedule.warmup(5, Schedule.cosine(Schedule.Unit.STEP, 1, STEPS, 0.1));
        List<OptimizerConfig> base = new ArrayList<>();
        for (String p : List.of("choi.adam", "choi.nadam", "pytorch.adam", "pytorch.adamw", "zhuang.adam_l2", "zhuang.adamw",
                "zhuang.adamprox", "choi.sgd", "choi.momentum", "choi.nesterov", "choi.rmsprop")) {
            OptimizerConfig c = Presets.get(p);
            OptimizerConfig.Builder b = c.toBuilder().lr(c.lr() * 3).preset(p);
            if (c.numerics().weightDecayMode() != WeightDecayMode.NONE) b.weightDecay(0.05);
            base.add(b.build());
        }
        base.add(Presets.builder("pytorch.adam").epsPlacement(EpsPlacement.INSIDE_SQRT).eps(1e-3).weightDecay(0.01).preset("adam eps inside").build());
        base.add(Presets.builder("choi.nadam").biasCorrection(false).preset("nadam without bias correction").build());
        base.add(Presets.builder("zhuang.adamw").eps(0).weightDecay(0.05).preset("adamw eps 0").build());
        base.add(Presets.builder("zhuang.adam_l2").eps(0).weightDecay(0.05).preset("adam_l2 eps 0").build());
        base.add(Presets.builder("zhuang.adamprox").eps(0).epsPlacement(EpsPlacement.INSIDE_SQRT).weightDecay(0.05)
                .preset("adamprox eps 0 inside").build());
        base.add(Presets.builder("choi.nadam").eps(0).preset("nadam eps 0").build());
        // NAdam's numerator is the one place u reads the gradient (Adam's reads only the new m and v): with L2 it reads xOld
        base.add(Presets.builder("choi.nadam").weightDecayMode(WeightDecayMode.L2, null).weightDecay(0.05).preset("nadam l2").build());
        base.add(Presets.builder("choi.sgd").weightDecayMode(WeightDecayMode.L2, null).weightDecay(0.1).preset("sgd l2").build());
        base.add(Presets.builder("choi.momentum").weightDecayMode(WeightDecayMode.DECOUPLED, DecayConvention.LAMBDA_LR)
                .weightDecay(0.1).preset("momentum decoupled").build());
        base.add(Presets.builder("choi.nesterov").weightDecayMode(WeightDecayMode.L2, null).weightDecay(0.01).preset("nesterov l2").build());
        base.add(Presets.builder("choi.rmsprop").momentum(0.9).initialAccumulator(0).eps(0).epsPlacement(EpsPlacement.OUTSIDE_UNCORRECTED)
                .weightDecayMode(WeightDecayMode.PROXIMAL, DecayConvention.LAMBDA_ETA_T).weightDecay(0.1).preset("rmsprop v0=0 eps 0 proximal").build());
        List<Arguments> out = new ArrayList<>();
        for (OptimizerConfig c : base) {
            // the no_decay group: another learning rate and no weight decay
            OptimizerConfig g = c.toBuilder().schedule(schedule).group(new OptimizerConfig.GroupSettings("no_decay", c.lr() / 3, 0.0)).build();
            out.add(Arguments.of(c.preset() + " f32", g, false));
            if (c.rule().hasState()) {
                OptimizerConfig g64 = g.toBuilder().statePrecision(StatePrecision.FLOAT64).build();
                out.add(Arguments.of(c.preset() + " f64state", g64, false));
                out.add(Arguments.of(c.preset() + " f64 parameters", g64, true));
            } else {
                out.add(Arguments.of(c.preset() + " f64 parameters", g, true));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("settings")
    void theUpdateEqualsTheReferenceUAndIsTheStepsUpdate(String name, OptimizerConfig config, boolean float64Parameters) {
        boolean zeroEps = config.eps() != null && config.eps() == 0;
        try (ParameterArena arena = float64Parameters ? Fixtures.grouped64() : Fixtures.grouped(Fixtures.twoLayers());
             Optimizer opt = config.create(arena)) {
            assertEquals(2, arena.groups().size());
            assertTrue(opt.groups().get(0).lr() != opt.groups().get(1).lr(), "groups with different learning rates");
            int n = arena.size();
            DType dtype = arena.values().dtype();
            boolean f64state = config.numerics().statePrecision() == StatePrecision.FLOAT64 || float64Parameters;
            boolean exactStep = !f64state || float64Parameters; // x_t = decay(x_{t-1}, u) holds bit for bit (see below)
            String expectedKernel = opt.fusedKernel().name().replaceFirst("^(sgd|momentum|rmsprop|adam)_", "$1_update_");
            assertEquals(expectedKernel, opt.updateKernel().name(), name);
            SplittableRandom r = new SplittableRandom(17);
            long zeroOverZero = 0, checked = 0;
            for (int t = 1; t <= STEPS; t++) {
                double[] xOld = arena.values().toDoubleArray();
                double[][] before = stateBefore(opt, n);
                double[] g = new double[n];
                for (int i = 0; i < n; i++) {
                    // every 11th coordinate never sees a gradient (m = v = 0: 0/0 with eps = 0); every third step is small
                    g[i] = i % 11 == 0 ? 0 : r.nextGaussian() * (t % 3 == 0 ? 1e-3 : 1);
                    if (!float64Parameters) g[i] = (float) g[i];
                }
                try (Tensor gt = Tensor.of(g, n); Tensor gd = gt.to(dtype)) {
                    arena.grads().copyFrom(gd);
                }
                try (Tensor xOldT = arena.values().copy(); Tensor out = Tensor.full(Shape.of(n), Double.NaN, dtype, Device.CPU)) {
                    assertTrue(opt.step(), name + ": step " + t + " skipped");
                    assertTrue(opt.computeUpdate(xOldT, out));
                    double[] u = out.toDoubleArray();
                    double[] xNew = arena.values().toDoubleArray();
                    for (Optimizer.ResolvedGroup grp : opt.groups()) {
                        double[] sc = opt.kernelScalars(t, grp);
                        int mode = (int) sc[sc.length - 3];
                        for (int i = grp.offset(); i < grp.offset() + grp.numel(); i++) {
                            double s0 = before[0][i], s1 = before[1][i];
                            int[] zz = {0};
                            double expected = float64Parameters ? expectedU64(config.rule(), sc, xOld[i], g[i], s0, s1, zz)
                                    : f64state ? (float) expectedU64(config.rule(), sc, xOld[i], g[i], s0, s1, zz)
                                    : expectedU32(config.rule(), sc, (float) xOld[i], (float) g[i], (float) s0, (float) s1, zz);
                            zeroOverZero += zz[0];
                            String at = name + " step " + t + " group " + grp.name() + " [" + i + "]";
                            double got = u[i];
                            assertEquals(Double.doubleToLongBits(expected), Double.doubleToLongBits(got),
                                    () -> at + ": u " + got + ", reference " + expected);
                            if (exactStep) { // the step's own formula on x_{t-1} and u gives x_t
                                double x = float64Parameters ? decay64(xOld[i], u[i], mode, sc[sc.length - 1])
                                        : decay32((float) xOld[i], (float) u[i], mode, (float) sc[sc.length - 1]);
                                assertEquals(Double.doubleToLongBits(xNew[i]), Double.doubleToLongBits(x), () -> at + ": x_t from x_{t-1} and u");
                            }
                            checked++;
                        }
                    }
                    // the probe changed nothing: computing u again gives the same bits, x is the step's
                    try (Tensor again = Tensor.full(Shape.of(n), Double.NaN, dtype, Device.CPU)) {
                        assertTrue(opt.computeUpdate(xOldT, again));
                        assertArrayEquals(u, again.toDoubleArray(), name + ": a second computeUpdate");
                    }
                    assertArrayEquals(xNew, arena.values().toDoubleArray(), name + ": x after computeUpdate");
                }
            }
            assertEquals((long) STEPS * n, checked);
            if (zeroEps) assertTrue(zeroOverZero > 0, name + ": eps = 0 but no coordinate took the 0/0 path");
        }
    }

    /** The two state buffers before the step, widened (zeros for a rule with fewer). */
    private static double[][] stateBefore(Optimizer opt, int n) {
        double[][] s = {new double[n], new double[n]};
        int k = 0;
        for (Tensor t : opt.stateTensors().values()) s[k++] = t.toDoubleArray();
        return s;
    }

    /**
     * The u of one element as the rule's float32 {@code u} computes it, from x, g and the state s0, s1 before
     * the step (Adam m, v; Momentum v; RMSProp v, m), with the kernel scalars of its group; zz[0] counts a 0/0.
     */
    private static float expectedU32(Rule rule, double[] sc, float x, float g, float s0, float s1, int[] zz) {
        int mode = (int) sc[sc.length - 3];
        float l2 = (float) sc[sc.length - 2];
        float grad = mode == WeightDecay.L2 ? g + l2 * x : g;
        switch (rule) {
            case SGD -> {
                return (float) sc[0] * grad;
            }
            case MOMENTUM, NESTEROV -> {
                float lr = (float) sc[0], gamma = (float) sc[1];
                float vt = gamma * s0 + grad;
                return lr * (sc[2] != 0 ? gamma * vt + grad : vt);
            }
            case RMSPROP -> {
                float lr = (float) sc[0], gamma = (float) sc[1], rho = (float) sc[2], omr = (float) sc[3], eps = (float) sc[4];
                float vt = rho * s0 + omr * (grad * grad);
                float den = sc[5] != 0 ? (float) Math.sqrt(vt + eps) : (float) Math.sqrt(vt) + eps;
                float q = lr * grad;
                if (q == 0 && den == 0) zz[0]++;
                return gamma * s1 + (q == 0 && den == 0 ? 0f : q / den);
            }
            case ADAM, NADAM -> {
                float step = (float) sc[0], b1 = (float) sc[1], omb1 = (float) sc[2], b2 = (float) sc[3], omb2 = (float) sc[4];
                float eps = (float) sc[5], d = (float) sc[6];
                float mt = b1 * s0 + omb1 * grad;
                float vt = b2 * s1 + omb2 * (grad * grad);
                float num = sc[8] != 0 ? b1 * mt + omb1 * grad : mt;
                float den = sc[7] != 0 ? (float) Math.sqrt(vt / d + eps) : (float) Math.sqrt(vt) / d + eps;
                float q = step * num;
                if (q == 0 && den == 0) {
                    zz[0]++;
                    return 0f;
                }
                return q / den;
            }
            default -> throw new AssertionError(rule);
        }
    }

    /** {@link #expectedU32} in float64: the rules' {@code update} (float64 state, float64 parameters). */
    private static double expectedU64(Rule rule, double[] sc, double x, double g, double s0, double s1, int[] zz) {
        int mode = (int) sc[sc.length - 3];
        double grad = mode == WeightDecay.L2 ? g + sc[sc.length - 2] * x : g;
        switch (rule) {
            case SGD -> {
                return sc[0] * grad;
            }
            case MOMENTUM, NESTEROV -> {
                double vt = sc[1] * s0 + grad;
                return sc[0] * (sc[2] != 0 ? sc[1] * vt + grad : vt);
            }
            case RMSPROP -> {
                double vt = sc[2] * s0 + sc[3] * (grad * grad);
                double den = sc[5] != 0 ? Math.sqrt(vt + sc[4]) : Math.sqrt(vt) + sc[4];
                double q = sc[0] * grad;
                if (q == 0 && den == 0) zz[0]++;
                return sc[1] * s1 + (q == 0 && den == 0 ? 0.0 : q / den);
            }
            case ADAM, NADAM -> {
                double mt = sc[1] * s0 + sc[2] * grad;
                double vt = sc[3] * s1 + sc[4] * (grad * grad);
                double num = sc[8] != 0 ? sc[1] * mt + sc[2] * grad : mt;
                double den = sc[7] != 0 ? Math.sqrt(vt / sc[6] + sc[5]) : Math.sqrt(vt) / sc[6] + sc[5];
                double q = sc[0] * num;
                if (q == 0 && den == 0) {
                    zz[0]++;
                    return 0.0;
                }
                return q / den;
            }
            default -> throw new AssertionError(rule);
        }
    }

    /** x_t from x_{t-1} and u as the float32 step forms it: x - u (none, L2), x (1 - d) - u, (x - u) / (1 + d). */
    private static float decay32(float x, float u, int mode, float factor) {
        return mode == WeightDecay.DECOUPLED ? x * factor - u : mode == WeightDecay.PROXIMAL ? (x - u) / factor : x - u;
    }

    private static double decay64(double x, double u, int mode, double factor) {
        return mode == WeightDecay.DECOUPLED ? x * factor - u : mode == WeightDecay.PROXIMAL ? (x - u) / factor : x - u;
    }

    /**
     * With float32 parameters and float64 state the step subtracts u in double and rounds x once, while
     * computeUpdate hands out u rounded to float32: x_{t-1} - u in float is then within an ulp or so of x_t, not
     * equal (which is why the test above checks that identity only for the other two paths). This pins the
     * difference down: it is the rounding of u, nothing else.
     */
    @Test
    void withFloat64StateUIsTheDoubleUpdateRoundedOnce() {
        OptimizerConfig c = Presets.builder("zhuang.adam_l2").weightDecay(0.05).statePrecision(StatePrecision.FLOAT64).build();
        try (ParameterArena a32 = Fixtures.grouped(Fixtures.twoLayers()); ParameterArena a64 = Fixtures.grouped64();
             Optimizer o32 = c.create(a32); Optimizer o64 = c.create(a64)) {
            int n = a32.size();
            float[] g = new float[n];
            for (int i = 0; i < n; i++) g[i] = (float) Math.sin(3 * i + 1);
            try (Tensor x32 = a32.values().copy(); Tensor x64 = a64.values().copy(); Tensor u32 = Tensor.zeros(Shape.of(n), DType.FLOAT32, Device.CPU);
                 Tensor u64 = Tensor.zeros(Shape.of(n), DType.FLOAT64, Device.CPU); Tensor g32 = Tensor.of(g, n); Tensor g64 = g32.to(DType.FLOAT64)) {
                a32.grads().copyFrom(g32);
                a64.grads().copyFrom(g64);
                assertTrue(o32.step());
                assertTrue(o64.step());
                assertTrue(o32.computeUpdate(x32, u32));
                assertTrue(o64.computeUpdate(x64, u64));
                float[] uf = u32.toFloatArray();
                double[] ud = u64.toDoubleArray();
                int rounded = 0;
                for (int i = 0; i < n; i++) {
                    assertEquals(Float.floatToIntBits((float) ud[i]), Float.floatToIntBits(uf[i]), "u[" + i + "]");
                    if ((double) uf[i] != ud[i]) rounded++;
                }
                assertTrue(rounded > 0, "every u was a float32 value: the test shows nothing");
            }
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Refusals
    // ------------------------------------------------------------------------------------------------

    private static String illegalState(Optimizer opt, Tensor xOld, Tensor out) {
        return assertThrows(IllegalStateException.class, () -> opt.computeUpdate(xOld, out)).getMessage();
    }

    private static String illegalArgument(Optimizer opt, Tensor xOld, Tensor out) {
        return assertThrows(IllegalArgumentException.class, () -> opt.computeUpdate(xOld, out)).getMessage();
    }

    private static final String AFTER = "; call it right after a step() that returned true, with that step's gradients still in the arena";

    @Test
    void withoutAStepToDescribeItIsRefusedAndWritesNothing() {
        try (ParameterArena arena = Fixtures.grouped(Fixtures.twoLayers()); Optimizer opt = Presets.get("zhuang.adamw").create(arena);
             Tensor xOld = arena.values().copy(); Tensor out = Tensor.full(Shape.of(arena.size()), 7, DType.FLOAT32, Device.CPU)) {
            int n = arena.size();
            assertEquals("Adam.computeUpdate: no update to compute: no step has been taken yet" + AFTER, illegalState(opt, xOld, out));

            Fixtures.setGrads(arena, new float[n]);
            assertTrue(opt.step());
            assertTrue(opt.computeUpdate(xOld, out));
            opt.zeroGrad();
            assertEquals("Adam.computeUpdate: no update to compute: zeroGrad() was called after step 1, clearing its gradients" + AFTER,
                    illegalState(opt, xOld, out));

            float[] g = new float[n];
            g[3] = Float.NaN;
            Fixtures.setGrads(arena, g);
            out.fillInPlace(7);
            assertFalse(opt.step());
            assertEquals("Adam.computeUpdate: no update to compute: the last step() (step 2) was skipped for a non-finite gradient: "
                    + "it applied no update" + AFTER, illegalState(opt, xOld, out));

            OptimizerConfig throwing = Presets.builder("zhuang.adamw").nonFiniteGradients(NonFinitePolicy.THROW).build();
            try (Optimizer strict = throwing.create(arena)) {
                assertThrows(NonFiniteGradientException.class, strict::step);
                assertEquals("Adam.computeUpdate: no update to compute: the last step() (step 1) threw before applying an update" + AFTER,
                        illegalState(strict, xOld, out));
            }

            opt.restoreStepCount(5);
            assertEquals("Adam.computeUpdate: no update to compute: the step count was restored (to 5) and no step has been taken since"
                    + AFTER, illegalState(opt, xOld, out));
            for (float v : out.toFloatArray()) assertEquals(7f, v, "a refused computeUpdate wrote into out");

            Fixtures.setGrads(arena, new float[n]);
            assertTrue(opt.step());
            assertEquals(6, opt.stepCount());
            assertTrue(opt.computeUpdate(xOld, out));
        }
    }

    @Test
    void operandsOfTheWrongKindAreRefusedNamingWhatIsWrong() {
        try (ParameterArena arena = Fixtures.grouped(Fixtures.twoLayers()); Optimizer opt = Presets.get("choi.adam").create(arena);
             Tensor xOld = arena.values().copy(); Tensor out = Tensor.zeros(Shape.of(58), DType.FLOAT32, Device.CPU);
             Tensor f64 = Tensor.zeros(Shape.of(58), DType.FLOAT64, Device.CPU); Tensor shortOne = Tensor.zeros(57);
             Tensor square = Tensor.zeros(2, 58); Tensor wide = Tensor.zeros(116)) {
            Fixtures.setGrads(arena, new float[58]);
            assertTrue(opt.step());
            assertEquals("Adam.computeUpdate: out is FLOAT64 but the parameters are FLOAT32", illegalArgument(opt, xOld, f64));
            assertEquals("Adam.computeUpdate: xOld is FLOAT64 but the parameters are FLOAT32", illegalArgument(opt, f64, out));
            assertEquals("Adam.computeUpdate: out has shape [57]; it must be the flat arena's, [58]", illegalArgument(opt, xOld, shortOne));
            assertEquals("Adam.computeUpdate: xOld has shape [2, 58]; it must be the flat arena's, [58]", illegalArgument(opt, square, out));
            try (Tensor strided = wide.slice(0, 0, 116, 2)) {
                assertEquals("Adam.computeUpdate: out is not contiguous (strides [2])", illegalArgument(opt, xOld, strided));
            }
            assertEquals("Adam.computeUpdate: out and xOld share storage", illegalArgument(opt, xOld, xOld));
            assertEquals("Adam.computeUpdate: xOld is a view of the arena's values, which hold x_t after the step; pass a copy of them "
                    + "taken before step()", illegalArgument(opt, arena.values(), out));
            assertEquals("Adam.computeUpdate: out shares storage with the arena's values; give it a scratch tensor of its own",
                    illegalArgument(opt, xOld, arena.values()));
            assertEquals("Adam.computeUpdate: out shares storage with the arena's gradients; give it a scratch tensor of its own",
                    illegalArgument(opt, xOld, arena.grads()));
            assertEquals("Adam.computeUpdate: out shares storage with the optimizer's state; give it a scratch tensor of its own",
                    illegalArgument(opt, xOld, opt.stateTensors().get("exp_avg")));
            assertTrue(opt.computeUpdate(xOld, out)); // and the right operands are taken
        }
    }

    /** A rule without an update kernel: computeUpdate answers false and writes nothing. */
    @Test
    void aRuleWithoutAnUpdateKernelAnswersFalse() {
        final class PlainSgd extends Optimizer {
            PlainSgd(ParameterArena arena) {
                super(arena, Presets.get("choi.sgd"), UpdateKernels.SGD, Rule.SGD);
            }

            @Override
            protected Sgd.Args args(long t, double eta, ResolvedGroup g) {
                return new Sgd.Args(g.lr() * eta, decay(g, eta));
            }

            @Override
            protected FusedKernel updateKernel() {
                return null;
            }
        }
        try (ParameterArena arena = Fixtures.arenaOf(1f, 2f); Optimizer opt = new PlainSgd(arena);
             Tensor xOld = arena.values().copy(); Tensor out = Tensor.full(Shape.of(2), 7, DType.FLOAT32, Device.CPU)) {
            Fixtures.setGrads(arena, 1f, 1f);
            assertTrue(opt.step());
            assertArrayEquals(new float[] {0.99f, 1.99f}, arena.values().toFloatArray());
            assertFalse(opt.computeUpdate(xOld, out));
            assertArrayEquals(new float[] {7f, 7f}, out.toFloatArray());
        }
    }
}
