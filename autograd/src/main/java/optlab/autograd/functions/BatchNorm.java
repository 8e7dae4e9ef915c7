package optlab.autograd.functions;

import optlab.autograd.Function;
import optlab.autograd.Variable;
import optlab.kernels.BinaryOp;
import optlab.kernels.KernelChoices;
import optlab.kernels.UnaryOp;
import optlab.tensor.NeuralOps;
import optlab.tensor.Tensor;

/**
 * Batch normalization over (n, c, ...), per channel, with affine gamma and beta (c), and an optional epilogue fused
 * into the same kernel: {@code y = act(bn(x) + z)}, z of x's shape or null, act = ReLU when relu (Backend's
 * NOTE [bn-epilogue]). ResNet's {@code bn -> ReLU} and {@code bn + shortcut -> ReLU} are one op, one pass over memory
 * fewer each way, with the bits of the unfused ops.
 * <ul>
 *   <li>training: normalizes with the batch statistics (and updates the running ones in place);
 *       the backward is the backend's fused batch-norm backward.</li>
 *   <li>inference: y = (x - runningMean) * invStd * gamma + beta with invStd = 1/sqrt(runningVar + eps),
 *       an affine map per channel: dx = g * gamma * invStd, dgamma = sum g * xhat, dbeta = sum g, where g is the
 *       gradient through the epilogue (dy masked by y > 0 when relu); dz = g.</li>
 * </ul>
 * When a user kernel is chosen for the epilogue's own ops ({@code unary.relu}, {@code binary.add},
 * {@code binary.relu_backward}), {@link #apply} runs batch norm, the add and the ReLU as separate ops, so that the
 * user's kernels run.
 */
public final class BatchNorm extends Function {
    private Tensor x, gamma, saveMean, saveInvStd, y;
    private boolean training, relu, add;

    /** The plain batch norm. */
    public static Variable apply(Variable x, Variable gamma, Variable beta, Tensor runningMean, Tensor runningVar,
                                 boolean training, double momentum, double eps) {
        return apply(x, gamma, beta, runningMean, runningVar, training, momentum, eps, null, false);
    }

    /** {@code act(bn(x) + z)}: z may be null (no add); act is ReLU when relu. */
    public static Variable apply(Variable x, Variable gamma, Variable beta, Tensor runningMean, Tensor runningVar,
                                 boolean training, double momentum, double eps, Variable z, boolean relu) {
        if ((z != null || relu) && userEpilogue(x.data(), z != null, relu)) {
            Variable out = apply(x, gamma, beta, runningMean, runningVar, training, momentum, eps, null, false);
            if (z != null) out = out.add(z);
            return relu ? out.relu() : out;
        }
        checkGradientKernel("batchnorm", x, gamma, beta);
        BatchNorm f = new BatchNorm();
        f.x = x.data();
        f.gamma = gamma.data();
        f.training = training;
        f.relu = relu;
        f.add = z != null;
        Tensor zt = z == null ? null : z.data();
        Tensor y;
        if (training) {
            NeuralOps.BatchNormOutput out = NeuralOps.batchNormTraining(x.data(), gamma.data(), beta.data(), runningMean, runningVar, momentum,
                    eps, zt, relu);
            y = out.y();
            f.saveMean = out.saveMean();
            f.saveInvStd = out.saveInvStd();
        } else {
            if (runningMean == null || runningVar == null) {
                throw new IllegalArgumentException("batchNorm: inference mode needs running statistics");
            }
            y = NeuralOps.batchNormInference(x.data(), gamma.data(), beta.data(), runningMean, runningVar, eps, zt, relu);
            f.saveMean = runningMean.copy();
            try (Tensor ve = runningVar.add(eps); Tensor sd = ve.sqrt()) {
                f.saveInvStd = sd.reciprocal();
            }
        }
        if (relu) f.y = y; // the mask of the backward (the graph keeps y alive as this op's output)
        return z == null ? f.output(y, x, gamma, beta) : f.output(y, x, gamma, beta, z);
    }

    /** Whether a user kernel is chosen for one of the epilogue's ops on x's backend. */
    private static boolean userEpilogue(Tensor x, boolean add, boolean relu) {
        KernelChoices k = x.backend().kernels();
        return add && k.choice(KernelChoices.binaryOp(BinaryOp.ADD), x.device()).isUser()
                || relu && (k.choice(KernelChoices.unaryOp(UnaryOp.RELU), x.device()).isUser()
                            || k.choice(KernelChoices.binaryOp(BinaryOp.RELU_BACKWARD), x.device()).isUser());
    }

    @Override
    protected Tensor[] backward(Tensor dy) {
        if (training) {
            NeuralOps.BatchNormGrads g = NeuralOps.batchNormBackward(x, dy, gamma, saveMean, saveInvStd, y, relu, add && needsInputGrad(3));
            Tensor[] grads = {keepIf(0, g.dx()), keepIf(1, g.dgamma()), keepIf(2, g.dbeta())};
            return add ? new Tensor[] {grads[0], grads[1], grads[2], g.dz()} : grads;
        }
        int[] perChannel = new int[x.dim()];
        java.util.Arrays.fill(perChannel, 1);
        perChannel[1] = x.size(1);
        int[] notChannel = new int[x.dim() - 1];
        for (int d = 0, k = 0; d < x.dim(); d++) if (d != 1) notChannel[k++] = d;
        Tensor masked = relu ? dy.binary(BinaryOp.RELU_BACKWARD, y) : null, g = relu ? masked : dy;
        try (masked; Tensor mean = saveMean.view(perChannel); Tensor inv = saveInvStd.view(perChannel); Tensor gm = gamma.view(perChannel);
             Tensor centred = x.sub(mean); Tensor xhat = centred.mul(inv); Tensor scale = gm.mul(inv); Tensor gx = g.mul(xhat)) {
            Tensor dx = needsInputGrad(0) ? g.mul(scale) : null;
            Tensor dgamma = needsInputGrad(1) ? gx.sum(notChannel, false) : null;
            Tensor dbeta = needsInputGrad(2) ? g.sum(notChannel, false) : null;
            if (!add) return new Tensor[] {dx, dgamma, dbeta};
            return new Tensor[] {dx, dgamma, dbeta, needsInputGrad(3) ? g.copy() : null};
        }
    }

    private Tensor keepIf(int input, Tensor g) {
        if (needsInputGrad(input)) return g;
        g.close();
        return null;
    }
}
