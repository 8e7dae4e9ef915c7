package optlab.kernels.cpu;

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
 * there are at least as many images (or image groups) as threads, each thread owning a col scratch;
 * otherwise the GEMMs themselves run in parallel. Either way each output element gets the same bits.
 *
 * <p>NOTE [thread-independent-bits]: every float32 CPU kernel gives the same bits at any thread count
 * ({@code -Doptlab.threads}). Elementwise, pooling, batch-norm (per channel) and reduction kernels give each
 * output element to one thread, which sums in a fixed order; {@link Sgemm} splits C, never k. The one sum
 * across threads is the filter gradient's sum over images: it is split into {@link #FILTER_GROUPS} groups
 * of consecutive images fixed by n alone, each group's GEMMs accumulate into its own partial (the first
 * group's into dw), and the partials are added to dw in group order. {@code ThreadCountBitsTest} runs the
 * kernels and a ResNet training step at 1, 2 and 3 threads and compares the bits.
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

    /**
     * At most this many image groups share a filter gradient (see NOTE [thread-independent-bits]): the most
     * threads that backwardFilter keeps busy over images; the partials cost (groups - 1) * k*c*r*s floats of
     * scratch and one pass to add them.
     */
    static final int FILTER_GROUPS = 16;

    private static final ThreadLocal<float[]> PARTIALS = ThreadLocal.withInitial(() -> new float[0]);

    static void backwardFilter(Conv2dGeometry g, float[] x, int xo, float[] dy, int dyo, float[] dw, int dwo) {
        int crs = g.c() * g.r() * g.s(), pq = g.p() * g.q(), chw = g.c() * g.h() * g.w(), kcrs = g.k() * crs;
        boolean pointwise = isPointwise(g);
        // NOTE [thread-independent-bits]: group j holds images [n*j/groups, n*(j+1)/groups), a split fixed by n;
        // its GEMMs accumulate in image order into dw (j = 0) or its own partial, whichever thread runs it.
        int n = g.n(), groups = Math.min(n, FILTER_GROUPS);
        float[] partials = PARTIALS.get();
        if (partials.length < (groups - 1) * kcrs) {
            partials = new float[(groups - 1) * kcrs];
            PARTIALS.set(partials);
        }
        float[] part = partials;
        Parallel.Range body = (j0, j1) -> {
            float[] col = pointwise ? null : scratch(crs * pq);
            for (int j = j0; j < j1; j++) {
                float[] out = j == 0 ? dw : part;
                int outOff = j == 0 ? dwo : (j - 1) * kcrs;
                int i0 = (int) ((long) n * j / groups), i1 = (int) ((long) n * (j + 1) / groups);
                for (int i = i0; i < i1; i++) {
                    float[] src = x;
                    int srcOff = xo + i * chw;
                    if (!pointwise) {
                        im2col(g, x, srcOff, col);
                        src = col;
                        srcOff = 0;
                    }
                    Sgemm.sgemm(false, true, g.k(), crs, pq, 1f, dy, dyo + i * g.k() * pq, pq, src, srcOff, pq,
                            i == i0 ? 0f : 1f, out, outOff, crs);
                }
            }
        };
        if (groups >= Parallel.threads()) Parallel.forRange(groups, 1, body);
        else body.run(0, groups);
        if (groups == 1) return;
        // dw += partial_1 + ... + partial_{groups-1}, left to right for every element (split over elements only)
        Parallel.forRange(kcrs, Math.max(1, CpuElementwise.GRAIN / groups), (e0, e1) -> {
            for (int j = 1; j < groups; j++) {
                int po = (j - 1) * kcrs;
                for (int e = e0; e < e1; e++) dw[dwo + e] += part[po + e];
            }
        });
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
