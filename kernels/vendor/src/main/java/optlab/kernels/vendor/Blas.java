package optlab.kernels.vendor;

/** FLOAT32 GEMM on device addresses (row-major, as Backend#gemm). */
public interface Blas {
    void sgemm(VendorContext be, boolean tf32, boolean ta, boolean tb, int m, int n, int k, float alpha, long a, int lda, long sa,
               long b, int ldb, long sb, float beta, long c, int ldc, long sc, int batch);

    String description();
}
