// optim_sgd.cu: fused SGD, Momentum and Nesterov updates over one parameter group of the flat arena.
//
// Math (Choi et al. 2019, Table 1, TensorFlow 1 form; PAPERS.md section 1.2), per element i, with the
// weight-decay modes of optim_common.cuh (L2 turns g into g + lambda*x first; decoupled and proximal
// change how x takes the step u):
//   sgd:       u = lr_t * g                                          x <- wd_apply(x, u)
//   momentum:  v <- gamma*v + g;  u = lr_t * v                        x <- wd_apply(x, u)
//   nesterov:  v <- gamma*v + g;  u = lr_t * (gamma*v + g)            (v the updated buffer)
// Java references (the spec; these kernels do the same operations in the same order, see
// optim_common.cuh on exact arithmetic):
//   sgd_f32                optlab.optim.Sgd#step(float, float, Args)
//   momentum_f32           optlab.optim.Momentum#step(float x, float g, float[] v, ..., Args)
//   momentum_f32_f64state  optlab.optim.Momentum#step(double x, double g, double[] v, ..., Args)
//   sgd_update_f32, momentum_update_f32[_f64state]   optlab.optim.Sgd#u, Momentum#u
//
// Update kernels (NOTE [update-probe] in optlab.optim.Optimizer; Optimizer#computeUpdate): after a step, u alone
// (out = u, L2 term included, decoupled/proximal decay excluded), from x before the step (for the L2 term), the
// step's g and the NEW v, with the step's scalars, through the same u function as the step; f64state computes in
// double and rounds u to float32 once.
//
// Layout: x, g float32, n elements each, contiguous (a range of the arena's values and gradients);
// v the same range of the momentum buffer, float32 or float64 (the f64state variant computes in
// double and rounds x to float32 when it writes it).
//
// Parameters (the FusedKernel CUDA contract: n, the operands in order, then every scalar as a double; the scalars are
// the components of optlab.optim.Sgd.Args and Momentum.Args in order, lr_t named lr: KernelSignatureTest checks them):
//   sgd_f32               (int n, float* x, const float* g, lr_t, wdMode, wdL2, wdFactor)
//   momentum_f32[_f64state](int n, float* x, const float* g, S* v, lr_t, gamma, nesterov, wdMode, wdL2, wdFactor)
//   sgd_update_f32        (int n, float* out, const float* xOld, const float* g, lr_t, wdMode, wdL2, wdFactor)
//   momentum_update_f32[_f64state](int n, float* out, const float* xOld, const float* g, const S* v, lr_t, gamma, nesterov,
//                         wdMode, wdL2, wdFactor)
// nesterov is 0 or 1; wdMode 0 none, 1 L2, 2 decoupled, 3 proximal (optlab.optim.WeightDecay).
//
// Variants and launch constraints: one kernel per precision; grid-stride over 16-byte vectors with a
// scalar head and tail (optim_common.cuh): correct for any grid and block size; 256 threads per block
// and a grid covering n/4 (capped at a few waves of the GPU's SMs) is the intended launch.
// The update kernels: one element per thread, grid-stride (fused_map), any grid and block size.
#include "optim_common.cuh"

struct SgdOp {
    float lr, wdL2, wdFactor;
    int wdMode;
    __device__ __forceinline__ void operator()(float& x, float g, float&, float&) const {
        float grad = wd_gradient(g, x, wdMode, wdL2);
        x = wd_apply(x, u(grad), wdMode, wdFactor);
    }
    __device__ __forceinline__ float u(float grad) const { return rn_mul(lr, grad); }   // optlab.optim.Sgd#u
};

struct SgdUpdateOp {
    SgdOp sgd;
    __device__ __forceinline__ float operator()(float xOld, float g, float, float) const {
        return sgd.u(wd_gradient(g, xOld, sgd.wdMode, sgd.wdL2));
    }
};

template <typename S>
struct MomentumOp {
    S lr, gamma, wdL2, wdFactor;
    bool nesterov;
    int wdMode;
    __device__ __forceinline__ void operator()(float& x, float g, S& v, S&) const {
        S xs = (S)x;
        S grad = wd_gradient((S)g, xs, wdMode, wdL2);
        S vt = rn_add(rn_mul(gamma, v), grad);                        // v <- gamma*v + g
        v = vt;
        x = (float)wd_apply(xs, u(grad, vt), wdMode, wdFactor);
    }
    // optlab.optim.Momentum#u: lr*v, or lr*(gamma*v + g) for Nesterov, from the new v
    __device__ __forceinline__ S u(S grad, S vt) const {
        S dir = nesterov ? rn_add(rn_mul(gamma, vt), grad) : vt;      // Nesterov looks ahead
        return rn_mul(lr, dir);
    }
};

template <typename S>
struct MomentumUpdateOp {
    MomentumOp<S> mom;
    __device__ __forceinline__ float operator()(float xOld, float g, S v, S) const {
        return (float)mom.u(wd_gradient((S)g, (S)xOld, mom.wdMode, mom.wdL2), v);
    }
};

extern "C" __global__ void sgd_f32(int n, float* x, const float* g, double lr, double wdMode, double wdL2, double wdFactor) {
    SgdOp op{(float)lr, (float)wdL2, (float)wdFactor, (int)wdMode};
    fused_update<0, float>(n, x, g, (float*)nullptr, (float*)nullptr, op);
}

extern "C" __global__ void momentum_f32(int n, float* x, const float* g, float* v, double lr, double gamma, double nesterov,
                                        double wdMode, double wdL2, double wdFactor) {
    MomentumOp<float> op{(float)lr, (float)gamma, (float)wdL2, (float)wdFactor, nesterov != 0, (int)wdMode};
    fused_update<1, float>(n, x, g, v, (float*)nullptr, op);
}

extern "C" __global__ void momentum_f32_f64state(int n, float* x, const float* g, double* v, double lr, double gamma,
                                                 double nesterov, double wdMode, double wdL2, double wdFactor) {
    MomentumOp<double> op{lr, gamma, wdL2, wdFactor, nesterov != 0, (int)wdMode};
    fused_update<1, double>(n, x, g, v, (double*)nullptr, op);
}

extern "C" __global__ void sgd_update_f32(int n, float* out, const float* xOld, const float* g, double lr, double wdMode, double wdL2,
                                          double wdFactor) {
    SgdUpdateOp op{{(float)lr, (float)wdL2, (float)wdFactor, (int)wdMode}};
    fused_map<0, float>(n, out, xOld, g, (const float*)nullptr, (const float*)nullptr, op);
}

extern "C" __global__ void momentum_update_f32(int n, float* out, const float* xOld, const float* g, const float* v, double lr,
                                               double gamma, double nesterov, double wdMode, double wdL2, double wdFactor) {
    MomentumUpdateOp<float> op{{(float)lr, (float)gamma, (float)wdL2, (float)wdFactor, nesterov != 0, (int)wdMode}};
    fused_map<1, float>(n, out, xOld, g, v, (const float*)nullptr, op);
}

extern "C" __global__ void momentum_update_f32_f64state(int n, float* out, const float* xOld, const float* g, const double* v,
                                                        double lr, double gamma, double nesterov, double wdMode, double wdL2,
                                                        double wdFactor) {
    MomentumUpdateOp<double> op{{lr, gamma, wdL2, wdFactor, nesterov != 0, (int)wdMode}};
    fused_map<1, double>(n, out, xOld, g, v, (const double*)nullptr, op);
}
