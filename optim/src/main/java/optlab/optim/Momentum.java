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
 * (lr_t, gamma, nesterov, wdMode, wdL2, wdFactor). State: {@code momentum_buffer} (v).
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
        float dir = s.nesterov() ? s.gamma() * vt + grad : vt;   // Nesterov looks ahead
        float u = s.lr() * dir;
        x[xi] = WeightDecay.apply(x[xi], u, s.wdMode(), s.wdFactor());
    }

    /**
     * The float64 math of one element, once for both float64 kernels (NOTE [optimizer-math]): the
     * operations of the class comment in double on x and g, updating v[vi]; returns the new x.
     */
    static double update(double x, double g, double[] v, int vi, Scalars64 s) {
        double grad = WeightDecay.gradient(g, x, s.wdMode(), s.wdL2());
        double vt = s.gamma() * v[vi] + grad;
        v[vi] = vt;
        double dir = s.nesterov() ? s.gamma() * vt + grad : vt;
        double u = s.lr() * dir;
        return WeightDecay.apply(x, u, s.wdMode(), s.wdFactor());
    }

    /** Float32 parameters with float64 state: {@link #update} on the widened x and g; x rounds to float32 when written. */
    static void updateElement(float[] x, int xi, float[] g, int gi, double[] v, int vi, Scalars64 s) {
        x[xi] = (float) update(x[xi], g[gi], v, vi, s);
    }

    /** Float64 parameters, gradients and state: {@link #update}. */
    static void updateElement(double[] x, int xi, double[] g, int gi, double[] v, int vi, Scalars64 s) {
        x[xi] = update(x[xi], g[gi], v, vi, s);
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
}
