package optlab.kernels.cpu;

import java.util.Iterator;
import java.util.TreeMap;
import optlab.kernels.Conv2dGeometry;

/**
 * Float32 convolution of the CPU backend by im2col + GEMM, one image at a time.
 * Reference: {@link optlab.kernels.reference.RefConv}.
 *
 * <p>For image i, {@code col} is the (c*r*s, p*q) matrix whose row (ch, fr, fs) holds, for every output
 * position (op, oq), the input x[i][ch][op*strideH - padH + fr][oq*strideW - padW + fs] (zero outside).
 * Then, with w viewed as (k, c*r*s) and y[i], dy[i] as (k, p*q):
 * <pre>
 *   forward          y[i]  = w . col                      (GEMM k x pq x crs)
 *   backward data    col   = w^T . dy[i];  dx[i] = col2im(col)   (GEMM crs x pq x k)
 *   backward filter  dw   += dy[i] . col^T                (GEMM k x crs x pq)
 * </pre>
 * A 1x1, stride-1, unpadded convolution uses x[i] itself as col. Images are split across threads when
 * there are at least as many images as threads (each thread owns a col scratch, and for the filter
 * gradient a partial dw; the partials are summed in image order, so results are deterministic for a
 * given thread count); otherwise the GEMMs themselves run in parallel.
 */
final class CpuConv {
    private CpuConv() {}

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private static float[] scratch(int size) {
        float[] s = SCRATCH.get();
        if (s.length < size) {
            s = new float[size];
            SCRATCH.set(s);
        }
        return s;
    }

    private static boolean isPointwise(Conv2dGeometry g) {
        return g.r() == 1 && g.s() == 1 && g.strideH() == 1 && g.strideW() == 1 && g.padH() == 0 && g.padW() == 0;
    }

    /** Runs body for each image, in parallel over images when that keeps every thread busy. */
    private static void forEachImage(Conv2dGeometry g, Parallel.Range body) {
        if (g.n() >= Parallel.threads()) Parallel.forRange(g.n(), 1, body);
        else body.run(0, g.n());
    }

    static void forward(Conv2dGeometry g, float[] x, int xo, float[] w, int wo, float[] y, int yo) {
        int crs = g.c() * g.r() * g.s(), pq = g.p() * g.q(), chw = g.c() * g.h() * g.w();
        boolean pointwise = isPointwise(g);
        forEachImage(g, (i0, i1) -> {
            float[] col = pointwise ? null : scratch(crs * pq);
            for (int i = i0; i < i1; i++) {
                float[] src = x;
                int srcOff = xo + i * chw;
                if (!pointwise) {
                    im2col(g, x, srcOff, col);
                    src = col;
                    srcOff = 0;
                }
                Sgemm.sgemm(false, false, g.k(), pq, crs, 1f, w, wo, crs, src, srcOff, pq, 0f, y, yo + i * g.k() * pq, pq);
            }
        });
    }

    static void backwardData(Conv2dGeometry g, float[] dy, int dyo, float[] w, int wo, float[] dx, int dxo) {
        int crs = g.c() * g.r() * g.s(), pq = g.p() * g.q(), chw = g.c() * g.h() * g.w();
        boolean pointwise = isPointwise(g);
        forEachImage(g, (i0, i1) -> {
            float[] col = pointwise ? null : scratch(crs * pq);
            for (int i = i0; i < i1; i++) {
                if (pointwise) {
                    Sgemm.sgemm(true, false, crs, pq, g.k(), 1f, w, wo, crs, dy, dyo + i * g.k() * pq, pq, 0f, dx, dxo + i * chw, pq);
                } else {
                    Sgemm.sgemm(true, false, crs, pq, g.k(), 1f, w, wo, crs, dy, dyo + i * g.k() * pq, pq, 0f, col, 0, pq);
                    col2im(g, col, dx, dxo + i * chw);
                }
            }
        });
    }

