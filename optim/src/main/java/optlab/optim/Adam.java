package optlab.optim;

import optlab.kernels.FusedKernel;
import optlab.nn.ParameterArena;
import optlab.tensor.Tensor;

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
 * (x, g, m, v); scalars (s, beta1, 1 - beta1, beta2, 1 - beta2, eps, d, epsInside, nadam, wdMode, wdL2,
 * wdFactor) with {@code d} = 1, sqrt(c2) or c2 as in the table (the divisor of sqrt(v) or of v).
 * {@code 1 - beta} is computed in double on the host and rounded once, as PyTorch does: computed in
 * float32 from a rounded beta2 = 0.999 it would be off by 1.3e-5 relative (cancellation). State:
 * {@code exp_avg} (m), {@code exp_avg_sq} (v).
 */
public final class Adam extends Optimizer {
    private final Tensor m, v;

    public Adam(ParameterArena arena, OptimizerConfig config) {
        super(arena, config, Rule.ADAM, Rule.NADAM);
        m = state("exp_avg", 0);
        v = state("exp_avg_sq", 0);
    }

    /** {@code choi.adam} (TensorFlow 1's Adam, as in Choi et al.) with these hyperparameters. */
    public Adam(ParameterArena arena, double lr, double beta1, double beta2, double eps) {
        this(arena, Presets.builder("choi.adam").lr(lr).beta1(beta1).beta2(beta2).eps(eps).build());
    }

    /** {@code choi.adam} with TensorFlow's defaults: beta1 0.9, beta2 0.999, eps 1e-8. */
    public Adam(ParameterArena arena, double lr) {
        this(arena, lr, 0.9, 0.999, 1e-8);
    }

    @Override
    protected FusedKernel kernel() {
        return float64Parameters() ? KERNEL_F64_PARAMS : float64State() ? KERNEL_F64 : KERNEL;
    }

    @Override
    protected Tensor[] operands() {
        return new Tensor[] {arena.values(), arena.grads(), m, v};
    }

    @Override
    protected FusedKernel updateKernel() {
        return float64Parameters() ? UPDATE_KERNEL_F64_PARAMS : float64State() ? UPDATE_KERNEL_F64 : UPDATE_KERNEL;
    }

    @Override
    protected double[] scalars(long t, double eta, ResolvedGroup g) {
        double[] wd = decayScalars(g, eta);
        return concat(stepScalars(config, t, g.lr() * eta), wd);
    }

    /**
     * The first nine kernel scalars (s, beta1, 1-beta1, beta2, 1-beta2, eps, d, epsInside, nadam) at step t for current
     * learning rate lrT = alpha * eta_t, computed in double.
     */
    static double[] stepScalars(OptimizerConfig c, long t, double lrT) {
        double beta1 = c.beta1(), beta2 = c.beta2();
        boolean bc = c.numerics().biasCorrection();
        double c1 = bc ? 1 - Math.pow(beta1, t) : 1, c2 = bc ? 1 - Math.pow(beta2, t) : 1;
        double s, d, inside = 0;
        switch (c.numerics().epsPlacement()) {
            case OUTSIDE_UNCORRECTED -> {
                s = lrT * (Math.sqrt(c2) / c1); // lr_t * b_t
                d = 1;
            }
            case OUTSIDE_CORRECTED -> {
                s = lrT / c1;
                d = Math.sqrt(c2);
            }
            case INSIDE_SQRT -> {
                s = lrT / c1;
                d = c2;
                inside = 1;
            }
            default -> throw new AssertionError();
        }
        return new double[] {s, beta1, 1 - beta1, beta2, 1 - beta2, c.eps(), d, inside, c.rule() == Rule.NADAM ? 1 : 0};
    }

