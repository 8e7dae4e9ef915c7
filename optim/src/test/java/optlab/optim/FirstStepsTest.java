package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import optlab.nn.ParameterArena;
import optlab.optim.Numerics.EpsPlacement;
import org.junit.jupiter.api.Test;

/**
 * The first two steps of every rule and preset, against values worked out from PAPERS.md section 1 by
 * hand (step 1 derived in each comment; step 2 from the same formulas in double precision). One
 * parameter x_0 = 1, gradients g_1 = 0.5 and g_2 = 0.25, lr 0.1, constant schedule (eta_t = 1). The
 * optimizer computes in float32, so the comparison allows 2e-7 (about two float ulps at 1).
 */
class FirstStepsTest {
    private static final double TOL = 2e-7;

    /** x after steps 1 and 2. */
    private static float[] twoSteps(OptimizerConfig c) {
        float[] out = new float[2];
        try (ParameterArena arena = Fixtures.arenaOf(1f); Optimizer opt = c.create(arena)) {
            Fixtures.setGrads(arena, 0.5f);
            opt.step();
            out[0] = arena.values().toFloatArray()[0];
            Fixtures.setGrads(arena, 0.25f);
            opt.step();
            out[1] = arena.values().toFloatArray()[0];
        }
        return out;
    }

    private static void assertSteps(double x1, double x2, OptimizerConfig c) {
        float[] x = twoSteps(c);
        assertEquals(x1, x[0], TOL, c.preset() + " step 1");
        assertEquals(x2, x[1], TOL, c.preset() + " step 2");
    }

    @Test
    void sgd() {
        // x1 = 1 - 0.1*0.5 = 0.95; x2 = 0.95 - 0.1*0.25 = 0.925
        assertSteps(0.95, 0.925, Presets.builder("choi.sgd").lr(0.1).build());
    }

    @Test
    void momentum() {
        // v1 = 0.5, x1 = 1 - 0.1*0.5 = 0.95; v2 = 0.9*0.5 + 0.25 = 0.7, x2 = 0.95 - 0.07 = 0.88
        assertSteps(0.95, 0.88, Presets.builder("choi.momentum").lr(0.1).momentum(0.9).build());
    }

    @Test
    void nesterov() {
        // v1 = 0.5, x1 = 1 - 0.1*(0.9*0.5 + 0.5) = 0.905; v2 = 0.7, x2 = 0.905 - 0.1*(0.63 + 0.25) = 0.817
        assertSteps(0.905, 0.817, Presets.builder("choi.nesterov").lr(0.1).momentum(0.9).build());
    }

    @Test
    void rmspropInTensorFlowForm() {
        // v0 = 1: v1 = 0.9*1 + 0.1*0.25 = 0.925; m1 = 0.1*0.5/sqrt(0.925 + 0) = 0.0519875..., x1 = 1 - m1 = 0.94801248
        assertSteps(0.9480124755089964, 0.8739261489454624,
                Presets.builder("choi.rmsprop").lr(0.1).rho(0.9).momentum(0.9).eps(0).build());
    }

    @Test
    void rmspropWithZeroAccumulatorAndEpsOutside() {
        // PyTorch's choices: v0 = 0, eps outside. v1 = 0.1*0.25 = 0.025, sqrt = 0.158113883;
        // m1 = 0.1*0.5/(0.158113883 + 0.01) = 0.2974174, x1 = 0.7025826
        // v2 = 0.9*0.025 + 0.1*0.0625 = 0.02875; m2 = 0.9*m1 + 0.1*0.25/(sqrt(0.02875) + 0.01)
        double v1 = 0.025, m1 = 0.05 / (Math.sqrt(v1) + 0.01), x1 = 1 - m1;
        double v2 = 0.9 * v1 + 0.1 * 0.0625, m2 = 0.9 * m1 + 0.025 / (Math.sqrt(v2) + 0.01), x2 = x1 - m2;
        assertEquals(0.7025826, x1, 1e-7); // the hand value, to check the transcription above
        assertSteps(x1, x2, Presets.builder("choi.rmsprop").lr(0.1).rho(0.9).momentum(0.9).eps(0.01)
                .initialAccumulator(0).epsPlacement(EpsPlacement.OUTSIDE_UNCORRECTED).preset("pytorch-like rmsprop").build());
    }

    @Test
    void choiAdam() {
        // eps 0.01 so that its placement shows. m1 = 0.1*0.5 = 0.05, v1 = 0.001*0.25 = 2.5e-4, sqrt(v1) = 0.0158114;
        // b1 = sqrt(0.001)/0.1 = 0.316228; u = 0.1*0.316228*0.05/(0.0158114 + 0.01) = 0.0612574; x1 = 0.9387426
        assertSteps(0.9387425886722793, 0.8792130789009514, Presets.builder("choi.adam").lr(0.1).eps(0.01).build());
    }

