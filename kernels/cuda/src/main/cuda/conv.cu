// conv.cu: the data-movement half of convolution by im2col + GEMM (the GEMMs are gemm.cu's).
//
// Math (reference: RefConv; contract: Backend#conv2dForward / BackwardData / BackwardFilter):
//   x is (n, c, h, w), w is (k, c, r, s), y is (n, k, p, q); ih = op*strideH - padH + fr, iw likewise;
//   positions outside the input read as zero.
//
// Layout of the column matrix for a chunk of nb images starting at image n0 ("wide" layout):
//   col is (c*r*s, nb*p*q): col[(ci*r + fr)*s + fs][img*p*q + op*q + oq] = x[n0 + img][ci][ih][iw]
// so that, per image, col_img = col + img*p*q is a (crs, pq) matrix with leading dimension nb*pq, and the
// three passes are (CudaConv):
//   forward:         y_img (k, pq)     = W (k, crs) x col_img            one strided-batched GEMM over img
//   backward data:   dcol_img (crs, pq) = W^T x dy_img                   one strided-batched GEMM, then col2im
//   backward filter: dW (k, crs)      += dyT (k, nb*pq) x col^T          dyT is dy's chunk permuted to
//                                                                         (k, nb, pq) by a strided copy; long K
//                                                                         is split into slices (split-K) whose
//                                                                         partial products sum_slices adds up.
//
// Kernels and launch constraints (all grid-stride over their outputs: any grid, any block size):
//   im2col_f32      one thread per col element (crs * nb*pq of them); zero padding written explicitly.
//   col2im_f32      dx = the sum of dcol over every (tap, output position) that read the input element: a GATHER
//                   (one thread per dx element, looping over the at most ceil(r/strideH)*ceil(s/strideW) taps
//                   that hit it), so no atomics and a deterministic order. Overwrites dx.
//   sum_slices_f32  out[i] (+)= sum_t ws[t*len + i] over t in [0, slices), in slice order; accumulate = 0
//                   overwrites out (the first chunk of images), 1 adds (later chunks).
#include "common.cuh"

// The geometry, passed by value; the Java side packs it as an int[] in this order (CudaConv#geometry).
struct ConvGeom {
    int n, c, h, w, k, r, s, strideH, strideW, padH, padW, p, q;
};

// x points at image n0; col is (crs, nb*pq).
extern "C" __global__ void im2col_f32(ConvGeom g, int nb, const float* x, float* col) {
    const long long pq = (long long)g.p * g.q, wide = nb * pq;
    const long long total = (long long)g.c * g.r * g.s * wide;
    GRID_STRIDE(e, total) {
        const long long row = e / wide, column = e % wide;
        const int fs = (int)(row % g.s), fr = (int)((row / g.s) % g.r), ci = (int)(row / ((long long)g.s * g.r));
        const int img = (int)(column / pq), pos = (int)(column % pq);
        const int op = pos / g.q, oq = pos % g.q;
        const int ih = op * g.strideH - g.padH + fr, iw = oq * g.strideW - g.padW + fs;
        float v = 0.0f;
        if (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w) v = x[(((long long)img * g.c + ci) * g.h + ih) * g.w + iw];
        col[e] = v;
    }
}

// dcol is (crs, nb*pq); dx points at image n0 and receives nb images.
extern "C" __global__ void col2im_f32(ConvGeom g, int nb, const float* dcol, float* dx) {
    const long long pq = (long long)g.p * g.q, wide = nb * pq;
    const long long total = (long long)nb * g.c * g.h * g.w;
    GRID_STRIDE(e, total) {
        const int iw = (int)(e % g.w), ih = (int)((e / g.w) % g.h);
        const int ci = (int)((e / ((long long)g.w * g.h)) % g.c), img = (int)(e / ((long long)g.w * g.h * g.c));
        float acc = 0.0f;
        for (int fr = 0; fr < g.r; fr++) {
            const int t = ih + g.padH - fr;  // = op * strideH
            if (t < 0 || t % g.strideH != 0) continue;
            const int op = t / g.strideH;
            if (op >= g.p) continue;
            for (int fs = 0; fs < g.s; fs++) {
                const int u = iw + g.padW - fs;
                if (u < 0 || u % g.strideW != 0) continue;
                const int oq = u / g.strideW;
                if (oq >= g.q) continue;
                const long long row = ((long long)ci * g.r + fr) * g.s + fs;
                acc += dcol[row * wide + img * pq + (long long)op * g.q + oq];
            }
        }
        dx[e] = acc;
    }
}

extern "C" __global__ void sum_slices_f32(int slices, int len, const float* ws, float* out, int accumulate) {
    GRID_STRIDE(i, len) {
        float acc = 0.0f;
        for (int t = 0; t < slices; t++) acc += ws[(long long)t * len + i];
        out[i] = accumulate ? out[i] + acc : acc;
    }
}
