package optlab.optim;

import optlab.kernels.FusedKernel;
import optlab.nn.ParameterArena;
import optlab.optim.Numerics.EpsPlacement;
import optlab.tensor.Tensor;

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
 * [float64-parameters]); operands (x, g, v, m); scalars (lr_t, gamma, rho, 1 - rho, eps, epsInside,
 * wdMode, wdL2, wdFactor), 1 - rho computed in double on the host. State: {@code square_avg} (v), {@code momentum_buffer} (m, which holds lr_t: not
 * PyTorch's buffer). Update kernels ({@link #computeUpdate}, NOTE [update-probe]) {@code rmsprop_update_f32},
 * {@code rmsprop_update_f32_f64state} and the host-only {@code rmsprop_update_f64}: u = the new m, operands
 * (out, xOld, g, v, m; only m is read), the same scalars.
 */
public final class RmsProp extends Optimizer {
    private final Tensor v, m;

    public RmsProp(ParameterArena arena, OptimizerConfig config) {
        super(arena, config, Rule.RMSPROP);
        v = state("square_avg", config.numerics().initialAccumulator());
        m = state("momentum_buffer", 0);
    }

    @Override
    protected FusedKernel kernel() {
        return float64Parameters() ? KERNEL_F64_PARAMS : float64State() ? KERNEL_F64 : KERNEL;
    }

    @Override
    protected Tensor[] operands() {
        return new Tensor[] {arena.values(), arena.grads(), v, m};
    }

    @Override
    protected FusedKernel updateKernel() {
        return float64Parameters() ? UPDATE_KERNEL_F64_PARAMS : float64State() ? UPDATE_KERNEL_F64 : UPDATE_KERNEL;
    }

    @Override
    protected double[] scalars(long t, double eta, ResolvedGroup g) {
        double[] wd = decayScalars(g, eta);
        boolean inside = config.numerics().epsPlacement() == EpsPlacement.INSIDE_SQRT;
        double rho = config.rho();
        return new double[] {g.lr() * eta, config.momentum(), rho, 1 - rho, config.eps(), inside ? 1 : 0, wd[0], wd[1], wd[2]};
    }

    record Scalars(float lr, float gamma, float rho, float oneMinusRho, float eps, boolean epsInside, int wdMode, float wdL2,
                   float wdFactor) {
        static Scalars of(double[] s) {
            return new Scalars((float) s[0], (float) s[1], (float) s[2], (float) s[3], (float) s[4], s[5] != 0, (int) s[6], (float) s[7],
                    (float) s[8]);
        }
    }

    record Scalars64(double lr, double gamma, double rho, double oneMinusRho, double eps, boolean epsInside, int wdMode, double wdL2,
                     double wdFactor) {
        static Scalars64 of(double[] s) {
            return new Scalars64(s[0], s[1], s[2], s[3], s[4], s[5] != 0, (int) s[6], s[7], s[8]);
        }
    }

    /** The reference update of element i, float32 arithmetic, in the order of the class comment. */
    static void updateElement(float[] x, int xi, float[] g, int gi, float[] v, int vi, float[] m, int mi, Scalars s) {
        float grad = WeightDecay.gradient(g[gi], x[xi], s.wdMode(), s.wdL2());
        float vt = s.rho() * v[vi] + s.oneMinusRho() * (grad * grad);
        float denom = s.epsInside() ? (float) Math.sqrt(vt + s.eps()) : (float) Math.sqrt(vt) + s.eps();
        float mt = s.gamma() * m[mi] + WeightDecay.quotient(s.lr() * grad, denom); // 0/0 = 0 (NOTE [zero-over-zero])
        v[vi] = vt;
        m[mi] = mt;
        x[xi] = WeightDecay.apply(x[xi], mt, s.wdMode(), s.wdFactor());
    }

    /**
     * The float64 math of one element, once for both float64 kernels (NOTE [optimizer-math]): the
     * operations of the class comment in double on x and g, updating v[vi] and m[mi]; returns the new x.
     */
    static double update(double x, double g, double[] v, int vi, double[] m, int mi, Scalars64 s) {
        double grad = WeightDecay.gradient(g, x, s.wdMode(), s.wdL2());
        double vt = s.rho() * v[vi] + s.oneMinusRho() * (grad * grad);
        double denom = s.epsInside() ? Math.sqrt(vt + s.eps()) : Math.sqrt(vt) + s.eps();
        double mt = s.gamma() * m[mi] + WeightDecay.quotient(s.lr() * grad, denom);
        v[vi] = vt;
        m[mi] = mt;
        return WeightDecay.apply(x, mt, s.wdMode(), s.wdFactor());
    }

    /** Float32 parameters with float64 state: {@link #update} on the widened x and g; x rounds to float32 when written. */
    static void updateElement(float[] x, int xi, float[] g, int gi, double[] v, int vi, double[] m, int mi, Scalars64 s) {
        x[xi] = (float) update(x[xi], g[gi], v, vi, m, mi, s);
    }

    /** Float64 parameters, gradients and state: {@link #update}. */
    static void updateElement(double[] x, int xi, double[] g, int gi, double[] v, int vi, double[] m, int mi, Scalars64 s) {
        x[xi] = update(x[xi], g[gi], v, vi, m, mi, s);
    }

    /**
     * The reference of {@code rmsprop_update_f32} (NOTE [update-probe]): u is the new m, which the step
     * subtracted from x as it is (lr_t lives inside m); xOld, g and v are not needed.
     */
    static void updateOfElement(float[] out, int oi, float[] xOld, int xi, float[] g, int gi, float[] v, int vi, float[] m, int mi,
                                Scalars s) {
        out[oi] = m[mi];
    }

    /** The reference of {@code rmsprop_update_f32_f64state}: the new m rounded once to float32. */
    static void updateOfElement(float[] out, int oi, float[] xOld, int xi, float[] g, int gi, double[] v, int vi, double[] m, int mi,
                                Scalars64 s) {
        out[oi] = (float) m[mi];
    }

    /** The reference of {@code rmsprop_update_f64}: the new m. */
    static void updateOfElement(double[] out, int oi, double[] xOld, int xi, double[] g, int gi, double[] v, int vi, double[] m, int mi,
                                Scalars64 s) {
        out[oi] = m[mi];
    }

    static final FusedKernel KERNEL = new FusedKernel() {
        @Override
        public String name() {
            return "rmsprop_f32";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            float[] x = ops.f32(0), g = ops.f32(1), v = ops.f32(2), m = ops.f32(3);
            int xo = ops.offset(0), go = ops.offset(1), vo = ops.offset(2), mo = ops.offset(3);
            VectorizedHost.rmsprop(x, xo, g, go, v, vo, m, mo, Scalars.of(scalars), from, to); // NOTE [vectorized-host]
        }

        @Override
        public CudaFunction cuda() {
            return new CudaFunction("optim_rmsprop", "rmsprop_f32");
        }
    };

    static final FusedKernel KERNEL_F64 = new FusedKernel() {
        @Override
        public String name() {
            return "rmsprop_f32_f64state";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            float[] x = ops.f32(0), g = ops.f32(1);
            double[] v = ops.f64(2), m = ops.f64(3);
            int xo = ops.offset(0), go = ops.offset(1), vo = ops.offset(2), mo = ops.offset(3);
            VectorizedHost.rmsprop(x, xo, g, go, v, vo, m, mo, Scalars64.of(scalars), from, to); // NOTE [vectorized-host]
        }

        @Override
        public CudaFunction cuda() {
            return new CudaFunction("optim_rmsprop", "rmsprop_f32_f64state");
        }
    };

    /** Float64 parameters: {@link #updateElement(double[], int, double[], int, double[], int, double[], int, Scalars64)} over a range. */
    static final FusedKernel KERNEL_F64_PARAMS = new FusedKernel() {
        @Override
        public String name() {
            return "rmsprop_f64";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            double[] x = ops.f64(0), g = ops.f64(1), v = ops.f64(2), m = ops.f64(3);
            int xo = ops.offset(0), go = ops.offset(1), vo = ops.offset(2), mo = ops.offset(3);
            Scalars64 s = Scalars64.of(scalars);
            for (int i = from; i < to; i++) updateElement(x, xo + i, g, go + i, v, vo + i, m, mo + i, s);
        }
        // no cuda(): float64 parameters are updated on the CPU only (NOTE [float64-parameters] in Optimizer)
    };

    /** The update kernels (NOTE [update-probe]): operands (out, xOld, g, v, m), the step's scalars; u = m. */
    static final FusedKernel UPDATE_KERNEL = new FusedKernel() {
        @Override
        public String name() {
            return "rmsprop_update_f32";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            float[] out = ops.f32(0), x = ops.f32(1), g = ops.f32(2), v = ops.f32(3), m = ops.f32(4);
            int oo = ops.offset(0), xo = ops.offset(1), go = ops.offset(2), vo = ops.offset(3), mo = ops.offset(4);
            Scalars s = Scalars.of(scalars);
            for (int i = from; i < to; i++) updateOfElement(out, oo + i, x, xo + i, g, go + i, v, vo + i, m, mo + i, s);
        }

        @Override
        public CudaFunction cuda() {
            return new CudaFunction("optim_rmsprop", "rmsprop_update_f32");
        }
    };

    static final FusedKernel UPDATE_KERNEL_F64 = new FusedKernel() {
        @Override
        public String name() {
            return "rmsprop_update_f32_f64state";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            float[] out = ops.f32(0), x = ops.f32(1), g = ops.f32(2);
            double[] v = ops.f64(3), m = ops.f64(4);
            int oo = ops.offset(0), xo = ops.offset(1), go = ops.offset(2), vo = ops.offset(3), mo = ops.offset(4);
            Scalars64 s = Scalars64.of(scalars);
            for (int i = from; i < to; i++) updateOfElement(out, oo + i, x, xo + i, g, go + i, v, vo + i, m, mo + i, s);
        }

        @Override
        public CudaFunction cuda() {
            return new CudaFunction("optim_rmsprop", "rmsprop_update_f32_f64state");
        }
    };

    static final FusedKernel UPDATE_KERNEL_F64_PARAMS = new FusedKernel() {
        @Override
        public String name() {
            return "rmsprop_update_f64";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            double[] out = ops.f64(0), x = ops.f64(1), g = ops.f64(2), v = ops.f64(3), m = ops.f64(4);
            int oo = ops.offset(0), xo = ops.offset(1), go = ops.offset(2), vo = ops.offset(3), mo = ops.offset(4);
            Scalars64 s = Scalars64.of(scalars);
            for (int i = from; i < to; i++) updateOfElement(out, oo + i, x, xo + i, g, go + i, v, vo + i, m, mo + i, s);
        }
        // no cuda(): float64 parameters are updated on the CPU only (NOTE [float64-parameters] in Optimizer)
    };
}
