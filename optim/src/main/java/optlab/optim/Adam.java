package optlab.optim;

import optlab.nn.ParameterArena;

/**
 * Adam and NAdam with every numerical choice explicit: Choi et al.'s (TensorFlow 1) form, Zhuang et
 * al.'s Adam-L2, AdamW and AdamProx, and PyTorch's Adam and AdamW are settings of this one rule
 * ({@link Presets}). Per element, with m and v starting at zero and c1 = 1 - beta1^t, c2 = 1 - beta2^t
 * (both 1 without bias correction):
 * <pre>
 *   g <- g + lambda x                                  (L2 only: Adam-L2, PyTorch Adam's weight_decay)
 *   m <- beta1 m + (1 - beta1) g
 *   v <- beta2 v + (1 - beta2) (g g)
 *   n  = m                                             Adam
 *   n  = beta1 m + (1 - beta1) g                       NAdam (Choi et al.: no momentum-decay schedule)
 *   u  = (s n) / den, 0/0 taken as 0 (NOTE [zero-over-zero]), where by eps placement
 *        OUTSIDE_UNCORRECTED  s = lr_t sqrt(c2) / c1    den = sqrt(v) + eps           (Choi/TF1)
 *        OUTSIDE_CORRECTED    s = lr_t / c1             den = sqrt(v) / sqrt(c2) + eps (PyTorch, Zhuang)
 *        INSIDE_SQRT          s = lr_t / c1             den = sqrt(v / c2 + eps)
 *   x <- x - u                                         none, L2
 *   x <- (1 - d) x - u                                 decoupled (AdamW)
 *   x <- (x - u) / (1 + d)                             proximal (AdamProx)
 * </pre>
 * Scale-freeness (Zhuang et al.): with eps = 0 and no L2 term, multiplying g by c = 2^k multiplies m
 * by c and sqrt(v) by c exactly in float, so u and every iterate are unchanged, bit for bit.
 *
 * <p>Kernels {@code adam_f32}, {@code adam_f32_f64state} in {@code optim_adam.cu}, and the host-only
 * {@code adam_f64} for float64 parameters (NOTE [float64-parameters]); the update kernels
 * {@code adam_update_f32}, {@code adam_update_f32_f64state}, {@code adam_update_f64} write u alone
 * ({@link #computeUpdate}, NOTE [update-probe]), operands (out, xOld, g, m, v). Step operands
 * (x, g, m, v); arguments {@link Args} (NOTE [rule-kernels]), with {@code step} = s and {@code d} = 1,
 * sqrt(c2) or c2 as in the table (the divisor of sqrt(v) or of v).
 * {@code 1 - beta} is computed in double on the host and rounded once, as PyTorch does: computed in
 * float32 from a rounded beta2 = 0.999 it would be off by 1.3e-5 relative (cancellation). State:
 * {@code exp_avg} (m), {@code exp_avg_sq} (v).
 */
public final class Adam extends Optimizer {
    public Adam(ParameterArena arena, OptimizerConfig config) {
        super(arena, config, UpdateKernels.ADAM, Rule.ADAM, Rule.NADAM);
        state("exp_avg", 0);
        state("exp_avg_sq", 0);
    }

    /** {@code choi.adam} (TensorFlow 1's Adam, as in Choi et al.) with these hyperparameters. */
    public Adam(ParameterArena arena, double lr, double beta1, double beta2, double eps) {
        this(arena, Presets.builder("choi.adam").lr(lr).beta1(beta1).beta2(beta2).eps(eps).build());
    }

    /** {@code choi.adam} with TensorFlow's defaults: beta1 0.9, beta2 0.999, eps 1e-8. */
    public Adam(ParameterArena arena, double lr) {
        this(arena, lr, 0.9, 0.999, 1e-8);
    }

    /** The kernel arguments, in the order of the kernels' scalars (NOTE [kernel-args]). */
    record Args(double step, double beta1, double oneMinusBeta1, double beta2, double oneMinusBeta2, double eps, double d,
                boolean epsInside, boolean nadam, WeightDecay.Args wd) {}

