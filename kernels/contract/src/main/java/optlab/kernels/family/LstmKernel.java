package optlab.kernels.family;

import optlab.kernels.LstmGeometry;
import optlab.kernels.Ptr;

/**
 * Op {@code lstm}: one layer over a sequence, {@link optlab.kernels.Backend#lstmReserveSize},
 * {@link optlab.kernels.Backend#lstmSequenceForward} and {@link optlab.kernels.Backend#lstmSequenceBackward}. The
 * reserve's size and contents are the kernel's own (NOTE [lstm-reserve]). A forward-only kernel may throw from
 * {@link #sequenceBackward}.
 */
public interface LstmKernel {
    int reserveSize(LstmGeometry g);

    void sequenceForward(LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr bIh, Ptr bHh, Ptr y, Ptr hT, Ptr cT,
                         Ptr reserve);

    void sequenceBackward(LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr y, Ptr reserve, Ptr dy, Ptr dhT,
                          Ptr dcT, Ptr dx, Ptr dh0, Ptr dc0, Ptr dwIh, Ptr dwHh, Ptr db);
}
