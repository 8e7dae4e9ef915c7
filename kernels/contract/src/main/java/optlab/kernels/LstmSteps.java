package optlab.kernels;

/**
 * One LSTM layer over a sequence built from a backend's own primitives, step by step: the input projection
 * of all steps as one {@link Backend#gemm}, then per step one small GEMM and one fused
 * {@link Backend#lstmCellForward}; the backward runs {@link Backend#lstmCellBackward} per step and the
 * weight gradients as three GEMMs over all steps. This is how the CUDA backend's {@code own_steps} variant and the
 * CPU backend in FLOAT64 implement {@link Backend#lstmSequenceForward} and {@link Backend#lstmSequenceBackward} (the
 * CPU's FLOAT32 runs {@code optlab.kernels.cpu.CpuLstm}, which splits the batch rows between threads instead of each
 * step's GEMM); its spec is {@link optlab.kernels.reference.RefLstm#sequenceForward}.
 *
 * <p>Reserve layout (NOTE [lstm-reserve]): the activated gates of every step, (t, n, 4h), then the cell state
 * of every step, (t, n, h): {@link LstmGeometry#stepReserveSize()} elements of the operands' dtype.
 * Temporaries come from the backend's allocator and are freed before returning.
 */
public final class LstmSteps {
    private LstmSteps() {}

    private static void copy(Backend be, int n, Ptr dst, Ptr src) {
        be.copy(new int[] {n}, dst, new int[] {1}, src, new int[] {1});
    }

    /** dst (rows, cols) += bias (cols) broadcast over the rows. */
    private static void addBias(Backend be, int rows, int cols, Ptr dst, Ptr bias) {
        int[] shape = {rows, cols}, dense = {cols, 1};
        be.binary(BinaryOp.ADD, shape, dst, dense, dst, dense, bias, new int[] {0, 1});
    }

    /** {@link Backend#lstmSequenceForward} from the backend's primitives; {@code reserve} may be null (inference). */
    public static void forward(Backend be, LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr bIh, Ptr bHh,
                               Ptr y, Ptr hT, Ptr cT, Ptr reserve) {
        int t = g.t(), n = g.n(), in = g.input(), hid = g.hidden(), g4 = 4 * hid, nh = g.stateSize(), tn = t * n;
        DType dt = x.dtype();
        try (Buffer gates = be.allocate(dt, tn * g4);
             Buffer scratch = reserve == null ? be.allocate(dt, g.stepReserveSize()) : null;
             Buffer zeros = c0 == null ? be.allocate(dt, nh) : null) {
            Ptr res = reserve != null ? reserve : scratch.ptr();
            Ptr acts = res, cells = res.plus(tn * g4);
            // gates (t*n, 4h) = x (t*n, in) wIh^T + bIh + bHh, all steps at once
            be.gemm(false, true, tn, g4, in, 1.0, x, in, wIh, in, 0.0, gates.ptr(), g4, 1, 0, 0, 0);
            if (bIh != null) addBias(be, tn, g4, gates.ptr(), bIh);
            if (bHh != null) addBias(be, tn, g4, gates.ptr(), bHh);
            if (zeros != null) be.fill(zeros.ptr(), nh, 0.0);
            Ptr cInit = c0 != null ? c0 : zeros.ptr();
            for (int s = 0; s < t; s++) {
                Ptr gs = gates.ptr(s * n * g4);
                Ptr hPrev = s > 0 ? y.plus((s - 1) * nh) : h0;
                // gates_s += h_{s-1} wHh^T   (a null h0 is zero: nothing to add)
                if (hPrev != null) be.gemm(false, true, n, g4, hid, 1.0, hPrev, hid, wHh, hid, 1.0, gs, g4, 1, 0, 0, 0);
                Ptr cPrev = s > 0 ? cells.plus((s - 1) * nh) : cInit;
                be.lstmCellForward(n, hid, gs, cPrev, acts.plus(s * n * g4), y.plus(s * nh), cells.plus(s * nh));
            }
            copy(be, nh, hT, y.plus((t - 1) * nh));
            copy(be, nh, cT, cells.plus((t - 1) * nh));
        }
    }