    static void backwardFilter(Conv2dGeometry g, float[] x, int xo, float[] dy, int dyo, float[] dw, int dwo) {
        int crs = g.c() * g.r() * g.s(), pq = g.p() * g.q(), chw = g.c() * g.h() * g.w(), kcrs = g.k() * crs;
        boolean pointwise = isPointwise(g);
        // Each chunk of images sums into its own partial, keyed by its first image; the partials are then
        // added in image order, so the result does not depend on which thread finished first.
        TreeMap<Integer, float[]> partials = new TreeMap<>();
        forEachImage(g, (i0, i1) -> {
            float[] col = pointwise ? null : scratch(crs * pq);
            float[] partial = new float[kcrs];
            for (int i = i0; i < i1; i++) {
                float[] src = x;
                int srcOff = xo + i * chw;
                if (!pointwise) {
                    im2col(g, x, srcOff, col);
                    src = col;
                    srcOff = 0;
                }
                Sgemm.sgemm(false, true, g.k(), crs, pq, 1f, dy, dyo + i * g.k() * pq, pq, src, srcOff, pq,
                        i == i0 ? 0f : 1f, partial, 0, crs);
            }
            synchronized (partials) {
                partials.put(i0, partial);
            }
        });
        Iterator<float[]> it = partials.values().iterator();
        System.arraycopy(it.next(), 0, dw, dwo, kcrs);
        while (it.hasNext()) {
            float[] p = it.next();
            for (int j = 0; j < kcrs; j++) dw[dwo + j] += p[j];
        }
    }

    /** col (c*r*s, p*q) from one image x[xo..] (c, h, w); zero where the window leaves the image. */
    static void im2col(Conv2dGeometry g, float[] x, int xo, float[] col) {
        int P = g.p(), Q = g.q(), H = g.h(), W = g.w(), sh = g.strideH(), sw = g.strideW();
        int row = 0;
        for (int c = 0; c < g.c(); c++)
            for (int r = 0; r < g.r(); r++)
                for (int s = 0; s < g.s(); s++, row++) {
                    int colBase = row * P * Q;
                    // output columns q whose input column q*sw - padW + s lies inside [0, W)
                    int qLo = ceilDiv(g.padW() - s, sw), qHi = ceilDiv(W + g.padW() - s, sw);
                    qLo = Math.max(qLo, 0);
                    qHi = Math.min(qHi, Q);
                    for (int p = 0; p < P; p++) {
                        int ih = p * sh - g.padH() + r, cb = colBase + p * Q;
                        if (ih < 0 || ih >= H || qLo >= qHi) {
                            java.util.Arrays.fill(col, cb, cb + Q, 0f);
                            continue;
                        }
                        for (int q = 0; q < qLo; q++) col[cb + q] = 0f;
                        int xb = xo + (c * H + ih) * W - g.padW() + s;
                        if (sw == 1) {
                            System.arraycopy(x, xb + qLo, col, cb + qLo, qHi - qLo);
                        } else {
                            for (int q = qLo; q < qHi; q++) col[cb + q] = x[xb + q * sw];
                        }
                        for (int q = qHi; q < Q; q++) col[cb + q] = 0f;
                    }
                }
    }

    /** dx[dxo..] (c, h, w) = sum of col's entries over the positions each input element was read at. */
    static void col2im(Conv2dGeometry g, float[] col, float[] dx, int dxo) {
        int P = g.p(), Q = g.q(), H = g.h(), W = g.w(), sh = g.strideH(), sw = g.strideW();
        java.util.Arrays.fill(dx, dxo, dxo + g.c() * H * W, 0f);
        int row = 0;
        for (int c = 0; c < g.c(); c++)
            for (int r = 0; r < g.r(); r++)
                for (int s = 0; s < g.s(); s++, row++) {
                    int colBase = row * P * Q;
                    int qLo = Math.max(ceilDiv(g.padW() - s, sw), 0), qHi = Math.min(ceilDiv(W + g.padW() - s, sw), Q);
                    for (int p = 0; p < P; p++) {
                        int ih = p * sh - g.padH() + r;
                        if (ih < 0 || ih >= H) continue;
                        int xb = dxo + (c * H + ih) * W - g.padW() + s, cb = colBase + p * Q;
                        if (sw == 1) {
                            for (int q = qLo; q < qHi; q++) dx[xb + q] += col[cb + q];
                        } else {
                            for (int q = qLo; q < qHi; q++) dx[xb + q * sw] += col[cb + q];
                        }
                    }
                }
    }

    private static int ceilDiv(int a, int b) {
        return -Math.floorDiv(-a, b);
    }
}
