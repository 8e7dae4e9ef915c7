// gemm.cu: strided-batched matrix multiply, row-major.
//
// Math (reference: RefGemm#gemm, contract: Backend#gemm): for every batch b in [0, batch),
//   C_b = alpha * op(A_b) * op(B_b) + beta * C_b
// C_b is (m, n) with leading dimension ldc; op(A_b) is (m, k): element (i, p) is A_b[i*lda + p], or
// A_b[p*lda + i] when transA; op(B_b) is (k, n): (p, j) is B_b[p*ldb + j], or B_b[j*ldb + p] when transB.
// X_b = X + b * strideX. beta == 0 never reads C (BLAS convention: old NaNs do not leak through).
//
// ABI (shared by every variant here, and by a user's gemm kernel named in the kernel registry):
//   (int transA, int transB, int m, int n, int k, float alpha,
//    const float* A, int lda, long long strideA, const float* B, int ldb, long long strideB,
//    float beta, float* C, int ldc, long long strideC, int batch)
// Batches are blockIdx.z, grid-stride (gridDim.z <= 65535 covers any batch count).
//
// Variants and launch constraints:
//   gemm_naive_f32 / _f64  one thread per element of C, a serial dot product, grid-stride over
//                          batch*m*n on gridDim.x (gridDim.y = gridDim.z = 1): any grid and block size.
//                          The plain reference on the GPU (registry: own_naive); FLOAT64's only GEMM.
//   gemm_tiled128_f32      BM x BN x BK = 128 x 128 x 8 block tile, 256 threads, each an 8 x 8 register tile
//                          (rows ty*8.., columns tx*8..), operands staged through shared memory (k-major,
//                          padded by 4 floats against bank conflicts) and read back as float4; the next
//                          k-tile is prefetched into registers while the current one is multiplied.
//                          blockDim.x MUST be 256; any grid (grid-stride over tiles on x = n-tiles,
//                          y = m-tiles). For large matrices (registry: own_tiled_fp32).
//   gemm_tiled64_f32       the same design at 64 x 64 x 16 with 4 x 4 register tiles, 256 threads: more blocks
//                          for small and skinny matrices (own_tiled_fp32 picks it below ~ 1 wave of 128-tiles).
//   gemm_tf32_f32          tensor cores through WMMA (m16n16k8, precision::tf32, float accumulate), 64 x 64 x 16
//                          block tile, 128 threads = 4 warps of 32 x 32. Operands are rounded to TF32 (10-bit
//                          mantissa) when staged: results differ from FP32 by ~1e-3 relative. Selected only
//                          by an explicit numerics option (registry: own_tf32). blockDim.x MUST be 128; needs
//                          sm_80+. Any grid.
// Edges: every variant bounds-checks loads (zero fill) and stores, so m, n, k need not be multiples of any
// tile, lda/ldb/ldc need only be >= the row length, and pointers need no alignment beyond a float's
// (operand pointers may sit at any element offset of a buffer).
// Index arithmetic: m, n, k may each be up to 2^31 - 1 (a 1 x k times k x 1 product, say); the tiled kernels
// keep positions in unsigned ints (a tile's last row, column or k position, at most 2^31 + 127, would overflow
// an int), offsets in 64 bits.
#include <mma.h>

#include "common.cuh"

// ------------------------------------------------------------------------------------------------------
// naive
// ------------------------------------------------------------------------------------------------------

template <typename T>
__device__ __forceinline__ void gemm_naive(int transA, int transB, int m, int n, int k, T alpha,
                                           const T* A, int lda, long long sA, const T* B, int ldb, long long sB,
                                           T beta, T* C, int ldc, long long sC, int batch) {
    const long long mn = (long long)m * n;
    GRID_STRIDE(e, mn * batch) {
        const long long b = e / mn, r = e % mn;
        const int i = (int)(r / n), j = (int)(r % n);
        const T* Ab = A + b * sA;
        const T* Bb = B + b * sB;
        T acc = 0;
        for (int p = 0; p < k; p++) {
            T a = transA ? Ab[(long long)p * lda + i] : Ab[(long long)i * lda + p];
            T v = transB ? Bb[(long long)j * ldb + p] : Bb[(long long)p * ldb + j];
            acc += a * v;
        }
        T* c = C + b * sC + (long long)i * ldc + j;
        *c = beta == (T)0 ? alpha * acc : alpha * acc + beta * *c;
    }
}

