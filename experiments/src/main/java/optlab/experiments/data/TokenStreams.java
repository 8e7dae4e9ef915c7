package optlab.experiments.data;

/**
 * DeepOBS's batch-contiguous layout of a token sequence for truncated backpropagation through time
 * (deepobs/tensorflow/datasets/tolstoi.py): the tokens are cut into B streams, one per batch row, and
 * each batch is the next L tokens of every stream, so row b of batch k + 1 continues row b of batch k
 * and an LSTM's state can be carried from one batch to the next.
 * <pre>
 *   numBatches = floor((n - 1) / (B L))
 *   x = tokens[0 : numBatches B L]      as (B, numBatches L), row-major
 *   y = tokens[1 : numBatches B L + 1]  likewise: the next token of each x
 *   batch k = columns [k L, (k + 1) L) of x and of y, each (B, L)
 * </pre>
 * so {@code x_k[b][t] = tokens[b numBatches L + k L + t]} and {@code y_k[b][t]} is the token after
 * it. The tail of {@code n - 1 - numBatches B L} tokens is not used. The batches come in order; DeepOBS
 * does not shuffle them (that would break the streams).
 */
public final class TokenStreams {
    private final int[] tokens;
    private final int rows, length, batches;

    /**
     * @param tokens    the sequence, held (not copied)
     * @param batchSize B, the number of streams
     * @param seqLength L, the tokens per stream per batch
     */
    public TokenStreams(int[] tokens, int batchSize, int seqLength) {
        if (batchSize <= 0 || seqLength <= 0) {
            throw new IllegalArgumentException("batch size and sequence length must be positive, got " + batchSize + " and " + seqLength);
        }
        long per = (long) batchSize * seqLength, n = tokens.length;
        long count = n == 0 ? 0 : (n - 1) / per;
        if (count == 0) {
            throw new IllegalArgumentException(n + " tokens make no batch of " + batchSize + " rows x " + seqLength + " steps: one needs "
                    + "B L + 1 = " + (per + 1) + " tokens (floor((n - 1) / (B L)) = 0)");
        }
        this.tokens = tokens;
        this.rows = batchSize;
        this.length = seqLength;
        this.batches = (int) count;
    }

    /** Number of batches: floor((n - 1) / (B L)). */
    public int batches() {
        return batches;
    }

    /** B. */
    public int batchSize() {
        return rows;
    }

    /** L. */
    public int seqLength() {
        return length;
    }

    /** Batch {@code k}'s inputs and targets, each (B, L) row-major, written into {@code x} and {@code y} (length B L each). */
    public void batch(int k, int[] x, int[] y) {
        if (k < 0 || k >= batches) throw new IllegalArgumentException("batch " + k + " is outside [0, " + batches + ")");
        if (x.length != rows * length || y.length != rows * length) {
            throw new IllegalArgumentException("x and y must hold B L = " + rows * length + " ids each, got " + x.length + " and " + y.length);
        }
        long stream = (long) batches * length; // tokens per row of the (B, numBatches L) matrix
        for (int b = 0; b < rows; b++) {
            int from = (int) (b * stream + (long) k * length);
            System.arraycopy(tokens, from, x, b * length, length);
            System.arraycopy(tokens, from + 1, y, b * length, length);
        }
    }

    /** Batch {@code k} in fresh arrays: x and y (B, L) row-major. */
    public Batch batch(int k) {
        int[] x = new int[rows * length], y = new int[rows * length];
        batch(k, x, y);
        return new Batch(x, y, rows, length);
    }

    /** Inputs x and targets y, each (rows, length) row-major. */
    public record Batch(int[] x, int[] y, int rows, int length) {}
}
