// optim_adam.cu: fused Adam / NAdam update over one parameter group of the flat arena, covering Choi
// et al.'s (TensorFlow 1) Adam and NAdam, Zhuang et al.'s Adam-L2, AdamW and AdamProx, and PyTorch's
// Adam and AdamW: they differ only in the host's scalars (optlab.optim.Presets).
//
// Math, per element i (the host folds the bias corrections c1 = 1 - beta1^t, c2 = 1 - beta2^t into
// step and d; see optlab.optim.Adam#args):
//   g <- g + lambda*x                                   (L2 mode only: Adam-L2)
//   m <- beta1*m + (1 - beta1)*g
//   v <- beta2*v + (1 - beta2)*(g*g)
//   num = m                       (nadam = 0)   or   beta1*m + (1 - beta1)*g   (nadam = 1)
//   den = sqrt(v)/d + eps         (epsInside = 0: d = 1 for TF1's eps on the uncorrected sqrt(v), with
//                                  sqrt(c2) in step; d = sqrt(c2) for PyTorch/Zhuang's eps after correction)
//   den = sqrt(v/d + eps)         (epsInside = 1: d = c2)
//   u = (step*num)/den                  0/0 taken as 0 (quotient in optim_common.cuh; NOTE [zero-over-zero])
//   x <- x - u | x*(1 - d') - u (AdamW) | (x - u)/(1 + d') (AdamProx)     d' = lambda*eta_t or lambda*lr_t
// 1 - beta1 and 1 - beta2 arrive precomputed in double and rounded once (computing 1 - 0.999f in float
// would lose 1.3e-5 of its value to cancellation).
// Java references (same operations, same order; exact arithmetic as in optim_common.cuh):
//   adam_f32                   optlab.optim.Adam#step(float x, float g, float[] m, ..., float[] v, ..., Args)
//   adam_f32_f64state          optlab.optim.Adam#step(double x, double g, double[] m, ..., double[] v, ..., Args)
//   adam_update_f32            optlab.optim.Adam#u(float xOld, float g, float m, float v, Args)
//   adam_update_f32_f64state   optlab.optim.Adam#u(double xOld, double g, double m, double v, Args), rounded to float32
//
// Update kernels (NOTE [update-probe] in optlab.optim.Optimizer; Optimizer#computeUpdate): after a step, u alone,
// from x before the step (xOld, for the L2 term), the step's g and the NEW m and v, with the step's scalars:
//   out = u = (step*num)/den     computed by AdamOp::u, the same function the step calls (so the same bits);
//                                f64state: in double, rounded to float32 once when written
// u excludes decoupled and proximal decay (the step then does x*(1 - d') - u or (x - u)/(1 + d')) and includes the
// L2 term (through g). They read 20 bytes per element and write 4 (float32 state; 28 and 4 with float64 state).
//
// Layout: x, g float32; m (exp_avg) and v (exp_avg_sq) the same range of their flat buffers, float32
// or float64 (f64state: arithmetic in double, x rounded to float32 when written). Per element the
// kernel reads 16 bytes (x, g, m, v) and writes 12 (x, m, v) in float32; 24 and 20 with float64 state.
//
// Parameters (FusedKernel CUDA contract):
//   adam_f32[_f64state]          (int n, float* x, const float* g, S* m, S* v, SCALARS)
//   adam_update_f32[_f64state]   (int n, float* out, const float* xOld, const float* g, const S* m, const S* v, SCALARS)
//   SCALARS: step, beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, d, epsInside, nadam, wdMode, wdL2, wdFactor
//            (optlab.optim.Adam.Args in order; KernelSignatureTest checks the names and their order)
//            (the update kernels take the step's list unchanged; wdFactor is unused there)
//
// Variants and launch constraints: one step kernel per state precision; grid-stride over 16-byte vectors
// (float4; double2 pairs for float64 state) with a scalar head and tail: correct for any grid and
// block size. Intended launch: 256 threads per block, enough blocks to cover n/4 (capped at a few
// waves of the SMs). The update kernels: one element per thread, grid-stride (fused_map), any grid and
// block size.
#include "optim_common.cuh"

