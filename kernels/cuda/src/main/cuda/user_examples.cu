// user_examples.cu: worked examples of the compiled user-kernel ABIs (KernelChoices#abi, docs/KERNELS.md "A compiled
// kernel on CUDA"), one per op family that names its functions by a prefix. The engine never launches them on its own:
// the GPU-tagged tests (CudaUserKernelsTest in kernels and nn) bind this file's fatbin as user kernels, run the
// conformance kit on them and put them into a model's training step in place of the built-in kernels.
//
//   pool2d=user:FILE:example_pool                 pool.cu's kernels, included below under the ABI's names
//   batchnorm=user:FILE:example_bn                batchnorm.cu's kernel bodies, without their fused epilogue
//   softmax_cross_entropy=user:FILE:example_sce   loss.cu's kernels, likewise
//   embedding=user:FILE:example_embedding         embedding.cu's kernels, likewise
//   conv2d=user:FILE:example_conv                 a direct convolution (below; the own one is im2col + GEMM, run by
//                                                 the host), accumulating in double
//   lstm=user:FILE:example_lstm                   a whole LSTM layer in one block (below)
//   binary.<op>=user:elementwise.fatbin:binary_f32  (no example here: elementwise.cu's kernel is the ABI as it is)
//
// For pool2d, batchnorm, softmax_cross_entropy and embedding the ABI is the own kernels' signatures and launches
// (batchnorm's without the epilogue arguments, which the own kernels fuse and a user's kernel leaves to the backend), so
// the own source is where a user starts, and the tests assert the examples' results equal to the built-in ones to the
// bit. Every kernel here follows common.cuh's conventions (pointers advanced to the operand's offset, 64-bit loop
// indices); the 1-D kernels are grid-stride (any grid and block), the LSTM's run in one block of any size.
#include "common.cuh"

#define maxpool_fwd_f32 example_pool_max_forward
#define maxpool_bwd_f32 example_pool_max_backward
#define avgpool_fwd_f32 example_pool_avg_forward
#define avgpool_bwd_f32 example_pool_avg_backward
#include "pool.cu"

// batchnorm's ABI is the plain batch norm (the backend runs a user kernel's epilogue as elementwise ops): the own
// kernels' bodies with no epilogue
#define OPTLAB_BN_BODIES_ONLY
#include "batchnorm.cu"

extern "C" __global__ void example_bn_forward_training(int n, int c, int hw, const float* x, const float* gamma, const float* beta,
                                                       double eps, double momentum, float* runningMean, float* runningVar,
                                                       float* y, float* saveMean, float* saveInvStd) {
    bn_fwd_train(n, c, hw, x, gamma, beta, eps, momentum, runningMean, runningVar, y, saveMean, saveInvStd, nullptr, 0);
}

extern "C" __global__ void example_bn_forward_inference(int n, int c, int hw, const float* x, const float* gamma, const float* beta,
                                                        const float* runningMean, const float* runningVar, double eps, float* y) {
    bn_fwd_infer(n, c, hw, x, gamma, beta, runningMean, runningVar, eps, y, nullptr, 0);
}

extern "C" __global__ void example_bn_backward(int n, int c, int hw, const float* x, const float* dy, const float* gamma,
                                               const float* saveMean, const float* saveInvStd, float* dx, float* dgamma,
                                               float* dbeta) {
    bn_bwd(n, c, hw, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, nullptr, 0, nullptr);
}

#define sce_fwd_f32 example_sce_forward
#define sce_bwd_f32 example_sce_backward
#include "loss.cu"

#define embedding_fwd_f32 example_embedding_forward
#define embedding_bwd_grouped_f32 example_embedding_backward
#include "embedding.cu"

// ------------------------------------------------------------------------------------------------------
// conv2d: direct convolution, one thread per output element (y, dx or dw), sums in double
// ------------------------------------------------------------------------------------------------------

