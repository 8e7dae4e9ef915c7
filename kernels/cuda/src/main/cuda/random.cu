// random.cu: counter-based random fills and dropout (Philox4x32-10), bit for bit the CPU's.
//
// Math (references: optlab.kernels.random.Philox, RefRandom; see NOTE [philox]):
//   element i of a call draws from counter position pos = counter + i (64-bit, wrapping), key = seed:
//     words = philox(c0 = low32(pos), c1 = high32(pos), c2 = draw, c3 = 0; k0 = low32(seed), k1 = high32(seed))
//   uniform24(w) = (w >> 8) * 2^-24  (exact in float)
//   UNIFORM           a + (b - a) * uniform24(w0)
//   NORMAL            a + b * z,  z = sqrt(-2 ln(1 - u0)) * cos(2 pi u1),  u0, u1 = uniform24(w0), uniform24(w1)
//   TRUNCATED_NORMAL  a + b * z with z redrawn (draw = c2 = 0, 1, 2, ...) until |z| <= 2
//   dropout           position pos takes word w = words[pos & 3] of the block at counter (c0, c1 = low32, high32 of
//                     pos >> 2, c2 = 0, c3 = DROPOUT_STREAM = 1), a stream apart from the fills' (c3 = 0);
//                     keep = (w >> 8) >= threshold (an INTEGER compare; threshold = ceil(p * 2^24) is
//                     computed on the host by Philox#threshold); y = keep ? x * scale : 0 with
//                     scale = (T)(1 / (1 - p)) computed on the host, multiplied in T as the CPU does.
// All draws are computed in double with explicitly rounded adds and multiplies (__dadd_rn, __dmul_rn), so nvcc
// cannot fuse them into fmas that Java does not do; the float result is the double rounded once, as Java's
// (float) cast. CUDA's double log and cos are within 1-2 ulp of Java's, so the float results agree except, in
// principle, at a rounding tie (BackendConformanceTest#fillRandomMatchesPhiloxReferenceExactly says so).
// Dropout masks depend only on integer arithmetic: exactly the CPU's.
//
// Distribution codes (CudaBackend#fillRandom): 0 UNIFORM, 1 NORMAL, 2 TRUNCATED_NORMAL.
// Kernels and launch constraints: grid-stride, any grid and block size; fills take one element per thread, dropout
// one Philox block (four elements) per thread.
#include "common.cuh"

__device__ __forceinline__ void philox4x32_10(uint32_t c[4], uint32_t k0, uint32_t k1) {
#pragma unroll
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        const uint32_t hi0 = __umulhi(0xD2511F53u, c[0]), lo0 = 0xD2511F53u * c[0];
        const uint32_t hi1 = __umulhi(0xCD9E8D57u, c[2]), lo1 = 0xCD9E8D57u * c[2];
        const uint32_t n0 = hi1 ^ c[1] ^ k0;
        const uint32_t n2 = hi0 ^ c[3] ^ k1;
        c[0] = n0;
        c[1] = lo1;
        c[2] = n2;
        c[3] = lo0;
    }
}

// The four words at counter (low32(ctr), high32(ctr), c2, c3): a fill's position (c3 = 0) or dropout's block (c3 = 1).
__device__ __forceinline__ void words(unsigned long long seed, unsigned long long ctr, uint32_t c2, uint32_t c3, uint32_t out[4]) {
    out[0] = (uint32_t)ctr;
    out[1] = (uint32_t)(ctr >> 32);
    out[2] = c2;
    out[3] = c3;
    philox4x32_10(out, (uint32_t)seed, (uint32_t)(seed >> 32));
}

__device__ __forceinline__ double uniform24(uint32_t w) { return (double)(w >> 8) * 0x1.0p-24; }

__device__ __forceinline__ double std_normal(unsigned long long seed, unsigned long long pos, uint32_t draw) {
    uint32_t w[4];
    words(seed, pos, draw, 0u, w);
    const double u0 = uniform24(w[0]), u1 = uniform24(w[1]);
    const double two_pi = 6.283185307179586;  // 2.0 * Math.PI, exact (a doubling)
    return __dmul_rn(sqrt(__dmul_rn(-2.0, log(__dsub_rn(1.0, u0)))), cos(__dmul_rn(two_pi, u1)));
}

__device__ __forceinline__ double sample(int dist, double a, double b, unsigned long long seed, unsigned long long pos) {
    if (dist == 0) {
        uint32_t w[4];
        words(seed, pos, 0u, 0u, w);
        return __dadd_rn(a, __dmul_rn(__dsub_rn(b, a), uniform24(w[0])));
    }
    if (dist == 1) return __dadd_rn(a, __dmul_rn(b, std_normal(seed, pos, 0u)));
    for (uint32_t draw = 0;; draw++) {
        const double z = std_normal(seed, pos, draw);
        if (fabs(z) <= 2.0) return __dadd_rn(a, __dmul_rn(b, z));
    }
}

extern "C" __global__ void fill_random_f32(int n, float* x, int dist, double a, double b,
                                           unsigned long long seed, unsigned long long counter) {
    GRID_STRIDE(i, n) x[i] = __double2float_rn(sample(dist, a, b, seed, counter + (unsigned long long)i));
}

extern "C" __global__ void fill_random_f64(int n, double* x, int dist, double a, double b,
                                           unsigned long long seed, unsigned long long counter) {
    GRID_STRIDE(i, n) x[i] = sample(dist, a, b, seed, counter + (unsigned long long)i);
}

// One thread per Philox block (up to four elements): element i sits at position counter + i, word (counter + i) & 3 of
// block (counter + i) >> 2; the first block holds skip = counter & 3 positions before element 0. Blocks wrap at 2^62
// as positions wrap at 2^64. Grid-stride over the (skip + n + 3) / 4 blocks: any grid and block size.
template <typename T>
__device__ __forceinline__ void dropout_blocks(int n, int threshold, T scale, unsigned long long seed,
                                               unsigned long long counter, const T* x, T* y) {
    const long long skip = (long long)(counter & 3ull), blocks = (skip + n + 3) / 4;
    const unsigned long long first = counter >> 2;
    GRID_STRIDE(j, blocks) {
        uint32_t w[4];
        words(seed, (first + (unsigned long long)j) & 0x3FFFFFFFFFFFFFFFull, 0u, 1u, w);  // c3 = Philox#DROPOUT_STREAM
#pragma unroll
        for (int k = 0; k < 4; k++) {
            const long long i = 4 * j + k - skip;
            if (i >= 0 && i < n) y[i] = (int)(w[k] >> 8) >= threshold ? x[i] * scale : (T)0;
        }
    }
}

// y may be x (in place): each element is read and written by the one thread of its block.
extern "C" __global__ void dropout_f32(int n, int threshold, float scale, unsigned long long seed,
                                       unsigned long long counter, const float* x, float* y) {
    dropout_blocks<float>(n, threshold, scale, seed, counter, x, y);
}

extern "C" __global__ void dropout_f64(int n, int threshold, double scale, unsigned long long seed,
                                       unsigned long long counter, const double* x, double* y) {
    dropout_blocks<double>(n, threshold, scale, seed, counter, x, y);
}
