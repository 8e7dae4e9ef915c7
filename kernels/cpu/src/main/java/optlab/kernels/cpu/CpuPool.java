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
 * scalar max pool about 15-20 ns an output on this machine against 1-2 ns vectorized.
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

    private static int planeGrain(Pool2dGeometry g) {
        return Math.max(1, CpuElementwise.GRAIN / (g.h() * g.w()));
    }

    static void maxForward(Pool2dGeometry g, float[] x, int xo, float[] y, int yo) {
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
