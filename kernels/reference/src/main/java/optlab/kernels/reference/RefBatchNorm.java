package optlab.kernels.reference;

import optlab.kernels.Checks;

/**
 * Reference batch normalization over channels: x and y are (n, c, hw), gamma/beta/statistics are (c).
 * Statistics of channel ch are taken over its m = n*hw values.
 */
public final class RefBatchNorm {
    private RefBatchNorm() {}

    /**
     * y = gamma * (x - mu) * invStd + beta with the batch mean mu and biased variance var,
     * invStd = 1/sqrt(var + eps). Running statistics (when runningMean != null) move by momentum
     * towards mu and the unbiased variance var * m/(m-1).
     */
    public static void forwardTraining(int n, int c, int hw, double[] x, int xo, double[] gamma, int go,
                                       double[] beta, int bo, double eps, double momentum,
                                       double[] runningMean, int rmo, double[] runningVar, int rvo,
                                       double[] y, int yo, double[] saveMean, int smo, double[] saveInvStd, int sio) {
        int m = Checks.batchNormCount(n, hw);
        for (int ch = 0; ch < c; ch++) {
            double sum = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < hw; j++) sum += x[xo + (i * c + ch) * hw + j];
            double mean = sum / m;
            double sq = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < hw; j++) {
                    double d = x[xo + (i * c + ch) * hw + j] - mean;
                    sq += d * d;
                }
            double var = sq / m;
            double invStd = 1.0 / Math.sqrt(var + eps);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < hw; j++) {
                    int at = (i * c + ch) * hw + j;
                    y[yo + at] = gamma[go + ch] * (x[xo + at] - mean) * invStd + beta[bo + ch];
                }
            saveMean[smo + ch] = mean;
            saveInvStd[sio + ch] = invStd;
            if (runningMean != null) {
                runningMean[rmo + ch] = (1 - momentum) * runningMean[rmo + ch] + momentum * mean;
                runningVar[rvo + ch] = (1 - momentum) * runningVar[rvo + ch] + momentum * var * m / (m - 1);
            }
        }
    }

    public static void forwardInference(int n, int c, int hw, double[] x, int xo, double[] gamma, int go,
                                        double[] beta, int bo, double[] runningMean, int rmo,
                                        double[] runningVar, int rvo, double eps, double[] y, int yo) {
        for (int ch = 0; ch < c; ch++) {
            double invStd = 1.0 / Math.sqrt(runningVar[rvo + ch] + eps);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < hw; j++) {
                    int at = (i * c + ch) * hw + j;
                    y[yo + at] = gamma[go + ch] * (x[xo + at] - runningMean[rmo + ch]) * invStd + beta[bo + ch];
                }
        }
    }

    /**
     * With xhat = (x - mu) * invStd: dbeta = sum dy, dgamma = sum dy * xhat,
     * dx = gamma * invStd / m * (m * dy - dbeta - xhat * dgamma).
     */
    public static void backward(int n, int c, int hw, double[] x, int xo, double[] dy, int dyo,
                                double[] gamma, int go, double[] saveMean, int smo, double[] saveInvStd, int sio,
                                double[] dx, int dxo, double[] dgamma, int dgo, double[] dbeta, int dbo) {
        int m = n * hw;
        for (int ch = 0; ch < c; ch++) {
            double mean = saveMean[smo + ch], invStd = saveInvStd[sio + ch];
            double sumDy = 0, sumDyXhat = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < hw; j++) {
                    int at = (i * c + ch) * hw + j;
                    sumDy += dy[dyo + at];
                    sumDyXhat += dy[dyo + at] * (x[xo + at] - mean) * invStd;
                }
            dbeta[dbo + ch] = sumDy;
            dgamma[dgo + ch] = sumDyXhat;
            double scale = gamma[go + ch] * invStd / m;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < hw; j++) {
                    int at = (i * c + ch) * hw + j;
                    double xhat = (x[xo + at] - mean) * invStd;
                    dx[dxo + at] = scale * (m * dy[dyo + at] - sumDy - xhat * sumDyXhat);
                }
        }
    }

    /**
     * The forward's epilogue (Backend's NOTE [bn-epilogue]), in place on batch norm's output:
     * {@code y = act(y + z)} over size values; z may be null (no add), act is ReLU ({@link optlab.kernels.UnaryOp#RELU},
     * NaN kept) when relu, else the identity.
     */
    public static void epilogue(int size, double[] y, int yo, double[] z, int zo, boolean relu) {
        for (int e = 0; e < size; e++) {
            double v = z == null ? y[yo + e] : y[yo + e] + z[zo + e];
            y[yo + e] = relu && !(v > 0 || Double.isNaN(v)) ? 0.0 : v;
        }
    }

    /**
     * The backward's epilogue: the gradient g that reaches batch norm's output (and z), from the gradient dy of the
     * epilogue's output y: {@code g = relu ? (y > 0 ? dy : 0) : dy} ({@link optlab.kernels.BinaryOp#RELU_BACKWARD}; y > 0
     * exactly where the sum before the ReLU is). Returns a new array of size values.
     */
    public static double[] epilogueGradient(int size, double[] dy, int dyo, double[] y, int yo, boolean relu) {
        double[] g = new double[size];
        for (int e = 0; e < size; e++) g[e] = !relu || y[yo + e] > 0 ? dy[dyo + e] : 0.0;
        return g;
    }
}
