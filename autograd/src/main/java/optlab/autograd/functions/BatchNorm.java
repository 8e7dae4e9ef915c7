package optlab.autograd.functions;

import optlab.autograd.Function;
import optlab.autograd.Variable;
import optlab.tensor.NeuralOps;
import optlab.tensor.Tensor;

/**
 * Batch normalization over (n, c, ...), per channel, with affine gamma and beta (c).
 * <ul>
 *   <li>training: normalizes with the batch statistics (and updates the running ones in place);
 *       the backward is the backend's fused batch-norm backward.</li>
 *   <li>inference: y = (x - runningMean) * invStd * gamma + beta with invStd = 1/sqrt(runningVar + eps),
 *       an affine map per channel: dx = dy * gamma * invStd, dgamma = sum dy * xhat, dbeta = sum dy.</li>
 * </ul>
 */
public final class BatchNorm extends Function {
    private Tensor x, gamma, saveMean, saveInvStd;
    private boolean training;

    public static Variable apply(Variable x, Variable gamma, Variable beta, Tensor runningMean, Tensor runningVar,
                                 boolean training, double momentum, double eps) {
        checkGradientKernel("batchnorm", x, gamma, beta);
        BatchNorm f = new BatchNorm();
        f.x = x.data();
        f.gamma = gamma.data();
        f.training = training;
        Tensor y;
        if (training) {
            NeuralOps.BatchNormOutput out = NeuralOps.batchNormTraining(x.data(), gamma.data(), beta.data(), runningMean, runningVar, momentum, eps);
            y = out.y();
            f.saveMean = out.saveMean();
            f.saveInvStd = out.saveInvStd();
        } else {
            if (runningMean == null || runningVar == null) {
                throw new IllegalArgumentException("batchNorm: inference mode needs running statistics");
            }
            y = NeuralOps.batchNormInference(x.data(), gamma.data(), beta.data(), runningMean, runningVar, eps);
            f.saveMean = runningMean.copy();
            try (Tensor ve = runningVar.add(eps); Tensor sd = ve.sqrt()) {
                f.saveInvStd = sd.reciprocal();
            }
        }
        return f.output(y, x, gamma, beta);
    }

    @Override
    protected Tensor[] backward(Tensor dy) {
        if (training) {
            NeuralOps.BatchNormGrads g = NeuralOps.batchNormBackward(x, dy, gamma, saveMean, saveInvStd);
            return new Tensor[] {keepIf(0, g.dx()), keepIf(1, g.dgamma()), keepIf(2, g.dbeta())};
        }
        int[] perChannel = new int[x.dim()];
        java.util.Arrays.fill(perChannel, 1);
        perChannel[1] = x.size(1);
        int[] notChannel = new int[x.dim() - 1];
        for (int d = 0, k = 0; d < x.dim(); d++) if (d != 1) notChannel[k++] = d;
        try (Tensor mean = saveMean.view(perChannel); Tensor inv = saveInvStd.view(perChannel); Tensor gm = gamma.view(perChannel);
             Tensor centred = x.sub(mean); Tensor xhat = centred.mul(inv); Tensor scale = gm.mul(inv); Tensor dyx = dy.mul(xhat)) {
            Tensor dx = needsInputGrad(0) ? dy.mul(scale) : null;
            Tensor dgamma = needsInputGrad(1) ? dyx.sum(notChannel, false) : null;
            Tensor dbeta = needsInputGrad(2) ? dy.sum(notChannel, false) : null;
            return new Tensor[] {dx, dgamma, dbeta};
        }
    }

    private Tensor keepIf(int input, Tensor g) {
        if (needsInputGrad(input)) return g;
        g.close();
        return null;
    }
}
