package optlab.kernels.reference;

import optlab.kernels.Checks;

/** Reference embedding lookup: indices (n), table (vocab, dim), out (n, dim). */
public final class RefEmbedding {
    private RefEmbedding() {}

    public static void forward(int n, int dim, int vocab, int[] idx, int io, double[] table, int to, double[] out, int oo) {
        for (int i = 0; i < n; i++) {
            int row = Checks.embeddingIndex(idx[io + i], i, vocab);
            System.arraycopy(table, to + row * dim, out, oo + i * dim, dim);
        }
    }

    /**
     * dTable[idx[i]] += dOut[i] for i = 0, 1, ..., n - 1, in that order: accumulates. Every index is checked before
     * anything is added, so a bad one leaves dTable as it was.
     */
    public static void backward(int n, int dim, int vocab, int[] idx, int io, double[] dOut, int doo, double[] dTable, int dto) {
        for (int i = 0; i < n; i++) Checks.embeddingIndex(idx[io + i], i, vocab);
        for (int i = 0; i < n; i++) {
            int row = idx[io + i];
            for (int j = 0; j < dim; j++) dTable[dto + row * dim + j] += dOut[doo + i * dim + j];
        }
    }
}
