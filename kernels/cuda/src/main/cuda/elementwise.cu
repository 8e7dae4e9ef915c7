// elementwise.cu: fill, strided copy, unary and binary elementwise kernels of the CUDA backend.
//
// Math (references, which these kernels must match):
//   fill_T        x[i] = v                                     RefElementwise#fill
//   copy_D_S      dst[idx . s0] = (D) src[idx . s1]             RefElementwise#copy; conversions as a C cast
//                 (float -> int truncates toward zero; cvt.rzi saturates and maps NaN to 0, as Java's (int))
//   unary_T       y[i] = op(x[i]; alpha)                       optlab.kernels.UnaryOp#apply
//   binary_T      out[idx.s0] = op(a[idx.s1], b[idx.s2])       optlab.kernels.BinaryOp#apply, RefElementwise#binary
//   add_f32       out[i] = a[i] + b[i]                         (the first kernel; kept for CudaAddKernelTest)
//   axpy_f32      y[i] += (float) s0 * x[i]                    a FusedKernel-ABI kernel (see below)
//   leaky_relu_user_f32 / _bwd_f32                              examples of the registry's unary user-kernel ABI
//
// Op codes are fixed by CudaBackend#unaryCode / #binaryCode (an exhaustive switch over the Java enums, so a
// new enum member fails to compile until it has a code here):
//   unary:  0 NEG 1 EXP 2 LOG 3 SQRT 4 ABS 5 SQUARE 6 RECIPROCAL 7 RELU 8 TANH 9 SIGMOID 10 ADD_SCALAR
//           11 MUL_SCALAR 12 RSUB_SCALAR 13 POW_SCALAR
//   binary: 0 ADD 1 SUB 2 MUL 3 DIV 4 MAX 5 MIN 6 RELU_BACKWARD 7 TANH_BACKWARD 8 SIGMOID_BACKWARD
// Float32 arithmetic mirrors the CPU backend (cpu/CpuElementwise): the scalar alpha is rounded to float
// first; exp/log/tanh use the float library functions (<= 2 ulp), POW_SCALAR runs in double (alpha is not
// rounded, as in the reference).
//
// Layout: pointers are advanced to each operand's offset; strided kernels take the coalesced shape and
// strides by value (Strided2 / Strided3, common.cuh), rank <= 8. A linear index i is decomposed row-major
// (last dimension fastest) into per-operand offsets; strides may be 0 (broadcast) or negative.
// out may alias a or b with the same strides: each element is read, then written, by one thread.
//
// Variants and launch constraints: every kernel is a grid-stride loop, correct for any grid and block
// size. The backend launches LaunchConfig.block threads (default 256) and min(ceil(n/block), maxBlocks)
// blocks. Strided kernels take a fast path when rank == 1 and every stride is 1 (a block-uniform branch).
//
// Compiled ahead of time by bin/compile-cuda (NOTE [fatbins]); loaded with cuModuleLoadData.
#include "common.cuh"

// ------------------------------------------------------------------------------------------------------
// fill
// ------------------------------------------------------------------------------------------------------

extern "C" __global__ void fill_f32(float* x, int n, float v) { GRID_STRIDE(i, n) x[i] = v; }
extern "C" __global__ void fill_f64(double* x, int n, double v) { GRID_STRIDE(i, n) x[i] = v; }
extern "C" __global__ void fill_i32(int* x, int n, int v) { GRID_STRIDE(i, n) x[i] = v; }

// ------------------------------------------------------------------------------------------------------
// strided copy with conversion
// ------------------------------------------------------------------------------------------------------

template <typename D, typename S>
__device__ __forceinline__ void copy_impl(int n, D* dst, const S* src, const Strided2& st) {
    if (st.rank == 1 && st.s0[0] == 1 && st.s1[0] == 1) {
        GRID_STRIDE(i, n) dst[i] = (D)src[i];
        return;
    }
    GRID_STRIDE(i, n) {
        long long rem = i, o0 = 0, o1 = 0;
        for (int d = st.rank - 1; d >= 0; d--) {
            long long idx = rem % st.shape[d];
            rem /= st.shape[d];
            o0 += idx * st.s0[d];
            o1 += idx * st.s1[d];
        }
        dst[o0] = (D)src[o1];
    }
}

