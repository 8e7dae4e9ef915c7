package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import optlab.nn.ParameterArena;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Choi et al.'s inclusions (PAPERS.md section 1.2): the exact ones bit for bit, the limit ones as a gap
 * that shrinks as eps grows.
 */
class InclusionTest {
    private static final int STEPS = 50;

    /** Runs each config from the same start over the same gradient sequence; returns final x per config. */
    private static float[][] run(long seed, OptimizerConfig... configs) {
        float[][] out = new float[configs.length][];
        for (int k = 0; k < configs.length; k++) {
            try (ParameterArena arena = ParameterArena.pack(Fixtures.twoLayers()); Optimizer opt = configs[k].create(arena)) {
                SplittableRandom r = new SplittableRandom(seed);
                int n = arena.size();
                for (int t = 1; t <= STEPS; t++) {
                    float[] g = new float[n];
                    for (int i = 0; i < n; i++) g[i] = (float) r.nextGaussian();
                    arena.grads().copyFrom(Tensor.of(g, n));
                    assertTrue(opt.step());
                }
                out[k] = arena.values().toFloatArray();
            }
        }
        return out;
    }

    @Test
    void momentumAndNesterovWithGammaZeroAreSgdBitForBit() {
        // 0*v + g == g exactly for finite v, and Nesterov's 0*v + g too: the same float operations as SGD's
        OptimizerConfig sgd = Presets.builder("choi.sgd").lr(0.03).build();
        OptimizerConfig momentum = Presets.builder("choi.momentum").lr(0.03).momentum(0).build();
        OptimizerConfig nesterov = Presets.builder("choi.nesterov").lr(0.03).momentum(0).build();
        float[][] x = run(1, sgd, momentum, nesterov);
        assertArrayEquals(x[0], x[1]);
        assertArrayEquals(x[0], x[2]);
    }

    /**
     * RMSProp with rho = 1 keeps v at v_0 = 1 (1*v + 0*g^2 == v exactly), so its step is
     * m <- gamma m + lr g / sqrt(1 + eps); with lr = eta sqrt(1 + eps) that is Momentum's
     * eta v, written into m. For the identity to hold in float, every rounding must agree:
     * <ul>
     *   <li>eps = 0 or 3, so sqrt(1 + eps) is 1 or 2, and lr g / 2 = fl(2 eta g)/2 = fl(eta g) exactly;</li>
     *   <li>eta a power of two, so that multiplying by eta is exact and commutes with rounding:
     *       RMSProp's fl(gamma fl(eta v)) equals eta fl(gamma v), hence m_t = eta v_t exactly at every
     *       step, by induction (gamma need not be special: 0.9 is not a power of two);</li>
     *   <li>a constant learning rate when gamma > 0: RMSProp folds lr_t into m, so its m remembers past
     *       learning rates while Momentum scales the whole buffer by today's; they are the same rule
     *       only while lr_t does not change (TensorFlow's and PyTorch's RMSProp differ the same way).
     *       With gamma = 0 there is no memory and a schedule of powers of two (halving) keeps it exact.</li>
     * </ul>
     * For other eta the two agree only to rounding: exactness is a property of these chosen values.
     */
    @ParameterizedTest(name = "eps={0} gamma={1} halving={2}")
    @CsvSource({"0, 0.9, false", "3, 0.9, false", "3, 0.5, false", "0, 0, true", "3, 0, true"})
    void rmspropWithRhoOneIsMomentumBitForBit(double eps, double gamma, boolean halving) {
        double eta = 0x1p-5;
        Schedule schedule = halving ? Schedule.stepDecay(Schedule.Unit.STEP, 1, 20, 0.5) : Schedule.constant();
        OptimizerConfig momentum = Presets.builder("choi.momentum").lr(eta).momentum(gamma).schedule(schedule).build();
        OptimizerConfig rmsprop = Presets.builder("choi.rmsprop").lr(eta * Math.sqrt(1 + eps)).rho(1).momentum(gamma).eps(eps)
                .schedule(schedule).build();
        float[][] x = run(2, momentum, rmsprop);
        assertArrayEquals(x[0], x[1]);
    }

