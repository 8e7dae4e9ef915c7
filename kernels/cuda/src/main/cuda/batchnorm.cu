// batchnorm.cu: batch normalization over channels, training forward, inference forward, backward.
//
// Math (reference: RefBatchNorm; contract: Backend#batchNormForwardTraining / Inference / Backward):
//   x, y, dy, dx are (n, c, hw); gamma, beta, statistics are (c); channel ch has m = n*hw values.
//   training:  mu = mean(x_ch), var = mean((x_ch - mu)^2) (biased, two passes), invStd = 1/sqrt(var + eps)
//              y = gamma*(x - mu)*invStd + beta;  saveMean = mu, saveInvStd = invStd
//              running (if given): rm = (1-momentum)*rm + momentum*mu, rv = (1-momentum)*rv + momentum*var*m/(m-1)
//   inference: y = gamma*(x - rm)/sqrt(rv + eps) + beta
//   backward:  xhat = (x - mu)*invStd; dbeta = sum dy; dgamma = sum dy*xhat;
//              dx = gamma*invStd/m * (m*dy - dbeta - xhat*dgamma)
// Epilogue (Backend's NOTE [bn-epilogue]), fused into these kernels' element passes:
//   forward   y = act(bn + z): z may be null (no add); relu != 0 applies elementwise.cu's RELU (NaN kept)
//   backward  g = relu ? (y > 0 ? dy : 0) : dy (elementwise.cu's RELU_BACKWARD on y); dz = g when dz is not null;
//             then the backward above on g
// The same float operations as the unfused kernels, in the same order, so the same bits. The family's ABI
// (KernelChoices' batchnorm) is the plain batch norm: the backend runs the epilogue around a user's kernel (and
// cuDNN's) as elementwise kernels. Each kernel is a __device__ body (bn_fwd_train, bn_fwd_infer, bn_bwd) under its
// entry point; user_examples.cu defines OPTLAB_BN_BODIES_ONLY and wraps the bodies in the plain ABI.
// Statistics accumulate in double (as cpu/CpuBatchNorm), then the per-element pass runs in float with the
// per-channel scale and shift computed in double and rounded once.
//
// Kernels and launch constraints:
//   bn_fwd_train_f32, bn_bwd_f32   one BLOCK per channel, grid-stride over channels; the block's threads stride
//                                  over the channel's m values (row by row of hw) and combine with block_reduce
//                                  (common.cuh): any blockDim.x, with blockDim.x * 8 bytes of dynamic shared
//                                  memory. A channel is read 3 times (forward) / 2 times (backward).
//                                  Parallelism is c blocks: fine for c >= 16 at the papers' sizes; a split
//                                  reduction for few, huge channels is a known TODO.
//   bn_fwd_infer_f32               one thread per element, grid-stride: any grid and block size.
//   runningMean/runningVar may be null (0): then they are neither read nor written.
#include "common.cuh"

// Element j of channel ch's m values: image j / hw, position j % hw.
__device__ __forceinline__ long long bn_at(int c, int hw, int ch, long long j) {
    return ((j / hw) * c + ch) * (long long)hw + j % hw;
}

// The forward's epilogue on batch norm's float output v at element at.
__device__ __forceinline__ float bn_epilogue(float v, const float* z, int relu, long long at) {
    if (z != nullptr) v = v + z[at];
    return relu && !(v > 0.0f || v != v) ? 0.0f : v;
}

// The gradient reaching batch norm's output at element at.
__device__ __forceinline__ float bn_grad(const float* dy, const float* y, int relu, long long at) {
    return relu && !(y[at] > 0.0f) ? 0.0f : dy[at];
}

__device__ __forceinline__ void bn_fwd_train(int n, int c, int hw, const float* x, const float* gamma, const float* beta,
                                            double eps, double momentum, float* runningMean, float* runningVar,
                                            float* y, float* saveMean, float* saveInvStd, const float* z, int relu) {
    SHARED_SCRATCH(double, smem);
    const long long m = (long long)n * hw;
    for (int ch = blockIdx.x; ch < c; ch += gridDim.x) {
        double s = 0.0;
        BLOCK_STRIDE(j, m) s += (double)x[bn_at(c, hw, ch, j)];
        const double mean = block_reduce(s, smem, SumOp()) / (double)m;
        double sq = 0.0;
        BLOCK_STRIDE(j, m) {
            const double d = (double)x[bn_at(c, hw, ch, j)] - mean;
            sq += d * d;
        }
        const double var = block_reduce(sq, smem, SumOp()) / (double)m;
        const double invStd = 1.0 / sqrt(var + eps);
        const float scale = (float)(gamma[ch] * invStd);
        const float shift = (float)(beta[ch] - mean * gamma[ch] * invStd);
        BLOCK_STRIDE(j, m) {
            const long long at = bn_at(c, hw, ch, j);
            const float v = x[at] * scale + shift;
            y[at] = bn_epilogue(v, z, relu, at);
        }
        if (threadIdx.x == 0) {
            saveMean[ch] = (float)mean;
            saveInvStd[ch] = (float)invStd;
            if (runningMean != nullptr) {
                runningMean[ch] = (float)((1.0 - momentum) * runningMean[ch] + momentum * mean);
                runningVar[ch] = (float)((1.0 - momentum) * runningVar[ch] + momentum * var * (double)m / (double)(m - 1));
            }
        }
    }
}