// conv.cu's geometry (CudaConv#geometry packs it): x (n, c, h, w), w (k, c, r, s), y (n, k, p, q).
struct ExampleConvGeom {
    int n, c, h, w, k, r, s, strideH, strideW, padH, padW, p, q;
};

__device__ __forceinline__ long long example_x_at(const ExampleConvGeom& g, long long img, int ci, int ih, int iw) {
    return ((img * g.c + ci) * g.h + ih) * g.w + iw;
}
__device__ __forceinline__ long long example_w_at(const ExampleConvGeom& g, int ko, int ci, int fr, int fs) {
    return (((long long)ko * g.c + ci) * g.r + fr) * g.s + fs;
}
__device__ __forceinline__ long long example_y_at(const ExampleConvGeom& g, long long img, int ko, int op, int oq) {
    return ((img * g.k + ko) * g.p + op) * g.q + oq;
}

extern "C" __global__ void example_conv_forward(ExampleConvGeom g, const float* x, const float* w, float* y) {
    const long long total = (long long)g.n * g.k * g.p * g.q;
    GRID_STRIDE(e, total) {
        const int oq = (int)(e % g.q), op = (int)((e / g.q) % g.p), ko = (int)((e / ((long long)g.q * g.p)) % g.k);
        const long long img = e / ((long long)g.q * g.p * g.k);
        double acc = 0.0;
        for (int ci = 0; ci < g.c; ci++)
            for (int fr = 0; fr < g.r; fr++) {
                const int ih = op * g.strideH - g.padH + fr;
                if (ih < 0 || ih >= g.h) continue;
                for (int fs = 0; fs < g.s; fs++) {
                    const int iw = oq * g.strideW - g.padW + fs;
                    if (iw >= 0 && iw < g.w) acc += (double)x[example_x_at(g, img, ci, ih, iw)] * w[example_w_at(g, ko, ci, fr, fs)];
                }
            }
        y[e] = (float)acc;
    }
}

// dx[img][ci][ih][iw] = sum over the (ko, tap) whose window reads it of dy * w (a gather: no atomics).
extern "C" __global__ void example_conv_backward_data(ExampleConvGeom g, const float* dy, const float* w, float* dx) {
    const long long total = (long long)g.n * g.c * g.h * g.w;
    GRID_STRIDE(e, total) {
        const int iw = (int)(e % g.w), ih = (int)((e / g.w) % g.h), ci = (int)((e / ((long long)g.w * g.h)) % g.c);
        const long long img = e / ((long long)g.w * g.h * g.c);
        double acc = 0.0;
        for (int fr = 0; fr < g.r; fr++) {
            const int t = ih + g.padH - fr;  // = op * strideH
            if (t < 0 || t % g.strideH != 0 || t / g.strideH >= g.p) continue;
            for (int fs = 0; fs < g.s; fs++) {
                const int u = iw + g.padW - fs;  // = oq * strideW
                if (u < 0 || u % g.strideW != 0 || u / g.strideW >= g.q) continue;
                for (int ko = 0; ko < g.k; ko++)
                    acc += (double)dy[example_y_at(g, img, ko, t / g.strideH, u / g.strideW)] * w[example_w_at(g, ko, ci, fr, fs)];
            }
        }
        dx[e] = (float)acc;
    }
}

// dw[ko][ci][fr][fs] = sum over images and output positions of dy * the input the tap read.
extern "C" __global__ void example_conv_backward_filter(ExampleConvGeom g, const float* x, const float* dy, float* dw) {
    const long long total = (long long)g.k * g.c * g.r * g.s;
    GRID_STRIDE(e, total) {
        const int fs = (int)(e % g.s), fr = (int)((e / g.s) % g.r), ci = (int)((e / ((long long)g.s * g.r)) % g.c);
        const int ko = (int)(e / ((long long)g.s * g.r * g.c));
        double acc = 0.0;
        for (long long img = 0; img < g.n; img++)
            for (int op = 0; op < g.p; op++) {
                const int ih = op * g.strideH - g.padH + fr;
                if (ih < 0 || ih >= g.h) continue;
                for (int oq = 0; oq < g.q; oq++) {
                    const int iw = oq * g.strideW - g.padW + fs;
                    if (iw >= 0 && iw < g.w) acc += (double)dy[example_y_at(g, img, ko, op, oq)] * x[example_x_at(g, img, ci, ih, iw)];
                }
            }
        dw[e] = (float)acc;
    }
}

