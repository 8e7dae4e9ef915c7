package optlab.optim;

import java.util.LinkedHashMap;
import java.util.Map;
import optlab.kernels.FusedKernel;
import optlab.kernels.Ptr;
import optlab.nn.ParameterArena;
import optlab.tensor.Tensor;

/**
 * Adam in the form of Choi et al. (2019), Table 1 (TensorFlow 1 semantics; PAPERS.md section 1.2):
 * <pre>
 *   m <- beta1 m + (1 - beta1) g
 *   v <- beta2 v + (1 - beta2) g^2
 *   b_t = sqrt(1 - beta2^t) / (1 - beta1^t)
 *   x <- x - alpha b_t m / (sqrt(v) + eps)          eps on the uncorrected sqrt(v)
 * </pre>
 * m and v start at zero. One fused pass over the arena per step ({@link #KERNEL}).
 */
public final class Adam extends Optimizer {
    private final double lr, beta1, beta2, eps;
    private final Tensor m, v;

    public Adam(ParameterArena arena, double lr, double beta1, double beta2, double eps) {
        super(arena);
        this.lr = check("learning rate", lr, 0, Double.POSITIVE_INFINITY);
        this.beta1 = check("beta1", beta1, 0, 1);
        this.beta2 = check("beta2", beta2, 0, 1);
        this.eps = check("eps", eps, 0, Double.POSITIVE_INFINITY);
        m = state(0);
        v = state(0);
    }

    /** TensorFlow's defaults: beta1 0.9, beta2 0.999, eps 1e-8. */
    public Adam(ParameterArena arena, double lr) {
        this(arena, lr, 0.9, 0.999, 1e-8);
    }

    @Override
    protected void update(long t) {
        double bt = Math.sqrt(1 - Math.pow(beta2, t)) / (1 - Math.pow(beta1, t));
        Tensor x = arena.values(), g = arena.grads();
        x.backend().fused(KERNEL, arena.size(), new Ptr[] {x.ptr(), g.ptr(), m.ptr(), v.ptr()},
                new double[] {lr * bt, beta1, beta2, eps});
    }

    /**
     * The reference update of element i (the Java math; a CUDA kernel must match it). Operands
     * x, g, m, v; scalars: stepSize = alpha * b_t, beta1, beta2, eps. Float32 arithmetic throughout.
     */
    static void updateElement(float[] x, int xi, float[] g, int gi, float[] m, int mi, float[] v, int vi,
                              float stepSize, float beta1, float beta2, float eps) {
        float grad = g[gi];
        float mt = beta1 * m[mi] + (1 - beta1) * grad;
        float vt = beta2 * v[vi] + (1 - beta2) * grad * grad;
        m[mi] = mt;
        v[vi] = vt;
        x[xi] -= stepSize * mt / ((float) Math.sqrt(vt) + eps);
    }

    /** The fused pass: {@link #updateElement} over a range of the arena. */
    static final FusedKernel KERNEL = new FusedKernel() {
        @Override
        public String name() {
            return "adam_choi";
        }

        @Override
        public void runHost(HostOperands ops, double[] s, int from, int to) {
            float[] x = ops.f32(0), g = ops.f32(1), m = ops.f32(2), v = ops.f32(3);
            int xo = ops.offset(0), go = ops.offset(1), mo = ops.offset(2), vo = ops.offset(3);
            float stepSize = (float) s[0], b1 = (float) s[1], b2 = (float) s[2], eps = (float) s[3];
            for (int i = from; i < to; i++) updateElement(x, xo + i, g, go + i, m, mo + i, v, vo + i, stepSize, b1, b2, eps);
        }
    };

    @Override
    public Map<String, Tensor> stateTensors() {
        Map<String, Tensor> s = new LinkedHashMap<>();
        s.put("exp_avg", m);
        s.put("exp_avg_sq", v);
        return s;
    }

    @Override
    public void close() {
        m.close();
        v.close();
    }
}