    private static double[] concat(double[] a, double[] b) {
        double[] r = new double[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** The kernel scalars as float32, each rounded once from the host's double. */
    record Scalars(float step, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float eps, float d,
                   boolean epsInside, boolean nadam, int wdMode, float wdL2, float wdFactor) {
        static Scalars of(double[] s) {
            return new Scalars((float) s[0], (float) s[1], (float) s[2], (float) s[3], (float) s[4], (float) s[5], (float) s[6],
                    s[7] != 0, s[8] != 0, (int) s[9], (float) s[10], (float) s[11]);
        }
    }

    /** The kernel scalars as float64. */
    record Scalars64(double step, double beta1, double oneMinusBeta1, double beta2, double oneMinusBeta2, double eps, double d,
                     boolean epsInside, boolean nadam, int wdMode, double wdL2, double wdFactor) {
        static Scalars64 of(double[] s) {
            return new Scalars64(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7] != 0, s[8] != 0, (int) s[9], s[10], s[11]);
        }
    }

    /**
     * The reference update of element i (a CUDA kernel must match it): float32 arithmetic, in the order
     * of the class comment.
     */
    static void updateElement(float[] x, int xi, float[] g, int gi, float[] m, int mi, float[] v, int vi, Scalars s) {
        float grad = WeightDecay.gradient(g[gi], x[xi], s.wdMode(), s.wdL2());
        float mt = s.beta1() * m[mi] + s.oneMinusBeta1() * grad;
        float vt = s.beta2() * v[vi] + s.oneMinusBeta2() * (grad * grad);
        m[mi] = mt;
        v[vi] = vt;
        x[xi] = WeightDecay.apply(x[xi], u(grad, mt, vt, s), s.wdMode(), s.wdFactor());
    }

    /**
     * The update u of the class comment, float32 arithmetic, from the gradient the rule saw and the new
     * m and v: {@code n} by NAdam or not, {@code den} by eps placement, then {@code (s n)/den} with 0/0 =
     * 0 (NOTE [zero-over-zero]). The one place this math is written: the step and the update kernel
     * (NOTE [update-probe]) both call it.
     */
    static float u(float grad, float mt, float vt, Scalars s) {
        float num = s.nadam() ? s.beta1() * mt + s.oneMinusBeta1() * grad : mt;
        float den = s.epsInside() ? (float) Math.sqrt(vt / s.d() + s.eps()) : (float) Math.sqrt(vt) / s.d() + s.eps();
        return WeightDecay.quotient(s.step() * num, den);
    }

    /**
     * The reference of {@code adam_update_f32} (NOTE [update-probe]): out[oi] = the u that
     * {@link #updateElement(float[], int, float[], int, float[], int, float[], int, Scalars)} applied,
     * from x before the step, the step's g and the new m and v.
     */
    static void updateOfElement(float[] out, int oi, float[] xOld, int xi, float[] g, int gi, float[] m, int mi, float[] v, int vi,
                                Scalars s) {
        out[oi] = u(WeightDecay.gradient(g[gi], xOld[xi], s.wdMode(), s.wdL2()), m[mi], v[vi], s);
    }

    /**
     * The float64 math of one element, once for both float64 kernels (NOTE [optimizer-math]): the
     * operations of the class comment in double on x and g, updating m[mi] and v[vi]; returns the new x.
     */
    static double update(double x, double g, double[] m, int mi, double[] v, int vi, Scalars64 s) {
        double grad = WeightDecay.gradient(g, x, s.wdMode(), s.wdL2());
        double mt = s.beta1() * m[mi] + s.oneMinusBeta1() * grad;
        double vt = s.beta2() * v[vi] + s.oneMinusBeta2() * (grad * grad);
        m[mi] = mt;
        v[vi] = vt;
        return WeightDecay.apply(x, u(grad, mt, vt, s), s.wdMode(), s.wdFactor());
    }

    /** {@link #u(float, float, float, Scalars)} in float64, for both float64 kernels and their update kernels. */
    static double u(double grad, double mt, double vt, Scalars64 s) {
        double num = s.nadam() ? s.beta1() * mt + s.oneMinusBeta1() * grad : mt;
        double den = s.epsInside() ? Math.sqrt(vt / s.d() + s.eps()) : Math.sqrt(vt) / s.d() + s.eps();
        return WeightDecay.quotient(s.step() * num, den);
    }

    /** The float64 u of the step just taken (NOTE [update-probe]), from x before it, its g and the new m and v. */
    static double updateOf(double xOld, double g, double mt, double vt, Scalars64 s) {
        return u(WeightDecay.gradient(g, xOld, s.wdMode(), s.wdL2()), mt, vt, s);
    }

    /** Float32 parameters with float64 state: {@link #update} on the widened x and g; x rounds to float32 when written. */
    static void updateElement(float[] x, int xi, float[] g, int gi, double[] m, int mi, double[] v, int vi, Scalars64 s) {
        x[xi] = (float) update(x[xi], g[gi], m, mi, v, vi, s);
    }

    /** Float64 parameters, gradients and state: {@link #update}. */
    static void updateElement(double[] x, int xi, double[] g, int gi, double[] m, int mi, double[] v, int vi, Scalars64 s) {
        x[xi] = update(x[xi], g[gi], m, mi, v, vi, s);
    }

    /** The reference of {@code adam_update_f32_f64state}: {@link #updateOf} in double, rounded once to float32. */
    static void updateOfElement(float[] out, int oi, float[] xOld, int xi, float[] g, int gi, double[] m, int mi, double[] v, int vi,
                                Scalars64 s) {
        out[oi] = (float) updateOf(xOld[xi], g[gi], m[mi], v[vi], s);
    }

    /** The reference of {@code adam_update_f64}: {@link #updateOf}. */
    static void updateOfElement(double[] out, int oi, double[] xOld, int xi, double[] g, int gi, double[] m, int mi, double[] v, int vi,
                                Scalars64 s) {
        out[oi] = updateOf(xOld[xi], g[gi], m[mi], v[vi], s);
    }

    /**
     * The fused pass: {@link #updateElement} over a range of the arena, lane by lane (NOTE
     * [vectorized-host]: the same operations, bit for bit).
     */
    static final FusedKernel KERNEL = new FusedKernel() {
        @Override
        public String name() {
            return "adam_f32";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            float[] x = ops.f32(0), g = ops.f32(1), m = ops.f32(2), v = ops.f32(3);
            int xo = ops.offset(0), go = ops.offset(1), mo = ops.offset(2), vo = ops.offset(3);
            VectorizedHost.adam(x, xo, g, go, m, mo, v, vo, Scalars.of(scalars), from, to); // NOTE [vectorized-host]
        }

        @Override
        public CudaFunction cuda() {
            return new CudaFunction("optim_adam", "adam_f32");
        }
    };

    static final FusedKernel KERNEL_F64 = new FusedKernel() {
        @Override
        public String name() {
            return "adam_f32_f64state";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            float[] x = ops.f32(0), g = ops.f32(1);
            double[] m = ops.f64(2), v = ops.f64(3);
            int xo = ops.offset(0), go = ops.offset(1), mo = ops.offset(2), vo = ops.offset(3);
            VectorizedHost.adam(x, xo, g, go, m, mo, v, vo, Scalars64.of(scalars), from, to); // NOTE [vectorized-host]
        }

        @Override
        public CudaFunction cuda() {
            return new CudaFunction("optim_adam", "adam_f32_f64state");
        }
    };

    /** Float64 parameters: {@link #updateElement(double[], int, double[], int, double[], int, double[], int, Scalars64)} over a range. */
    static final FusedKernel KERNEL_F64_PARAMS = new FusedKernel() {
        @Override
        public String name() {
            return "adam_f64";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            double[] x = ops.f64(0), g = ops.f64(1), m = ops.f64(2), v = ops.f64(3);
            int xo = ops.offset(0), go = ops.offset(1), mo = ops.offset(2), vo = ops.offset(3);
            Scalars64 s = Scalars64.of(scalars);
            for (int i = from; i < to; i++) updateElement(x, xo + i, g, go + i, m, mo + i, v, vo + i, s);
        }
        // no cuda(): float64 parameters are updated on the CPU only (NOTE [float64-parameters] in Optimizer)
    };

    /**
     * The update kernels (NOTE [update-probe]): operands (out, xOld, g, m, v), the step's scalars;
     * {@link #updateOfElement} over a range, a scalar loop (it runs only at probed steps).
     */
    static final FusedKernel UPDATE_KERNEL = new FusedKernel() {
        @Override
        public String name() {
            return "adam_update_f32";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            float[] out = ops.f32(0), x = ops.f32(1), g = ops.f32(2), m = ops.f32(3), v = ops.f32(4);
            int oo = ops.offset(0), xo = ops.offset(1), go = ops.offset(2), mo = ops.offset(3), vo = ops.offset(4);
            Scalars s = Scalars.of(scalars);
            for (int i = from; i < to; i++) updateOfElement(out, oo + i, x, xo + i, g, go + i, m, mo + i, v, vo + i, s);
        }

        @Override
        public CudaFunction cuda() {
            return new CudaFunction("optim_adam", "adam_update_f32");
        }
    };

    static final FusedKernel UPDATE_KERNEL_F64 = new FusedKernel() {
        @Override
        public String name() {
            return "adam_update_f32_f64state";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            float[] out = ops.f32(0), x = ops.f32(1), g = ops.f32(2);
            double[] m = ops.f64(3), v = ops.f64(4);
            int oo = ops.offset(0), xo = ops.offset(1), go = ops.offset(2), mo = ops.offset(3), vo = ops.offset(4);
            Scalars64 s = Scalars64.of(scalars);
            for (int i = from; i < to; i++) updateOfElement(out, oo + i, x, xo + i, g, go + i, m, mo + i, v, vo + i, s);
        }

        @Override
        public CudaFunction cuda() {
            return new CudaFunction("optim_adam", "adam_update_f32_f64state");
        }
    };

    static final FusedKernel UPDATE_KERNEL_F64_PARAMS = new FusedKernel() {
        @Override
        public String name() {
            return "adam_update_f64";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            double[] out = ops.f64(0), x = ops.f64(1), g = ops.f64(2), m = ops.f64(3), v = ops.f64(4);
            int oo = ops.offset(0), xo = ops.offset(1), go = ops.offset(2), mo = ops.offset(3), vo = ops.offset(4);
            Scalars64 s = Scalars64.of(scalars);
            for (int i = from; i < to; i++) updateOfElement(out, oo + i, x, xo + i, g, go + i, m, mo + i, v, vo + i, s);
        }
        // no cuda(): float64 parameters are updated on the CPU only (NOTE [float64-parameters] in Optimizer)
    };
}