    /** {@link Backend#lstmSequenceBackward} from the backend's primitives. */
    public static void backward(Backend be, LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr y, Ptr reserve,
                                Ptr dy, Ptr dhT, Ptr dcT, Ptr dx, Ptr dh0, Ptr dc0, Ptr dwIh, Ptr dwHh, Ptr db) {
        int t = g.t(), n = g.n(), in = g.input(), hid = g.hidden(), g4 = 4 * hid, nh = g.stateSize(), tn = t * n;
        DType dt = x.dtype();
        Ptr acts = reserve, cells = reserve.plus(tn * g4);
        try (Buffer dGates = be.allocate(dt, tn * g4); Buffer dhRec = be.allocate(dt, nh); Buffer dh = be.allocate(dt, nh);
             Buffer dcA = be.allocate(dt, nh); Buffer dcB = be.allocate(dt, nh);
             Buffer zeros = c0 == null ? be.allocate(dt, nh) : null) {
            if (dhT != null) copy(be, nh, dhRec.ptr(), dhT);
            else be.fill(dhRec.ptr(), nh, 0.0);
            if (zeros != null) be.fill(zeros.ptr(), nh, 0.0);
            Ptr dc = dcT; // dc_s; null means zero (lstmCellBackward takes null)
            Ptr[] dcPrevs = {dcA.ptr(), dcB.ptr()};
            int[] dense = {1};
            for (int s = t - 1; s >= 0; s--) {
                be.binary(BinaryOp.ADD, new int[] {nh}, dh.ptr(), dense, dy.plus(s * nh), dense, dhRec.ptr(), dense);
                Ptr cPrev = s > 0 ? cells.plus((s - 1) * nh) : (c0 != null ? c0 : zeros.ptr());
                Ptr dcPrev = dcPrevs[s & 1];
                Ptr dGs = dGates.ptr(s * n * g4);
                be.lstmCellBackward(n, hid, acts.plus(s * n * g4), cPrev, cells.plus(s * nh), dh.ptr(), dc, dGs, dcPrev);
                // dh_{s-1}^rec (n, h) = dGates_s (n, 4h) wHh (4h, h); at s = 0 only when dh0 is wanted
                if (s > 0 || dh0 != null) be.gemm(false, false, n, hid, g4, 1.0, dGs, g4, wHh, hid, 0.0, dhRec.ptr(), hid, 1, 0, 0, 0);
                dc = dcPrev;
            }
            if (dh0 != null) copy(be, nh, dh0, dhRec.ptr());
            if (dc0 != null) copy(be, nh, dc0, dc);
            // dx (t*n, in) = dGates (t*n, 4h) wIh (4h, in)
            if (dx != null) be.gemm(false, false, tn, in, g4, 1.0, dGates.ptr(), g4, wIh, in, 0.0, dx, in, 1, 0, 0, 0);
            // dwIh (4h, in) = dGates^T (4h, t*n) x (t*n, in)
            be.gemm(true, false, g4, in, tn, 1.0, dGates.ptr(), g4, x, in, 0.0, dwIh, in, 1, 0, 0, 0);
            // dwHh (4h, h) = sum_s dGates_s^T h_{s-1}: steps 1.. against y_0 .. y_{t-2}, step 0 against h0
            if (t > 1) be.gemm(true, false, g4, hid, (t - 1) * n, 1.0, dGates.ptr(n * g4), g4, y, hid, 0.0, dwHh, hid, 1, 0, 0, 0);
            else be.fill(dwHh, g4 * hid, 0.0);
            if (h0 != null) be.gemm(true, false, g4, hid, n, 1.0, dGates.ptr(), g4, h0, hid, 1.0, dwHh, hid, 1, 0, 0, 0);
            // db (4h) = dGates summed over t*n
            be.reduce(ReduceOp.SUM, 1, tn, g4, dGates.ptr(), db);
        }
    }
}