// ------------------------------------------------------------------------------------------------------
// lstm: one layer over the whole sequence in ONE block (the ABI's launch), steps separated by __syncthreads
// ------------------------------------------------------------------------------------------------------
// Math: Backend#lstmSequenceForward/Backward (reference RefLstm), the cell of lstm.cu in float; the gate
// pre-activations and every matrix product are summed in double. The reserve has LstmSteps' layout: the activated
// gates of every step (t, n, 4h), then the cell states (t, n, h). The backward turns it into scratch (the ABI allows
// it): step s overwrites its gates with their gradients dGates_s and its cell state with dc_{s-1}, so the weight
// gradients are sums over the reserve once the steps are done. Null optional operands read as zero / are skipped.

struct ExampleLstmGeom {
    int t, n, input, hidden;
};

__device__ __forceinline__ float example_sigmoid(float v) { return 1.0f / (1.0f + expf(-v)); }

extern "C" __global__ void example_lstm_forward(ExampleLstmGeom g, const float* x, const float* h0, const float* c0,
                                                const float* wIh, const float* wHh, const float* bIh, const float* bHh,
                                                float* y, float* hT, float* cT, float* reserve) {
    const int hid = g.hidden, g4 = 4 * hid, in = g.input;
    const long long nh = (long long)g.n * hid;
    float* acts = reserve;
    float* cells = reserve + (long long)g.t * g.n * g4;
    for (int s = 0; s < g.t; s++) {
        const float* hPrev = s > 0 ? y + (s - 1) * nh : h0;
        const float* xs = x + (long long)s * g.n * in;
        float* as = acts + (long long)s * g.n * g4;
        BLOCK_STRIDE(e, (long long)g.n * g4) {  // the activated gates of (b, r)
            const long long b = e / g4;
            const int r = (int)(e % g4);
            double v = (bIh != nullptr ? bIh[r] : 0.0) + (bHh != nullptr ? bHh[r] : 0.0);
            for (int i = 0; i < in; i++) v += (double)xs[b * in + i] * wIh[(long long)r * in + i];
            if (hPrev != nullptr)
                for (int k = 0; k < hid; k++) v += (double)hPrev[b * hid + k] * wHh[(long long)r * hid + k];
            as[e] = r / hid == 2 ? tanhf((float)v) : example_sigmoid((float)v);
        }
        __syncthreads();
        const float* cPrev = s > 0 ? cells + (s - 1) * nh : c0;
        BLOCK_STRIDE(e, nh) {  // the cell of (b, j)
            const long long row = e / hid * g4, j = e % hid;
            const float i = as[row + j], f = as[row + hid + j], gg = as[row + 2 * hid + j], o = as[row + 3 * hid + j];
            const float cell = f * (cPrev != nullptr ? cPrev[e] : 0.0f) + i * gg;
            cells[s * nh + e] = cell;
            y[s * nh + e] = o * tanhf(cell);
        }
        __syncthreads();
    }
    BLOCK_STRIDE(e, nh) {
        hT[e] = y[(g.t - 1) * nh + e];
        cT[e] = cells[(g.t - 1) * nh + e];
    }
}