    /**
     * Adam with beta1 = gamma, eps -> infinity and alpha/eps = c fixed approaches Momentum with
     * eta_t = c (1 - gamma) b_t: sqrt(v) + eps ~ eps, and m = (1 - gamma) * Momentum's v. NAdam approaches
     * Nesterov the same way. Not exact for any finite eps: the gap (relative size sqrt(v)/eps) must shrink
     * steadily, by about 10x per decade of eps, until float rounding of x takes over.
     */
    @ParameterizedTest(name = "nesterov={0}")
    @CsvSource({"false", "true"})
    void adamApproachesMomentumAsEpsGrows(boolean nesterov) {
        double gamma = 0.9, c = 0.01;
        double[] gaps = new double[4];
        double[] epss = {1e1, 1e2, 1e3, 1e4};
        for (int k = 0; k < epss.length; k++) gaps[k] = adamMomentumGap(nesterov, gamma, c, epss[k]);
        for (int k = 1; k < gaps.length; k++) {
            assertTrue(gaps[k] < gaps[k - 1] / 5, "gap must shrink as eps grows: eps " + epss[k] + " gap " + gaps[k]
                    + " vs eps " + epss[k - 1] + " gap " + gaps[k - 1]);
        }
        assertTrue(gaps[3] < 2e-6, "gap at eps 1e4: " + gaps[3]);
    }

    /** Max |x_adam - x_momentum| after STEPS steps; Momentum runs through its reference element with eta_t per step. */
    private static double adamMomentumGap(boolean nesterov, double gamma, double c, double eps) {
        OptimizerConfig adam = Presets.builder(nesterov ? "choi.nadam" : "choi.adam").lr(c * eps).beta1(gamma).beta2(0.999).eps(eps).build();
        try (ParameterArena arena = ParameterArena.pack(Fixtures.twoLayers()); Optimizer opt = adam.create(arena)) {
            int n = arena.size();
            float[] x = arena.values().toFloatArray(), v = new float[n];
            SplittableRandom r = new SplittableRandom(3);
            for (int t = 1; t <= STEPS; t++) {
                float[] g = new float[n];
                for (int i = 0; i < n; i++) g[i] = (float) r.nextGaussian();
                arena.grads().copyFrom(Tensor.of(g, n));
                assertTrue(opt.step());
                double bt = Math.sqrt(1 - Math.pow(0.999, t)) / (1 - Math.pow(gamma, t));
                Momentum.Args s = new Momentum.Args(c * (1 - gamma) * bt, gamma, nesterov, WeightDecay.Args.NONE);
                for (int i = 0; i < n; i++) x[i] = Momentum.step(x[i], g[i], v, i, s);
            }
            float[] xa = arena.values().toFloatArray();
            double gap = 0;
            for (int i = 0; i < n; i++) gap = Math.max(gap, Math.abs(xa[i] - x[i]));
            return gap;
        }
    }

    @Test
    void adamProxApproachesAdamWAsLambdaEtaGoesToZero() {
        // With d = lambda*eta_t: AdamProx's (x - u)/(1 + d) = (1 - d)x - u + d u + O(d^2 x), AdamW's is (1 - d)x - u,
        // so per step they differ by d u + O(d^2): the gap after a fixed number of steps falls ~10x per decade of lambda.
        double[] lambdas = {1e-2, 1e-3, 1e-4};
        double[] gaps = new double[lambdas.length];
        for (int k = 0; k < lambdas.length; k++) {
            OptimizerConfig w = Presets.builder("zhuang.adamw").lr(1e-2).weightDecay(lambdas[k]).build();
            OptimizerConfig p = Presets.builder("zhuang.adamprox").lr(1e-2).weightDecay(lambdas[k]).build();
            float[][] x = run(4, w, p);
            for (int i = 0; i < x[0].length; i++) gaps[k] = Math.max(gaps[k], Math.abs(x[0][i] - x[1][i]));
        }
        assertTrue(gaps[1] < gaps[0] / 5 && gaps[2] < gaps[1] / 5, java.util.Arrays.toString(gaps));
        // and in size: at most STEPS * d * |u| with |u| <= about lr (Adam's normalized step), twice for slack
        assertTrue(gaps[2] <= 2 * STEPS * 1e-4 * 1e-2, "gap at lambda 1e-4: " + gaps[2]);
    }
}
