// lstm.cu: the pointwise part of an LSTM cell step (the matrix products are gemm.cu's).
//
// Math (reference: RefLstm; contract: Backend#lstmCellForward / #lstmCellBackward):
//   gates, act, dGates are (n, 4h) in PyTorch's order [i | f | g | o]; cPrev, c, h, dh, dc, dcPrev are (n, h).
//   forward:  i = sigmoid(gi), f = sigmoid(gf), g = tanh(gg), o = sigmoid(go)
//             act = (i, f, g, o);  c = f*cPrev + i*g;  h = o*tanh(c)
//   backward: tc = tanh(c); dcTotal = dc + dh*o*(1 - tc^2)   (dc may be null: zero)
//             d(gi) = dcTotal*g*i*(1-i)   d(gf) = dcTotal*cPrev*f*(1-f)   d(gg) = dcTotal*i*(1-g^2)
//             d(go) = dh*tc*o*(1-o)       dcPrev = dcTotal*f
// Arithmetic in float (expf/tanhf, <= 2 ulp); the CPU computes in double and rounds: agreement is within the
// float32 tolerance of the conformance suite.
//
// Kernels and launch constraints (one thread per (b, j) of the (n, h) state, grid-stride: any grid and block):
//   lstm_fwd_f32, lstm_bwd_f32
#include "common.cuh"

__device__ __forceinline__ float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

extern "C" __global__ void lstm_fwd_f32(int n, int hidden, const float* gates, const float* cPrev, float* act,
                                        float* h, float* c) {
    const long long total = (long long)n * hidden;
    GRID_STRIDE(e, total) {
        const long long b = e / hidden, j = e % hidden, row = b * 4 * hidden;
        const float i = sigmoidf(gates[row + j]);
        const float f = sigmoidf(gates[row + hidden + j]);
        const float g = tanhf(gates[row + 2 * hidden + j]);
        const float o = sigmoidf(gates[row + 3 * hidden + j]);
        act[row + j] = i;
        act[row + hidden + j] = f;
        act[row + 2 * hidden + j] = g;
        act[row + 3 * hidden + j] = o;
        const float cell = f * cPrev[e] + i * g;
        c[e] = cell;
        h[e] = o * tanhf(cell);
    }
}

extern "C" __global__ void lstm_bwd_f32(int n, int hidden, const float* act, const float* cPrev, const float* c,
                                        const float* dh, const float* dc, float* dGates, float* dcPrev) {
    const long long total = (long long)n * hidden;
    GRID_STRIDE(e, total) {
        const long long b = e / hidden, j = e % hidden, row = b * 4 * hidden;
        const float i = act[row + j], f = act[row + hidden + j], g = act[row + 2 * hidden + j], o = act[row + 3 * hidden + j];
        const float tc = tanhf(c[e]);
        const float dhv = dh[e];
        const float dcTotal = (dc == nullptr ? 0.0f : dc[e]) + dhv * o * (1.0f - tc * tc);
        dGates[row + j] = dcTotal * g * i * (1.0f - i);
        dGates[row + hidden + j] = dcTotal * cPrev[e] * f * (1.0f - f);
        dGates[row + 2 * hidden + j] = dcTotal * i * (1.0f - g * g);
        dGates[row + 3 * hidden + j] = dhv * tc * o * (1.0f - o);
        dcPrev[e] = dcTotal * f;
    }
}
