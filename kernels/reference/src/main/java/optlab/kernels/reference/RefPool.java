package optlab.kernels.reference;

import optlab.kernels.Pool2dGeometry;

/**
 * Reference max and average pooling, NCHW. x is (n, c, h, w); y is (n, c, p, q). Window (p, q)
 * covers rows {@code p*strideH - padH + [0, kh)} clipped to [0, h), and likewise columns.
 */
public final class RefPool {
    private RefPool() {}

    public static void maxForward(Pool2dGeometry g, double[] x, int xo, double[] y, int yo) {
        int P = g.p(), Q = g.q();
        for (int nc = 0; nc < g.n() * g.c(); nc++)
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++) {
                    double m = Double.NEGATIVE_INFINITY;
                    for (int r = rowStart(g, p); r < rowEnd(g, p); r++)
                        for (int s = colStart(g, q); s < colEnd(g, q); s++) {
                            double v = x[xo + (nc * g.h() + r) * g.w() + s];
                            if (v > m || Double.isNaN(v)) m = v;
                            if (Double.isNaN(m)) break;
                        }
                    y[yo + (nc * P + p) * Q + q] = m;
                }
    }

    /** Each window's gradient goes to the first position (row-major) where x equals the window's max. */
    public static void maxBackward(Pool2dGeometry g, double[] x, int xo, double[] y, int yo,
                                   double[] dy, int dyo, double[] dx, int dxo) {
        RefElementwise.fill(dx, dxo, g.inputSize(), 0.0);
        int P = g.p(), Q = g.q();
        for (int nc = 0; nc < g.n() * g.c(); nc++)
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++) {
                    int out = (nc * P + p) * Q + q;
                    double m = y[yo + out];
                    search:
                    for (int r = rowStart(g, p); r < rowEnd(g, p); r++)
                        for (int s = colStart(g, q); s < colEnd(g, q); s++) {
                            int in = (nc * g.h() + r) * g.w() + s;
                            double v = x[xo + in];
                            if (v == m || (Double.isNaN(v) && Double.isNaN(m))) {
                                dx[dxo + in] += dy[dyo + out];
                                break search;
                            }
                        }
                }
    }

    public static void avgForward(Pool2dGeometry g, boolean countIncludePad, double[] x, int xo, double[] y, int yo) {
        int P = g.p(), Q = g.q();
        for (int nc = 0; nc < g.n() * g.c(); nc++)
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++) {
                    double sum = 0;
                    for (int r = rowStart(g, p); r < rowEnd(g, p); r++)
                        for (int s = colStart(g, q); s < colEnd(g, q); s++) sum += x[xo + (nc * g.h() + r) * g.w() + s];
                    y[yo + (nc * P + p) * Q + q] = sum / divisor(g, countIncludePad, p, q);
                }
    }

    public static void avgBackward(Pool2dGeometry g, boolean countIncludePad, double[] dy, int dyo, double[] dx, int dxo) {
        RefElementwise.fill(dx, dxo, g.inputSize(), 0.0);
        int P = g.p(), Q = g.q();
        for (int nc = 0; nc < g.n() * g.c(); nc++)
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++) {
                    double d = dy[dyo + (nc * P + p) * Q + q] / divisor(g, countIncludePad, p, q);
                    for (int r = rowStart(g, p); r < rowEnd(g, p); r++)
                        for (int s = colStart(g, q); s < colEnd(g, q); s++) dx[dxo + (nc * g.h() + r) * g.w() + s] += d;
                }
    }

    /**
     * The averaging divisor of window (p, q): PyTorch counts padded positions (but never positions
     * past the padding) when countIncludePad, else only the positions inside the input.
     */
    public static int divisor(Pool2dGeometry g, boolean countIncludePad, int p, int q) {
        if (!countIncludePad) return (rowEnd(g, p) - rowStart(g, p)) * (colEnd(g, q) - colStart(g, q));
        int r0 = p * g.strideH() - g.padH(), s0 = q * g.strideW() - g.padW();
        int r1 = Math.min(r0 + g.kh(), g.h() + g.padH()), s1 = Math.min(s0 + g.kw(), g.w() + g.padW());
        return (r1 - r0) * (s1 - s0);
    }

    public static int rowStart(Pool2dGeometry g, int p) {
        return Math.max(p * g.strideH() - g.padH(), 0);
    }

    public static int rowEnd(Pool2dGeometry g, int p) {
        return Math.min(p * g.strideH() - g.padH() + g.kh(), g.h());
    }

    public static int colStart(Pool2dGeometry g, int q) {
        return Math.max(q * g.strideW() - g.padW(), 0);
    }

    public static int colEnd(Pool2dGeometry g, int q) {
        return Math.min(q * g.strideW() - g.padW() + g.kw(), g.w());
    }
}
