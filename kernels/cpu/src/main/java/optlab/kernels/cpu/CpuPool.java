package optlab.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import optlab.kernels.Pool2dGeometry;
import optlab.kernels.reference.RefPool;

/**
 * Float32 pooling of the CPU backend, parallel over the n*c planes. Same window rules as the
 * reference {@link RefPool} (whose window-bound helpers it uses).
 *
 * <p>Max pooling without padding (DeepOBS's 2x2 / stride 2, for one) runs vectorized over a plane's outputs:
 * {@code origin[o]} is the offset of output o's window in its plane, and for each window position (r, s),
 * in the reference's row-major order, one gather loads that element of L consecutive outputs' windows. The
 * forward keeps the reference's running rule ({@code v > m || v is NaN} takes v) lane by lane, so it gives the
 * reference's bits; the backward (when windows do not overlap, stride >= window) finds, lane by lane, the first
 * window element equal to y (or NaN with y NaN) and scatters dy there. Scalar loops serve padded or overlapping
 * windows: with random inputs their data-dependent branches mispredict about half the time, which made the
 * scalar max pool about 15-20 ns an output on this machine against 1-2 ns vectorized. The 2x2 / stride 2 case has
 * its own path without gathers (see {@link #maxForward2x2}).
 */
final class CpuPool {
    private CpuPool() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    /** Offsets of each output's window origin in its plane, padded with L zeros so every gather stays in bounds. */
    private static int[] origins(Pool2dGeometry g) {
        int P = g.p(), Q = g.q();
        int[] origin = new int[P * Q + L];
        for (int p = 0; p < P; p++)
            for (int q = 0; q < Q; q++) origin[p * Q + q] = p * g.strideH() * g.w() + q * g.strideW();
        return origin;
    }

    private static void maxForwardVector(Pool2dGeometry g, float[] x, int xo, float[] y, int yo) {
        int PQ = g.p() * g.q(), HW = g.h() * g.w(), W = g.w(), kh = g.kh(), kw = g.kw();
        int[] origin = origins(g);
        Parallel.forRange(g.n() * g.c(), planeGrain(g), (a, b) -> {
            for (int nc = a; nc < b; nc++) {
                int xp = xo + nc * HW, yp = yo + nc * PQ;
                for (int o = 0; o < PQ; o += L) {
                    FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
                    for (int r = 0; r < kh; r++)
                        for (int s = 0; s < kw; s++) {
                            FloatVector v = FloatVector.fromArray(S, x, xp + r * W + s, origin, o);
                            m = m.blend(v, v.compare(VectorOperators.GT, m).or(v.test(VectorOperators.IS_NAN)));
                        }
                    m.intoArray(y, yp + o, S.indexInRange(o, PQ));
                }
            }
        });
    }

    private static void maxBackwardVector(Pool2dGeometry g, float[] x, int xo, float[] y, int yo, float[] dy, int dyo,
                                          float[] dx, int dxo) {
        int PQ = g.p() * g.q(), HW = g.h() * g.w(), W = g.w(), kh = g.kh(), kw = g.kw();
        int[] origin = origins(g);
        Parallel.forRange(g.n() * g.c(), planeGrain(g), (a, b) -> {
            for (int nc = a; nc < b; nc++) {
                int xp = xo + nc * HW, dxp = dxo + nc * HW, yp = yo + nc * PQ, dyp = dyo + nc * PQ;
                java.util.Arrays.fill(dx, dxp, dxp + HW, 0f);
                for (int o = 0; o < PQ; o += L) {
                    VectorMask<Float> open = S.indexInRange(o, PQ); // lanes whose element is still to be found
                    FloatVector m = FloatVector.fromArray(S, y, yp + o, open);
                    FloatVector d = FloatVector.fromArray(S, dy, dyp + o, open).add(0f); // 0 + dy, as the reference's +=
                    VectorMask<Float> mNaN = m.test(VectorOperators.IS_NAN);
                    for (int r = 0; r < kh && open.anyTrue(); r++)
                        for (int s = 0; s < kw; s++) {
                            int off = r * W + s;
                            FloatVector v = FloatVector.fromArray(S, x, xp + off, origin, o);
                            VectorMask<Float> hit = v.compare(VectorOperators.EQ, m)
                                    .or(v.test(VectorOperators.IS_NAN).and(mNaN)).and(open);
                            d.intoArray(dx, dxp + off, origin, o, hit);
                            open = open.andNot(hit);
                        }
                }
            }
        });
    }

    // ---- 2x2 windows at stride 2 without padding (DeepOBS's CNNs): contiguous loads, no gather ----

