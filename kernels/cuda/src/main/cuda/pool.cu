// pool.cu: max and average pooling, NCHW, forward and backward.
//
// Math (reference: RefPool; contract: Backend#maxPool2dForward ... #avgPool2dBackward):
//   x is (n, c, h, w); y is (n, c, p, q). Window (op, oq) covers rows [op*strideH - padH, +kh) and columns
//   [oq*strideW - padW, +kw), clipped to the input (padding never wins a max).
//   max forward:   y = max over the window, NaN-propagating (the first NaN stops the scan, as the reference)
//   max backward:  each window's dy goes to the FIRST position (row-major) where x == y (or both are NaN);
//                  dx sums over windows
//   avg forward:   y = sum / divisor; divisor = RefPool#divisor (padded positions count iff countIncludePad,
//                  never positions past the padding)
//   avg backward:  every position of a window receives dy / divisor; dx sums over windows
//
// Layout: compact NCHW; pointers advanced to each operand's offset. The geometry is passed by value
// (PoolGeom, packed by CudaBackend#poolGeometry as an int[]).
//
// Kernels and launch constraints (grid-stride, any grid and block size):
//   maxpool_fwd_f32, avgpool_fwd_f32   one thread per output element.
//   maxpool_bwd_f32, avgpool_bwd_f32   one thread per INPUT element, gathering over the windows that contain
//                                      it (at most ceil(kh/strideH) * ceil(kw/strideW) of them); for max, a
//                                      window contributes iff its first maximum is this position (found by
//                                      rescanning the window). No atomics: deterministic, and dx is
//                                      overwritten (no separate zero fill).
#include "common.cuh"

struct PoolGeom {
    int n, c, h, w, kh, kw, strideH, strideW, padH, padW, p, q;
};

__device__ __forceinline__ int row_start(const PoolGeom& g, int op) { return max(op * g.strideH - g.padH, 0); }
__device__ __forceinline__ int row_end(const PoolGeom& g, int op) { return min(op * g.strideH - g.padH + g.kh, g.h); }
__device__ __forceinline__ int col_start(const PoolGeom& g, int oq) { return max(oq * g.strideW - g.padW, 0); }
__device__ __forceinline__ int col_end(const PoolGeom& g, int oq) { return min(oq * g.strideW - g.padW + g.kw, g.w); }

__device__ __forceinline__ int divisor(const PoolGeom& g, int countIncludePad, int op, int oq) {
    if (!countIncludePad) return (row_end(g, op) - row_start(g, op)) * (col_end(g, oq) - col_start(g, oq));
    const int r0 = op * g.strideH - g.padH, s0 = oq * g.strideW - g.padW;
    const int r1 = min(r0 + g.kh, g.h + g.padH), s1 = min(s0 + g.kw, g.w + g.padW);
    return (r1 - r0) * (s1 - s0);
}

// The output windows that contain input row ih: op in [lo, hi] (empty when lo > hi).
__device__ __forceinline__ void windows_of(int i, int pad, int k, int stride, int outs, int& lo, int& hi) {
    const int t = i + pad;  // op*stride <= t < op*stride + k
    lo = t - k + 1 <= 0 ? 0 : (t - k + 1 + stride - 1) / stride;
    hi = min(t / stride, outs - 1);
}

extern "C" __global__ void maxpool_fwd_f32(PoolGeom g, const float* x, float* y) {
    const long long total = (long long)g.n * g.c * g.p * g.q;
    GRID_STRIDE(e, total) {
        const int oq = (int)(e % g.q), op = (int)((e / g.q) % g.p);
        const long long nc = e / ((long long)g.p * g.q);
        const float* plane = x + nc * g.h * g.w;
        float m = -INFINITY;
        for (int r = row_start(g, op); r < row_end(g, op) && m == m; r++)
            for (int s = col_start(g, oq); s < col_end(g, oq); s++) {
                const float v = plane[r * g.w + s];
                if (v > m || v != v) m = v;
                if (m != m) break;
            }
        y[e] = m;
    }
}

extern "C" __global__ void maxpool_bwd_f32(PoolGeom g, const float* x, const float* y, const float* dy, float* dx) {
    const long long total = (long long)g.n * g.c * g.h * g.w;
    GRID_STRIDE(e, total) {
        const int iw = (int)(e % g.w), ih = (int)((e / g.w) % g.h);
        const long long nc = e / ((long long)g.h * g.w);
        const float* plane = x + nc * g.h * g.w;
        int plo, phi, qlo, qhi;
        windows_of(ih, g.padH, g.kh, g.strideH, g.p, plo, phi);
        windows_of(iw, g.padW, g.kw, g.strideW, g.q, qlo, qhi);
        float acc = 0.0f;
        for (int op = plo; op <= phi; op++)
            for (int oq = qlo; oq <= qhi; oq++) {
                const long long out = (nc * g.p + op) * g.q + oq;
                const float m = y[out];
                // the window's first position holding its maximum
                int first = -1;
                for (int r = row_start(g, op); r < row_end(g, op) && first < 0; r++)
                    for (int s = col_start(g, oq); s < col_end(g, oq); s++) {
                        const float v = plane[r * g.w + s];
                        if (v == m || (v != v && m != m)) { first = r * g.w + s; break; }
                    }
                if (first == ih * g.w + iw) acc += dy[out];
            }
        dx[e] = acc;
    }
}

extern "C" __global__ void avgpool_fwd_f32(PoolGeom g, int countIncludePad, const float* x, float* y) {
    const long long total = (long long)g.n * g.c * g.p * g.q;
    GRID_STRIDE(e, total) {
        const int oq = (int)(e % g.q), op = (int)((e / g.q) % g.p);
        const long long nc = e / ((long long)g.p * g.q);
        const float* plane = x + nc * g.h * g.w;
        float sum = 0.0f;
        for (int r = row_start(g, op); r < row_end(g, op); r++)
            for (int s = col_start(g, oq); s < col_end(g, oq); s++) sum += plane[r * g.w + s];
        y[e] = sum / (float)divisor(g, countIncludePad, op, oq);
    }
}

extern "C" __global__ void avgpool_bwd_f32(PoolGeom g, int countIncludePad, const float* dy, float* dx) {
    const long long total = (long long)g.n * g.c * g.h * g.w;
    GRID_STRIDE(e, total) {
        const int iw = (int)(e % g.w), ih = (int)((e / g.w) % g.h);
        const long long nc = e / ((long long)g.h * g.w);
        int plo, phi, qlo, qhi;
        windows_of(ih, g.padH, g.kh, g.strideH, g.p, plo, phi);
        windows_of(iw, g.padW, g.kw, g.strideW, g.q, qlo, qhi);
        float acc = 0.0f;
        for (int op = plo; op <= phi; op++)
            for (int oq = qlo; oq <= qhi; oq++)
                acc += dy[(nc * g.p + op) * g.q + oq] / (float)divisor(g, countIncludePad, op, oq);
        dx[e] = acc;
    }
}
