package optlab.kernels;

import java.util.Arrays;

/**
 * Argument checks shared by the contract's value types and by every backend. A method named after a {@link Backend}
 * primitive ({@code gemm}, {@code conv2d}, {@code batchNormBackward}, ...) checks that primitive's sizes, buffers
 * and the values the contract fixes; a backend calls it first and then checks the dtypes it runs. Every message
 * names the op and the value.
 */
public final class Checks {
    private Checks() {}

    /** Throws unless every value in {@code nameValuePairs} ({@code "n", 4, "c", 3, ...}) is positive. */
    public static void positive(String op, Object... nameValuePairs) {
        for (int i = 0; i < nameValuePairs.length; i += 2) {
            int v = (Integer) nameValuePairs[i + 1];
            if (v <= 0) {
                throw new IllegalArgumentException(op + ": " + nameValuePairs[i] + " must be positive, got " + v);
            }
        }
    }

    /** Throws unless {@code n >= 0}. */
    public static int nonNegative(String op, String name, int n) {
        if (n < 0) throw new IllegalArgumentException(op + ": " + name + " must be >= 0, got " + n);
        return n;
    }

    /** Throws unless all pointers hold one dtype, which it returns; null pointers (absent optional operands) are skipped. */
    public static DType sameDType(String op, Ptr... ptrs) {
        DType d = ptrs[0].dtype();
        for (Ptr p : ptrs) {
            if (p != null && p.dtype() != d) {
                throw new IllegalArgumentException(op + ": mixed dtypes " + d + " and " + p.dtype());
            }
        }
        return d;
    }

    /** Throws unless all pointers hold one floating dtype (FLOAT32 or FLOAT64); returns it. */
    public static DType floating(String op, Ptr... ptrs) {
        DType t = sameDType(op, ptrs);
        if (!t.isFloating()) throw new IllegalArgumentException(op + ": needs FLOAT32 or FLOAT64, got " + t);
        return t;
    }

    /** Throws unless {@code p} holds {@code t}. */
    public static void dtype(String op, Ptr p, DType t) {
        if (p.dtype() != t) throw new IllegalArgumentException(op + ": expected a " + t + " buffer, got " + p.dtype());
    }

    /** The operands of {@code Backend#copy}: each a live buffer that holds every index of shape through its strides. */
    public static void copy(int[] shape, Ptr dst, int[] dstStrides, Ptr src, int[] srcStrides) {
        strided("copy", shape, dst, dstStrides);
        strided("copy", shape, src, srcStrides);
    }

    /** The operands of {@code Backend#binary}: each a live buffer that holds every index of shape through its strides. */
    public static void binary(BinaryOp op, int[] shape, Ptr out, int[] os, Ptr a, int[] as, Ptr b, int[] bs) {
        String what = "binary " + op;
        strided(what, shape, out, os);
        strided(what, shape, a, as);
        strided(what, shape, b, bs);
    }

    /** Strides match the shape, the buffer is live, and every index of shape, addressed through strides from p, lies inside it. */
    private static void strided(String op, int[] shape, Ptr p, int[] strides) {
        if (strides.length != shape.length) {
            throw new IllegalArgumentException(op + ": strides " + Arrays.toString(strides) + " do not match shape " + Arrays.toString(shape));
        }
        if (p.buffer().isClosed()) throw new IllegalStateException(op + ": buffer was already freed");
        long lo = p.offset(), hi = p.offset();
        for (int k = 0; k < shape.length; k++) {
            if (shape[k] < 0) throw new IllegalArgumentException(op + ": negative size in shape " + Arrays.toString(shape));
            if (shape[k] == 0) return;
            long span = (long) (shape[k] - 1) * strides[k];
            if (span < 0) lo += span; else hi += span;
        }
        if (lo < 0 || hi >= p.buffer().length()) {
            throw new IllegalArgumentException(op + ": shape " + Arrays.toString(shape) + " with strides " + Arrays.toString(strides)
                    + " at offset " + p.offset() + " leaves the buffer of length " + p.buffer().length());
        }
    }