    /**
     * Lane indices of {@code selectFrom(a, b)} over the 2L floats a|b: EVEN and ODD pick elements 0, 2, 4, .. and
     * 1, 3, 5, .. (the left and right columns of L windows); ZIP_LO and ZIP_HI interleave two vectors back (the
     * first and second L floats of e0 o0 e1 o1 ..).
     */
    private static final FloatVector EVEN, ODD, ZIP_LO, ZIP_HI;

    static {
        float[] e = new float[L], o = new float[L], lo = new float[L], hi = new float[L];
        for (int i = 0; i < L; i++) {
            e[i] = 2 * i;
            o[i] = 2 * i + 1;
            lo[i] = i / 2 + (i % 2) * L;
            hi[i] = L / 2 + i / 2 + (i % 2) * L;
        }
        EVEN = FloatVector.fromArray(S, e, 0);
        ODD = FloatVector.fromArray(S, o, 0);
        ZIP_LO = FloatVector.fromArray(S, lo, 0);
        ZIP_HI = FloatVector.fromArray(S, hi, 0);
    }

    private static boolean twoByTwo(Pool2dGeometry g) {
        return g.kh() == 2 && g.kw() == 2 && g.strideH() == 2 && g.strideW() == 2 && g.padH() == 0 && g.padW() == 0;
    }

    /** Per-thread copy of a row's last chunk: 2L inputs of each window row, L outputs, 2L of each dx row. */
    private static final ThreadLocal<float[]> EDGE = ThreadLocal.withInitial(() -> new float[10 * L]);

    /**
     * 2x2 / stride 2 forward: each output row p reads input rows 2p and 2p+1 in chunks of 2L floats, splits each into
     * the windows' left and right columns, and takes the max of the four in the reference's order with its rule
     * ({@code v > m || v is NaN}), so the bits are the reference's. A row's last partial chunk runs the same code on
     * a copy (NOTE [vector-phis]).
     */
    private static void maxForward2x2(Pool2dGeometry g, float[] x, int xo, float[] y, int yo) {
        int P = g.p(), Q = g.q(), W = g.w(), HW = g.h() * W, PQ = P * Q, full = Q - Q % L;
        Parallel.forRange(g.n() * g.c(), planeGrain(g), (a, b) -> {
            float[] t = EDGE.get();
            for (int nc = a; nc < b; nc++) {
                for (int p = 0; p < P; p++) {
                    int r0 = xo + nc * HW + 2 * p * W, yr = yo + nc * PQ + p * Q;
                    for (int j = 0; j < full; j += L) max4(x, r0 + 2 * j, x, r0 + W + 2 * j, y, yr + j);
                    if (full < Q) {
                        int n = Q - full;
                        java.util.Arrays.fill(t, 0, 4 * L, 0f);
                        System.arraycopy(x, r0 + 2 * full, t, 0, 2 * n);
                        System.arraycopy(x, r0 + W + 2 * full, t, 2 * L, 2 * n);
                        max4(t, 0, t, 2 * L, t, 4 * L);
                        System.arraycopy(t, 4 * L, y, yr + full, n);
                    }
                }
            }
        });
    }

    /** dst[d, d + L) = the max of the L 2x2 windows whose rows are src0[s0, s0 + 2L) and src1[s1, s1 + 2L). */
    private static void max4(float[] src0, int s0, float[] src1, int s1, float[] dst, int d) {
        FloatVector a0 = FloatVector.fromArray(S, src0, s0), a1 = FloatVector.fromArray(S, src0, s0 + L);
        FloatVector b0 = FloatVector.fromArray(S, src1, s1), b1 = FloatVector.fromArray(S, src1, s1 + L);
        FloatVector m = EVEN.selectFrom(a0, a1); // the first element: the reference's -inf start takes it (or keeps -inf)
        FloatVector v = ODD.selectFrom(a0, a1);
        m = m.blend(v, v.compare(VectorOperators.GT, m).or(v.test(VectorOperators.IS_NAN)));
        v = EVEN.selectFrom(b0, b1);
        m = m.blend(v, v.compare(VectorOperators.GT, m).or(v.test(VectorOperators.IS_NAN)));
        v = ODD.selectFrom(b0, b1);
        m = m.blend(v, v.compare(VectorOperators.GT, m).or(v.test(VectorOperators.IS_NAN)));
        m.intoArray(dst, d);
    }

