package optlab.kernels.reference;

import optlab.kernels.Checks;

/** Reference softmax cross-entropy with label smoothing. logits/probs are (n, classes); labels are (n). */
public final class RefLoss {
    private RefLoss() {}

    /**
     * With log p_ij = z_ij - logsumexp_j(z_i) (computed stably by subtracting the row max) and the
     * target q_ij = (1 - smoothing) [j == label_i] + smoothing / classes:
     * loss_i = -sum_j q_ij log p_ij; probs_ij = p_ij.
     */
    public static void softmaxCrossEntropyForward(int n, int classes, double[] z, int zo, int[] labels, int lo,
                                                  double smoothing, double[] loss, int losso, double[] probs, int po) {
        for (int i = 0; i < n; i++) {
            int label = Checks.label(labels[lo + i], i, classes);
            int row = zo + i * classes;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < classes; j++) max = Math.max(max, z[row + j]);
            double sumExp = 0;
            for (int j = 0; j < classes; j++) sumExp += Math.exp(z[row + j] - max);
            double logSumExp = max + Math.log(sumExp);
            double l = 0;
            for (int j = 0; j < classes; j++) {
                double logp = z[row + j] - logSumExp;
                double q = (j == label ? 1 - smoothing : 0) + smoothing / classes;
                l -= q * logp;
                probs[po + i * classes + j] = Math.exp(logp);
            }
            loss[losso + i] = l;
        }
    }

    /** dz_ij = dLoss_i * (p_ij - q_ij). */
    public static void softmaxCrossEntropyBackward(int n, int classes, double[] probs, int po, int[] labels, int lo,
                                                   double smoothing, double[] dLoss, int dlo, double[] dz, int dzo) {
        for (int i = 0; i < n; i++) {
            int label = Checks.label(labels[lo + i], i, classes);
            for (int j = 0; j < classes; j++) {
                double q = (j == label ? 1 - smoothing : 0) + smoothing / classes;
                dz[dzo + i * classes + j] = dLoss[dlo + i] * (probs[po + i * classes + j] - q);
            }
        }
    }
}
