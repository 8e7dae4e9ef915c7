package optlab.nn;

import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.tensor.Tensor;

/**
 * Batch normalization over the channels of (n, c, h, w) input, as {@code torch.nn.BatchNorm2d}:
 * <pre>
 *   training:  y = (x - mean_B) / sqrt(var_B + eps) * weight + bias     (batch statistics per channel)
 *              running_mean = (1 - momentum) running_mean + momentum mean_B
 *              running_var  = (1 - momentum) running_var  + momentum var_B * m/(m-1)   (unbiased, m = n*h*w)
 *   inference: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias
 * </pre>
 * Parameters {@code weight} (gamma, init 1) and {@code bias} (beta, init 0), each (c); buffers
 * {@code running_mean} (init 0) and {@code running_var} (init 1), each (c), updated in place in training
 * mode ({@link Module#train()}). PyTorch's defaults: momentum 0.1, eps 1e-5.
 *
 * <p>PyTorch also keeps a {@code num_batches_tracked} counter, used only when momentum is None
 * (a cumulative average). We have no such mode and do not store it; PyTorch's
 * {@code load_state_dict} fills it in when it is missing, so our state still loads there strictly.
 */
public final class BatchNorm2d extends Module {
    public final Parameter weight;
    public final Parameter bias;
    private final int features;
    private final double momentum, eps;

    public BatchNorm2d(int features) {
        this(features, 0.1, 1e-5);
    }

    public BatchNorm2d(int features, double momentum, double eps) {
        if (features <= 0) throw new IllegalArgumentException("BatchNorm2d: features must be positive, got " + features);
        if (!(momentum >= 0 && momentum <= 1)) throw new IllegalArgumentException("BatchNorm2d: momentum must be in [0, 1], got " + momentum);
        if (!(eps > 0)) throw new IllegalArgumentException("BatchNorm2d: eps must be positive, got " + eps);
        this.features = features;
        this.momentum = momentum;
        this.eps = eps;
        weight = register("weight", new Parameter(Tensor.ones(features)));
        bias = register("bias", new Parameter(Tensor.zeros(features)));
        registerBuffer("running_mean", Tensor.zeros(features));
        registerBuffer("running_var", Tensor.ones(features));
    }

    /** The running mean (c), updated in place in training mode; on the module's device ({@link Module#to}). */
    public Tensor runningMean() {
        return buffer("running_mean");
    }

    /** The running (unbiased) variance (c), updated in place in training mode. */
    public Tensor runningVar() {
        return buffer("running_var");
    }

    /** x is (n, c, h, w); y has the same shape. */
    @Override
    public Variable forward(Variable x) {
        return forward(x, null, false);
    }

    /**
     * {@code relu(bn(x))}: the same values, bits and gradients as {@code forward(x).relu()}, as one fused op (one pass
     * over memory fewer each way, and one tensor fewer kept for the backward; Backend's NOTE [bn-epilogue]).
     */
    public Variable forwardRelu(Variable x) {
        return forward(x, null, true);
    }

    /** {@code relu(bn(x) + residual)}, residual of x's shape: {@code forward(x).add(residual).relu()} as one fused op. */
    public Variable forwardAddRelu(Variable x, Variable residual) {
        if (residual == null) throw new IllegalArgumentException("BatchNorm2d(" + features + "): forwardAddRelu needs a residual, got null");
        return forward(x, residual, true);
    }

    private Variable forward(Variable x, Variable residual, boolean relu) {
        if (x.dim() != 4 || x.size(1) != features) {
            throw new IllegalArgumentException("BatchNorm2d(" + features + "): input of shape " + x.shape()
                    + " (expected (n, " + features + ", h, w))");
        }
        return Functional.batchNorm(x, weight, bias, runningMean(), runningVar(), isTraining(), momentum, eps, residual, relu);
    }

    @Override
    protected String describe() {
        return features + ", eps=" + eps + ", momentum=" + momentum;
    }
}
