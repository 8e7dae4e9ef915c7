package optlab.optim;

import optlab.nn.ParameterArena;
import optlab.optim.Numerics.EpsPlacement;

/**
 * RMSProp in Choi et al.'s (TensorFlow 1) form (PAPERS.md section 1.2): the learning rate is folded
 * into the momentum buffer and the accumulator starts at one.
 * <pre>
 *   g <- g + lambda x                             (L2 only)
 *   v <- rho v + (1 - rho) g^2                     v_0 = initial_accumulator (TF: 1, PyTorch: 0)
 *   m <- gamma m + lr_t g / sqrt(v + eps)          eps INSIDE the sqrt (TF), or   (0/0 = 0: NOTE [zero-over-zero])
 *   m <- gamma m + lr_t g / (sqrt(v) + eps)        eps outside (PyTorch's placement)
 *   x <- x - m  |  (1 - d) x - m  |  (x - m) / (1 + d)
 * </pre>
 * With rho = 1 the accumulator stays at v_0 = 1 and the rule is Momentum with lr_t / sqrt(1 + eps):
 * lr = eta sqrt(1 + eps) reproduces Momentum(eta, gamma) (bit for bit when the products are exact;
 * see the inclusion tests). Kernels {@code rmsprop_f32}, {@code rmsprop_f32_f64state} in
 * {@code optim_rmsprop.cu}, and the host-only {@code rmsprop_f64} for float64 parameters (NOTE
 * [float64-parameters]); operands (x, g, v, m); arguments {@link Args}, 1 - rho computed in double on the
 * host. State: {@code square_avg} (v), {@code momentum_buffer} (m, which holds lr_t: not PyTorch's buffer).
 * Update kernels ({@link #computeUpdate}, NOTE [update-probe]) {@code rmsprop_update_f32},
 * {@code rmsprop_update_f32_f64state} and the host-only {@code rmsprop_update_f64}: u = the new m, operands
 * (out, xOld, g, v, m; only m is read), the same arguments (NOTE [rule-kernels]).
 */
public final class RmsProp extends Optimizer {
    public RmsProp(ParameterArena arena, OptimizerConfig config) {
        super(arena, config, UpdateKernels.RMSPROP, Rule.RMSPROP);
        state("square_avg", config.numerics().initialAccumulator());
        state("momentum_buffer", 0);
    }

    /** The kernel arguments, in the order of the kernels' scalars (NOTE [kernel-args]). */
    record Args(double lr, double gamma, double rho, double oneMinusRho, double eps, boolean epsInside, WeightDecay.Args wd) {}

    @Override
    protected Args args(long t, double eta, ResolvedGroup g) {
        boolean inside = config.numerics().epsPlacement() == EpsPlacement.INSIDE_SQRT;
        return new Args(g.lr() * eta, config.momentum(), config.rho(), 1 - config.rho(), config.eps(), inside, decay(g, eta));
    }

    /** The reference step of one element, float32 arithmetic, in the order of the class comment: updates v and m, returns x. */
    static float step(float x, float g, float[] v, int vi, float[] m, int mi, Args a) {
        float grad = WeightDecay.gradient(g, x, a.wd());
        float vt = (float) a.rho() * v[vi] + (float) a.oneMinusRho() * (grad * grad);
        float eps = (float) a.eps();
        float denom = a.epsInside() ? (float) Math.sqrt(vt + eps) : (float) Math.sqrt(vt) + eps;
        float mt = (float) a.gamma() * m[mi] + WeightDecay.quotient((float) a.lr() * grad, denom); // 0/0 = 0 (NOTE [zero-over-zero])
        v[vi] = vt;
        m[mi] = mt;
        return WeightDecay.apply(x, u(x, g, vt, mt, a), a.wd());
    }

    /**
     * u (NOTE [update-probe]) is the new m, which the step subtracts from x as it is (lr_t lives inside m); x, g and
     * v are not needed.
     */
    static float u(float x, float g, float vt, float mt, Args a) {
        return mt;
    }

    /** {@link #step(float, float, float[], int, float[], int, Args)} in float64 (NOTE [optimizer-math]). */
    static double step(double x, double g, double[] v, int vi, double[] m, int mi, Args a) {
        double grad = WeightDecay.gradient(g, x, a.wd());
        double vt = a.rho() * v[vi] + a.oneMinusRho() * (grad * grad);
        double denom = a.epsInside() ? Math.sqrt(vt + a.eps()) : Math.sqrt(vt) + a.eps();
        double mt = a.gamma() * m[mi] + WeightDecay.quotient(a.lr() * grad, denom);
        v[vi] = vt;
        m[mi] = mt;
        return WeightDecay.apply(x, u(x, g, vt, mt, a), a.wd());
    }

    /** {@link #u(float, float, float, float, Args)} in float64. */
    static double u(double x, double g, double vt, double mt, Args a) {
        return mt;
    }
}
