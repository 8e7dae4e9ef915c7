package optlab.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import optlab.kernels.Checks;

/**
 * Float32 softmax cross-entropy with label smoothing, the CPU backend's. Reference: {@link
 * optlab.kernels.reference.RefLoss} (which the FLOAT64 path still runs).
 *
 * <p>Per row i, with m = max_j z_ij, e_ij = exp(z_ij - m) ({@code Math.exp} of the float difference) and
 * S = sum_j e_ij, lse = log S summed and taken in double:
 * <pre>
 *   probs_ij = e_ij / S
 *   loss_i   = (1 - smoothing) (lse - (z_i,label - m)) + (smoothing / classes) (classes lse - sum_j (z_ij - m))
 * </pre>
 * which is the reference's {@code -sum_j q_ij log p_ij} with log p_ij = z_ij - m - lse. Each row belongs to one
 * thread and is summed in column order, so the bits do not depend on the thread count. The reference calls
 * {@code Math.exp} twice per element on widened copies: for the char LSTM's 2,500 x 83 logits that was 3.1 ms of a
 * step, now 1.3-2.0 (bin/bench --profile). Not {@link CpuLstm#lanes}' vector exp (0.8 ms): called from here too,
 * C2 compiled it on its own and stopped inlining it into the LSTM's loops, whose family then took 29-32 ms a step
 * instead of 21-24 (NOTE [lstm-lanes]).
 */
final class CpuLoss {
    private CpuLoss() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Rows of 100 classes per thread, at least. */
    private static final int ROW_GRAIN = 64;
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

    /** Throws, naming the first, if a label is outside [0, classes). */
    private static void checkLabels(int n, int classes, int[] labels, int lo) {
        for (int i = 0; i < n; i++) Checks.label(labels[lo + i], i, classes);
    }

    static void forward(int n, int classes, float[] z, int zo, int[] labels, int lo, double smoothing, float[] loss, int losso,
                        float[] probs, int po) {
        checkLabels(n, classes, labels, lo);
        Parallel.forRange(n, Math.max(1, ROW_GRAIN * 100 / classes), (i0, i1) -> {
            float[] e = ROW.get();
            if (e.length < classes) ROW.set(e = new float[classes]);
            for (int i = i0; i < i1; i++) {
                int row = zo + i * classes;
                float m = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < classes; j++) m = Math.max(m, z[row + j]);
                double sumShifted = 0;
                for (int j = 0; j < classes; j++) {
                    e[j] = z[row + j] - m;
                    sumShifted += e[j];
                }
                float zLabel = e[labels[lo + i]];
                for (int j = 0; j < classes; j++) e[j] = (float) Math.exp(e[j]);
                double sum = 0;
                for (int j = 0; j < classes; j++) sum += e[j];
                double lse = Math.log(sum);
                loss[losso + i] = (float) ((1 - smoothing) * (lse - zLabel) + smoothing / classes * (classes * lse - sumShifted));
                float inv = (float) (1 / sum);
                for (int j = 0; j < classes; j++) probs[po + i * classes + j] = e[j] * inv;
            }
        });
    }

    /** dz_ij = dLoss_i * (p_ij - q_ij), q_ij = (1 - smoothing) [j == label_i] + smoothing / classes. */
    static void backward(int n, int classes, float[] probs, int po, int[] labels, int lo, double smoothing, float[] dLoss, int dlo,
                         float[] dz, int dzo) {
        checkLabels(n, classes, labels, lo);
        float off = (float) (smoothing / classes), on = (float) (1 - smoothing + smoothing / classes);
        Parallel.forRange(n, Math.max(1, ROW_GRAIN * 100 / classes), (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                int p = po + i * classes, d = dzo + i * classes, label = labels[lo + i], j = 0;
                float dl = dLoss[dlo + i];
                for (int full = classes - classes % L; j < full; j += L)
                    FloatVector.fromArray(S, probs, p + j).sub(off).mul(dl).intoArray(dz, d + j);
                for (; j < classes; j++) dz[d + j] = dl * (probs[p + j] - off);
                dz[d + label] = dl * (probs[p + label] - on);
            }
        });
    }
}