    /** The widest exponent range {@code Backend#log2Histogram} takes: floor(log2 |v|) of any double lies in [-1074, 1023]. */
    public static final int LOG2_HISTOGRAM_MIN_EXPONENT = -1100, LOG2_HISTOGRAM_MAX_EXPONENT = 1100;

    /**
     * The operands of {@code Backend#log2Histogram}: n &gt;= 0, -1100 &lt;= minExponent &lt;= maxExponent &lt;= 1100, x a
     * floating buffer holding n elements, counts an INT32 buffer holding the maxExponent - minExponent + 2 slots, both
     * live and on one device. Returns the number of slots.
     */
    public static int log2Histogram(int n, Ptr x, int minExponent, int maxExponent, Ptr counts) {
        String op = "log2Histogram";
        nonNegative(op, "n", n);
        if (minExponent < LOG2_HISTOGRAM_MIN_EXPONENT || maxExponent > LOG2_HISTOGRAM_MAX_EXPONENT || minExponent > maxExponent) {
            throw new IllegalArgumentException(op + ": needs " + LOG2_HISTOGRAM_MIN_EXPONENT + " <= minExponent <= maxExponent <= "
                    + LOG2_HISTOGRAM_MAX_EXPONENT + ", got minExponent " + minExponent + " and maxExponent " + maxExponent);
        }
        int slots = maxExponent - minExponent + 2;
        if (!x.dtype().isFloating()) throw new IllegalArgumentException(op + ": x must be FLOAT32 or FLOAT64, got " + x.dtype());
        if (counts.dtype() != DType.INT32) throw new IllegalArgumentException(op + ": counts must be INT32, got " + counts.dtype());
        x.require(n, op + ": x");
        counts.require(slots, op + ": counts (" + slots + " slots for exponents " + minExponent + ".." + maxExponent + " and one for NaN/inf)");
        Device dx = x.buffer().backend().device(), dc = counts.buffer().backend().device();
        if (!dx.equals(dc)) throw new IllegalArgumentException(op + ": x is on " + dx + " but counts on " + dc);
        return slots;
    }

    /** The operands of {@code Backend#fillRandom}: n elements at dst, and a &lt;= b (UNIFORM) or b &gt;= 0 (the normals). */
    public static void fillRandom(Ptr dst, int n, RandomDistribution dist, double a, double b) {
        dst.require(n, "fillRandom");
        if (dist == RandomDistribution.UNIFORM ? !(a <= b) : !(b >= 0)) {
            throw new IllegalArgumentException("fillRandom: bad parameters for " + dist + ": " + a + ", " + b);
        }
    }