    /**
     * 2x2 / stride 2 backward: for each chunk of L windows, dy goes to the first of the four elements (reference
     * order) equal to y, or NaN where y is NaN, and 0 to the others; the two rows of dx are written whole (the
     * windows tile them), so dx is zero-filled first only where an odd h or w leaves a last row or column unread.
     */
    private static void maxBackward2x2(Pool2dGeometry g, float[] x, int xo, float[] y, int yo, float[] dy, int dyo, float[] dx,
                                       int dxo) {
        int P = g.p(), Q = g.q(), W = g.w(), HW = g.h() * W, PQ = P * Q, full = Q - Q % L;
        boolean uncovered = g.h() % 2 != 0 || W % 2 != 0;
        Parallel.forRange(g.n() * g.c(), planeGrain(g), (a, b) -> {
            float[] t = EDGE.get();
            for (int nc = a; nc < b; nc++) {
                if (uncovered) java.util.Arrays.fill(dx, dxo + nc * HW, dxo + (nc + 1) * HW, 0f);
                for (int p = 0; p < P; p++) {
                    int r0 = 2 * p * W, xr = xo + nc * HW + r0, dxr = dxo + nc * HW + r0, o = nc * PQ + p * Q;
                    for (int j = 0; j < full; j += L) back4(x, xr + 2 * j, xr + W + 2 * j, y, yo + o + j, dy, dyo + o + j, dx, dxr + 2 * j, dxr + W + 2 * j);
                    if (full < Q) {
                        int n = Q - full;
                        java.util.Arrays.fill(t, 0, 6 * L, 0f);
                        System.arraycopy(x, xr + 2 * full, t, 0, 2 * n);
                        System.arraycopy(x, xr + W + 2 * full, t, 2 * L, 2 * n);
                        System.arraycopy(y, yo + o + full, t, 4 * L, n);
                        System.arraycopy(dy, dyo + o + full, t, 5 * L, n);
                        back4(t, 0, 2 * L, t, 4 * L, t, 5 * L, t, 6 * L, 8 * L);
                        System.arraycopy(t, 6 * L, dx, dxr + 2 * full, 2 * n);
                        System.arraycopy(t, 8 * L, dx, dxr + W + 2 * full, 2 * n);
                    }
                }
            }
        });
    }

    /** One chunk of {@link #maxBackward2x2}: x rows at s0, s1 (2L each), y and dy (L), dx rows at d0, d1 (2L each). */
    private static void back4(float[] x, int s0, int s1, float[] y, int yi, float[] dy, int dyi, float[] dx, int d0, int d1) {
        FloatVector a0 = FloatVector.fromArray(S, x, s0), a1 = FloatVector.fromArray(S, x, s0 + L);
        FloatVector b0 = FloatVector.fromArray(S, x, s1), b1 = FloatVector.fromArray(S, x, s1 + L);
        FloatVector m = FloatVector.fromArray(S, y, yi), zero = FloatVector.zero(S);
        FloatVector d = FloatVector.fromArray(S, dy, dyi).add(0f); // 0 + dy, as the reference's +=
        VectorMask<Float> mNaN = m.test(VectorOperators.IS_NAN);
        FloatVector v = EVEN.selectFrom(a0, a1);
        VectorMask<Float> hit = v.compare(VectorOperators.EQ, m).or(v.test(VectorOperators.IS_NAN).and(mNaN)), open = hit.not();
        FloatVector d00 = zero.blend(d, hit);
        v = ODD.selectFrom(a0, a1);
        hit = v.compare(VectorOperators.EQ, m).or(v.test(VectorOperators.IS_NAN).and(mNaN)).and(open);
        open = open.andNot(hit);
        FloatVector d01 = zero.blend(d, hit);
        v = EVEN.selectFrom(b0, b1);
        hit = v.compare(VectorOperators.EQ, m).or(v.test(VectorOperators.IS_NAN).and(mNaN)).and(open);
        open = open.andNot(hit);
        FloatVector d10 = zero.blend(d, hit);
        v = ODD.selectFrom(b0, b1);
        hit = v.compare(VectorOperators.EQ, m).or(v.test(VectorOperators.IS_NAN).and(mNaN)).and(open);
        FloatVector d11 = zero.blend(d, hit);
        ZIP_LO.selectFrom(d00, d01).intoArray(dx, d0);
        ZIP_HI.selectFrom(d00, d01).intoArray(dx, d0 + L);
        ZIP_LO.selectFrom(d10, d11).intoArray(dx, d1);
        ZIP_HI.selectFrom(d10, d11).intoArray(dx, d1 + L);
    }

    private static int planeGrain(Pool2dGeometry g) {
        return Math.max(1, CpuElementwise.GRAIN / (g.h() * g.w()));
    }

