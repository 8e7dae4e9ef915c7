package optlab.kernels.cpu;

import optlab.kernels.Checks;
import optlab.kernels.reference.RefBatchNorm;

/**
 * Float32 batch normalization of the CPU backend, parallel over channels, statistics accumulated in
 * double. Same formulas as the reference {@link RefBatchNorm}; x and y are (n, c, hw).
 */
final class CpuBatchNorm {
    private CpuBatchNorm() {}

    private static int channelGrain(int n, int hw) {
        return Math.max(1, CpuElementwise.GRAIN / Math.max(1, n * hw));
    }

    static void forwardTraining(int n, int c, int hw, float[] x, int xo, float[] gamma, int go, float[] beta, int bo,
                                double eps, double momentum, float[] rm, int rmo, float[] rv, int rvo,
                                float[] y, int yo, float[] saveMean, int smo, float[] saveInvStd, int sio) {
        int m = Checks.batchNormCount(n, hw);
        Parallel.forRange(c, channelGrain(n, hw), (c0, c1) -> {
            for (int ch = c0; ch < c1; ch++) {
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    int base = xo + (i * c + ch) * hw;
                    for (int j = 0; j < hw; j++) sum += x[base + j];
                }
                double mean = sum / m;
                double sq = 0;
                for (int i = 0; i < n; i++) {
                    int base = xo + (i * c + ch) * hw;
                    for (int j = 0; j < hw; j++) {
                        double d = x[base + j] - mean;
                        sq += d * d;
                    }
                }
                double var = sq / m;
                double invStd = 1.0 / Math.sqrt(var + eps);
                float scale = (float) (gamma[go + ch] * invStd);
                float shift = (float) (beta[bo + ch] - mean * gamma[go + ch] * invStd);
                for (int i = 0; i < n; i++) {
                    int xb = xo + (i * c + ch) * hw, yb = yo + (i * c + ch) * hw;
                    for (int j = 0; j < hw; j++) y[yb + j] = x[xb + j] * scale + shift;
                }
                saveMean[smo + ch] = (float) mean;
                saveInvStd[sio + ch] = (float) invStd;
                if (rm != null) {
                    rm[rmo + ch] = (float) ((1 - momentum) * rm[rmo + ch] + momentum * mean);
                    rv[rvo + ch] = (float) ((1 - momentum) * rv[rvo + ch] + momentum * var * m / (m - 1));
                }
            }
        });
    }

    static void forwardInference(int n, int c, int hw, float[] x, int xo, float[] gamma, int go, float[] beta, int bo,
                                 float[] rm, int rmo, float[] rv, int rvo, double eps, float[] y, int yo) {
        Parallel.forRange(c, channelGrain(n, hw), (c0, c1) -> {
            for (int ch = c0; ch < c1; ch++) {
                double invStd = 1.0 / Math.sqrt(rv[rvo + ch] + eps);
                float scale = (float) (gamma[go + ch] * invStd);
                float shift = (float) (beta[bo + ch] - rm[rmo + ch] * gamma[go + ch] * invStd);
                for (int i = 0; i < n; i++) {
                    int xb = xo + (i * c + ch) * hw, yb = yo + (i * c + ch) * hw;
                    for (int j = 0; j < hw; j++) y[yb + j] = x[xb + j] * scale + shift;
                }
            }
        });
    }

    static void backward(int n, int c, int hw, float[] x, int xo, float[] dy, int dyo, float[] gamma, int go,
                         float[] saveMean, int smo, float[] saveInvStd, int sio,
                         float[] dx, int dxo, float[] dgamma, int dgo, float[] dbeta, int dbo) {
        int m = n * hw;
        Parallel.forRange(c, channelGrain(n, hw), (c0, c1) -> {
            for (int ch = c0; ch < c1; ch++) {
                double mean = saveMean[smo + ch], invStd = saveInvStd[sio + ch];
                double sumDy = 0, sumDyX = 0;
                for (int i = 0; i < n; i++) {
                    int xb = xo + (i * c + ch) * hw, db = dyo + (i * c + ch) * hw;
                    for (int j = 0; j < hw; j++) {
                        sumDy += dy[db + j];
                        sumDyX += dy[db + j] * (double) x[xb + j];
                    }
                }
                double sumDyXhat = (sumDyX - mean * sumDy) * invStd; // sum dy * (x - mean) * invStd
                dbeta[dbo + ch] = (float) sumDy;
                dgamma[dgo + ch] = (float) sumDyXhat;
                // dx = gamma*invStd/m * (m*dy - sumDy - xhat*sumDyXhat), xhat = (x - mean)*invStd
                double k = gamma[go + ch] * invStd;
                float a = (float) k;
                float bx = (float) (-k * invStd * sumDyXhat / m);
                float c0f = (float) (-k * sumDy / m + k * invStd * sumDyXhat * mean / m);
                for (int i = 0; i < n; i++) {
                    int xb = xo + (i * c + ch) * hw, db = dyo + (i * c + ch) * hw, ob = dxo + (i * c + ch) * hw;
                    for (int j = 0; j < hw; j++) dx[ob + j] = a * dy[db + j] + bx * x[xb + j] + c0f;
                }
            }
        });
    }
}
