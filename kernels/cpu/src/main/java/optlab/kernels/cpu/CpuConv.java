package optlab.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;
import optlab.kernels.Conv2dGeometry;

/**
 * Float32 convolution of the CPU backend: implicit GEMM, im2col never materialized.
 * Reference: {@link optlab.kernels.reference.RefConv}.
 *
 * <p>For image i, {@code col} is the (c*r*s, p*q) matrix whose row (ch, fr, fs) holds, for every output
 * position (op, oq), the input x[i][ch][op*strideH - padH + fr][oq*strideW - padW + fs] (zero outside).
 * Then, with w viewed as (k, c*r*s) and y[i], dy[i] as (k, p*q):
 * <pre>
 *   forward          y[i]  = w . col                      (GEMM k x pq x crs)
 *   backward data    dx[i] = col2im(w^T . dy[i])          (stride 1: a forward convolution, below)
 *   backward filter  dw   += dy[i] . col^T                (GEMM k x crs x pq)
 * </pre>
 * The GEMMs run {@link Sgemm}'s blocking and micro-kernel ({@link Sgemm#gemmPackedA}) with two changes that
 * suit a convolution's shapes (k of 16 to 64, col 9 or 25 times the size of the image):
 * <ul>
 *   <li>the small left operand (w, or dy[i] for the filter) is packed once per call (per image for dy[i]), not
 *   once per image and block;
 *   <li>col is never written out: the GEMM asks for one B~ panel (NR output positions by up to KC rows of col,
 *   or its transpose) at a time, and {@link Image} gathers it straight from the image into L1, where the
 *   micro-kernel reads it for all k rows. The image is first copied once into a zero-padded buffer, so the
 *   gather needs no bounds tests: with stride 1, a row of col restricted to one output row is a contiguous run
 *   of the padded image (vector copies); strided runs are copied element by element.
 * </ul>
 * The col matrix of a 32x32x16 image is 590 KB: writing it, then reading it back to pack it, cost more than
 * the multiply-adds it fed.
 *
 * <p>Backward data with stride 1 is itself a convolution: {@code dx = conv(dy, w')} with
 * {@code w'[ch][kk][fr][fs] = w[kk][ch][r-1-fr][s-1-fs]} and padding r-1-padH, s-1-padW (so no col2im and its
 * scattered adds). Strided backward data (and padding of r or more, where r-1-pad would be negative) keeps
 * GEMM + col2im, one image at a time, with a col scratch per thread.
 *
 * <p>Backward filter at stride 1 with long output rows (16x16 images and larger) is not a GEMM: {@link CpuConvFilter}
 * sums dy times the padded image along the output positions, where both lie contiguous in memory (no B panel to gather
 * and transpose). The GEMM formulation above serves the rest, and images holding a NaN or an infinity; small images
 * go several to one GEMM ({@link #filterSpan}).
 *
 * <p>Images are split across threads when there are at least as many images (or image groups) as threads;
 * otherwise each image's output columns (or filter columns) are. Either way each output element gets the
 * same bits.
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

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Least work (flops) worth a thread of its own when one image is split between threads. */
    private static final double MIN_FLOPS_PER_THREAD = 4e6;

    /** Per-thread scratch: packed weights (or dy[i]), flipped weights, the padded image, a col^T block, col. */
    private static final ThreadLocal<float[]> PACKED = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> FLIPPED = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> PADDED = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> COLT = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> COL = ThreadLocal.withInitial(() -> new float[0]);

    /** tl's array, replaced by a larger one when it has fewer than size floats (per-thread scratch, reused). */
    static float[] scratch(ThreadLocal<float[]> tl, int size) {
        float[] s = tl.get();
        if (s.length < size) {
            s = new float[size];
            tl.set(s);
        }
        return s;
    }

    /** Runs body for each image, in parallel over images when that keeps every thread busy. */
    private static void forEachImage(Conv2dGeometry g, Parallel.Range body) {
        if (g.n() >= Parallel.threads()) Parallel.forRange(g.n(), 1, body);
        else body.run(0, g.n());
    }

    /** Runs body over the NR-wide column panels of an m x n x depth GEMM, in parallel where worth a thread. */
    private static void forEachPanel(int m, int n, int depth, Parallel.Range body) {
        int panels = (n + Sgemm.NR - 1) / Sgemm.NR;
        int grain = (int) Math.max(1, Math.ceil(MIN_FLOPS_PER_THREAD / (2.0 * m * depth * Sgemm.NR)));
        Parallel.forRange(panels, grain, (p0, p1) -> body.run(p0 * Sgemm.NR, Math.min(n, p1 * Sgemm.NR)));
    }

    static void forward(Conv2dGeometry g, float[] x, int xo, float[] w, int wo, float[] y, int yo) {
        int crs = g.c() * g.r() * g.s();
        float[] aw = scratch(PACKED, Sgemm.packedASize(g.k(), crs));
        Sgemm.packWholeA(false, w, wo, crs, g.k(), crs, aw);
        convolve(g, x, xo, aw, y, yo);
    }

    /** y = w . col(x) for every image, w packed by {@link Sgemm#packWholeA} into aw. */
    private static void convolve(Conv2dGeometry g, float[] x, int xo, float[] aw, float[] y, int yo) {
        int crs = g.c() * g.r() * g.s(), pq = g.p() * g.q(), chw = g.c() * g.h() * g.w();
        boolean inPlace = rowsInPlace(g);
        // in place: the columns of col over the padded width, up to the last output row's last column
        int wp = g.w() + 2 * g.padW(), columns = inPlace ? (g.p() - 1) * wp + g.q() : pq;
        forEachImage(g, (i0, i1) -> {
            Image im = new Image(g);
            for (int i = i0; i < i1; i++) {
                int yi = yo + i * g.k() * pq;
                if (inPlace) {
                    im.loadPadded(x, xo + i * chw);
                    forEachPanel(g.k(), columns, crs, (j0, j1) -> Sgemm.gemmPackedARows(aw, g.k(), crs, j0, j1, im.buf, im.off,
                            im.rowOff, wp, g.q(), 0f, y, yi, pq));
                } else {
                    im.load(x, xo + i * chw);
                    forEachPanel(g.k(), pq, crs, (j0, j1) -> Sgemm.gemmPackedA(aw, g.k(), crs, j0, j1, im::packCol, 0f, y, yi, pq));
                }
            }
        });
    }

    /**
     * Whether {@link #convolve} reads col's rows in place ({@link Sgemm#gemmPackedARows}) rather than gathering B
     * panels: at stride 1, with at most 16 filters (the gather then costs the most per multiply-add, since every
     * A~ panel reuses a gathered panel), at most an eighth of the padded width wasted past the output rows, and
     * c*r*s of at least 64. ConvBenchmark (2 threads, alternated, in ms per step, forward / backward data):
     * ResNet-20's 16 -> 16 layers at 32x32 28.7/31.3 and 26.5/30.6 gathered, 22.1/22.0 and 21.8/22.2 in place;
     * its 32-filter 16x16 layers 16.8/16.4, 18.3/15.8 against 19.0/18.6, 18.3/17.8, its 64-filter 8x8 ones
     * 18.7/20.7, 25.0/20.3 against 24.0/24.8, 26.7/24.2, and fmnist's first layer (c*r*s = 25) 3.2, 2.9 against
     * 3.6, 3.6.
     */
    static boolean rowsInPlace(Conv2dGeometry g) {
        int wp = g.w() + 2 * g.padW();
        return Sgemm.ROWS_IN_PLACE && g.strideH() == 1 && g.strideW() == 1 && g.k() <= 16 && (wp - g.q()) * 8 <= wp
                && g.c() * g.r() * g.s() >= 64;
    }

    static void backwardData(Conv2dGeometry g, float[] dy, int dyo, float[] w, int wo, float[] dx, int dxo) {
        int c = g.c(), k = g.k(), r = g.r(), s = g.s(), rs = r * s, crs = c * rs, krs = k * rs;
        if (g.strideH() == 1 && g.strideW() == 1 && g.padH() < r && g.padW() < s) {
            // dx = conv(dy, w') with w'[ch][kk][fr][fs] = w[kk][ch][r-1-fr][s-1-fs]: see the class comment
            Conv2dGeometry t = new Conv2dGeometry(g.n(), k, g.p(), g.q(), c, r, s, 1, 1, r - 1 - g.padH(), s - 1 - g.padW());
            float[] wf = scratch(FLIPPED, c * krs);
            for (int kk = 0; kk < k; kk++)
                for (int ch = 0; ch < c; ch++)
                    for (int e = 0; e < rs; e++) wf[ch * krs + kk * rs + e] = w[wo + kk * crs + ch * rs + rs - 1 - e];
            float[] aw = scratch(PACKED, Sgemm.packedASize(c, krs));
            Sgemm.packWholeA(false, wf, 0, krs, c, krs, aw);
            convolve(t, dy, dyo, aw, dx, dxo);
            return;
        }
        int pq = g.p() * g.q(), chw = c * g.h() * g.w();
        forEachImage(g, (i0, i1) -> {
            float[] col = scratch(COL, crs * pq);
            for (int i = i0; i < i1; i++) {
                Sgemm.sgemm(true, false, crs, pq, k, 1f, w, wo, crs, dy, dyo + i * k * pq, pq, 0f, col, 0, pq);
                col2im(g, col, dx, dxo + i * chw);
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
        int kcrs = g.k() * g.c() * g.r() * g.s();
        // NOTE [thread-independent-bits]: group j holds images [n*j/groups, n*(j+1)/groups), a split fixed by n;
        // its GEMMs accumulate in image order into dw (j = 0) or its own partial, whichever thread runs it.
        int n = g.n(), groups = Math.min(n, FILTER_GROUPS);
        float[] part = scratch(PARTIALS, (groups - 1) * kcrs);
        Parallel.Range body = (j0, j1) -> {
            for (int j = j0; j < j1; j++) {
                float[] out = j == 0 ? dw : part;
                int outOff = j == 0 ? dwo : (j - 1) * kcrs;
                int i0 = (int) ((long) n * j / groups), i1 = (int) ((long) n * (j + 1) / groups);
                if (!CpuConvFilter.applies(g) || !CpuConvFilter.group(g, x, xo, dy, dyo, i0, i1, out, outOff))
                    filterByGemm(g, x, xo, dy, dyo, i0, i1, out, outOff);
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

    /**
     * out[outOff..] (k, c*r*s) = sum over images [i0, i1) of dy[i] . col[i]^T (GEMMs, B panels gathered from col^T).
     * Small images go {@link #filterSpan} at a time, one GEMM over their output positions together: a depth of 64
     * (8x8) makes every micro-kernel call write its C tile back after 64 multiply-adds, four images fill the 256 of
     * one depth block. The span is fixed by the geometry, so the sums' order still depends on n alone.
     */
    private static void filterByGemm(Conv2dGeometry g, float[] x, int xo, float[] dy, int dyo, int i0, int i1, float[] out, int outOff) {
        int crs = g.c() * g.r() * g.s(), pq = g.p() * g.q(), chw = g.c() * g.h() * g.w(), k = g.k(), span = filterSpan(g);
        Image im = new Image(g, span);
        float[] ad = scratch(PACKED, Sgemm.packedASize(k, span * pq)), dys = span > 1 ? scratch(FILTER_DY, k * span * pq) : null;
        for (int i = i0; i < i1; i += span) {
            int m = Math.min(span, i1 - i), depth = m * pq;
            im.load(x, xo + i * chw, m);
            if (m == 1) {
                Sgemm.packWholeA(false, dy, dyo + i * k * pq, pq, k, pq, ad);
            } else {
                // dy of the span as one (k, m*pq) matrix: row kk holds image i's positions, then image i+1's, ...
                for (int j = 0; j < m; j++)
                    for (int kk = 0; kk < k; kk++) System.arraycopy(dy, dyo + ((i + j) * k + kk) * pq, dys, kk * depth + j * pq, pq);
                Sgemm.packWholeA(false, dys, 0, depth, k, depth, ad);
            }
            float beta = i == i0 ? 0f : 1f;
            forEachPanel(k, crs, depth, (c0, c1) -> Sgemm.gemmPackedA(ad, k, depth, c0, c1, im::packColT, beta, out, outOff, crs));
        }
    }

    private static final ThreadLocal<float[]> FILTER_DY = ThreadLocal.withInitial(() -> new float[0]);

    /** Images per filter-gradient GEMM: as many as fit one depth block ({@link Sgemm#KC} output positions), at least 1. */
    static int filterSpan(Conv2dGeometry g) {
        return Math.max(1, Sgemm.KC / (g.p() * g.q()));
    }

    /**
     * One image (c, h, w) of a convolution's input, zero-padded, and the col matrix (see the class comment) read
     * from it in place. One object per thread; after {@link #load} its packers may run on several threads.
     */
    private static final class Image {
        private final int c, h, w, q, sw, hp, wp, padH, padW, slack;
        /** Where row (ch, fr, fs) of col starts in the padded image, and output position (op, oq) within it. */
        private final int[] rowOff, posOff;
        /** The padded image: (c, hp, wp) from {@code buf[off]}; the input itself when there is no padding. */
        private float[] buf;
        private int off;

        Image(Conv2dGeometry g) {
            this(g, 1);
        }

        /** For up to {@code span} consecutive images at a time ({@link #load(float[], int, int)}): col's columns run over all their positions. */
        Image(Conv2dGeometry g, int span) {
            c = g.c();
            h = g.h();
            w = g.w();
            q = g.q();
            sw = g.strideW();
            padH = g.padH();
            padW = g.padW();
            hp = h + 2 * padH;
            wp = w + 2 * padW;
            slack = Sgemm.NR + g.s();
            rowOff = rowOffsets(g, c * g.r() * g.s());
            posOff = new int[span * g.p() * q];
            for (int j = 0, pos = 0; j < span; j++)
                for (int op = 0; op < g.p(); op++)
                    for (int oq = 0; oq < q; oq++) posOff[pos++] = j * c * hp * wp + op * g.strideH() * wp + oq * sw;
        }

        /**
         * Copies the image at x[xo..] into this thread's padded buffer, padding or not, with {@link Sgemm#NR} + s
         * zeros after it: {@link Sgemm#gemmPackedARows} reads a full panel past the last column it keeps.
         */
        void loadPadded(float[] x, int xo) {
            int size = c * hp * wp + slack;
            buf = scratch(PADDED, size);
            off = 0;
            pad(c, h, w, padH, padW, x, xo, buf, 0, size);
        }

        /** Takes the image at x[xo..], copying it into this thread's padded buffer when there is padding. */
        void load(float[] x, int xo) {
            load(x, xo, 1);
        }

        /** Takes the m consecutive images at x[xo..] (m at most the span), copied padded, one after the other, if padded. */
        void load(float[] x, int xo, int m) {
            if (padH == 0 && padW == 0) {
                buf = x;
                off = xo;
                return;
            }
            int size = c * hp * wp;
            buf = scratch(PADDED, m * size);
            off = 0;
            for (int j = 0; j < m; j++) pad(c, h, w, padH, padW, x, xo + j * c * h * w, buf, j * size, size);
        }

        /**
         * dst[i * ld + j] = col[row0 + i][pos0 + j] for i < rows, j < len: run by run along output rows (for a
         * run, each row of col is a contiguous piece of the padded image when the stride is 1), all rows per run
         * so that the run's length and tail mask stay fixed in the inner loop.
         */
        private void gather(int row0, int rows, int pos0, int len, float[] dst, int ld) {
            for (int pos = pos0, end = pos0 + len; pos < end; ) {
                int run = Math.min(q - pos % q, end - pos), so = off + posOff[pos], d = pos - pos0;
                if (sw == 1) {
                    int full = run & -L;
                    VectorMask<Float> tail = S.indexInRange(full, run);
                    for (int i = 0; i < rows; i++, d += ld) {
                        int src = so + rowOff[row0 + i];
                        for (int t = 0; t < full; t += L) FloatVector.fromArray(S, buf, src + t).intoArray(dst, d + t);
                        if (full < run) FloatVector.fromArray(S, buf, src + full, tail).intoArray(dst, d + full, tail);
                    }
                } else {
                    for (int i = 0; i < rows; i++, d += ld) {
                        int src = so + rowOff[row0 + i];
                        for (int t = 0; t < run; t++) dst[d + t] = buf[src + t * sw];
                    }
                }
                pos += run;
            }
        }

        /** {@link Sgemm.PanelPacker} of B = col (rows c*r*s, columns output positions). */
        void packCol(int pc, int kc, int jc, int nc, float[] dst) {
            int width = nc > L ? Sgemm.NR : L;
            gather(pc, kc, jc, nc, dst, width);
            if (nc < width) {
                for (int d = 0; d < kc * width; d += width) java.util.Arrays.fill(dst, d + nc, d + width, 0f);
            }
        }

        /**
         * {@link Sgemm.PanelPacker} of B = col^T (rows output positions, columns c*r*s): the nc rows of col
         * gathered into a per-thread block, then transposed by {@link Sgemm#packB}.
         */
        void packColT(int pc, int kc, int jc, int nc, float[] dst) {
            float[] t = scratch(COLT, nc * kc);
            gather(jc, nc, pc, kc, t, kc);
            Sgemm.packB(true, t, 0, kc, 0, kc, 0, nc, dst);
        }
    }

    /**
     * Where row (ch, fr, fs) of col starts in the zero-padded image (c, h + 2 padH, w + 2 padW), for the first
     * {@code rows} rows; rows past c*r*s repeat the last one (for register tiles that run past it).
     */
    static int[] rowOffsets(Conv2dGeometry g, int rows) {
        int r = g.r(), s = g.s(), crs = g.c() * r * s, hp = g.h() + 2 * g.padH(), wp = g.w() + 2 * g.padW();
        int[] off = new int[rows];
        for (int row = 0; row < rows; row++) {
            int rr = Math.min(row, crs - 1), ch = rr / (r * s), fr = rr / s % r, fs = rr % s;
            off[row] = (ch * hp + fr) * wp + fs;
        }
        return off;
    }

    /**
     * dst[d, d + size) = the image x[xo..] (c, h, w) zero-padded by padH rows and padW columns on each side, as (c,
     * h + 2 padH, w + 2 padW), then zeros up to size.
     */
    static void pad(int c, int h, int w, int padH, int padW, float[] x, int xo, float[] dst, int d, int size) {
        int hp = h + 2 * padH, wp = w + 2 * padW;
        java.util.Arrays.fill(dst, d, d + size, 0f);
        for (int ch = 0; ch < c; ch++)
            for (int ih = 0; ih < h; ih++) System.arraycopy(x, xo + (ch * h + ih) * w, dst, d + (ch * hp + ih + padH) * wp + padW, w);
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
