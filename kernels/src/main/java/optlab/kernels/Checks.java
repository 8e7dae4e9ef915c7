package optlab.kernels;

/** Argument checks shared by the contract's value types; every message names the op and the value. */
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

    /** Throws unless all pointers hold {@code dtype}. */
    public static DType sameDType(String op, Ptr... ptrs) {
        DType d = ptrs[0].dtype();
        for (Ptr p : ptrs) {
            if (p.dtype() != d) {
                throw new IllegalArgumentException(op + ": mixed dtypes " + d + " and " + p.dtype());
            }
        }
        return d;
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
}
