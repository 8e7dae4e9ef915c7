// optim_common.cuh: what every fused optimizer kernel (optim_*.cu) shares.
//
// 1. Exact arithmetic. The Java references (optlab.optim.*#step and #u) compute every product, sum,
//    quotient and square root separately, each rounded to nearest, in float32 (or float64 for float64
//    state). nvcc would contract a*b + c into one FMA (one rounding instead of two) and the results
//    would drift from the reference by an ulp here and there. The rn_* helpers call the _rn
//    intrinsics, which are never contracted, so a kernel written with them performs exactly the
//    reference's operations: the GPU tests expect agreement to the bit (and allow a few ulps).
//
// 2. quotient(q, den): q/den with 0/0 = 0 (see below). Weight decay (optlab.optim.WeightDecay): the
//    gradient the rule sees, and x after the rule's step u.
//      wd_gradient: g + l2*x under L2, else g
//      wd_apply:    x - u | x*factor - u (decoupled, factor = 1 - d) | (x - u)/factor (proximal, factor = 1 + d)
//
// 3. The fused loop over one contiguous range (a parameter group of the flat arena, NOTE [flat-arena]):
//    fused_update<K>(n, x, g, st0, st1, op) applies op(x_i, g_i, st0_i, st1_i) for i in [0, n) with K
//    state operands (0, 1 or 2). Layout: x and g are float32; the state is float32 or float64 (S). All
//    operands are the same range of equally laid out flat buffers, so they share their misalignment:
//      - head: the first (0..3) elements, until x is 16-byte aligned, one element per thread;
//      - body: 4 elements per thread per iteration with 16-byte loads and stores (float4; two double2
//        for float64 state), grid-stride;
//      - tail: the last (0..3) elements, one per thread.
//    When some operand is not 16-byte aligned where x is (a range whose buffers were not laid out
//    alike), the whole range runs one element per thread, grid-stride. Any grid and block size is
//    correct; indices are 64-bit so n up to 2^31-1 cannot overflow them.
//
// 5. The update kernels' loop (NOTE [update-probe] in optlab.optim.Optimizer): after a step,
//    fused_map<K>(n, out, xOld, g, st0, st1, op) writes out_i = op(xOld_i, g_i, st0_i, st1_i), the update u
//    the step applied, from x before the step, its gradient and the state it left (read only). A plain
//    grid-stride loop, one element per thread per iteration (coalesced; no vector loads: it runs only at the
//    steps a caller probes). Any grid and block size is correct; 64-bit indices. out may not alias any other
//    operand (the host refuses it).
#pragma once
#include <stdint.h>

// 4. Launch bounds: the kernels run at any block size the host picks (LaunchConfig.block, 1..1024), so each must
//    fit in 64 registers per thread (65536 per block). The float64-state Adam and RMSProp took 70 and 68 without
//    help, and a launch of 1024 threads would have failed on a GPU with CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES (never
//    on the CPU emulator); they are declared OPTLAB_ANY_BLOCK = __launch_bounds__(1024), which caps them at 64
//    (ptxas -v, sm_90: 64 registers, a few bytes of spills). The others fit without a bound (36..58).
#define OPTLAB_ANY_BLOCK __launch_bounds__(1024)

