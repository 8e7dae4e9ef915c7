package optlab.optim;

import optlab.kernels.FusedKernel.HostOperands;
import optlab.nn.ParameterArena;

/**
 * Momentum and Nesterov momentum in Choi et al.'s (TensorFlow 1) form (PAPERS.md section 1.2), the
 * learning rate outside the buffer:
 * <pre>
 *   g <- g + lambda x                       (L2 only)
 *   v <- gamma v + g                         v_0 = 0
 *   u  = lr_t v                              Momentum
 *   u  = lr_t (gamma v + g)                  Nesterov (v the updated buffer)
 *   x <- x - u  |  (1 - d) x - u  |  (x - u) / (1 + d)
 * </pre>
 * With gamma = 0 both are SGD, bit for bit ({@code 0*v + g == g}). Kernels {@code momentum_f32} and
 * {@code momentum_f32_f64state} in {@code optim_sgd.cu}, and the host-only {@code momentum_f64} for float64
 * parameters (NOTE [float64-parameters]); operands (x, g, v); arguments {@link Args}. State:
 * {@code momentum_buffer} (v). Update kernels ({@link #computeUpdate}, NOTE [update-probe])
 * {@code momentum_update_f32}, {@code momentum_update_f32_f64state} and the host-only {@code momentum_update_f64}:
 * u alone, operands (out, xOld, g, v), the same arguments (NOTE [rule-kernels]).
 */
public final class Momentum extends Optimizer {
    public Momentum(ParameterArena arena, OptimizerConfig config) {
        super(arena, config, UpdateKernels.MOMENTUM, Rule.MOMENTUM, Rule.NESTEROV);
        state("momentum_buffer", 0);
    }

    /** {@code choi.momentum} (or {@code choi.nesterov}) with learning rate lr and momentum gamma. */
    public Momentum(ParameterArena arena, double lr, double gamma, boolean nesterov) {
        this(arena, Presets.builder(nesterov ? "choi.nesterov" : "choi.momentum").lr(lr).momentum(gamma).build());
    }

    /** The kernel arguments, in the order of the kernels' scalars (NOTE [kernel-args]). */
    record Args(double lr, double gamma, boolean nesterov, WeightDecay.Args wd) {}

    @Override
    protected Args args(long t, double eta, ResolvedGroup g) {
        return new Args(g.lr() * eta, config.momentum(), config.rule() == Rule.NESTEROV, decay(g, eta));
    }

    /** The reference step of one element, float32 arithmetic, in the order of the class comment: updates v[vi], returns the new x. */
    static float step(float x, float g, float[] v, int vi, Args a) {
        float grad = WeightDecay.gradient(g, x, a.wd());
        float vt = (float) a.gamma() * v[vi] + grad;              // v <- gamma v + g
        v[vi] = vt;
        return WeightDecay.apply(x, u(x, g, vt, a), a.wd());
    }

    /**
     * u = lr_t v, or lr_t (gamma v + g') for Nesterov, from x before the step, its g and the new v: the step and
     * the update kernel (NOTE [update-probe]) both call it.
     */
    static float u(float x, float g, float vt, Args a) {
        float grad = WeightDecay.gradient(g, x, a.wd());
        float dir = a.nesterov() ? (float) a.gamma() * vt + grad : vt;   // Nesterov looks ahead
        return (float) a.lr() * dir;
    }

    /** {@link #step(float, float, float[], int, Args)} in float64 (NOTE [optimizer-math]). */
    static double step(double x, double g, double[] v, int vi, Args a) {
        double grad = WeightDecay.gradient(g, x, a.wd());
        double vt = a.gamma() * v[vi] + grad;
        v[vi] = vt;
        return WeightDecay.apply(x, u(x, g, vt, a), a.wd());
    }

    /**
     * The f32 step over a range, and {@link #pass64} the f32_f64state one (x rounded to float32 when stored):
     * loops of their own, so the JIT inlines {@code step} (NOTE [rule-kernels]).
     */
    static void pass(HostOperands o, Args a, int from, int to) {
        float[] x = o.f32(0), g = o.f32(1), v = o.f32(2);
        int xo = o.offset(0), go = o.offset(1), vo = o.offset(2);
        for (int i = from; i < to; i++) x[xo + i] = step(x[xo + i], g[go + i], v, vo + i, a);
    }

    static void pass64(HostOperands o, Args a, int from, int to) {
        float[] x = o.f32(0), g = o.f32(1);
        double[] v = o.f64(2);
        int xo = o.offset(0), go = o.offset(1), vo = o.offset(2);
        for (int i = from; i < to; i++) x[xo + i] = (float) step(x[xo + i], g[go + i], v, vo + i, a);
    }

    /** {@link #u(float, float, float, Args)} in float64. */
    static double u(double x, double g, double vt, Args a) {
        double grad = WeightDecay.gradient(g, x, a.wd());
        double dir = a.nesterov() ? a.gamma() * vt + grad : vt;
        return a.lr() * dir;
    }
}
