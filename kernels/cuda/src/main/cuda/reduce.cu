// reduce.cu: reductions over the middle axis and argmax.
//
// Math (references: RefElementwise#reduce, RefElementwise#argmax):
//   x is (outer, size, inner); y is (outer, inner);
//   SUM  y[o, i] = sum_r x[o, r, i]          MEAN  y = SUM / size
//   MAX  y[o, i] = max_r x[o, r, i]          NaN-propagating (a NaN anywhere gives NaN), as BinaryOp.MAX
//   argmax: idx[o, i] = the first r where x[o, r, i] is maximal; the first NaN wins.
// Op codes (CudaBackend#reduceCode): 0 SUM, 1 MEAN, 2 MAX.
//
// Precision: SUM and MEAN accumulate in double for float32 inputs (the reduction is memory-bound, so the
// wider adds cost nothing measurable), which keeps the result within a float ulp or two of the double
// reference even for 10^5-element rows. MAX is exact in the input type.
//
// Variants and launch constraints (both correct for any grid; the backend chooses, see CudaBackend#reduce):
//   reduce_rows_T / argmax_rows_T   one BLOCK per output (o, i), grid-stride over outputs; the block's threads
//                                   stride along r and combine with block_reduce (common.cuh), which works for
//                                   any blockDim.x. Needs blockDim.x * sizeof(acc) bytes of dynamic shared
//                                   memory (acc = double for SUM/MEAN, T for MAX; argmax: T + int per thread).
//                                   For rows (inner == 1) and for few outputs.
//   reduce_cols_T / argmax_cols_T   one THREAD per output (o, i), grid-stride over outputs, a serial loop over
//                                   r; neighbouring threads read neighbouring i, so loads coalesce. For many
//                                   outputs with inner > 1. No shared memory.
// The summation order of each variant depends only on its block size, so results are deterministic.
#include "common.cuh"

template <typename T>
struct Acc { typedef double type; };  // SUM/MEAN accumulator: double for float and double

template <typename T>
__device__ __forceinline__ void reduce_rows(int op, int outer, int size, int inner, const T* x, T* y) {
    const long long outputs = (long long)outer * inner;
    for (long long out = blockIdx.x; out < outputs; out += gridDim.x) {
        const long long o = out / inner, i = out % inner;
        const T* base = x + o * size * (long long)inner + i;
        if (op == 2) {
            SHARED_SCRATCH(T, smem);
            T acc = -INFINITY;
            BLOCK_STRIDE(r, size) acc = MaxOp()(acc, base[r * inner]);
            acc = block_reduce(acc, smem, MaxOp());
            if (threadIdx.x == 0) y[out] = acc;
        } else {
            SHARED_SCRATCH(double, smem);
            double acc = 0.0;
            BLOCK_STRIDE(r, size) acc += (double)base[r * inner];
            acc = block_reduce(acc, smem, SumOp());
            if (threadIdx.x == 0) y[out] = (T)(op == 1 ? acc / size : acc);
        }
    }
}

template <typename T>
__device__ __forceinline__ void reduce_cols(int op, int outer, int size, int inner, const T* x, T* y) {
    const long long outputs = (long long)outer * inner;
    GRID_STRIDE(out, outputs) {
        const long long o = out / inner, i = out % inner;
        const T* base = x + o * size * (long long)inner + i;
        if (op == 2) {
            T acc = -INFINITY;
            for (int r = 0; r < size; r++) acc = MaxOp()(acc, base[(long long)r * inner]);
            y[out] = acc;
        } else {
            double acc = 0.0;
            for (int r = 0; r < size; r++) acc += (double)base[(long long)r * inner];
            y[out] = (T)(op == 1 ? acc / size : acc);
        }
    }
}

extern "C" __global__ void reduce_rows_f32(int op, int outer, int size, int inner, const float* x, float* y) { reduce_rows<float>(op, outer, size, inner, x, y); }
extern "C" __global__ void reduce_rows_f64(int op, int outer, int size, int inner, const double* x, double* y) { reduce_rows<double>(op, outer, size, inner, x, y); }
extern "C" __global__ void reduce_cols_f32(int op, int outer, int size, int inner, const float* x, float* y) { reduce_cols<float>(op, outer, size, inner, x, y); }
extern "C" __global__ void reduce_cols_f64(int op, int outer, int size, int inner, const double* x, double* y) { reduce_cols<double>(op, outer, size, inner, x, y); }

// ------------------------------------------------------------------------------------------------------
// argmax
// ------------------------------------------------------------------------------------------------------

// Is candidate (v, r) better than the current best (bv, br)? First NaN wins; else larger value; ties go to the
// smaller index. This makes the combine associative and commutative, so any tree gives the reference's answer.
template <typename T>
__device__ __forceinline__ bool better(T v, int r, T bv, int br) {
    const bool vn = v != v, bn = bv != bv;
    if (vn || bn) return vn && (!bn || r < br);
    if (v != bv) return v > bv;
    return r < br;
}

template <typename T>
__device__ __forceinline__ void argmax_rows(int outer, int size, int inner, const T* x, int* idx) {
    SHARED_SCRATCH(unsigned char, raw);
    T* sv = reinterpret_cast<T*>(raw);
    int* si = reinterpret_cast<int*>(raw + sizeof(T) * blockDim.x);
    const long long outputs = (long long)outer * inner;
    for (long long out = blockIdx.x; out < outputs; out += gridDim.x) {
        const long long o = out / inner, i = out % inner;
        const T* base = x + o * size * (long long)inner + i;
        T bv = 0;
        int br = -1;  // -1: no candidate yet (threads beyond size)
        BLOCK_STRIDE(r, size) {
            T v = base[r * inner];
            if (br < 0 || better(v, (int)r, bv, br)) { bv = v; br = (int)r; }
        }
        sv[threadIdx.x] = bv;
        si[threadIdx.x] = br;
        __syncthreads();
        for (int s = 1; s < (int)blockDim.x; s <<= 1) {
            const int t = threadIdx.x;
            if ((t & (2 * s - 1)) == 0 && t + s < (int)blockDim.x) {
                const int r2 = si[t + s];
                if (r2 >= 0 && (si[t] < 0 || better(sv[t + s], r2, sv[t], si[t]))) { sv[t] = sv[t + s]; si[t] = r2; }
            }
            __syncthreads();
        }
        if (threadIdx.x == 0) idx[out] = si[0];
        __syncthreads();
    }
}

template <typename T>
__device__ __forceinline__ void argmax_cols(int outer, int size, int inner, const T* x, int* idx) {
    const long long outputs = (long long)outer * inner;
    GRID_STRIDE(out, outputs) {
        const long long o = out / inner, i = out % inner;
        const T* base = x + o * size * (long long)inner + i;
        T bv = base[0];
        int br = 0;
        for (int r = 1; r < size && bv == bv; r++) {
            T v = base[(long long)r * inner];
            if (v > bv || v != v) { bv = v; br = r; }
        }
        idx[out] = br;
    }
}

extern "C" __global__ void argmax_rows_f32(int outer, int size, int inner, const float* x, int* idx) { argmax_rows<float>(outer, size, inner, x, idx); }
extern "C" __global__ void argmax_rows_f64(int outer, int size, int inner, const double* x, int* idx) { argmax_rows<double>(outer, size, inner, x, idx); }
extern "C" __global__ void argmax_cols_f32(int outer, int size, int inner, const float* x, int* idx) { argmax_cols<float>(outer, size, inner, x, idx); }
extern "C" __global__ void argmax_cols_f64(int outer, int size, int inner, const double* x, int* idx) { argmax_cols<double>(outer, size, inner, x, idx); }