__device__ __forceinline__ float rn_mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double rn_mul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float rn_add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double rn_add(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ float rn_sub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ double rn_sub(double a, double b) { return __dsub_rn(a, b); }
__device__ __forceinline__ float rn_div(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ double rn_div(double a, double b) { return __ddiv_rn(a, b); }
__device__ __forceinline__ float rn_sqrt(float a) { return __fsqrt_rn(a); }
__device__ __forceinline__ double rn_sqrt(double a) { return __dsqrt_rn(a); }

// q/den with 0/0 defined as 0 (NOTE [zero-over-zero] in optlab.optim.WeightDecay: with eps = 0 a
// coordinate whose gradient was always exactly zero has m = v = 0; 0 is the eps -> 0 limit of its step).
template <typename S>
__device__ __forceinline__ S quotient(S q, S den) {
    return (q == S(0) && den == S(0)) ? S(0) : rn_div(q, den);
}

// Weight-decay modes, as optlab.optim.Numerics.WeightDecayMode#code.
#define WD_NONE 0
#define WD_L2 1
#define WD_DECOUPLED 2
#define WD_PROXIMAL 3

template <typename S>
__device__ __forceinline__ S wd_gradient(S g, S x, int mode, S l2) {
    return mode == WD_L2 ? rn_add(g, rn_mul(l2, x)) : g;
}

template <typename S>
__device__ __forceinline__ S wd_apply(S x, S u, int mode, S factor) {
    if (mode == WD_DECOUPLED) return rn_sub(rn_mul(x, factor), u);
    if (mode == WD_PROXIMAL) return rn_div(rn_sub(x, u), factor);
    return rn_sub(x, u);
}

__device__ __forceinline__ bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

__device__ __forceinline__ void load4(const float* p, float v[4]) {
    float4 q = *reinterpret_cast<const float4*>(p);
    v[0] = q.x; v[1] = q.y; v[2] = q.z; v[3] = q.w;
}
__device__ __forceinline__ void store4(float* p, const float v[4]) {
    *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
}
__device__ __forceinline__ void load4(const double* p, double v[4]) {
    double2 a = reinterpret_cast<const double2*>(p)[0], b = reinterpret_cast<const double2*>(p)[1];
    v[0] = a.x; v[1] = a.y; v[2] = b.x; v[3] = b.y;
}
__device__ __forceinline__ void store4(double* p, const double v[4]) {
    reinterpret_cast<double2*>(p)[0] = make_double2(v[0], v[1]);
    reinterpret_cast<double2*>(p)[1] = make_double2(v[2], v[3]);
}

// The fused loop (see 3. above). Op: void operator()(float& x, float g, S& s0, S& s1) const; state
// operands beyond K are null and never touched.
template <int K, typename S, typename Op>
__device__ __forceinline__ void fused_update(int n_, float* __restrict__ x, const float* __restrict__ g,
                                             S* __restrict__ st0, S* __restrict__ st1, const Op& op) {
    const long long n = n_;
    const long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    const long long stride = (long long)blockDim.x * gridDim.x;
    auto one = [&](long long i) {
        float xi = x[i];
        S a = K > 0 ? st0[i] : S(0), b = K > 1 ? st1[i] : S(0);
        op(xi, g[i], a, b);
        x[i] = xi;
        if (K > 0) st0[i] = a;
        if (K > 1) st1[i] = b;
    };
    long long head = (long long)(((16 - (reinterpret_cast<uintptr_t>(x) & 15)) & 15) / sizeof(float));
    if (head > n) head = n;
    bool vec = (reinterpret_cast<uintptr_t>(x) & 3) == 0 && aligned16(g + head)
            && (K < 1 || aligned16(st0 + head)) && (K < 2 || aligned16(st1 + head));
    if (!vec) {
        for (long long i = tid; i < n; i += stride) one(i);
        return;
    }
    const long long nvec = (n - head) / 4, tail = head + 4 * nvec;
    for (long long i = tid; i < head; i += stride) one(i);
    for (long long i = tail + tid; i < n; i += stride) one(i);
    for (long long k = tid; k < nvec; k += stride) {
        const long long i = head + 4 * k;
        float xv[4], gv[4];
        S a[4] = {S(0), S(0), S(0), S(0)}, b[4] = {S(0), S(0), S(0), S(0)};
        load4(x + i, xv);
        load4(g + i, gv);
        if (K > 0) load4(st0 + i, a);
        if (K > 1) load4(st1 + i, b);
#pragma unroll
        for (int j = 0; j < 4; j++) op(xv[j], gv[j], a[j], b[j]);
        store4(x + i, xv);
        if (K > 0) store4(st0 + i, a);
        if (K > 1) store4(st1 + i, b);
    }
}

// The update kernels' loop (see 5. above). Op: float operator()(float xOld, float g, S s0, S s1) const; state
// operands beyond K are null and never read.
template <int K, typename S, typename Op>
__device__ __forceinline__ void fused_map(int n_, float* __restrict__ out, const float* __restrict__ xOld, const float* __restrict__ g,
                                          const S* __restrict__ st0, const S* __restrict__ st1, const Op& op) {
    const long long n = n_;
    const long long stride = (long long)blockDim.x * gridDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        out[i] = op(xOld[i], g[i], K > 0 ? st0[i] : S(0), K > 1 ? st1[i] : S(0));
    }
}
