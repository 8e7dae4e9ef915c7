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
//   gemm_tiled128v2_{nn,nt,tn,tt}[_beta0]_f32
//                          gemm_tiled128_f32's design in <= 128 registers (two blocks per SM), one kernel per
//                          transpose case and beta == 0 (see its section below). blockDim.x MUST be 256, transA/transB
//                          and beta must match the name; any grid. Registry: own_tiled_fp32_v2 (64x64 tiles below
//                          ~ 1 wave of 128-tiles, as own_tiled_fp32).
//   gemm_tf32_f32          tensor cores through WMMA (m16n16k8, precision::tf32, float accumulate), 64 x 64 x 16
//                          block tile, 128 threads = 4 warps of 32 x 32. Operands are rounded to TF32 (10-bit
//                          mantissa) when staged: results differ from FP32 by ~1e-3 relative. Selected only
//                          by an explicit numerics option (registry: own_tf32). blockDim.x MUST be 128; needs
//                          sm_80+. Any grid.
// Edges: every variant bounds-checks loads (zero fill; gemm_tiled128v2 zero-fills k only, and clamps rows and
// columns past m and n, which feed only outputs it does not store) and stores, so m, n, k need not be multiples of any
// tile, lda/ldb/ldc need only be >= the row length, and pointers need no alignment beyond a float's
// (operand pointers may sit at any element offset of a buffer).
// Index arithmetic: m, n, k may each be up to 2^31 - 1 (a 1 x k times k x 1 product, say); the tiled kernels
// keep positions in unsigned ints (a tile's last row, column or k position, at most 2^31 + 127, would overflow
// an int), offsets in 64 bits.
#include <mma.h>

#include <type_traits>

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
// tiled FP32, two blocks per SM (registry: own_tiled_fp32_v2)
// ------------------------------------------------------------------------------------------------------
//
// The design of gemm_tiled128_f32 (128 x 128 x 8 block tile, 256 threads, 8 x 8 outputs per thread, the next k-tile
// prefetched into registers while this one is multiplied, float4 shared-memory reads) in at most 128 registers, so
// that two blocks (16 warps) fit on an SM: __launch_bounds__(256, 2) and no spills (ptxas figures: docs/GPU.md).
// What it takes (each measured with ptxas -v; the 128-register budget is tight, and ptxas spills as soon as a few
// values stay live across the k loop):
//   - one kernel per transpose case and beta == 0 or not, gemm_tiled128v2_{nn,nt,tn,tt}[_beta0]_f32: no transpose
//     or beta branch anywhere (a runtime beta test in the epilogue made nvcc duplicate it, and ptxas spill);
//   - no zero fill in m and n: a thread's rows (columns) past m (n) are CLAMPED to the last one, whose values then
//     feed only rows (columns) of acc past m (n), which the epilogue does not store. The loads of a full k-tile have
//     no predicate; only the last, partial k-tile (k % 8 positions) is zero-filled in k (a k position past k would
//     feed every output);
//   - scalar global loads (4 of each operand per thread and k-tile, a warp's load 128 contiguous bytes or 4 rows of
//     32), no alignment conditions: float4 global loads (LDG.128, into aligned register quads) made ptxas spill;
//   - a pointer per operand that moves by a fixed step per k-tile: no 64-bit index arithmetic in the k loop;
//   - the next k-tile prefetched in halves: A's 4 elements loaded at the start of a k-tile and stored (into the
//     other shared-memory stage) half way through it, B's loaded then and stored at its end; 4 registers, not 8;
//   - two shared-memory stages, the loop unrolled by two so that both are compile-time offsets, one
//     __syncthreads per k-tile;
//   - threadIdx.x read anew (fresh_tid) in each tile's setup and in the epilogue, so nothing derived from it is kept
//     across the k loop;
//   - scalar, bounds-checked stores of C (float4 stores made ptxas spill; the epilogue is a small part of a large
//     GEMM's time).
// Thread tile: warp w covers rows (w / 2) * 32 .. + 31 and columns (w % 2) * 64 .. + 63 of the block tile; lane
// (lr = lane / 8, lc = lane % 8) holds rows lr*4 + {0..3} and 16 + lr*4 + {0..3} of that, columns lc*4 + {0..3}
// and 32 + lc*4 + {0..3}: a warp's float4 shared reads are 4 (A) and 8 (B) consecutive float4s, no bank conflicts.
// Per output element the sum runs over k in order, one fmaf at a time from 0, then alpha * acc (+ beta * C): the
// same order as gemm_tiled128_f32, the same on every run.
// blockDim.x MUST be 256; transA/transB must be the name's (n = 0, t = 1), and beta 0 exactly for the _beta0 kernels
// (the others read C; CudaBackend picks by both); any grid (grid-stride over tiles and batches as the other tiled kernels). Launched
// for the registry's own_tiled_fp32_v2 where the 128-tiles fill the GPU; smaller problems take gemm_tiled64_f32,
// as own_tiled_fp32 does.

