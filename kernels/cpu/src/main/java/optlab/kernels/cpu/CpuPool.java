package optlab.kernels.cpu;

import optlab.kernels.Pool2dGeometry;
import optlab.kernels.reference.RefPool;

/**
 * Float32 pooling of the CPU backend, parallel over the n*c planes. Same window rules as the
 * reference {@link RefPool} (whose window-bound helpers it uses).
 */
final class CpuPool {
    private CpuPool() {}

    private static int planeGrain(Pool2dGeometry g) {
        return Math.max(1, CpuElementwise.GRAIN / (g.h() * g.w()));
    }

    static void maxForward(Pool2dGeometry g, float[] x, int xo, float[] y, int yo) {
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