template <typename S>
struct AdamOp {
    S step, beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, d, wdL2, wdFactor;
    bool epsInside, nadam;
    int wdMode;
    __device__ __forceinline__ void operator()(float& x, float g, S& m, S& v) const {
        S xs = (S)x;
        S grad = wd_gradient((S)g, xs, wdMode, wdL2);
        S mt = rn_add(rn_mul(beta1, m), rn_mul(oneMinusBeta1, grad));
        S vt = rn_add(rn_mul(beta2, v), rn_mul(oneMinusBeta2, rn_mul(grad, grad)));
        m = mt;
        v = vt;
        x = (float)wd_apply(xs, u(grad, mt, vt), wdMode, wdFactor);
    }
    // u = (step*num)/den from the gradient the rule saw and the new m and v (optlab.optim.Adam#u): the step above
    // and AdamUpdateOp both call it.
    __device__ __forceinline__ S u(S grad, S mt, S vt) const {
        S num = nadam ? rn_add(rn_mul(beta1, mt), rn_mul(oneMinusBeta1, grad)) : mt;
        S den = epsInside ? rn_sqrt(rn_add(rn_div(vt, d), eps)) : rn_add(rn_div(rn_sqrt(vt), d), eps);
        return quotient(rn_mul(step, num), den);
    }
};

// The u of the step just taken (optlab.optim.Adam#u), for fused_map.
template <typename S>
struct AdamUpdateOp {
    AdamOp<S> adam;
    __device__ __forceinline__ float operator()(float xOld, float g, S m, S v) const {
        S grad = wd_gradient((S)g, (S)xOld, adam.wdMode, adam.wdL2);
        return (float)adam.u(grad, m, v);
    }
};

extern "C" __global__ void adam_f32(int n, float* x, const float* g, float* m, float* v, double step, double beta1,
                                    double oneMinusBeta1, double beta2, double oneMinusBeta2, double eps, double d,
                                    double epsInside, double nadam, double wdMode, double wdL2, double wdFactor) {
    AdamOp<float> op{(float)step, (float)beta1, (float)oneMinusBeta1, (float)beta2, (float)oneMinusBeta2, (float)eps, (float)d,
                     (float)wdL2, (float)wdFactor, epsInside != 0, nadam != 0, (int)wdMode};
    fused_update<2, float>(n, x, g, m, v, op);
}

extern "C" __global__ void OPTLAB_ANY_BLOCK adam_f32_f64state(int n, float* x, const float* g, double* m, double* v, double step, double beta1,
                                             double oneMinusBeta1, double beta2, double oneMinusBeta2, double eps, double d,
                                             double epsInside, double nadam, double wdMode, double wdL2, double wdFactor) {
    AdamOp<double> op{step, beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, d, wdL2, wdFactor, epsInside != 0, nadam != 0,
                      (int)wdMode};
    fused_update<2, double>(n, x, g, m, v, op);
}

extern "C" __global__ void adam_update_f32(int n, float* out, const float* xOld, const float* g, const float* m, const float* v,
                                           double step, double beta1, double oneMinusBeta1, double beta2, double oneMinusBeta2,
                                           double eps, double d, double epsInside, double nadam, double wdMode, double wdL2,
                                           double wdFactor) {
    AdamUpdateOp<float> op{{(float)step, (float)beta1, (float)oneMinusBeta1, (float)beta2, (float)oneMinusBeta2, (float)eps,
                            (float)d, (float)wdL2, (float)wdFactor, epsInside != 0, nadam != 0, (int)wdMode}};
    fused_map<2, float>(n, out, xOld, g, m, v, op);
}

extern "C" __global__ void adam_update_f32_f64state(int n, float* out, const float* xOld, const float* g, const double* m,
                                                    const double* v, double step, double beta1, double oneMinusBeta1, double beta2,
                                                    double oneMinusBeta2, double eps, double d, double epsInside, double nadam,
                                                    double wdMode, double wdL2, double wdFactor) {
    AdamUpdateOp<double> op{{step, beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, d, wdL2, wdFactor, epsInside != 0, nadam != 0,
                             (int)wdMode}};
    fused_map<2, double>(n, out, xOld, g, m, v, op);
}