namespace v2 {
constexpr int BM = 128, BN = 128, BK = 8, THREADS = 256;
constexpr int LDS = BM + 4;  // shared row stride in floats: a multiple of 4 (float4 reads); the transposed stores of
                             // k-contiguous operands (8 k x 4 positions per warp) then fall on 32 distinct banks
static_assert(BM == BN && BM * BK == 4 * THREADS, "each thread loads 4 elements of each operand per k-tile");

// threadIdx.x, read anew where called. nvcc would reuse one read for the whole kernel (and hoist what derives from it
// out of the tile loops), keeping those values live across the k loop, where ptxas then spilled them; a volatile read
// makes each use recompute them from the special register. (The CPU emulator has no asm.)
__device__ __forceinline__ int fresh_tid() {
#ifdef __CUDACC__
    unsigned t;
    asm volatile("mov.u32 %0, %%tid.x;" : "=r"(t));
    return (int)t;
#else
    return threadIdx.x;
#endif
}

// One operand's share of a k-tile: 4 elements per thread, q = 0..3.
//   KVEC (A, B^T: stored with k contiguous): k offset t % 8, tile positions (rows of A, columns of B) t / 8 + 32 q.
//     A warp's load q reads 4 rows x 8 consecutive k (32 bytes each).
//   else (A^T, B: stored with m (n) contiguous): tile position t % 128, k offsets t / 128 + 2 q. A warp's load q
//     reads 32 consecutive positions (128 bytes).
// p points at element q = 0 of the current k-tile; last (KVEC) is the last q whose position lies inside m (n), the
// later ones read that one again (see the clamping above). setup clamps positions past the extent to its last.
template <bool KVEC>
__device__ __forceinline__ void setup(const float* base, int ld, unsigned pos0, unsigned extent, int tid,
                                      const float*& p, unsigned& last) {
    if (KVEC) {
        unsigned pos = pos0 + tid / 8;
        if (pos < extent) {
            last = min((extent - 1 - pos) / 32, 3u);
        } else {
            pos = extent - 1;
            last = 0;
        }
        p = base + (size_t)pos * (unsigned)ld + tid % 8;
    } else {
        const unsigned pos = min(pos0 + tid % 128, extent - 1);
        last = 3;
        p = base + (size_t)(tid / 128) * (unsigned)ld + pos;
    }
}

// Element q's address.
template <bool KVEC>
__device__ __forceinline__ const float* at(const float* p, int ld, unsigned last, int q) {
    return KVEC ? p + (size_t)(min((unsigned)q, last) * 32) * (unsigned)ld : p + (size_t)(2 * q) * (unsigned)ld;
}

// The step from one k-tile to the next.
template <bool KVEC>
__device__ __forceinline__ size_t step(int ld) {
    return KVEC ? (size_t)BK : (size_t)BK * (unsigned)ld;
}

// A k-tile's 4 elements; rem = k positions left from the tile's first: all BK of a full tile are loaded where
// rem >= BK, else those < rem and zeros.
template <bool KVEC>
__device__ __forceinline__ float4 load4(const float* p, int ld, unsigned last, int tid, unsigned rem) {
    float4 v;
    if (rem >= BK) {
        v.x = *at<KVEC>(p, ld, last, 0);
        v.y = *at<KVEC>(p, ld, last, 1);
        v.z = *at<KVEC>(p, ld, last, 2);
        v.w = *at<KVEC>(p, ld, last, 3);
    } else if (KVEC) {
        const bool in = (unsigned)(tid % 8) < rem;
        v.x = in ? *at<KVEC>(p, ld, last, 0) : 0.0f;
        v.y = in ? *at<KVEC>(p, ld, last, 1) : 0.0f;
        v.z = in ? *at<KVEC>(p, ld, last, 2) : 0.0f;
        v.w = in ? *at<KVEC>(p, ld, last, 3) : 0.0f;
    } else {
        const unsigned k0 = tid / 128;
        v.x = k0 < rem ? *at<KVEC>(p, ld, last, 0) : 0.0f;
        v.y = k0 + 2 < rem ? *at<KVEC>(p, ld, last, 1) : 0.0f;
        v.z = k0 + 4 < rem ? *at<KVEC>(p, ld, last, 2) : 0.0f;
        v.w = k0 + 6 < rem ? *at<KVEC>(p, ld, last, 3) : 0.0f;
    }
    return v;
}

// Stores a thread's 4 elements into the k-major tile S[k][position].
template <bool KVEC>
__device__ __forceinline__ void store4(float (*S)[LDS], int tid, float4 v) {
    if (KVEC) {
        float* s = &S[tid % 8][tid / 8];
        s[0] = v.x;
        s[32] = v.y;
        s[64] = v.z;
        s[96] = v.w;
    } else {
        float* s = &S[tid / 128][tid % 128];
        s[0] = v.x;
        s[2 * LDS] = v.y;
        s[4 * LDS] = v.z;
        s[6 * LDS] = v.w;
    }
}

// Stores the thread's 8 x 8 outputs (rows r0 + {0..3, 16..19}, columns c0 + {0..3, 32..35}) into C's batch Cb:
// C = alpha * acc + beta * C, or alpha * acc without reading C where !BETA (beta == 0). Bounds-checked, scalar.
template <bool BETA>
__device__ __forceinline__ void epilogue(const float (&acc)[8][8], float alpha, float beta, float* Cb, int ldc,
                                         unsigned um, unsigned un, unsigned r0, unsigned c0) {
#pragma unroll
    for (int i = 0; i < 8; i++) {
        const unsigned r = r0 + (i / 4) * 16 + i % 4;
        if (r >= um) break;  // rows grow with i
        float* row = Cb + (size_t)r * (unsigned)ldc;
#pragma unroll
        for (int j = 0; j < 8; j++) {
            const unsigned c = c0 + (j / 4) * 32 + j % 4;
            if (c < un) row[c] = BETA ? alpha * acc[i][j] + beta * row[c] : alpha * acc[i][j];
        }
    }
}
}  // namespace v2

