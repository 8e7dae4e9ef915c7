package optlab.kernels.family;

import optlab.kernels.Ptr;

/**
 * Op {@code embedding}: {@link optlab.kernels.Backend#embeddingForward} and
 * {@link optlab.kernels.Backend#embeddingBackward} (which accumulates into dTable). Indices have been checked to lie
 * in [0, vocab). A forward-only kernel may throw from {@link #backward}.
 */
public interface EmbeddingKernel {
    void forward(int n, int dim, int vocab, Ptr indices, Ptr table, Ptr out);

    void backward(int n, int dim, int vocab, Ptr indices, Ptr dOut, Ptr dTable);
}
