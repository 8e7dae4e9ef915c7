// optim_rmsprop.cu: fused RMSProp update over one parameter group of the flat arena.
//
// Math (Choi et al. 2019, Table 1, TensorFlow 1 form; PAPERS.md section 1.2), per element i:
//   g <- g + lambda*x                                   (L2 mode only)
//   v <- rho*v + (1 - rho)*(g*g)                         v_0 is set by the host (TF: 1, PyTorch: 0)
//   den = sqrt(v + eps)        (epsInside = 1: TF)   or   sqrt(v) + eps   (epsInside = 0: PyTorch)
//   m <- gamma*m + (lr_t*g)/den                          the learning rate lives inside m; 0/0 = 0 (quotient)
//   x <- wd_apply(x, m)                                  x - m | x*(1-d) - m | (x - m)/(1+d)
// 1 - rho arrives precomputed in double (the host's choice, as for Adam's 1 - beta).
// Java references (same operations, same order; exact arithmetic as in optim_common.cuh):
//   rmsprop_f32            optlab.optim.RmsProp#step(float x, float g, float[] v, ..., float[] m, ..., Args)
//   rmsprop_f32_f64state   optlab.optim.RmsProp#step(double x, double g, double[] v, ..., double[] m, ..., Args)
//   rmsprop_update_f32[_f64state]   optlab.optim.RmsProp#u (float, resp. double)
//
// Update kernels (NOTE [update-probe] in optlab.optim.Optimizer; Optimizer#computeUpdate): after a step, u alone:
// u is the new m (the step subtracts m itself from x; lr_t lives inside m), so out = m (f64state: rounded to float32
// once). They take the step's operands and scalars for the common contract and read only m.
//
// Layout: x, g float32; v (square_avg) and m (momentum_buffer) the same range of their flat buffers,
// float32 or float64 (f64state: arithmetic in double, x rounded to float32 when written).
//
// Parameters (FusedKernel CUDA contract):
//   rmsprop_f32[_f64state]          (int n, float* x, const float* g, S* v, S* m, SCALARS)
//   rmsprop_update_f32[_f64state]   (int n, float* out, const float* xOld, const float* g, const S* v, const S* m, SCALARS)
//   SCALARS: lr, gamma, rho, oneMinusRho, eps, epsInside, wdMode, wdL2, wdFactor   (optlab.optim.RmsProp.Args, in order;
//            lr is lr_t; KernelSignatureTest checks the names and their order)
//
// Variants and launch constraints: as optim_sgd.cu (grid-stride over 16-byte vectors with scalar head
// and tail; any grid and block size is correct); the update kernels one element per thread, grid-stride
// (fused_map), any grid and block size.
#include "optim_common.cuh"

template <typename S>
struct RmsPropOp {
    S lr, gamma, rho, oneMinusRho, eps, wdL2, wdFactor;
    bool epsInside;
    int wdMode;
    __device__ __forceinline__ void operator()(float& x, float g, S& v, S& m) const {
        S xs = (S)x;
        S grad = wd_gradient((S)g, xs, wdMode, wdL2);
        S vt = rn_add(rn_mul(rho, v), rn_mul(oneMinusRho, rn_mul(grad, grad)));
        S den = epsInside ? rn_sqrt(rn_add(vt, eps)) : rn_add(rn_sqrt(vt), eps);
        S mt = rn_add(rn_mul(gamma, m), quotient(rn_mul(lr, grad), den));
        v = vt;
        m = mt;
        x = (float)wd_apply(xs, mt, wdMode, wdFactor);
    }
};

extern "C" __global__ void rmsprop_f32(int n, float* x, const float* g, float* v, float* m, double lr, double gamma, double rho,
                                       double oneMinusRho, double eps, double epsInside, double wdMode, double wdL2, double wdFactor) {
    RmsPropOp<float> op{(float)lr, (float)gamma, (float)rho, (float)oneMinusRho, (float)eps, (float)wdL2, (float)wdFactor,
                        epsInside != 0, (int)wdMode};
    fused_update<2, float>(n, x, g, v, m, op);
}

extern "C" __global__ void OPTLAB_ANY_BLOCK rmsprop_f32_f64state(int n, float* x, const float* g, double* v, double* m, double lr, double gamma,
                                                double rho, double oneMinusRho, double eps, double epsInside, double wdMode,
                                                double wdL2, double wdFactor) {
    RmsPropOp<double> op{lr, gamma, rho, oneMinusRho, eps, wdL2, wdFactor, epsInside != 0, (int)wdMode};
    fused_update<2, double>(n, x, g, v, m, op);
}

// u = the new m (optlab.optim.RmsProp#u), for fused_map.
template <typename S>
struct RmsPropUpdateOp {
    __device__ __forceinline__ float operator()(float, float, S, S m) const { return (float)m; }
};

extern "C" __global__ void rmsprop_update_f32(int n, float* out, const float* xOld, const float* g, const float* v, const float* m,
                                              double lr, double gamma, double rho, double oneMinusRho, double eps, double epsInside,
                                              double wdMode, double wdL2, double wdFactor) {
    fused_map<2, float>(n, out, xOld, g, v, m, RmsPropUpdateOp<float>{});
}

extern "C" __global__ void rmsprop_update_f32_f64state(int n, float* out, const float* xOld, const float* g, const double* v,
                                                       const double* m, double lr, double gamma, double rho, double oneMinusRho,
                                                       double eps, double epsInside, double wdMode, double wdL2, double wdFactor) {
    fused_map<2, double>(n, out, xOld, g, v, m, RmsPropUpdateOp<double>{});
}
