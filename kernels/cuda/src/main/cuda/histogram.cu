// histogram.cu: the power-of-two histogram of |x| (Backend#log2Histogram), for update-magnitude analyses (Zhuang
// et al. bin every coordinate's |update|, |gradient| and |parameter| by floor(log2 |v|)) computed where the data live.
//
// Math (reference: RefHistogram#log2Histogram, NOTE [log2-bins]; the CPU backend: CpuHistogram):
//   x is (n), FLOAT32 or FLOAT64; counts is INT32 (S), S = maxE - minE + 2 slots; ACCUMULATES:
//     for each i: counts[slot(x[i])] += 1, where
//       slot(v) = S - 1                                  if v is NaN or +-inf
//               = 0                                      if v is +-0
//               = clamp(floor(log2 |v|), minE, maxE) - minE   otherwise.
//   floor(log2 |v|) comes from the bits, with integer operations only, so it is exact and every backend agrees:
//     normal v:     the unbiased exponent, field - 127 (float) / field - 1023 (double);
//     subnormal v:  |v| = significand * 2^-149 (float) / 2^-1074 (double), so the highest set bit's position
//                   (31 - __clz, 63 - __clzll) minus 149 / 1074.
//   A float lands in the slot of its widening to double, which is how the Java reference sees it.
//   The host refuses -1100 > minE, maxE > 1100 and minE > maxE (Checks#log2Histogram), so S <= 2202.
//
// Exactness: every count is an integer sum of ones made with integer atomics, which are order-independent, so the
// result is the reference's bit for bit, for any grid and block size and any order of the threads (no float atomics:
// the own kernels stay deterministic, docs/GPU.md). Counts wrap modulo 2^32 as Java's int addition does.
//
// Variants and launch constraints (CudaBackend#log2Histogram):
//   log2_histogram_f32 / log2_histogram_f64   a grid-stride loop over x (any grid, any block size). Each block keeps
//       its own S counts in dynamic shared memory (S * 4 bytes, at most 8808 with the host's range; the host refuses
//       more than 48 KiB, the limit without opt-in): zeroed by the block, incremented with shared atomicAdd, then each
//       nonzero one added to counts with one global atomicAdd. So the global atomics per launch are at most
//       blocks * S, whatever n is.
//   Not done: warp-aggregated increments (__match_any_sync) for inputs whose values share few bins; a GPU profile
//   would say whether the shared atomics' contention matters next to the memory traffic.
#include "common.cuh"

__device__ __forceinline__ int log2_slot(float v, int minE, int maxE) {
    const unsigned bits = (unsigned)__float_as_int(v) & 0x7fffffffu;  // |v|
    const unsigned field = bits >> 23;
    if (field == 0xffu) return maxE - minE + 1;  // NaN or infinity: the last slot
    if (bits == 0u) return 0;                     // +-0: the lowest bin
    const int e = field != 0u ? (int)field - 127 : (31 - __clz((int)bits)) - 149;
    return min(max(e, minE), maxE) - minE;
}

__device__ __forceinline__ int log2_slot(double v, int minE, int maxE) {
    const unsigned long long bits = (unsigned long long)__double_as_longlong(v) & 0x7fffffffffffffffull;  // |v|
    const int field = (int)(bits >> 52);
    if (field == 0x7ff) return maxE - minE + 1;  // NaN or infinity: the last slot
    if (bits == 0ull) return 0;                   // +-0: the lowest bin
    const int e = field != 0 ? field - 1023 : (63 - __clzll((long long)bits)) - 1074;
    return min(max(e, minE), maxE) - minE;
}

template <typename T>
__device__ __forceinline__ void log2_histogram(int n, const T* x, int minE, int maxE, int* counts) {
    SHARED_SCRATCH(int, bins);  // this block's S counts
    const int slots = maxE - minE + 2;
    BLOCK_STRIDE(s, slots) bins[s] = 0;
    __syncthreads();
    GRID_STRIDE(i, n) atomicAdd(&bins[log2_slot(x[i], minE, maxE)], 1);
    __syncthreads();
    BLOCK_STRIDE(s, slots) {
        const int c = bins[s];
        if (c != 0) atomicAdd(&counts[s], c);
    }
}

extern "C" __global__ void log2_histogram_f32(int n, const float* x, int minE, int maxE, int* counts) { log2_histogram<float>(n, x, minE, maxE, counts); }
extern "C" __global__ void log2_histogram_f64(int n, const double* x, int minE, int maxE, int* counts) { log2_histogram<double>(n, x, minE, maxE, counts); }
