package optlab.optim;

import optlab.kernels.FusedKernel;
import optlab.nn.ParameterArena;
import optlab.tensor.Tensor;

/**
 * Stochastic gradient descent (Choi et al., Table 1; PAPERS.md section 1.2), with the weight-decay
 * modes of {@link Numerics.WeightDecayMode}:
 * <pre>
 *   g <- g + lambda x                       (L2 only)
 *   u  = lr_t g                              lr_t = alpha eta_t
 *   x <- x - u  |  (1 - d) x - u  |  (x - u) / (1 + d)
 * </pre>
 * No state. Kernel {@code sgd_f32} in {@code optim_sgd.cu}, and the host-only {@code sgd_f64} for
 * float64 parameters (NOTE [float64-parameters]); operands (x, g); scalars (lr_t, wdMode, wdL2, wdFactor).
 */
public final class Sgd extends Optimizer {
    public Sgd(ParameterArena arena, OptimizerConfig config) {
        super(arena, config, Rule.SGD);
    }

    /** {@code choi.sgd} with learning rate {@code lr}. */
    public Sgd(ParameterArena arena, double lr) {
        this(arena, Presets.builder("choi.sgd").lr(lr).build());
    }

    @Override
    protected FusedKernel kernel() {
        return float64Parameters() ? KERNEL_F64_PARAMS : KERNEL;
    }

    @Override
    protected Tensor[] operands() {
        return new Tensor[] {arena.values(), arena.grads()};
    }

    @Override
    protected double[] scalars(long t, double eta, ResolvedGroup g) {
        double[] wd = decayScalars(g, eta);
        return new double[] {g.lr() * eta, wd[0], wd[1], wd[2]};
    }

    /** The kernel scalars as float32, in order. */
    record Scalars(float lr, int wdMode, float wdL2, float wdFactor) {
        static Scalars of(double[] s) {
            return new Scalars((float) s[0], (int) s[1], (float) s[2], (float) s[3]);
        }
    }

    /** The reference update of element i, float32 arithmetic: {@code x <- decay(x, lr_t * g')}. */
    static void updateElement(float[] x, int xi, float[] g, int gi, Scalars s) {
        float grad = WeightDecay.gradient(g[gi], x[xi], s.wdMode(), s.wdL2());
        float u = s.lr() * grad;
        x[xi] = WeightDecay.apply(x[xi], u, s.wdMode(), s.wdFactor());
    }

    /** The kernel scalars as float64 (float64 parameters). */
    record Scalars64(double lr, int wdMode, double wdL2, double wdFactor) {
        static Scalars64 of(double[] s) {
            return new Scalars64(s[0], (int) s[1], s[2], s[3]);
        }
    }

    /** The float64 math of one element (NOTE [optimizer-math]): the class comment's operations in double; returns the new x. */
    static double update(double x, double g, Scalars64 s) {
        double grad = WeightDecay.gradient(g, x, s.wdMode(), s.wdL2());
        double u = s.lr() * grad;
        return WeightDecay.apply(x, u, s.wdMode(), s.wdFactor());
    }

    /** Float64 parameters and gradients: {@link #update}. */
    static void updateElement(double[] x, int xi, double[] g, int gi, Scalars64 s) {
        x[xi] = update(x[xi], g[gi], s);
    }

    /** The fused pass: {@link #updateElement} over a range. */
    static final FusedKernel KERNEL = new FusedKernel() {
        @Override
        public String name() {
            return "sgd_f32";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            float[] x = ops.f32(0), g = ops.f32(1);
            int xo = ops.offset(0), go = ops.offset(1);
            Scalars s = Scalars.of(scalars);
            for (int i = from; i < to; i++) updateElement(x, xo + i, g, go + i, s);
        }

        @Override
        public CudaFunction cuda() {
            return new CudaFunction("optim_sgd", "sgd_f32");
        }
    };

    /** Float64 parameters: {@link #updateElement(double[], int, double[], int, Scalars64)} over a range. */
    static final FusedKernel KERNEL_F64_PARAMS = new FusedKernel() {
        @Override
        public String name() {
            return "sgd_f64";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            double[] x = ops.f64(0), g = ops.f64(1);
            int xo = ops.offset(0), go = ops.offset(1);
            Scalars64 s = Scalars64.of(scalars);
            for (int i = from; i < to; i++) updateElement(x, xo + i, g, go + i, s);
        }
        // no cuda(): float64 parameters are updated on the CPU only (NOTE [float64-parameters] in Optimizer)
    };
}