extern "C" __global__ void gemm_naive_f32(int transA, int transB, int m, int n, int k, float alpha,
                                          const float* A, int lda, long long sA, const float* B, int ldb, long long sB,
                                          float beta, float* C, int ldc, long long sC, int batch) {
    gemm_naive<float>(transA, transB, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch);
}

extern "C" __global__ void gemm_naive_f64(int transA, int transB, int m, int n, int k, double alpha,
                                          const double* A, int lda, long long sA, const double* B, int ldb, long long sB,
                                          double beta, double* C, int ldc, long long sC, int batch) {
    gemm_naive<double>(transA, transB, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch);
}

// ------------------------------------------------------------------------------------------------------
// tiled FP32 (shared memory + register tiles)
// ------------------------------------------------------------------------------------------------------

// Element (i, kk) of the A tile starting at (row0, k0), and its load order: e -> (i, kk) such that
// consecutive threads read consecutive addresses (kk fastest when A is (m, k); i fastest when transposed).
template <int BM, int BK, bool TA>
__device__ __forceinline__ void a_coord(int e, int& i, int& kk) {
    if (TA) { kk = e / BM; i = e % BM; } else { i = e / BK; kk = e % BK; }
}

template <int BN, int BK, bool TB>
__device__ __forceinline__ void b_coord(int e, int& kk, int& j) {
    if (TB) { j = e / BK; kk = e % BK; } else { kk = e / BN; j = e % BN; }
}

template <int BM, int BN, int BK, int TM, int TN, bool TA, bool TB>
__device__ __forceinline__ void gemm_tiled(int m, int n, int k, float alpha,
                                           const float* A, int lda, long long sA, const float* B, int ldb, long long sB,
                                           float beta, float* C, int ldc, long long sC, int batch,
                                           float (*As)[BM + 4], float (*Bs)[BN + 4]) {
    constexpr int THREADS = (BM / TM) * (BN / TN);
    constexpr int LA = BM * BK / THREADS, LB = BK * BN / THREADS;
    static_assert(BM * BK % THREADS == 0 && BK * BN % THREADS == 0, "tile loads must divide evenly");
    static_assert(TM % 4 == 0 && TN % 4 == 0, "register tiles are read as float4");
    const int tid = threadIdx.x;
    const int tx = tid % (BN / TN), ty = tid / (BN / TN);
    // Row, column and k positions are unsigned: m, n, k may each be up to 2^31 - 1, and a tile's last position
    // (or k0 + BK) can pass that, which would overflow an int (see the header: Index arithmetic).
    const unsigned um = m, un = n, uk = k;
    const int tilesM = (int)((um + BM - 1) / BM), tilesN = (int)((un + BN - 1) / BN);

    for (int b = blockIdx.z; b < batch; b += gridDim.z) {
        const float* Ab = A + b * sA;
        const float* Bb = B + b * sB;
        float* Cb = C + b * sC;
        for (int tm = blockIdx.y; tm < tilesM; tm += gridDim.y) {
            for (int tn = blockIdx.x; tn < tilesN; tn += gridDim.x) {
                const unsigned row0 = (unsigned)tm * BM, col0 = (unsigned)tn * BN;
                float acc[TM][TN];
#pragma unroll
                for (int i = 0; i < TM; i++)
#pragma unroll
                    for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

                float pa[LA], pb[LB];
                auto load = [&](unsigned k0) {
#pragma unroll
                    for (int l = 0; l < LA; l++) {
                        int i, kk;
                        a_coord<BM, BK, TA>(tid + l * THREADS, i, kk);
                        const unsigned gr = row0 + i, gk = k0 + kk;
                        pa[l] = (gr < um && gk < uk) ? (TA ? Ab[(long long)gk * lda + gr] : Ab[(long long)gr * lda + gk]) : 0.0f;
                    }
#pragma unroll
                    for (int l = 0; l < LB; l++) {
                        int kk, j;
                        b_coord<BN, BK, TB>(tid + l * THREADS, kk, j);
                        const unsigned gk = k0 + kk, gc = col0 + j;
                        pb[l] = (gk < uk && gc < un) ? (TB ? Bb[(long long)gc * ldb + gk] : Bb[(long long)gk * ldb + gc]) : 0.0f;
                    }
                };

                load(0);
                for (unsigned k0 = 0; k0 < uk; k0 += BK) {
#pragma unroll
                    for (int l = 0; l < LA; l++) {
                        int i, kk;
                        a_coord<BM, BK, TA>(tid + l * THREADS, i, kk);
                        As[kk][i] = pa[l];
                    }
#pragma unroll
                    for (int l = 0; l < LB; l++) {
                        int kk, j;
                        b_coord<BN, BK, TB>(tid + l * THREADS, kk, j);
                        Bs[kk][j] = pb[l];
                    }
                    __syncthreads();
                    if (k0 + BK < uk) load(k0 + BK);  // global loads in flight while we multiply
#pragma unroll
                    for (int kk = 0; kk < BK; kk++) {
                        float ra[TM], rb[TN];
#pragma unroll
                        for (int t = 0; t < TM; t += 4) {
                            float4 v = *reinterpret_cast<const float4*>(&As[kk][ty * TM + t]);
                            ra[t] = v.x; ra[t + 1] = v.y; ra[t + 2] = v.z; ra[t + 3] = v.w;
                        }
#pragma unroll
                        for (int t = 0; t < TN; t += 4) {
                            float4 v = *reinterpret_cast<const float4*>(&Bs[kk][tx * TN + t]);
                            rb[t] = v.x; rb[t + 1] = v.y; rb[t + 2] = v.z; rb[t + 3] = v.w;
                        }
#pragma unroll
                        for (int i = 0; i < TM; i++)
#pragma unroll
                            for (int j = 0; j < TN; j++) acc[i][j] = fmaf(ra[i], rb[j], acc[i][j]);
                    }
                    __syncthreads();
                }

#pragma unroll
                for (int i = 0; i < TM; i++) {
                    const unsigned r = row0 + ty * TM + i;
                    if (r >= um) continue;
#pragma unroll
                    for (int j = 0; j < TN; j++) {
                        const unsigned c = col0 + tx * TN + j;
                        if (c >= un) continue;
                        float* p = Cb + (long long)r * ldc + c;
                        *p = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *p;
                    }
                }
            }
        }
    }
}

