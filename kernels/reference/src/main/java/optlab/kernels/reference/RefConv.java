package optlab.kernels.reference;

import optlab.kernels.Conv2dGeometry;

/**
 * Reference 2-D convolution (cross-correlation), NCHW, as direct loops.
 * x is (n, c, h, w); w is (k, c, r, s); y is (n, k, p, q). Input row of output row op and filter row
 * fr is {@code ih = op*strideH - padH + fr}; positions outside [0, h) read as zero.
 */
public final class RefConv {
    private RefConv() {}

    public static void forward(Conv2dGeometry g, double[] x, int xo, double[] w, int wo, double[] y, int yo) {
        int P = g.p(), Q = g.q();
        for (int n = 0; n < g.n(); n++)
            for (int k = 0; k < g.k(); k++)
                for (int p = 0; p < P; p++)
                    for (int q = 0; q < Q; q++) {
                        double acc = 0;
                        for (int c = 0; c < g.c(); c++)
                            for (int r = 0; r < g.r(); r++) {
                                int ih = p * g.strideH() - g.padH() + r;
                                if (ih < 0 || ih >= g.h()) continue;
                                for (int s = 0; s < g.s(); s++) {
                                    int iw = q * g.strideW() - g.padW() + s;
                                    if (iw < 0 || iw >= g.w()) continue;
                                    acc += x[xo + xIndex(g, n, c, ih, iw)] * w[wo + wIndex(g, k, c, r, s)];
                                }
                            }
                        y[yo + ((n * g.k() + k) * P + p) * Q + q] = acc;
                    }
    }

    /** dx = sum over every (output position, filter tap) that read x of dy * w. */
    public static void backwardData(Conv2dGeometry g, double[] dy, int dyo, double[] w, int wo, double[] dx, int dxo) {
        RefElementwise.fill(dx, dxo, g.inputSize(), 0.0);
        int P = g.p(), Q = g.q();
        for (int n = 0; n < g.n(); n++)
            for (int k = 0; k < g.k(); k++)
                for (int p = 0; p < P; p++)
                    for (int q = 0; q < Q; q++) {
                        double d = dy[dyo + ((n * g.k() + k) * P + p) * Q + q];
                        for (int c = 0; c < g.c(); c++)
                            for (int r = 0; r < g.r(); r++) {
                                int ih = p * g.strideH() - g.padH() + r;
                                if (ih < 0 || ih >= g.h()) continue;
                                for (int s = 0; s < g.s(); s++) {
                                    int iw = q * g.strideW() - g.padW() + s;
                                    if (iw < 0 || iw >= g.w()) continue;
                                    dx[dxo + xIndex(g, n, c, ih, iw)] += d * w[wo + wIndex(g, k, c, r, s)];
                                }
                            }
                    }
    }

    /** dw[k][c][r][s] = sum over n, p, q of dy[n][k][p][q] * x[n][c][ih][iw]. */
    public static void backwardFilter(Conv2dGeometry g, double[] x, int xo, double[] dy, int dyo, double[] dw, int dwo) {
        int P = g.p(), Q = g.q();
        for (int k = 0; k < g.k(); k++)
            for (int c = 0; c < g.c(); c++)
                for (int r = 0; r < g.r(); r++)
                    for (int s = 0; s < g.s(); s++) {
                        double acc = 0;
                        for (int n = 0; n < g.n(); n++)
                            for (int p = 0; p < P; p++) {
                                int ih = p * g.strideH() - g.padH() + r;
                                if (ih < 0 || ih >= g.h()) continue;
                                for (int q = 0; q < Q; q++) {
                                    int iw = q * g.strideW() - g.padW() + s;
                                    if (iw < 0 || iw >= g.w()) continue;
                                    acc += dy[dyo + ((n * g.k() + k) * P + p) * Q + q] * x[xo + xIndex(g, n, c, ih, iw)];
                                }
                            }
                        dw[dwo + wIndex(g, k, c, r, s)] = acc;
                    }
    }

    private static int xIndex(Conv2dGeometry g, int n, int c, int ih, int iw) {
        return ((n * g.c() + c) * g.h() + ih) * g.w() + iw;
    }

    private static int wIndex(Conv2dGeometry g, int k, int c, int r, int s) {
        return ((k * g.c() + c) * g.r() + r) * g.s() + s;
    }
}
