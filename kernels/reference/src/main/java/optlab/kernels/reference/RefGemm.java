package optlab.kernels.reference;

/** Reference GEMM: the textbook triple loop, row-major. */
public final class RefGemm {
    private RefGemm() {}

    /**
     * C = alpha * op(A) op(B) + beta * C for one matrix. C is (m, n) with leading dimension ldc;
     * op(A) is (m, k): A[i][p] is a[ao + i*lda + p], or a[ao + p*lda + i] when transA. Likewise B.
     * beta = 0 ignores C's old contents (BLAS convention).
     */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                            double[] a, int ao, int lda, double[] b, int bo, int ldb,
                            double beta, double[] c, int co, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < k; p++) {
                    double aip = transA ? a[ao + p * lda + i] : a[ao + i * lda + p];
                    double bpj = transB ? b[bo + j * ldb + p] : b[bo + p * ldb + j];
                    acc += aip * bpj;
                }
                int ci = co + i * ldc + j;
                c[ci] = beta == 0 ? alpha * acc : alpha * acc + beta * c[ci];
            }
        }
    }
}