#define GEMM_TILED_ENTRY(NAME, BM, BN, BK, TM, TN)                                                                  \
    extern "C" __global__ void __launch_bounds__((BM / TM) * (BN / TN))                                               \
        NAME(int transA, int transB, int m, int n, int k, float alpha, const float* A, int lda, long long sA,        \
             const float* B, int ldb, long long sB, float beta, float* C, int ldc, long long sC, int batch) {        \
        /* k-major tiles, padded by 4 floats: the row stride stays a multiple of 16 bytes (float4 reads) and */     \
        /* the transposed stores of the loads spread over banks. Declared here, once for all four            */     \
        /* instantiations below (static shared memory in each template would add up).                        */     \
        __shared__ __align__(16) float As[BK][BM + 4];                                                                \
        __shared__ __align__(16) float Bs[BK][BN + 4];                                                                \
        if (transA) {                                                                                                 \
            if (transB) gemm_tiled<BM, BN, BK, TM, TN, true, true>(m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch, As, Bs);   \
            else gemm_tiled<BM, BN, BK, TM, TN, true, false>(m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch, As, Bs);         \
        } else {                                                                                                      \
            if (transB) gemm_tiled<BM, BN, BK, TM, TN, false, true>(m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch, As, Bs);  \
            else gemm_tiled<BM, BN, BK, TM, TN, false, false>(m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch, As, Bs);        \
        }                                                                                                             \
    }

GEMM_TILED_ENTRY(gemm_tiled128_f32, 128, 128, 8, 8, 8)
GEMM_TILED_ENTRY(gemm_tiled64_f32, 64, 64, 16, 4, 4)

// ------------------------------------------------------------------------------------------------------
// TF32 tensor cores (WMMA)
// ------------------------------------------------------------------------------------------------------

namespace wmma = nvcuda::wmma;

namespace tf32 {
constexpr int BM = 64, BN = 64, BK = 16, THREADS = 128;
constexpr int LDA_S = BK + 4, LDB_S = BN + 4, LDC_S = BN + 4;  // multiples of 4 floats (the wmma ldm rule)
}  // namespace tf32