    /**
     * The operands of {@code Backend#gemm}: sizes, batch, and each of op(A) (m x k), op(B) (k x n) and C (m x n)
     * inside its live buffer with a leading dimension of at least its columns. Every backend calls this first.
     */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, Ptr a, int lda, Ptr b, int ldb,
                            Ptr c, int ldc, int batch, int strideA, int strideB, int strideC) {
        nonNegative("gemm", "m", m);
        nonNegative("gemm", "n", n);
        nonNegative("gemm", "k", k);
        positive("gemm", "batch", batch);
        gemmMatrix("A", a, transA ? k : m, transA ? m : k, lda, batch, strideA);
        gemmMatrix("B", b, transB ? n : k, transB ? k : n, ldb, batch, strideB);
        gemmMatrix("C", c, m, n, ldc, batch, strideC);
    }

    private static void gemmMatrix(String name, Ptr p, int rows, int cols, int ld, int batch, int stride) {
        if (ld < Math.max(1, cols)) {
            throw new IllegalArgumentException("gemm: leading dimension of " + name + " is " + ld + " < its " + cols + " columns");
        }
        if (p.buffer().isClosed()) throw new IllegalStateException("gemm: " + name + "'s buffer was already freed");
        if (rows == 0 || cols == 0) return;
        long extent = (long) (batch - 1) * stride + (long) (rows - 1) * ld + cols;
        if (stride < 0 || p.offset() + extent > p.buffer().length()) {
            throw new IllegalArgumentException("gemm: " + name + " (" + batch + " x " + rows + " x " + cols + ", ld " + ld
                    + ", stride " + stride + ") at offset " + p.offset() + " leaves its buffer of length " + p.buffer().length());
        }
    }

    /**
     * The operands of a conv2d primitive ({@code op}): x, w and y hold the geometry's input, filter and output
     * sizes. The backward ones pass (dx, w, dy) and (x, dw, dy) in these places.
     */
    public static void conv2d(String op, Conv2dGeometry g, Ptr x, Ptr w, Ptr y) {
        x.require(g.inputSize(), op + ": x");
        w.require(g.filterSize(), op + ": w");
        y.require(g.outputSize(), op + ": y");
    }

    /** The operands of a pool2d primitive ({@code op}): x (or dx) and y (or dy) hold the geometry's input and output sizes. */
    public static void pool2d(String op, Pool2dGeometry g, Ptr x, Ptr y) {
        x.require(g.inputSize(), op + ": x");
        y.require(g.outputSize(), op + ": y");
    }

    /** The operands of {@code Backend#batchNormForwardTraining}; the running statistics come both or neither. */
    public static void batchNormForwardTraining(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta, Ptr rm, Ptr rv, Ptr y,
                                                Ptr sm, Ptr si, Ptr z) {
        String op = "batchNormForwardTraining";
        batchNorm(op, n, c, hw, x, y, gamma, beta, rm, rv, sm, si);
        if (z != null) z.require(n * c * hw, op + ": z");
        if ((rm == null) != (rv == null)) throw new IllegalArgumentException(op + ": runningMean and runningVar must both be given or both null");
    }

    /** The operands of {@code Backend#batchNormForwardInference}. */
    public static void batchNormForwardInference(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta, Ptr rm, Ptr rv, Ptr y, Ptr z) {
        batchNorm("batchNormForwardInference", n, c, hw, x, y, gamma, beta, rm, rv);
        if (z != null) z.require(n * c * hw, "batchNormForwardInference: z");
    }

    /** The operands of {@code Backend#batchNormBackward}. */
    public static void batchNormBackward(int n, int c, int hw, Ptr x, Ptr dy, Ptr gamma, Ptr sm, Ptr si, Ptr dx, Ptr dgamma,
                                         Ptr dbeta, Ptr y, boolean relu, Ptr dz) {
        String op = "batchNormBackward";
        batchNorm(op, n, c, hw, x, dy, gamma, sm, si, dgamma, dbeta);
        dx.require(n * c * hw, op + ": dx");
        if (relu) {
            if (y == null) throw new IllegalArgumentException(op + ": relu needs y, the forward's output (got null)");
            y.require(n * c * hw, op + ": y");
        }
        if (dz != null) dz.require(n * c * hw, op + ": dz");
    }

    /** Positive sizes, x and y of n*c*hw, each non-null per-channel vector of c. */
    private static void batchNorm(String op, int n, int c, int hw, Ptr x, Ptr y, Ptr... perChannel) {
        positive(op, "n", n, "c", c, "hw", hw);
        x.require(n * c * hw, op + ": x");
        y.require(n * c * hw, op + ": y");
        for (Ptr p : perChannel) if (p != null) p.require(c, op + ": per-channel vector");
    }

    /** The operands of {@code Backend#softmaxCrossEntropyForward}: sizes, smoothing in [0, 1], INT32 labels. */
    public static void softmaxCrossEntropyForward(int n, int classes, Ptr logits, Ptr labels, double smoothing, Ptr loss, Ptr probs) {
        String op = "softmaxCrossEntropyForward";
        positive(op, "n", n, "classes", classes);
        labelSmoothing(op, smoothing);
        logits.require(n * classes, op + ": logits");
        labels.require(n, op + ": labels");
        loss.require(n, op + ": loss");
        probs.require(n * classes, op + ": probs");
        dtype(op, labels, DType.INT32);
    }

    /** The operands of {@code Backend#softmaxCrossEntropyBackward}: sizes, smoothing in [0, 1], INT32 labels. */
    public static void softmaxCrossEntropyBackward(int n, int classes, Ptr probs, Ptr labels, double smoothing, Ptr dLoss,
                                                   Ptr dLogits) {
        String op = "softmaxCrossEntropyBackward";
        positive(op, "n", n, "classes", classes);
        labelSmoothing(op, smoothing);
        probs.require(n * classes, op + ": probs");
        labels.require(n, op + ": labels");
        dLoss.require(n, op + ": dLoss");
        dLogits.require(n * classes, op + ": dLogits");
        dtype(op, labels, DType.INT32);
    }

    private static void labelSmoothing(String op, double s) {
        if (!(s >= 0 && s <= 1)) throw new IllegalArgumentException(op + ": label smoothing must be in [0, 1], got " + s);
    }

    /** The operands of {@code Backend#embeddingForward}: sizes and INT32 indices (their values are checked where they are read). */
    public static void embeddingForward(int n, int dim, int vocab, Ptr indices, Ptr table, Ptr out) {
        String op = "embeddingForward";
        positive(op, "n", n, "dim", dim, "vocab", vocab);
        indices.require(n, op + ": indices");
        table.require(vocab * dim, op + ": table");
        out.require(n * dim, op + ": out");
        dtype(op, indices, DType.INT32);
    }

    /** The operands of {@code Backend#embeddingBackward}: sizes and INT32 indices (their values are checked where they are read). */
    public static void embeddingBackward(int n, int dim, int vocab, Ptr indices, Ptr dOut, Ptr dTable) {
        String op = "embeddingBackward";
        positive(op, "n", n, "dim", dim, "vocab", vocab);
        indices.require(n, op + ": indices");
        dOut.require(n * dim, op + ": dOut");
        dTable.require(vocab * dim, op + ": dTable");
        dtype(op, indices, DType.INT32);
    }

    /** The operands of {@code Backend#lstmCellForward}: gates and act of 4*n*hidden, the others of n*hidden. */
    public static void lstmCellForward(int n, int hidden, Ptr gates, Ptr cPrev, Ptr act, Ptr h, Ptr c) {
        String op = "lstmCellForward";
        positive(op, "n", n, "hidden", hidden);
        int nh = n * hidden;
        gates.require(4 * nh, op + ": gates");
        act.require(4 * nh, op + ": act");
        cPrev.require(nh, op + ": cPrev");
        h.require(nh, op + ": h");
        c.require(nh, op + ": c");
    }

    /** The operands of {@code Backend#lstmCellBackward}: act and dGates of 4*n*hidden, the others (dc optional) of n*hidden. */
    public static void lstmCellBackward(int n, int hidden, Ptr act, Ptr cPrev, Ptr c, Ptr dh, Ptr dc, Ptr dGates, Ptr dcPrev) {
        String op = "lstmCellBackward";
        positive(op, "n", n, "hidden", hidden);
        int nh = n * hidden;
        act.require(4 * nh, op + ": act");
        dGates.require(4 * nh, op + ": dGates");
        for (Ptr p : new Ptr[] {cPrev, c, dh, dcPrev}) p.require(nh, op);
        if (dc != null) {
            dc.require(nh, op + ": dc");
            sameDType(op, act, dc);
        }
    }

    /** PyTorch refuses training-mode batch norm over a single value per channel; so do we. */
    public static int batchNormCount(int n, int hw) {
        if ((long) n * hw < 2) {
            throw new IllegalArgumentException("batchNorm: expected more than 1 value per channel in training mode, got n="
                    + n + " hw=" + hw);
        }
        return n * hw;
    }

    /** An embedding index must lie in [0, vocab); the error names it and its position. */
    public static int embeddingIndex(int index, int position, int vocab) {
        if (index < 0 || index >= vocab) {
            throw new IllegalArgumentException("embedding: index " + index + " at position " + position
                    + " is outside [0, " + vocab + ")");
        }
        return index;
    }

    /** A class label must lie in [0, classes); the error names it and its position. */
    public static int label(int label, int position, int classes) {
        if (label < 0 || label >= classes) {
            throw new IllegalArgumentException("softmaxCrossEntropy: label " + label + " at position " + position
                    + " is outside [0, " + classes + ")");
        }
        return label;
    }

    private static void required(String op, Ptr p, String what) {
        if (p == null) throw new IllegalArgumentException(op + ": " + what + " is null; only the operands the contract marks optional may be");
    }

    /** Checks the operands of {@link Backend#lstmSequenceForward}; returns their dtype. */
    public static DType lstmSequenceForward(String op, LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr bIh, Ptr bHh,
                                     Ptr y, Ptr hT, Ptr cT, Ptr reserve, int reserveSize) {
        required(op, x, "x");
        required(op, wIh, "wIh");
        required(op, wHh, "wHh");
        required(op, y, "y");
        required(op, hT, "hT");
        required(op, cT, "cT");
        x.require(g.inputSize(), op + ": x (t*n*input)");
        wIh.require(g.weightIhSize(), op + ": wIh (4*hidden*input)");
        wHh.require(g.weightHhSize(), op + ": wHh (4*hidden*hidden)");
        y.require(g.outputSize(), op + ": y (t*n*hidden)");
        hT.require(g.stateSize(), op + ": hT (n*hidden)");
        cT.require(g.stateSize(), op + ": cT (n*hidden)");
        if (h0 != null) h0.require(g.stateSize(), op + ": h0 (n*hidden)");
        if (c0 != null) c0.require(g.stateSize(), op + ": c0 (n*hidden)");
        if (bIh != null) bIh.require(g.biasSize(), op + ": bIh (4*hidden)");
        if (bHh != null) bHh.require(g.biasSize(), op + ": bHh (4*hidden)");
        if (reserve != null) reserve.require(reserveSize, op + ": reserve (lstmReserveSize)");
        return sameFloating(op, x, h0, c0, wIh, wHh, bIh, bHh, y, hT, cT, reserve);
    }

    /** Checks the operands of {@link Backend#lstmSequenceBackward}; returns their dtype. */
    public static DType lstmSequenceBackward(String op, LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr y, Ptr reserve,
                                      int reserveSize, Ptr dy, Ptr dhT, Ptr dcT, Ptr dx, Ptr dh0, Ptr dc0, Ptr dwIh, Ptr dwHh,
                                      Ptr db) {
        required(op, x, "x");
        required(op, wIh, "wIh");
        required(op, wHh, "wHh");
        required(op, y, "y (the forward's output)");
        required(op, reserve, "reserve (the forward's, run with one)");
        required(op, dy, "dy");
        required(op, dwIh, "dwIh");
        required(op, dwHh, "dwHh");
        required(op, db, "db");
        x.require(g.inputSize(), op + ": x (t*n*input)");
        wIh.require(g.weightIhSize(), op + ": wIh (4*hidden*input)");
        wHh.require(g.weightHhSize(), op + ": wHh (4*hidden*hidden)");
        y.require(g.outputSize(), op + ": y (t*n*hidden)");
        reserve.require(reserveSize, op + ": reserve (lstmReserveSize)");
        dy.require(g.outputSize(), op + ": dy (t*n*hidden)");
        dwIh.require(g.weightIhSize(), op + ": dwIh (4*hidden*input)");
        dwHh.require(g.weightHhSize(), op + ": dwHh (4*hidden*hidden)");
        db.require(g.biasSize(), op + ": db (4*hidden)");
        for (Ptr p : new Ptr[] {h0, c0, dhT, dcT, dh0, dc0}) if (p != null) p.require(g.stateSize(), op + ": a state (n*hidden)");
        if (dx != null) dx.require(g.inputSize(), op + ": dx (t*n*input)");
        return sameFloating(op, x, h0, c0, wIh, wHh, y, reserve, dy, dhT, dcT, dx, dh0, dc0, dwIh, dwHh, db);
    }

    private static DType sameFloating(String op, Ptr... ptrs) {
        DType t = null;
        for (Ptr p : ptrs) {
            if (p == null) continue;
            if (t == null) t = p.dtype();
            else if (p.dtype() != t) throw new IllegalArgumentException(op + ": mixed dtypes " + t + " and " + p.dtype());
        }
        if (!t.isFloating()) throw new IllegalArgumentException(op + ": needs FLOAT32 or FLOAT64, got " + t);
        return t;
    }
}
