// loss.cu: softmax cross-entropy with label smoothing, forward and backward.
//
// Math (reference: RefLoss; contract: Backend#softmaxCrossEntropyForward / Backward):
//   logits, probs, dLogits are (n, classes); labels (int32), loss, dLoss are (n).
//   log p_ij = z_ij - lse_i with lse_i = max_i + log sum_j exp(z_ij - max_i)   (stable: the row max subtracted)
//   q_ij = (1 - smoothing) [j == label_i] + smoothing / classes
//   forward:  loss_i = -sum_j q_ij log p_ij;  probs_ij = p_ij
//   backward: dz_ij = dLoss_i * (p_ij - q_ij)
// The row statistics (max, sum of exps, lse, the loss sum) are computed in double, as in the reference; the
// outputs are rounded to float once.
//
// Label check: a label outside [0, classes) is recorded in *badFlag with atomicMin(position) (the host resets
// the flag to INT_MAX before the launch and reads it after, then throws an error naming the label and its
// position, as the reference does); the row's outputs are then written as NaN.
//
// Kernels and launch constraints:
//   sce_fwd_f32   one BLOCK per row, grid-stride over rows; threads stride over classes and combine with
//                 block_reduce: any blockDim.x, blockDim.x * 8 bytes of dynamic shared memory.
//   sce_bwd_f32   one thread per element of dLogits, grid-stride: any grid and block size.
#include "common.cuh"

extern "C" __global__ void sce_fwd_f32(int n, int classes, const float* z, const int* labels, double smoothing,
                                       float* loss, float* probs, int* badFlag) {
    SHARED_SCRATCH(double, smem);
    for (int i = blockIdx.x; i < n; i += gridDim.x) {
        const float* row = z + (long long)i * classes;
        float* prow = probs + (long long)i * classes;
        const int label = labels[i];
        if (label < 0 || label >= classes) {
            if (threadIdx.x == 0) {
                report_bad_index(badFlag, i);
                loss[i] = __int_as_float(0x7fc00000);
            }
            BLOCK_STRIDE(j, classes) prow[j] = __int_as_float(0x7fc00000);
            continue;  // uniform across the block: label is the same for every thread
        }
        double mx = -INFINITY;
        BLOCK_STRIDE(j, classes) mx = fmax(mx, (double)row[j]);
        mx = block_reduce(mx, smem, MaxOp());
        double se = 0.0;
        BLOCK_STRIDE(j, classes) se += exp((double)row[j] - mx);
        const double lse = mx + log(block_reduce(se, smem, SumOp()));
        const double off = smoothing / classes;
        double l = 0.0;
        BLOCK_STRIDE(j, classes) {
            const double logp = (double)row[j] - lse;
            const double q = (j == label ? 1.0 - smoothing : 0.0) + off;
            l -= q * logp;
            prow[j] = (float)exp(logp);
        }
        l = block_reduce(l, smem, SumOp());
        if (threadIdx.x == 0) loss[i] = (float)l;
    }
}

extern "C" __global__ void sce_bwd_f32(int n, int classes, const float* probs, const int* labels, double smoothing,
                                       const float* dLoss, float* dz, int* badFlag) {
    const long long total = (long long)n * classes;
    const double off = smoothing / classes;
    GRID_STRIDE(e, total) {
        const int i = (int)(e / classes), j = (int)(e % classes);
        const int label = labels[i];
        if (label < 0 || label >= classes) {
            report_bad_index(badFlag, i);
            dz[e] = __int_as_float(0x7fc00000);
            continue;
        }
        const double q = (j == label ? 1.0 - smoothing : 0.0) + off;
        dz[e] = (float)((double)dLoss[i] * ((double)probs[e] - q));
    }
}