    static void maxForward(Pool2dGeometry g, float[] x, int xo, float[] y, int yo) {
        if (twoByTwo(g)) {
            maxForward2x2(g, x, xo, y, yo);
            return;
        }
        if (g.padH() == 0 && g.padW() == 0) {
            maxForwardVector(g, x, xo, y, yo);
            return;
        }
        int P = g.p(), Q = g.q(), H = g.h(), W = g.w();
        Parallel.forRange(g.n() * g.c(), planeGrain(g), (a, b) -> {
            for (int nc = a; nc < b; nc++) {
                int xp = xo + nc * H * W, yp = yo + nc * P * Q;
                for (int p = 0; p < P; p++) {
                    int r0 = RefPool.rowStart(g, p), r1 = RefPool.rowEnd(g, p);
                    for (int q = 0; q < Q; q++) {
                        int s0 = RefPool.colStart(g, q), s1 = RefPool.colEnd(g, q);
                        float m = Float.NEGATIVE_INFINITY;
                        for (int r = r0; r < r1; r++)
                            for (int s = s0; s < s1; s++) {
                                float v = x[xp + r * W + s];
                                if (v > m || v != v) m = v;
                            }
                        y[yp + p * Q + q] = m;
                    }
                }
            }
        });
    }

    static void maxBackward(Pool2dGeometry g, float[] x, int xo, float[] y, int yo, float[] dy, int dyo, float[] dx, int dxo) {
        if (twoByTwo(g)) {
            maxBackward2x2(g, x, xo, y, yo, dy, dyo, dx, dxo);
            return;
        }
        if (g.padH() == 0 && g.padW() == 0 && g.kh() <= g.strideH() && g.kw() <= g.strideW()) {
            maxBackwardVector(g, x, xo, y, yo, dy, dyo, dx, dxo);
            return;
        }
        int P = g.p(), Q = g.q(), H = g.h(), W = g.w();
        Parallel.forRange(g.n() * g.c(), planeGrain(g), (a, b) -> {
            for (int nc = a; nc < b; nc++) {
                int xp = xo + nc * H * W, dxp = dxo + nc * H * W, yp = yo + nc * P * Q, dyp = dyo + nc * P * Q;
                java.util.Arrays.fill(dx, dxp, dxp + H * W, 0f);
                for (int p = 0; p < P; p++) {
                    int r0 = RefPool.rowStart(g, p), r1 = RefPool.rowEnd(g, p);
                    for (int q = 0; q < Q; q++) {
                        int s0 = RefPool.colStart(g, q), s1 = RefPool.colEnd(g, q);
                        float m = y[yp + p * Q + q];
                        search:
                        for (int r = r0; r < r1; r++)
                            for (int s = s0; s < s1; s++) {
                                float v = x[xp + r * W + s];
                                if (v == m || (v != v && m != m)) {
                                    dx[dxp + r * W + s] += dy[dyp + p * Q + q];
                                    break search;
                                }
                            }
                    }
                }
            }
        });
    }

    static void avgForward(Pool2dGeometry g, boolean countIncludePad, float[] x, int xo, float[] y, int yo) {
        int P = g.p(), Q = g.q(), H = g.h(), W = g.w();
        Parallel.forRange(g.n() * g.c(), planeGrain(g), (a, b) -> {
            for (int nc = a; nc < b; nc++) {
                int xp = xo + nc * H * W, yp = yo + nc * P * Q;
                for (int p = 0; p < P; p++)
                    for (int q = 0; q < Q; q++) {
                        float sum = 0;
                        for (int r = RefPool.rowStart(g, p); r < RefPool.rowEnd(g, p); r++)
                            for (int s = RefPool.colStart(g, q); s < RefPool.colEnd(g, q); s++) sum += x[xp + r * W + s];
                        y[yp + p * Q + q] = sum / RefPool.divisor(g, countIncludePad, p, q);
                    }
            }
        });
    }

    static void avgBackward(Pool2dGeometry g, boolean countIncludePad, float[] dy, int dyo, float[] dx, int dxo) {
        int P = g.p(), Q = g.q(), H = g.h(), W = g.w();
        Parallel.forRange(g.n() * g.c(), planeGrain(g), (a, b) -> {
            for (int nc = a; nc < b; nc++) {
                int dxp = dxo + nc * H * W, dyp = dyo + nc * P * Q;
                java.util.Arrays.fill(dx, dxp, dxp + H * W, 0f);
                for (int p = 0; p < P; p++)
                    for (int q = 0; q < Q; q++) {
                        float d = dy[dyp + p * Q + q] / RefPool.divisor(g, countIncludePad, p, q);
                        for (int r = RefPool.rowStart(g, p); r < RefPool.rowEnd(g, p); r++)
                            for (int s = RefPool.colStart(g, q); s < RefPool.colEnd(g, q); s++) dx[dxp + r * W + s] += d;
                    }
            }
        });
    }
}