template <bool TA, bool TB, bool BETA>
__device__ __forceinline__ void gemm_tiled128v2(int m, int n, int k, float alpha,
                                                const float* A, int lda, long long sA, const float* B, int ldb, long long sB,
                                                float beta, float* C, int ldc, long long sC, int batch,
                                                float (*As)[v2::BK][v2::LDS], float (*Bs)[v2::BK][v2::LDS]) {
    using namespace v2;
    using I0 = std::integral_constant<int, 0>;
    using I1 = std::integral_constant<int, 1>;
    constexpr bool KA = !TA, KB = TB;  // A is k-contiguous unless transposed, B only when transposed
    const unsigned um = m, un = n, uk = k;  // unsigned positions, as in gemm_tiled
    const int tilesM = (int)((um + BM - 1) / BM), tilesN = (int)((un + BN - 1) / BN);

    for (int b = blockIdx.z; b < batch; b += gridDim.z) {
        for (int tm = blockIdx.y; tm < tilesM; tm += gridDim.y) {
            for (int tn = blockIdx.x; tn < tilesN; tn += gridDim.x) {
                const unsigned row0 = (unsigned)tm * BM, col0 = (unsigned)tn * BN;
                const int tid = fresh_tid(), warp = tid / 32, lane = tid % 32;
                const int ar = (warp / 2) * 32 + (lane / 8) * 4;  // the thread's first row in the tile (then + 16)
                const int bc = (warp % 2) * 64 + (lane % 8) * 4;  // its first column (then + 32)
                const float *pa, *pb;  // element 0 of the next k-tile to load
                unsigned lastA, lastB;
                setup<KA>(A + b * sA, lda, row0, um, tid, pa, lastA);
                setup<KB>(B + b * sB, ldb, col0, un, tid, pb, lastB);

                float acc[8][8];
#pragma unroll
                for (int i = 0; i < 8; i++)
#pragma unroll
                    for (int j = 0; j < 8; j++) acc[i][j] = 0.0f;

                // k-tile t: its operands' loads, and the pointers on to the next one
                auto loadA = [&](unsigned t) {
                    const float4 v = load4<KA>(pa, lda, lastA, tid, uk - t * BK);
                    pa += step<KA>(lda);
                    return v;
                };
                auto loadB = [&](unsigned t) {
                    const float4 v = load4<KB>(pb, ldb, lastB, tid, uk - t * BK);
                    pb += step<KB>(ldb);
                    return v;
                };
                // k-tile t on stage S (a compile-time constant). The next one's loads are in flight while this one is
                // multiplied: A's during the first half of its k rows, B's during the second, so that 4 registers
                // hold the prefetch at a time, not 8 (this gave ptxas the margin: no spills at 120 registers either);
                // each goes to the other stage, which nobody reads until the barrier.
                const unsigned tiles = (uk + BK - 1) / BK;  // (k + 7 fits: k < 2^31)
                auto ktile = [&](auto S, unsigned t) {
                    constexpr int s = decltype(S)::value;
                    const bool more = t + 1 < tiles;  // the same in every thread
                    float4 nx;
                    if (more) nx = loadA(t + 1);
#pragma unroll
                    for (int kk = 0; kk < BK; kk++) {
                        if (kk == BK / 2 && more) {
                            store4<KA>(As[s ^ 1], tid, nx);
                            nx = loadB(t + 1);
                        }
                        const float4 a0 = *reinterpret_cast<const float4*>(&As[s][kk][ar]);
                        const float4 a1 = *reinterpret_cast<const float4*>(&As[s][kk][ar + 16]);
                        const float4 b0 = *reinterpret_cast<const float4*>(&Bs[s][kk][bc]);
                        const float4 b1 = *reinterpret_cast<const float4*>(&Bs[s][kk][bc + 32]);
                        const float ra[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
                        const float rb[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
                        for (int i = 0; i < 8; i++)
#pragma unroll
                            for (int j = 0; j < 8; j++) acc[i][j] = fmaf(ra[i], rb[j], acc[i][j]);
                    }
                    if (more) store4<KB>(Bs[s ^ 1], tid, nx);
                    __syncthreads();  // this stage read by all, the next one written by all
                };
                if (tiles > 0) {
                    store4<KA>(As[0], tid, loadA(0));
                    store4<KB>(Bs[0], tid, loadB(0));
                    __syncthreads();
                    for (unsigned t = 0;;) {  // the two stages in turn
                        ktile(I0(), t);
                        if (++t == tiles) break;
                        ktile(I1(), t);
                        if (++t == tiles) break;
                    }
                }
                {
                    const int t = fresh_tid(), w = t / 32, l = t % 32;  // ar and bc as above
                    epilogue<BETA>(acc, alpha, beta, C + b * sC, ldc, um, un, row0 + (w / 2) * 32 + (l / 8) * 4,
                                   col0 + (w % 2) * 64 + (l % 8) * 4);
                }
            }
        }
    }
}

#define GEMM_TILED128V2_ENTRY(NAME, TA, TB, BETA)                                                                    \
    extern "C" __global__ void __launch_bounds__(v2::THREADS, 2)                                                      \
        NAME(int transA, int transB, int m, int n, int k, float alpha, const float* A, int lda, long long sA,        \
             const float* B, int ldb, long long sB, float beta, float* C, int ldc, long long sC, int batch) {        \
        /* two stages of k-major tiles: 2 * 2 * 8 * 132 * 4 = 16,896 bytes (two blocks: 33 KiB of an SM's 228) */  \
        __shared__ __align__(16) float As[2][v2::BK][v2::LDS];                                                        \
        __shared__ __align__(16) float Bs[2][v2::BK][v2::LDS];                                                        \
        gemm_tiled128v2<TA, TB, BETA>(m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch, As, Bs);     \
    }

GEMM_TILED128V2_ENTRY(gemm_tiled128v2_nn_f32, false, false, true)
GEMM_TILED128V2_ENTRY(gemm_tiled128v2_nt_f32, false, true, true)
GEMM_TILED128V2_ENTRY(gemm_tiled128v2_tn_f32, true, false, true)
GEMM_TILED128V2_ENTRY(gemm_tiled128v2_tt_f32, true, true, true)
GEMM_TILED128V2_ENTRY(gemm_tiled128v2_nn_beta0_f32, false, false, false)
GEMM_TILED128V2_ENTRY(gemm_tiled128v2_nt_beta0_f32, false, true, false)
GEMM_TILED128V2_ENTRY(gemm_tiled128v2_tn_beta0_f32, true, false, false)
GEMM_TILED128V2_ENTRY(gemm_tiled128v2_tt_beta0_f32, true, true, false)

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
