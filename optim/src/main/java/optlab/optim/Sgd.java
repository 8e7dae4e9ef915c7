package optlab.optim;

import optlab.kernels.FusedKernel.HostOperands;
import optlab.nn.ParameterArena;

/**
 * Stochastic gradient descent (Choi et al., Table 1; PAPERS.md section 1.2), with the weight-decay
 * modes of {@link Numerics.WeightDecayMode}:
 * <pre>
 *   g <- g + lambda x                       (L2 only)
 *   u  = lr_t g                              lr_t = alpha eta_t
 *   x <- x - u  |  (1 - d) x - u  |  (x - u) / (1 + d)
 * </pre>
 * No state. Kernel {@code sgd_f32} in {@code optim_sgd.cu}, and the host-only {@code sgd_f64} for
 * float64 parameters (NOTE [float64-parameters]); operands (x, g); arguments {@link Args}.
 * Update kernels ({@link #computeUpdate}, NOTE [update-probe]) {@code sgd_update_f32} and the host-only
 * {@code sgd_update_f64}: u alone, operands (out, xOld, g), the same arguments (NOTE [rule-kernels]).
 */
public final class Sgd extends Optimizer {
    public Sgd(ParameterArena arena, OptimizerConfig config) {
        super(arena, config, UpdateKernels.SGD, Rule.SGD);
    }

    /** {@code choi.sgd} with learning rate {@code lr}. */
    public Sgd(ParameterArena arena, double lr) {
        this(arena, Presets.builder("choi.sgd").lr(lr).build());
    }

    /** The kernel arguments, in the order of the kernels' scalars (NOTE [kernel-args]). */
    record Args(double lr, WeightDecay.Args wd) {}

    @Override
    protected Args args(long t, double eta, ResolvedGroup g) {
        return new Args(g.lr() * eta, decay(g, eta));
    }

    /** The reference step of one element, float32 arithmetic: {@code x <- decay(x, lr_t * g')}; returns the new x. */
    static float step(float x, float g, Args a) {
        return WeightDecay.apply(x, u(x, g, a), a.wd());
    }

    /** u = lr_t g', g' the gradient the rule sees: the step and the update kernel (NOTE [update-probe]) both call it. */
    static float u(float x, float g, Args a) {
        return (float) a.lr() * WeightDecay.gradient(g, x, a.wd());
    }

    /** The f32 step over a range: a loop of its own, so the JIT inlines {@link #step} (NOTE [rule-kernels]). */
    static void pass(HostOperands o, Args a, int from, int to) {
        float[] x = o.f32(0), g = o.f32(1);
        int xo = o.offset(0), go = o.offset(1);
        for (int i = from; i < to; i++) x[xo + i] = step(x[xo + i], g[go + i], a);
    }

    /** {@link #step(float, float, Args)} in float64 (NOTE [optimizer-math]). */
    static double step(double x, double g, Args a) {
        return WeightDecay.apply(x, u(x, g, a), a.wd());
    }

    /** {@link #u(float, float, Args)} in float64. */
    static double u(double x, double g, Args a) {
        return a.lr() * WeightDecay.gradient(g, x, a.wd());
    }
}