    /** The arguments at step t, computed in double, with lr_t = alpha * eta_t the group's current learning rate. */
    @Override
    protected Args args(long t, double eta, ResolvedGroup g) {
        double lrT = g.lr() * eta, beta1 = config.beta1(), beta2 = config.beta2();
        boolean bc = config.numerics().biasCorrection();
        double c1 = bc ? 1 - Math.pow(beta1, t) : 1, c2 = bc ? 1 - Math.pow(beta2, t) : 1;
        double s = lrT / c1, d = 1;
        switch (config.numerics().epsPlacement()) {
            case OUTSIDE_UNCORRECTED -> s = lrT * (Math.sqrt(c2) / c1); // lr_t * b_t
            case OUTSIDE_CORRECTED -> d = Math.sqrt(c2);
            case INSIDE_SQRT -> d = c2;
        }
        boolean inside = config.numerics().epsPlacement() == Numerics.EpsPlacement.INSIDE_SQRT;
        return new Args(s, beta1, 1 - beta1, beta2, 1 - beta2, config.eps(), d, inside, config.rule() == Rule.NADAM, decay(g, eta));
    }

    /**
     * The reference step of one element (a CUDA kernel must match it): float32 arithmetic, in the order
     * of the class comment; updates m[mi] and v[vi], returns the new x.
     */
    static float step(float x, float g, float[] m, int mi, float[] v, int vi, Args a) {
        float grad = WeightDecay.gradient(g, x, a.wd());
        float mt = (float) a.beta1() * m[mi] + (float) a.oneMinusBeta1() * grad;
        float vt = (float) a.beta2() * v[vi] + (float) a.oneMinusBeta2() * (grad * grad);
        m[mi] = mt;
        v[vi] = vt;
        return WeightDecay.apply(x, u(x, g, mt, vt, a), a.wd());
    }

    /**
     * The update u of the class comment, float32 arithmetic, from x before the step, its g and the new m and v:
     * {@code n} by NAdam or not, {@code den} by eps placement, then {@code (s n)/den} with 0/0 = 0 (NOTE
     * [zero-over-zero]). The one place this math is written: the step and the update kernel (NOTE
     * [update-probe]) both call it.
     */
    static float u(float x, float g, float mt, float vt, Args a) {
        float grad = WeightDecay.gradient(g, x, a.wd());
        float b1 = (float) a.beta1(), omb1 = (float) a.oneMinusBeta1(), eps = (float) a.eps(), d = (float) a.d();
        float num = a.nadam() ? b1 * mt + omb1 * grad : mt;
        float den = a.epsInside() ? (float) Math.sqrt(vt / d + eps) : (float) Math.sqrt(vt) / d + eps;
        return WeightDecay.quotient((float) a.step() * num, den);
    }

    /**
     * The float64 math of one element, once for both float64 kernels (NOTE [optimizer-math]): the
     * operations of the class comment in double on x and g, updating m[mi] and v[vi]; returns the new x.
     */
    static double step(double x, double g, double[] m, int mi, double[] v, int vi, Args a) {
        double grad = WeightDecay.gradient(g, x, a.wd());
        double mt = a.beta1() * m[mi] + a.oneMinusBeta1() * grad;
        double vt = a.beta2() * v[vi] + a.oneMinusBeta2() * (grad * grad);
        m[mi] = mt;
        v[vi] = vt;
        return WeightDecay.apply(x, u(x, g, mt, vt, a), a.wd());
    }

    /** {@link #u(float, float, float, float, Args)} in float64. */
    static double u(double x, double g, double mt, double vt, Args a) {
        double grad = WeightDecay.gradient(g, x, a.wd());
        double num = a.nadam() ? a.beta1() * mt + a.oneMinusBeta1() * grad : mt;
        double den = a.epsInside() ? Math.sqrt(vt / a.d() + a.eps()) : Math.sqrt(vt) / a.d() + a.eps();
        return WeightDecay.quotient(a.step() * num, den);
    }
}