extern "C" __global__ void example_lstm_backward(ExampleLstmGeom g, const float* x, const float* h0, const float* c0,
                                                 const float* wIh, const float* wHh, const float* y, float* reserve,
                                                 const float* dy, const float* dhT, const float* dcT, float* dx, float* dh0,
                                                 float* dc0, float* dwIh, float* dwHh, float* db) {
    const int hid = g.hidden, g4 = 4 * hid, in = g.input, t = g.t;
    const long long nh = (long long)g.n * hid, tn = (long long)t * g.n;
    float* acts = reserve;                   // step s: gates -> dGates_s
    float* cells = reserve + tn * g4;        // step s: c_s -> dc_{s-1}
    for (int s = t - 1; s >= 0; s--) {
        float* as = acts + (long long)s * g.n * g4;
        const float* dGnext = as + (long long)g.n * g4;  // dGates_{s+1}, when s < t-1
        BLOCK_STRIDE(e, nh) {
            const long long row = e / hid * g4, j = e % hid;
            double dhv = dy[s * nh + e];  // + the recurrent part: dhT, or dGates_{s+1} wHh
            if (s == t - 1) dhv += dhT != nullptr ? dhT[e] : 0.0f;
            else for (int r = 0; r < g4; r++) dhv += (double)dGnext[row + r] * wHh[(long long)r * hid + j];
            const float dh = (float)dhv;
            const float dcIn = s == t - 1 ? (dcT != nullptr ? dcT[e] : 0.0f) : cells[(s + 1) * nh + e];
            const float cPrev = s > 0 ? cells[(s - 1) * nh + e] : (c0 != nullptr ? c0[e] : 0.0f);
            const float i = as[row + j], f = as[row + hid + j], gg = as[row + 2 * hid + j], o = as[row + 3 * hid + j];
            const float tc = tanhf(cells[s * nh + e]);
            const float dc = dcIn + dh * o * (1.0f - tc * tc);
            as[row + j] = dc * gg * i * (1.0f - i);
            as[row + hid + j] = dc * cPrev * f * (1.0f - f);
            as[row + 2 * hid + j] = dc * i * (1.0f - gg * gg);
            as[row + 3 * hid + j] = dh * tc * o * (1.0f - o);
            cells[s * nh + e] = dc * f;
        }
        __syncthreads();
    }
    BLOCK_STRIDE(e, nh) {  // dh0 = dGates_0 wHh; dc0 = the carry out of step 0
        if (dh0 != nullptr) {
            double v = 0.0;
            for (int r = 0; r < g4; r++) v += (double)acts[e / hid * g4 + r] * wHh[(long long)r * hid + e % hid];
            dh0[e] = (float)v;
        }
        if (dc0 != nullptr) dc0[e] = cells[e];
    }
    if (dx != nullptr) {
        BLOCK_STRIDE(e, tn * in) {  // dx (t*n, in) = dGates (t*n, 4h) wIh (4h, in)
            double v = 0.0;
            for (int r = 0; r < g4; r++) v += (double)acts[e / in * g4 + r] * wIh[(long long)r * in + e % in];
            dx[e] = (float)v;
        }
    }
    BLOCK_STRIDE(e, (long long)g4 * in) {  // dwIh (4h, in) = dGates^T x
        double v = 0.0;
        for (long long sb = 0; sb < tn; sb++) v += (double)acts[sb * g4 + e / in] * x[sb * in + e % in];
        dwIh[e] = (float)v;
    }
    BLOCK_STRIDE(e, (long long)g4 * hid) {  // dwHh (4h, h) = sum_s dGates_s^T h_{s-1}, h_{-1} = h0
        double v = 0.0;
        for (int s = 0; s < t; s++) {
            const float* hp = s > 0 ? y + (s - 1) * nh : h0;
            if (hp == nullptr) continue;
            for (long long b = 0; b < g.n; b++) v += (double)acts[(s * g.n + b) * g4 + e / hid] * hp[b * hid + e % hid];
        }
        dwHh[e] = (float)v;
    }
    BLOCK_STRIDE(r, g4) {  // db = dGates summed over t*n
        double v = 0.0;
        for (long long sb = 0; sb < tn; sb++) v += acts[sb * g4 + r];
        db[r] = (float)v;
    }
}
