package optlab.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import optlab.kernels.Conv2dGeometry;

/**
 * The filter gradient of a stride-1 convolution as dot products along the output positions, for {@link CpuConv}:
 * <pre>
 *   dw[kk][row] = sum over images i and output positions t of  dy[i][kk][t] * col[i][row][t]
 * </pre>
 * where row = (ch, fr, fs) and col[i][row][t] is the padded image read at {@code rowOff[row] + t} with t counted
 * over the padded width (position (op, oq) at {@code op * wp + oq}, see {@link CpuConv}'s Image). Both factors run
 * along t in memory, so each vector of the sum is one load of dy and one of the image: no im2col, no gather and no
 * transpose, which the GEMM formulation ({@code dy[i] . col^T}, the depth running along memory in both operands)
 * needs for every B panel (ConvBenchmark, 2 threads: ResNet-20's 32x32 layers 32.8 -> 20.6 ms a step). dy is copied
 * once per image into that padded width, zeros past q. The image columns past the output width (oq in [q, wp)) are
 * read too and multiplied by those zeros, which adds exact zeros only if they are finite: an image with a NaN or an
 * infinity is refused ({@link #group} returns false before writing) and its group runs the GEMM formulation, so
 * the non-finite elements of dw are the reference's ({@code CpuConvFilterTest}). (Masked loads would have cleared
 * those lanes instead, but a mask built per vector in the loop was not compiled to registers: 2 GFLOP/s.)
 *
 * <p>Blocking: a tile of {@link #KB} filters by {@link #RB} rows of col keeps KB * RB vector accumulators in
 * registers (24 of AVX-512's 32) and issues KB * RB fused multiply-adds per KB + RB vector loads. The images of a
 * chunk (enough for about {@link #CHUNK_DEPTH} floats of t) run through the tile before its accumulators go back
 * to a per-thread array of lane partials, and their lanes are summed (in lane order) once per group of images.
 * Filters past k and rows past c*r*s repeat the last one and are dropped. Every output element's sum runs in an
 * order fixed by the geometry and the caller's image group, never by the thread (NOTE [thread-independent-bits]).
 */
final class CpuConvFilter {
    private CpuConvFilter() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Filters and rows of col per register tile. */
    static final int KB = 4, RB = 6;
    /** Floats of t (over all the chunk's images) that a tile runs through before its accumulators are stored. */
    private static final int CHUNK_DEPTH = 1024;