    @Test
    void choiNadam() {
        // as choiAdam with numerator 0.9*0.05 + 0.1*0.5 = 0.095: u = 0.1*0.316228*0.095/0.0258114 = 0.1163891; x1 = 0.8836109
        assertSteps(0.8836109184773306, 0.8087738204790897, Presets.builder("choi.nadam").lr(0.1).eps(0.01).build());
    }

    @Test
    void pytorchAdam() {
        // eps after correcting v: u = (0.1/0.1)*0.05/(0.0158114/sqrt(0.001) + 0.01) = 0.05/(0.5 + 0.01) = 0.0980392; x1 = 0.9019608
        assertSteps(0.9019607843137255, 0.8110432183918574, Presets.builder("pytorch.adam").lr(0.1).eps(0.01).build());
    }

    @Test
    void adamWithEpsInsideTheSqrt() {
        // u = (0.1/0.1)*0.05/sqrt(2.5e-4/0.001 + 0.01) = 0.05/sqrt(0.26) = 0.0980581; x1 = 0.9019419
        assertSteps(0.901941932430908, 0.811571808664405,
                Presets.builder("pytorch.adam").lr(0.1).eps(0.01).epsPlacement(EpsPlacement.INSIDE_SQRT).preset("custom").build());
    }

    @Test
    void zhuangAdamL2() {
        // g' = 0.5 + 0.1*1 = 0.6; m1 = 0.06, v1 = 0.001*0.36 = 3.6e-4, sqrt(v1)/sqrt(0.001) = 0.6;
        // u = 1*0.06/(0.6 + 0.01) = 0.0983607; x1 = 0.9016393
        assertSteps(0.9016393442622951, 0.8085514930666652, Presets.builder("zhuang.adam_l2").lr(0.1).eps(0.01).weightDecay(0.1).build());
        // PyTorch's Adam with weight_decay is the same rule
        assertSteps(0.9016393442622951, 0.8085514930666652, Presets.builder("pytorch.adam").lr(0.1).eps(0.01).weightDecay(0.1).build());
    }

    @Test
    void zhuangAdamW() {
        // x1 = (1 - lambda*eta_t)*1 - u = 0.9 - 0.0980392 = 0.8019608 (lambda 0.1, eta_t = 1: NOT lambda*lr)
        assertSteps(0.8019607843137255, 0.6308471399604849, Presets.builder("zhuang.adamw").lr(0.1).eps(0.01).weightDecay(0.1).build());
    }

    @Test
    void zhuangAdamProx() {
        // x1 = (1 - u)/(1 + lambda*eta_t) = 0.9019608/1.1 = 0.8199643
        assertSteps(0.8199643493761141, 0.6627698031402236, Presets.builder("zhuang.adamprox").lr(0.1).eps(0.01).weightDecay(0.1).build());
    }

    @Test
    void pytorchAdamW() {
        // x1 = (1 - lambda*lr)*1 - u = 0.99 - 0.0980392 = 0.8919608
        assertSteps(0.8919607843137255, 0.7921236105487202, Presets.builder("pytorch.adamw").lr(0.1).eps(0.01).weightDecay(0.1).build());
    }

    @Test
    void withEpsZeroACoordinateThatNeverSawAGradientStaysPut() {
        // m = v = 0 and eps = 0: the step is 0/0, taken as 0 (NOTE [zero-over-zero]; IEEE would give NaN)
        for (String preset : new String[] {"zhuang.adamw", "zhuang.adamprox", "choi.adam"}) {
            try (ParameterArena arena = Fixtures.arenaOf(1f, 2f); Optimizer opt = Presets.builder(preset).lr(0.1).eps(0).build().create(arena)) {
                Fixtures.setGrads(arena, 0f, 0.5f);
                opt.step();
                float[] x = arena.values().toFloatArray();
                assertEquals(1f, x[0], preset);              // no weight decay in these presets' defaults
                assertEquals(2f - 0.1f, x[1], 1e-6, preset); // Adam's first step: lr * sign(g)
            }
        }
        try (ParameterArena arena = Fixtures.arenaOf(1f);
             Optimizer opt = Presets.builder("choi.rmsprop").lr(0.1).eps(0).initialAccumulator(0).build().create(arena)) {
            Fixtures.setGrads(arena, 0f);
            opt.step();
            assertEquals(1f, arena.values().toFloatArray()[0]);
        }
    }

    @Test
    void float64StateGivesTheSameFirstStepsWithinFloatRounding() {
        for (String preset : Presets.names()) {
            OptimizerConfig c32 = Presets.builder(preset).lr(0.1).build();
            if (!c32.rule().hasState()) continue;
            OptimizerConfig c64 = c32.toBuilder().statePrecision(Numerics.StatePrecision.FLOAT64).build();
            float[] a = twoSteps(c32), b = twoSteps(c64);
            assertEquals(a[0], b[0], 4e-7, preset);
            assertEquals(a[1], b[1], 4e-7, preset);
        }
    }
}
