package optlab.optim;

import optlab.kernels.FusedKernel;
import optlab.nn.ParameterArena;
import optlab.tensor.Tensor;

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
 * parameters (NOTE [float64-parameters]); operands (x, g, v); scalars
 * (lr_t, gamma, nesterov, wdMode, wdL2, wdFactor). State: {@code momentum_buffer} (v). Update kernels
 * ({@link #computeUpdate}, NOTE [update-probe]) {@code momentum_update_f32}, {@code momentum_update_f32_f64state}
 * and the host-only {@code momentum_update_f64}: u alone, operands (out, xOld, g, v), the same scalars.
 */
public final class Momentum extends Optimizer {
    private final Tensor v;

    public Momentum(ParameterArena arena, OptimizerConfig config) {
        super(arena, config, Rule.MOMENTUM, Rule.NESTEROV);
        v = state("momentum_buffer", 0);
    }

    /** {@code choi.momentum} (or {@code choi.nesterov}) with learning rate lr and momentum gamma. */
    public Momentum(ParameterArena arena, double lr, double gamma, boolean nesterov) {
        this(arena, Presets.builder(nesterov ? "choi.nesterov" : "choi.momentum").lr(lr).momentum(gamma).build());
    }

    @Override
    protected FusedKernel kernel() {
        return float64Parameters() ? KERNEL_F64_PARAMS : float64State() ? KERNEL_F64 : KERNEL;
    }

    @Override
    protected Tensor[] operands() {
        return new Tensor[] {arena.values(), arena.grads(), v};
    }

    @Override
    protected FusedKernel updateKernel() {
        return float64Parameters() ? UPDATE_KERNEL_F64_PARAMS : float64State() ? UPDATE_KERNEL_F64 : UPDATE_KERNEL;
    }

    @Override
    protected double[] scalars(long t, double eta, ResolvedGroup g) {
        double[] wd = decayScalars(g, eta);
        return new double[] {g.lr() * eta, config.momentum(), config.rule() == Rule.NESTEROV ? 1 : 0, wd[0], wd[1], wd[2]};
    }

    /** The kernel scalars as float32. */
    record Scalars(float lr, float gamma, boolean nesterov, int wdMode, float wdL2, float wdFactor) {
        static Scalars of(double[] s) {
            return new Scalars((float) s[0], (float) s[1], s[2] != 0, (int) s[3], (float) s[4], (float) s[5]);
        }
    }

    /** The kernel scalars as float64. */
    record Scalars64(double lr, double gamma, boolean nesterov, int wdMode, double wdL2, double wdFactor) {
        static Scalars64 of(double[] s) {
            return new Scalars64(s[0], s[1], s[2] != 0, (int) s[3], s[4], s[5]);
        }
    }

    /** The reference update of element i, float32 arithmetic, in the order of the class comment. */
    static void updateElement(float[] x, int xi, float[] g, int gi, float[] v, int vi, Scalars s) {
        float grad = WeightDecay.gradient(g[gi], x[xi], s.wdMode(), s.wdL2());
        float vt = s.gamma() * v[vi] + grad;                      // v <- gamma v + g
        v[vi] = vt;
        x[xi] = WeightDecay.apply(x[xi], u(grad, vt, s), s.wdMode(), s.wdFactor());
    }

    /**
     * u = lr_t v, or lr_t (gamma v + g') for Nesterov, from the gradient the rule saw and the new v: the
     * step and the update kernel (NOTE [update-probe]) both call it.
     */
    static float u(float grad, float vt, Scalars s) {
        float dir = s.nesterov() ? s.gamma() * vt + grad : vt;   // Nesterov looks ahead
        return s.lr() * dir;
    }

    /** The reference of {@code momentum_update_f32}: out[oi] = the u of the step, from x before it, its g and the new v. */
    static void updateOfElement(float[] out, int oi, float[] xOld, int xi, float[] g, int gi, float[] v, int vi, Scalars s) {
        out[oi] = u(WeightDecay.gradient(g[gi], xOld[xi], s.wdMode(), s.wdL2()), v[vi], s);
    }

    /**
     * The float64 math of one element, once for both float64 kernels (NOTE [optimizer-math]): the
     * operations of the class comment in double on x and g, updating v[vi]; returns the new x.
     */
    static double update(double x, double g, double[] v, int vi, Scalars64 s) {
        double grad = WeightDecay.gradient(g, x, s.wdMode(), s.wdL2());
        double vt = s.gamma() * v[vi] + grad;
        v[vi] = vt;
        return WeightDecay.apply(x, u(grad, vt, s), s.wdMode(), s.wdFactor());
    }

    /** {@link #u(float, float, Scalars)} in float64. */
    static double u(double grad, double vt, Scalars64 s) {
        double dir = s.nesterov() ? s.gamma() * vt + grad : vt;
        return s.lr() * dir;
    }

    /** The float64 u of the step just taken, from x before it, its g and the new v. */
    static double updateOf(double xOld, double g, double vt, Scalars64 s) {
        return u(WeightDecay.gradient(g, xOld, s.wdMode(), s.wdL2()), vt, s);
    }

    /** Float32 parameters with float64 state: {@link #update} on the widened x and g; x rounds to float32 when written. */
    static void updateElement(float[] x, int xi, float[] g, int gi, double[] v, int vi, Scalars64 s) {
        x[xi] = (float) update(x[xi], g[gi], v, vi, s);
    }

    /** Float64 parameters, gradients and state: {@link #update}. */
    static void updateElement(double[] x, int xi, double[] g, int gi, double[] v, int vi, Scalars64 s) {
        x[xi] = update(x[xi], g[gi], v, vi, s);
    }

    /** The reference of {@code momentum_update_f32_f64state}: {@link #updateOf} in double, rounded once to float32. */
    static void updateOfElement(float[] out, int oi, float[] xOld, int xi, float[] g, int gi, double[] v, int vi, Scalars64 s) {
        out[oi] = (float) updateOf(xOld[xi], g[gi], v[vi], s);
    }

    /** The reference of {@code momentum_update_f64}: {@link #updateOf}. */
    static void updateOfElement(double[] out, int oi, double[] xOld, int xi, double[] g, int gi, double[] v, int vi, Scalars64 s) {
        out[oi] = updateOf(xOld[xi], g[gi], v[vi], s);
    }

    static final FusedKernel KERNEL = new FusedKernel() {
        @Override
        public String name() {
            return "momentum_f32";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            float[] x = ops.f32(0), g = ops.f32(1), v = ops.f32(2);
            int xo = ops.offset(0), go = ops.offset(1), vo = ops.offset(2);
            Scalars s = Scalars.of(scalars);
            for (int i = from; i < to; i++) updateElement(x, xo + i, g, go + i, v, vo + i, s);
        }

        @Override
        public CudaFunction cuda() {
            return new CudaFunction("optim_sgd", "momentum_f32");
        }
    };

    static final FusedKernel KERNEL_F64 = new FusedKernel() {
        @Override
        public String name() {
            return "momentum_f32_f64state";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            float[] x = ops.f32(0), g = ops.f32(1);
            double[] v = ops.f64(2);
            int xo = ops.offset(0), go = ops.offset(1), vo = ops.offset(2);
            Scalars64 s = Scalars64.of(scalars);
            for (int i = from; i < to; i++) updateElement(x, xo + i, g, go + i, v, vo + i, s);
        }

        @Override
        public CudaFunction cuda() {
            return new CudaFunction("optim_sgd", "momentum_f32_f64state");
        }
    };

    /** Float64 parameters: {@link #updateElement(double[], int, double[], int, double[], int, Scalars64)} over a range. */
    static final FusedKernel KERNEL_F64_PARAMS = new FusedKernel() {
        @Override
        public String name() {
            return "momentum_f64";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            double[] x = ops.f64(0), g = ops.f64(1), v = ops.f64(2);
            int xo = ops.offset(0), go = ops.offset(1), vo = ops.offset(2);
            Scalars64 s = Scalars64.of(scalars);
            for (int i = from; i < to; i++) updateElement(x, xo + i, g, go + i, v, vo + i, s);
        }
        // no cuda(): float64 parameters are updated on the CPU only (NOTE [float64-parameters] in Optimizer)
    };

    /** The update kernels (NOTE [update-probe]): operands (out, xOld, g, v), the step's scalars. */
    static final FusedKernel UPDATE_KERNEL = new FusedKernel() {
        @Override
        public String name() {
            return "momentum_update_f32";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            float[] out = ops.f32(0), x = ops.f32(1), g = ops.f32(2), v = ops.f32(3);
            int oo = ops.offset(0), xo = ops.offset(1), go = ops.offset(2), vo = ops.offset(3);
            Scalars s = Scalars.of(scalars);
            for (int i = from; i < to; i++) updateOfElement(out, oo + i, x, xo + i, g, go + i, v, vo + i, s);
        }

        @Override
        public CudaFunction cuda() {
            return new CudaFunction("optim_sgd", "momentum_update_f32");
        }
    };

    static final FusedKernel UPDATE_KERNEL_F64 = new FusedKernel() {
        @Override
        public String name() {
            return "momentum_update_f32_f64state";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            float[] out = ops.f32(0), x = ops.f32(1), g = ops.f32(2);
            double[] v = ops.f64(3);
            int oo = ops.offset(0), xo = ops.offset(1), go = ops.offset(2), vo = ops.offset(3);
            Scalars64 s = Scalars64.of(scalars);
            for (int i = from; i < to; i++) updateOfElement(out, oo + i, x, xo + i, g, go + i, v, vo + i, s);
        }

        @Override
        public CudaFunction cuda() {
            return new CudaFunction("optim_sgd", "momentum_update_f32_f64state");
        }
    };

    static final FusedKernel UPDATE_KERNEL_F64_PARAMS = new FusedKernel() {
        @Override
        public String name() {
            return "momentum_update_f64";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            double[] out = ops.f64(0), x = ops.f64(1), g = ops.f64(2), v = ops.f64(3);
            int oo = ops.offset(0), xo = ops.offset(1), go = ops.offset(2), vo = ops.offset(3);
            Scalars64 s = Scalars64.of(scalars);
            for (int i = from; i < to; i++) updateOfElement(out, oo + i, x, xo + i, g, go + i, v, vo + i, s);
        }
        // no cuda(): float64 parameters are updated on the CPU only (NOTE [float64-parameters] in Optimizer)
    };
}