#define COPY_KERNEL(DN, D, SN, S) \
    extern "C" __global__ void copy_##DN##_##SN(int n, D* dst, const S* src, Strided2 st) { copy_impl<D, S>(n, dst, src, st); }
COPY_KERNEL(f32, float, f32, float)
COPY_KERNEL(f32, float, f64, double)
COPY_KERNEL(f32, float, i32, int)
COPY_KERNEL(f64, double, f32, float)
COPY_KERNEL(f64, double, f64, double)
COPY_KERNEL(f64, double, i32, int)
COPY_KERNEL(i32, int, f32, float)
COPY_KERNEL(i32, int, f64, double)
COPY_KERNEL(i32, int, i32, int)

// ------------------------------------------------------------------------------------------------------
// unary
// ------------------------------------------------------------------------------------------------------

template <int OP>
__device__ __forceinline__ float unary_op(float x, float a, double alpha) {
    switch (OP) {
        case 0: return -x;
        case 1: return expf(x);
        case 2: return logf(x);
        case 3: return sqrtf(x);
        case 4: return fabsf(x);
        case 5: return x * x;
        case 6: return 1.0f / x;
        case 7: return (x > 0.0f || x != x) ? x : 0.0f;
        case 8: return tanhf(x);
        case 9: return 1.0f / (1.0f + expf(-x));
        case 10: return x + a;
        case 11: return x * a;
        case 12: return a - x;
        default: return (float)pow((double)x, alpha);
    }
}

template <int OP>
__device__ __forceinline__ double unary_op(double x, double a, double alpha) {
    switch (OP) {
        case 0: return -x;
        case 1: return exp(x);
        case 2: return log(x);
        case 3: return sqrt(x);
        case 4: return fabs(x);
        case 5: return x * x;
        case 6: return 1.0 / x;
        case 7: return (x > 0.0 || x != x) ? x : 0.0;
        case 8: return tanh(x);
        case 9: return 1.0 / (1.0 + exp(-x));
        case 10: return x + a;
        case 11: return x * a;
        case 12: return a - x;
        default: return pow(x, alpha);
    }
}

template <int OP, typename T>
__device__ __forceinline__ void unary_loop(int n, const T* x, T* y, double alpha) {
    const T a = (T)alpha;
    GRID_STRIDE(i, n) y[i] = unary_op<OP>(x[i], a, alpha);
}

template <typename T>
__device__ __forceinline__ void unary_dispatch(int op, int n, const T* x, T* y, double alpha) {
    switch (op) {
        case 0: unary_loop<0>(n, x, y, alpha); break;
        case 1: unary_loop<1>(n, x, y, alpha); break;
        case 2: unary_loop<2>(n, x, y, alpha); break;
        case 3: unary_loop<3>(n, x, y, alpha); break;
        case 4: unary_loop<4>(n, x, y, alpha); break;
        case 5: unary_loop<5>(n, x, y, alpha); break;
        case 6: unary_loop<6>(n, x, y, alpha); break;
        case 7: unary_loop<7>(n, x, y, alpha); break;
        case 8: unary_loop<8>(n, x, y, alpha); break;
        case 9: unary_loop<9>(n, x, y, alpha); break;
        case 10: unary_loop<10>(n, x, y, alpha); break;
        case 11: unary_loop<11>(n, x, y, alpha); break;
        case 12: unary_loop<12>(n, x, y, alpha); break;
        case 13: unary_loop<13>(n, x, y, alpha); break;
    }
}

// y may be x (in place): each element is read, then written, by one thread.
extern "C" __global__ void unary_f32(int op, int n, const float* x, float* y, double alpha) { unary_dispatch<float>(op, n, x, y, alpha); }
extern "C" __global__ void unary_f64(int op, int n, const double* x, double* y, double alpha) { unary_dispatch<double>(op, n, x, y, alpha); }

// ------------------------------------------------------------------------------------------------------
// binary with broadcasting strides
// ------------------------------------------------------------------------------------------------------

template <int OP, typename T>
__device__ __forceinline__ T binary_op(T a, T b) {
    switch (OP) {
        case 0: return a + b;
        case 1: return a - b;
        case 2: return a * b;
        case 3: return a / b;
        case 4: return (a != a || a >= b) ? a : b;             // MAX, NaN-propagating
        case 5: return (a != a || a <= b) ? a : b;             // MIN, NaN-propagating
        case 6: return b > (T)0 ? a : (T)0;                     // RELU_BACKWARD: a = dy, b = x
        case 7: return a * ((T)1 - b * b);                      // TANH_BACKWARD: a = dy, b = y
        default: return a * b * ((T)1 - b);                     // SIGMOID_BACKWARD: a = dy, b = y
    }
}

