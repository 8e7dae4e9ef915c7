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
 * Update kernels ({@link #computeUpdate}, NOTE [update-probe]) {@code sgd_update_f32} and the host-only
 * {@code sgd_update_f64}: u alone, operands (out, xOld, g), the same scalars.
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
    protected FusedKernel updateKernel() {
        return float64Parameters() ? UPDATE_KERNEL_F64_PARAMS : UPDATE_KERNEL;
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
        x[xi] = WeightDecay.apply(x[xi], u(grad, s), s.wdMode(), s.wdFactor());
    }

    /** u = lr_t g', from the gradient the rule saw: the step and the update kernel (NOTE [update-probe]) both call it. */
    static float u(float grad, Scalars s) {
        return s.lr() * grad;
    }

    /** The reference of {@code sgd_update_f32}: out[oi] = the u of the step, from x before it and its g. */
    static void updateOfElement(float[] out, int oi, float[] xOld, int xi, float[] g, int gi, Scalars s) {
        out[oi] = u(WeightDecay.gradient(g[gi], xOld[xi], s.wdMode(), s.wdL2()), s);
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
        return WeightDecay.apply(x, u(grad, s), s.wdMode(), s.wdFactor());
    }

    /** {@link #u(float, Scalars)} in float64. */
    static double u(double grad, Scalars64 s) {
        return s.lr() * grad;
    }

    /** The reference of {@code sgd_update_f64}. */
    static void updateOfElement(double[] out, int oi, double[] xOld, int xi, double[] g, int gi, Scalars64 s) {
        out[oi] = u(WeightDecay.gradient(g[gi], xOld[xi], s.wdMode(), s.wdL2()), s);
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

    /** The update kernels (NOTE [update-probe]): operands (out, xOld, g), the step's scalars. */
    static final FusedKernel UPDATE_KERNEL = new FusedKernel() {
        @Override
        public String name() {
            return "sgd_update_f32";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            float[] out = ops.f32(0), x = ops.f32(1), g = ops.f32(2);
            int oo = ops.offset(0), xo = ops.offset(1), go = ops.offset(2);
            Scalars s = Scalars.of(scalars);
            for (int i = from; i < to; i++) updateOfElement(out, oo + i, x, xo + i, g, go + i, s);
        }

        @Override
        public CudaFunction cuda() {
            return new CudaFunction("optim_sgd", "sgd_update_f32");
        }
    };

    static final FusedKernel UPDATE_KERNEL_F64_PARAMS = new FusedKernel() {
        @Override
        public String name() {
            return "sgd_update_f64";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            double[] out = ops.f64(0), x = ops.f64(1), g = ops.f64(2);
            int oo = ops.offset(0), xo = ops.offset(1), go = ops.offset(2);
            Scalars64 s = Scalars64.of(scalars);
            for (int i = from; i < to; i++) updateOfElement(out, oo + i, x, xo + i, g, go + i, s);
        }
        // no cuda(): float64 parameters are updated on the CPU only (NOTE [float64-parameters] in Optimizer)
    };
}