    private static final ThreadLocal<float[]> LANES = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> IMAGES = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> DY = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * Whether {@link #group} serves g: stride 1 (the image reads of a row of col are then contiguous) and at least
     * {@link #MIN_DEPTH} floats of t per image. ConvBenchmark, 2 threads, against the GEMM formulation: ResNet-20's
     * 32x32 layers (t = 32 x 34) 32.8 -> 20.6 ms, fmnist's 28x28 one (28 x 32) 3.7 -> 2.9 ms; but its 8x8 layers (8 x
     * 10) 18.6 -> 30.1 and fmnist's 14x14 one (14 x 18 = 252) 24.0 -> 31.4: short rows of t waste more lanes past q and
     * loop more per image. At 16x16 (16 x 18 = 288) the dot products win: ResNet-20's 32-filter layers 25.2, 27.1 ->
     * 19.8, 20.4 ms (fifth pass, alternated), DenseNet-BC-40's 12-filter 3x3 layer at batch 64 4.2-10.5 -> 1.7-2.4 ms
     * and its 1x1 bottleneck (16 x 16) 2.9-3.3 -> 2.6-2.9 ms; the 8x8 layers still lose (16.9, 17.3 against 30.6, 30.8).
     */
    static boolean applies(Conv2dGeometry g) {
        return g.strideH() == 1 && g.strideW() == 1 && g.p() * (g.w() + 2 * g.padW()) >= MIN_DEPTH;
    }

    /** Floats of t per image below which the GEMM formulation is faster (see {@link #applies}). */
    static final int MIN_DEPTH = 256;

    /** The geometry's layout: padded sizes, where each row of col starts in the padded image, chunk size. */
    private static final class Plan {
        final int k, crs, kPad, crsPad, hp, wp, imageFloats, dyStride, vectors, chunk;
        final int[] rowOff;

        Plan(Conv2dGeometry g) {
            int c = g.c(), r = g.r(), s = g.s(), p = g.p();
            k = g.k();
            crs = c * r * s;
            kPad = (k + KB - 1) / KB * KB;
            crsPad = (crs + RB - 1) / RB * RB;
            hp = g.h() + 2 * g.padH();
            wp = g.w() + 2 * g.padW();
            // t over p * wp (the columns past q are zero in dy), padded to whole vectors
            vectors = (p * wp + L - 1) / L;
            dyStride = vectors * L;
            rowOff = CpuConv.rowOffsets(g, crsPad);
            // room past the image for the last vectors of the last rows (they read zeros there)
            imageFloats = c * hp * wp + L + s;
            chunk = Math.max(1, CHUNK_DEPTH / (vectors * L));
        }
    }

    /**
     * out[outOff + kk * crs + row] = sum over images [i0, i1) of the filter gradient (overwrites), and true; or false,
     * with out untouched, when an image holds a NaN or an infinity (its reads past the output width would then not
     * add exact zeros: the caller runs the GEMM formulation instead). x (n, c, h, w) at xo, dy (n, k, p, q) at dyo.
     */
    static boolean group(Conv2dGeometry g, float[] x, int xo, float[] dy, int dyo, int i0, int i1, float[] out, int outOff) {
        Plan pl = new Plan(g);
        int c = g.c(), h = g.h(), w = g.w(), k = g.k(), p = g.p(), q = g.q(), chw = c * h * w, kpq = k * p * q;
        int tiles = pl.kPad / KB * (pl.crsPad / RB), tileFloats = KB * RB * L;
        float[] lanes = CpuConv.scratch(LANES, tiles * tileFloats);
        java.util.Arrays.fill(lanes, 0, tiles * tileFloats, 0f);
        float[] ims = CpuConv.scratch(IMAGES, pl.chunk * pl.imageFloats);
        float[] dyc = CpuConv.scratch(DY, pl.chunk * k * pl.dyStride);
        int[] imBase = new int[pl.chunk], dyBase = new int[pl.chunk];
        for (int cs = i0; cs < i1; cs += pl.chunk) {
            int imgs = Math.min(pl.chunk, i1 - cs);
            for (int j = 0; j < imgs; j++) {
                int i = cs + j, ib = j * pl.imageFloats, db = j * k * pl.dyStride;
                if (!finite(x, xo + i * chw, chw)) return false;
                // the padded image, and zeros past its end for the last vectors of the last rows
                CpuConv.pad(c, h, w, g.padH(), g.padW(), x, xo + i * chw, ims, ib, pl.imageFloats);
                imBase[j] = ib;
                // dy in the padded width: zeros past q and past p * wp
                java.util.Arrays.fill(dyc, db, db + k * pl.dyStride, 0f);
                for (int kk = 0; kk < k; kk++)
                    for (int op = 0; op < p; op++)
                        System.arraycopy(dy, dyo + i * kpq + (kk * p + op) * q, dyc, db + kk * pl.dyStride + op * pl.wp, q);
                dyBase[j] = db;
            }
            for (int kb = 0, tile = 0; kb < pl.kPad; kb += KB) {
                int d0 = Math.min(kb + 0, k - 1) * pl.dyStride;
                int d1 = Math.min(kb + 1, k - 1) * pl.dyStride;
                int d2 = Math.min(kb + 2, k - 1) * pl.dyStride;
                int d3 = Math.min(kb + 3, k - 1) * pl.dyStride;
                for (int rb = 0; rb < pl.crsPad; rb += RB, tile++) {
                    int[] ro = pl.rowOff;
                    tile(dyc, dyBase, ims, imBase, imgs, pl.vectors * L, d0, d1, d2, d3, ro[rb + 0], ro[rb + 1], ro[rb + 2], ro[rb + 3], ro[rb + 4], ro[rb + 5], lanes, tile * tileFloats);
                }
            }
        }
        // out = the lanes of each partial summed in lane order
        for (int kb = 0, tile = 0; kb < pl.kPad; kb += KB) {
            for (int rb = 0; rb < pl.crsPad; rb += RB, tile++) {
                for (int a = 0; a < KB && kb + a < k; a++) {
                    for (int b = 0; b < RB && rb + b < pl.crs; b++) {
                        int lo = tile * tileFloats + (a * RB + b) * L;
                        float sum = 0f;
                        for (int lane = 0; lane < L; lane++) sum += lanes[lo + lane];
                        out[outOff + (kb + a) * pl.crs + rb + b] = sum;
                    }
                }
            }
        }
        return true;
    }

    /** Whether x[from, from + n) holds no NaN and no infinity (x * 0 is then 0). */
    private static boolean finite(float[] x, int from, int n) {
        int i = 0;
        FloatVector acc = FloatVector.zero(S);
        for (int full = n - n % L; i < full; i += L) acc = acc.add(FloatVector.fromArray(S, x, from + i).mul(0f));
        float z = 0f;
        for (; i < n; i++) z += x[from + i] * 0f;
        return acc.add(z).eq(0f).allTrue();
    }

    /**
     * One KB x RB tile: lanes[lo..] (KB * RB vectors, [a][b]) += sum over the chunk's images and t of dy row a times
     * image row b. Unrolled by hand so that the 24 accumulators stay in registers (see {@link Sgemm}'s micro-kernels).
     */
    private static void tile(float[] dy, int[] dyBase, float[] im, int[] imBase, int imgs, int depth, int d0, int d1, int d2, int d3,
                             int o0, int o1, int o2, int o3, int o4, int o5, float[] lanes, int lo) {
        FloatVector a00 = FloatVector.fromArray(S, lanes, lo + 0 * L);
        FloatVector a01 = FloatVector.fromArray(S, lanes, lo + 1 * L);
        FloatVector a02 = FloatVector.fromArray(S, lanes, lo + 2 * L);
        FloatVector a03 = FloatVector.fromArray(S, lanes, lo + 3 * L);
        FloatVector a04 = FloatVector.fromArray(S, lanes, lo + 4 * L);
        FloatVector a05 = FloatVector.fromArray(S, lanes, lo + 5 * L);
        FloatVector a10 = FloatVector.fromArray(S, lanes, lo + 6 * L);
        FloatVector a11 = FloatVector.fromArray(S, lanes, lo + 7 * L);
        FloatVector a12 = FloatVector.fromArray(S, lanes, lo + 8 * L);
        FloatVector a13 = FloatVector.fromArray(S, lanes, lo + 9 * L);
        FloatVector a14 = FloatVector.fromArray(S, lanes, lo + 10 * L);
        FloatVector a15 = FloatVector.fromArray(S, lanes, lo + 11 * L);
        FloatVector a20 = FloatVector.fromArray(S, lanes, lo + 12 * L);
        FloatVector a21 = FloatVector.fromArray(S, lanes, lo + 13 * L);
        FloatVector a22 = FloatVector.fromArray(S, lanes, lo + 14 * L);
        FloatVector a23 = FloatVector.fromArray(S, lanes, lo + 15 * L);
        FloatVector a24 = FloatVector.fromArray(S, lanes, lo + 16 * L);
        FloatVector a25 = FloatVector.fromArray(S, lanes, lo + 17 * L);
        FloatVector a30 = FloatVector.fromArray(S, lanes, lo + 18 * L);
        FloatVector a31 = FloatVector.fromArray(S, lanes, lo + 19 * L);
        FloatVector a32 = FloatVector.fromArray(S, lanes, lo + 20 * L);
        FloatVector a33 = FloatVector.fromArray(S, lanes, lo + 21 * L);
        FloatVector a34 = FloatVector.fromArray(S, lanes, lo + 22 * L);
        FloatVector a35 = FloatVector.fromArray(S, lanes, lo + 23 * L);
        for (int j = 0; j < imgs; j++) {
            int db = dyBase[j], ib = imBase[j];
            for (int t = 0; t < depth; t += L) {
                FloatVector y0 = FloatVector.fromArray(S, dy, db + d0 + t);
                FloatVector y1 = FloatVector.fromArray(S, dy, db + d1 + t);
                FloatVector y2 = FloatVector.fromArray(S, dy, db + d2 + t);
                FloatVector y3 = FloatVector.fromArray(S, dy, db + d3 + t);
                FloatVector z = FloatVector.fromArray(S, im, ib + o0 + t);
                a00 = y0.fma(z, a00); a10 = y1.fma(z, a10); a20 = y2.fma(z, a20); a30 = y3.fma(z, a30);
                z = FloatVector.fromArray(S, im, ib + o1 + t);
                a01 = y0.fma(z, a01); a11 = y1.fma(z, a11); a21 = y2.fma(z, a21); a31 = y3.fma(z, a31);
                z = FloatVector.fromArray(S, im, ib + o2 + t);
                a02 = y0.fma(z, a02); a12 = y1.fma(z, a12); a22 = y2.fma(z, a22); a32 = y3.fma(z, a32);
                z = FloatVector.fromArray(S, im, ib + o3 + t);
                a03 = y0.fma(z, a03); a13 = y1.fma(z, a13); a23 = y2.fma(z, a23); a33 = y3.fma(z, a33);
                z = FloatVector.fromArray(S, im, ib + o4 + t);
                a04 = y0.fma(z, a04); a14 = y1.fma(z, a14); a24 = y2.fma(z, a24); a34 = y3.fma(z, a34);
                z = FloatVector.fromArray(S, im, ib + o5 + t);
                a05 = y0.fma(z, a05); a15 = y1.fma(z, a15); a25 = y2.fma(z, a25); a35 = y3.fma(z, a35);
            }
        }
        a00.intoArray(lanes, lo + 0 * L);
        a01.intoArray(lanes, lo + 1 * L);
        a02.intoArray(lanes, lo + 2 * L);
        a03.intoArray(lanes, lo + 3 * L);
        a04.intoArray(lanes, lo + 4 * L);
        a05.intoArray(lanes, lo + 5 * L);
        a10.intoArray(lanes, lo + 6 * L);
        a11.intoArray(lanes, lo + 7 * L);
        a12.intoArray(lanes, lo + 8 * L);
        a13.intoArray(lanes, lo + 9 * L);
        a14.intoArray(lanes, lo + 10 * L);
        a15.intoArray(lanes, lo + 11 * L);
        a20.intoArray(lanes, lo + 12 * L);
        a21.intoArray(lanes, lo + 13 * L);
        a22.intoArray(lanes, lo + 14 * L);
        a23.intoArray(lanes, lo + 15 * L);
        a24.intoArray(lanes, lo + 16 * L);
        a25.intoArray(lanes, lo + 17 * L);
        a30.intoArray(lanes, lo + 18 * L);
        a31.intoArray(lanes, lo + 19 * L);
        a32.intoArray(lanes, lo + 20 * L);
        a33.intoArray(lanes, lo + 21 * L);
        a34.intoArray(lanes, lo + 22 * L);
        a35.intoArray(lanes, lo + 23 * L);
    }
}
