package optlab.kernels.cpu;

/**
 * Single-precision GEMM for the CPU backend, row-major:
 * {@code C = alpha * op(A) * op(B) + beta * C}, C (m, n) with leading dimension ldc, op(A) (m, k),
 * op(B) (k, n); A[i][p] is a[ao + i*lda + p], or a[ao + p*lda + i] when transA; likewise B.
 * beta = 0 ignores C's old contents (even NaN). Runs on {@link Parallel}'s pool (serially when called
 * inside a parallel region). Reference: {@link optlab.kernels.reference.RefGemm}.
 *
 * <p>PLACEHOLDER: a plain i-p-j loop; the packed, vectorized version replaces it.
 */
public final class Sgemm {
    private Sgemm() {}

    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int ao, int lda, float[] b, int bo, int ldb,
                             float beta, float[] c, int co, int ldc) {
        Parallel.forRange(m, 16, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                int ci = co + i * ldc;
                for (int j = 0; j < n; j++) c[ci + j] = beta == 0 ? 0f : beta * c[ci + j];
                for (int p = 0; p < k; p++) {
                    float aip = alpha * (transA ? a[ao + p * lda + i] : a[ao + i * lda + p]);
                    if (transB) {
                        for (int j = 0; j < n; j++) c[ci + j] += aip * b[bo + j * ldb + p];
                    } else {
                        int bp = bo + p * ldb;
                        for (int j = 0; j < n; j++) c[ci + j] += aip * b[bp + j];
                    }
                }
            }
        });
    }
}
