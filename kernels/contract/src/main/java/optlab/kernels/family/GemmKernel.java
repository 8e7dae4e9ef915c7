package optlab.kernels.family;

import optlab.kernels.Ptr;

/** Op {@code gemm}: {@link optlab.kernels.Backend#gemm}. Its backward is gemm again, so a kernel brings no backward. */
public interface GemmKernel {
    void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, Ptr a, int lda, Ptr b, int ldb, double beta,
              Ptr c, int ldc, int batch, int strideA, int strideB, int strideC);
}