template <bool TA, bool TB>
__device__ __forceinline__ void gemm_tf32(int m, int n, int k, float alpha,
                                          const float* A, int lda, long long sA, const float* B, int ldb, long long sB,
                                          float beta, float* C, int ldc, long long sC, int batch,
                                          float (*As)[tf32::LDA_S], float (*Bs)[tf32::LDB_S], float (*Cs)[tf32::LDC_S]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    using namespace tf32;
    const int tid = threadIdx.x, warp = tid / 32;
    const int wr = (warp / 2) * 32, wc = (warp % 2) * 32;  // this warp's 32 x 32 corner of the tile
    const unsigned um = m, un = n, uk = k;  // unsigned positions, as in gemm_tiled
    const int tilesM = (int)((um + BM - 1) / BM), tilesN = (int)((un + BN - 1) / BN);

    for (int b = blockIdx.z; b < batch; b += gridDim.z) {
        const float* Ab = A + b * sA;
        const float* Bb = B + b * sB;
        float* Cb = C + b * sC;
        for (int tm = blockIdx.y; tm < tilesM; tm += gridDim.y) {
            for (int tn = blockIdx.x; tn < tilesN; tn += gridDim.x) {
                const unsigned row0 = (unsigned)tm * BM, col0 = (unsigned)tn * BN;
                wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[2][2];
#pragma unroll
                for (int i = 0; i < 2; i++)
#pragma unroll
                    for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.0f);

                for (unsigned k0 = 0; k0 < uk; k0 += BK) {
                    for (int e = tid; e < BM * BK; e += THREADS) {
                        int i, kk;
                        a_coord<BM, BK, TA>(e, i, kk);
                        const unsigned gr = row0 + i, gk = k0 + kk;
                        float v = (gr < um && gk < uk) ? (TA ? Ab[(long long)gk * lda + gr] : Ab[(long long)gr * lda + gk]) : 0.0f;
                        As[i][kk] = wmma::__float_to_tf32(v);
                    }
                    for (int e = tid; e < BK * BN; e += THREADS) {
                        int kk, j;
                        b_coord<BN, BK, TB>(e, kk, j);
                        const unsigned gk = k0 + kk, gc = col0 + j;
                        float v = (gk < uk && gc < un) ? (TB ? Bb[(long long)gc * ldb + gk] : Bb[(long long)gk * ldb + gc]) : 0.0f;
                        Bs[kk][j] = wmma::__float_to_tf32(v);
                    }
                    __syncthreads();
#pragma unroll
                    for (int kk = 0; kk < BK; kk += 8) {
                        wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fa[2];
                        wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fb[2];
#pragma unroll
                        for (int i = 0; i < 2; i++) wmma::load_matrix_sync(fa[i], &As[wr + 16 * i][kk], LDA_S);
#pragma unroll
                        for (int j = 0; j < 2; j++) wmma::load_matrix_sync(fb[j], &Bs[kk][wc + 16 * j], LDB_S);
#pragma unroll
                        for (int i = 0; i < 2; i++)
#pragma unroll
                            for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
                    }
                    __syncthreads();
                }
#pragma unroll
                for (int i = 0; i < 2; i++)
#pragma unroll
                    for (int j = 0; j < 2; j++)
                        wmma::store_matrix_sync(&Cs[wr + 16 * i][wc + 16 * j], acc[i][j], LDC_S, wmma::mem_row_major);
                __syncthreads();
                for (int e = tid; e < BM * BN; e += THREADS) {
                    const int i = e / BN, j = e % BN;
                    const unsigned r = row0 + i, c = col0 + j;
                    if (r < um && c < un) {
                        float* p = Cb + (long long)r * ldc + c;
                        *p = beta == 0.0f ? alpha * Cs[i][j] : alpha * Cs[i][j] + beta * *p;
                    }
                }
                __syncthreads();
            }
        }
    }
#endif
}

extern "C" __global__ void __launch_bounds__(128)
    gemm_tf32_f32(int transA, int transB, int m, int n, int k, float alpha, const float* A, int lda, long long sA,
                  const float* B, int ldb, long long sB, float beta, float* C, int ldc, long long sC, int batch) {
    // Row starts used by load_matrix_sync are multiples of 32 bytes (the WMMA alignment rule): 16*LDA_S*4,
    // 8*LDB_S*4 and 16*LDC_S*4 bytes all are, and column offsets are multiples of 8 floats.
    __shared__ __align__(32) float As[tf32::BM][tf32::LDA_S];  // As[i][kk] = op(A)[row0 + i][k0 + kk], as tf32
    __shared__ __align__(32) float Bs[tf32::BK][tf32::LDB_S];  // Bs[kk][j] = op(B)[k0 + kk][col0 + j], as tf32
    __shared__ __align__(32) float Cs[tf32::BM][tf32::LDC_S];  // the accumulators, for the bounds-checked epilogue
    if (transA) {
        if (transB) gemm_tf32<true, true>(m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch, As, Bs, Cs);
        else gemm_tf32<true, false>(m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch, As, Bs, Cs);
    } else {
        if (transB) gemm_tf32<false, true>(m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch, As, Bs, Cs);
        else gemm_tf32<false, false>(m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch, As, Bs, Cs);
    }
}