__device__ __forceinline__ void bn_fwd_infer(int n, int c, int hw, const float* x, const float* gamma, const float* beta,
                                            const float* runningMean, const float* runningVar, double eps, float* y,
                                            const float* z, int relu) {
    const long long total = (long long)n * c * hw;
    GRID_STRIDE(e, total) {
        const int ch = (int)((e / hw) % c);
        const double invStd = 1.0 / sqrt((double)runningVar[ch] + eps);
        const float scale = (float)(gamma[ch] * invStd);
        const float shift = (float)(beta[ch] - runningMean[ch] * gamma[ch] * invStd);
        const float v = x[e] * scale + shift;
        y[e] = bn_epilogue(v, z, relu, e);
    }
}

__device__ __forceinline__ void bn_bwd(int n, int c, int hw, const float* x, const float* dy, const float* gamma,
                                      const float* saveMean, const float* saveInvStd,
                                      float* dx, float* dgamma, float* dbeta, const float* y, int relu, float* dz) {
    SHARED_SCRATCH(double, smem);
    const long long m = (long long)n * hw;
    for (int ch = blockIdx.x; ch < c; ch += gridDim.x) {
        const double mean = saveMean[ch], invStd = saveInvStd[ch];
        double sdy = 0.0, sdyx = 0.0;
        BLOCK_STRIDE(j, m) {
            const long long at = bn_at(c, hw, ch, j);
            const float gf = bn_grad(dy, y, relu, at);
            if (dz != nullptr) dz[at] = gf;
            const double g = gf;
            sdy += g;
            sdyx += g * ((double)x[at] - mean) * invStd;
        }
        const double sumDy = block_reduce(sdy, smem, SumOp());
        const double sumDyXhat = block_reduce(sdyx, smem, SumOp());
        const double scale = gamma[ch] * invStd / (double)m;
        // dx = scale * (m*dy - sumDy - xhat*sumDyXhat), in float with double-rounded coefficients
        const float a = (float)(scale * (double)m), b = (float)(-scale * sumDy), cx = (float)(scale * sumDyXhat * invStd);
        const float mf = (float)mean;
        BLOCK_STRIDE(j, m) {
            const long long at = bn_at(c, hw, ch, j);
            dx[at] = a * bn_grad(dy, y, relu, at) + b - cx * (x[at] - mf);
        }
        if (threadIdx.x == 0) {
            dbeta[ch] = (float)sumDy;
            dgamma[ch] = (float)sumDyXhat;
        }
    }
}

#ifndef OPTLAB_BN_BODIES_ONLY
extern "C" __global__ void bn_fwd_train_f32(int n, int c, int hw, const float* x, const float* gamma, const float* beta,
                                            double eps, double momentum, float* runningMean, float* runningVar,
                                            float* y, float* saveMean, float* saveInvStd, const float* z, int relu) {
    bn_fwd_train(n, c, hw, x, gamma, beta, eps, momentum, runningMean, runningVar, y, saveMean, saveInvStd, z, relu);
}

extern "C" __global__ void bn_fwd_infer_f32(int n, int c, int hw, const float* x, const float* gamma, const float* beta,
                                            const float* runningMean, const float* runningVar, double eps, float* y,
                                            const float* z, int relu) {
    bn_fwd_infer(n, c, hw, x, gamma, beta, runningMean, runningVar, eps, y, z, relu);
}

extern "C" __global__ void bn_bwd_f32(int n, int c, int hw, const float* x, const float* dy, const float* gamma,
                                      const float* saveMean, const float* saveInvStd,
                                      float* dx, float* dgamma, float* dbeta, const float* y, int relu, float* dz) {
    bn_bwd(n, c, hw, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, y, relu, dz);
}
#endif