template <int OP, typename T>
__device__ __forceinline__ void binary_loop(int n, T* out, const T* a, const T* b, const Strided3& st) {
    if (st.rank == 1 && st.s0[0] == 1 && st.s1[0] == 1 && st.s2[0] == 1) {
        GRID_STRIDE(i, n) out[i] = binary_op<OP, T>(a[i], b[i]);
        return;
    }
    GRID_STRIDE(i, n) {
        long long rem = i, o0 = 0, o1 = 0, o2 = 0;
        for (int d = st.rank - 1; d >= 0; d--) {
            long long idx = rem % st.shape[d];
            rem /= st.shape[d];
            o0 += idx * st.s0[d];
            o1 += idx * st.s1[d];
            o2 += idx * st.s2[d];
        }
        out[o0] = binary_op<OP, T>(a[o1], b[o2]);
    }
}

template <typename T>
__device__ __forceinline__ void binary_dispatch(int op, int n, T* out, const T* a, const T* b, const Strided3& st) {
    switch (op) {
        case 0: binary_loop<0, T>(n, out, a, b, st); break;
        case 1: binary_loop<1, T>(n, out, a, b, st); break;
        case 2: binary_loop<2, T>(n, out, a, b, st); break;
        case 3: binary_loop<3, T>(n, out, a, b, st); break;
        case 4: binary_loop<4, T>(n, out, a, b, st); break;
        case 5: binary_loop<5, T>(n, out, a, b, st); break;
        case 6: binary_loop<6, T>(n, out, a, b, st); break;
        case 7: binary_loop<7, T>(n, out, a, b, st); break;
        case 8: binary_loop<8, T>(n, out, a, b, st); break;
    }
}

extern "C" __global__ void binary_f32(int op, int n, float* out, const float* a, const float* b, Strided3 st) {
    binary_dispatch<float>(op, n, out, a, b, st);
}
extern "C" __global__ void binary_f64(int op, int n, double* out, const double* a, const double* b, Strided3 st) {
    binary_dispatch<double>(op, n, out, a, b, st);
}

// ------------------------------------------------------------------------------------------------------
// small fixed kernels
// ------------------------------------------------------------------------------------------------------

// The first kernel of the project (CudaAddKernelTest launches it directly). A 64-bit grid-stride loop like the
// others: its int index could wrap negative (and write out of bounds) when n > 2^31 - 1 - blockDim.x*gridDim.x.
extern "C" __global__ void add_f32(const float* a, const float* b, float* out, int n) {
    GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}

// y += (float) s0 * x, in the FusedKernel ABI (int n, operands..., scalars as double): the CUDA side of the
// conformance suite's AXPY fused kernel, bound to it through the kernel registry (fused.axpy), and an example
// of that ABI for users writing their own fused kernels.
extern "C" __global__ void axpy_f32(int n, const float* x, float* y, double s0) {
    const float a = (float)s0;
    GRID_STRIDE(i, n) y[i] += a * x[i];
}

// Examples of the kernel registry's user-kernel ABI for unary ops (KernelRegistry#userKernelAbi, the FusedKernel
// ABI): a leaky ReLU with slope 0.01 that a user could put in place of unary.relu with
//   unary.relu=user:FILE:leaky_relu_user_f32:backward=leaky_relu_user_bwd_f32
// The GPU tests bind them from this file's fatbin, which exercises the user-kernel path end to end.
//   forward:  y = x > 0 ? x : 0.01 x
//   backward: dx = dy * (x > 0 ? 1 : 0.01)
extern "C" __global__ void leaky_relu_user_f32(int n, const float* x, float* y, double alpha) {
    GRID_STRIDE(i, n) y[i] = x[i] > 0.0f ? x[i] : 0.01f * x[i];
}

extern "C" __global__ void leaky_relu_user_bwd_f32(int n, const float* x, const float* y, const float* dy, float* dx, double alpha) {
    GRID_STRIDE(i, n) dx[i] = x[i] > 0.0f ? dy[i] : 0.01f * dy[i];
}
