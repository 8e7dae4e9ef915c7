package optlab.kernels.reference;

import optlab.kernels.LstmGeometry;

/**
 * Reference LSTM cell, pointwise part. gates and act are (n, 4h) in PyTorch's order [i | f | g | o];
 * cPrev, c, h are (n, h).
 * <pre>
 *   i = sigmoid(gi), f = sigmoid(gf), g = tanh(gg), o = sigmoid(go)
 *   c = f * cPrev + i * g
 *   h = o * tanh(c)
 * </pre>
 * and one layer over a whole sequence ({@link #sequenceForward}, {@link #sequenceBackward}): that cell applied
 * step by step, with the matrix products written out as plain loops.
 */
public final class RefLstm {
    private RefLstm() {}

    public static void forward(int n, int hidden, double[] gates, int go, double[] cPrev, int cpo,
                               double[] act, int ao, double[] h, int ho, double[] c, int co) {
        for (int b = 0; b < n; b++)
            for (int j = 0; j < hidden; j++) {
                int row = b * 4 * hidden;
                double i = sigmoid(gates[go + row + j]);
                double f = sigmoid(gates[go + row + hidden + j]);
                double g = Math.tanh(gates[go + row + 2 * hidden + j]);
                double o = sigmoid(gates[go + row + 3 * hidden + j]);
                act[ao + row + j] = i;
                act[ao + row + hidden + j] = f;
                act[ao + row + 2 * hidden + j] = g;
                act[ao + row + 3 * hidden + j] = o;
                double cell = f * cPrev[cpo + b * hidden + j] + i * g;
                c[co + b * hidden + j] = cell;
                h[ho + b * hidden + j] = o * Math.tanh(cell);
            }
    }

    /**
     * With tc = tanh(c) and dcTotal = dc + dh * o * (1 - tc^2):
     * do = dh * tc, di = dcTotal * g, df = dcTotal * cPrev, dg = dcTotal * i, dcPrev = dcTotal * f,
     * then through the gate activations: d(pre) = d(act) * act * (1 - act) for sigmoids,
     * d(pre) = d(act) * (1 - act^2) for tanh. dc may be null (zero).
     */
    public static void backward(int n, int hidden, double[] act, int ao, double[] cPrev, int cpo, double[] c, int co,
                                double[] dh, int dho, double[] dc, int dco, double[] dGates, int dgo,
                                double[] dcPrev, int dcpo) {
        for (int b = 0; b < n; b++)
            for (int j = 0; j < hidden; j++) {
                int row = b * 4 * hidden, at = b * hidden + j;
                double i = act[ao + row + j], f = act[ao + row + hidden + j];
                double g = act[ao + row + 2 * hidden + j], o = act[ao + row + 3 * hidden + j];
                double tc = Math.tanh(c[co + at]);
                double dhv = dh[dho + at];
                double dcTotal = (dc == null ? 0 : dc[dco + at]) + dhv * o * (1 - tc * tc);
                dGates[dgo + row + j] = dcTotal * g * i * (1 - i);
                dGates[dgo + row + hidden + j] = dcTotal * cPrev[cpo + at] * f * (1 - f);
                dGates[dgo + row + 2 * hidden + j] = dcTotal * i * (1 - g * g);
                dGates[dgo + row + 3 * hidden + j] = dhv * tc * o * (1 - o);
                dcPrev[dcpo + at] = dcTotal * f;
            }
    }

    /**
     * One LSTM layer over a sequence (see {@link LstmGeometry} for the shapes), step by step: for s = 0 .. t-1,
     * <pre>
     *   gates_s = x_s wIh^T + bIh + h_{s-1} wHh^T + bHh          (n, 4h), blocks [i | f | g | o]
     *   (act_s, h_s, c_s) = {@link #forward}(gates_s, c_{s-1})   the cell
     *   y_s = h_s
     * </pre>
     * with h_{-1} = h0 and c_{-1} = c0 (null: zeros); a null bias is zero. Writes y (t, n, h), hT = h_{t-1},
     * cT = c_{t-1}, and, when {@code reserve} is not null, what the backward needs: act (t, n, 4h) followed by
     * c (t, n, h) ({@link LstmGeometry#stepReserveSize()} elements). All arrays start at offset 0.
     */
    public static void sequenceForward(LstmGeometry g, double[] x, double[] h0, double[] c0, double[] wIh, double[] wHh,
                                       double[] bIh, double[] bHh, double[] y, double[] hT, double[] cT, double[] reserve) {
        int t = g.t(), n = g.n(), in = g.input(), hid = g.hidden(), g4 = 4 * hid, nh = n * hid;
        double[] hPrev = h0 != null ? h0.clone() : new double[nh], cPrev = c0 != null ? c0.clone() : new double[nh];
        double[] gates = new double[n * g4], act = new double[n * g4], h = new double[nh], c = new double[nh];
        for (int s = 0; s < t; s++) {
            for (int b = 0; b < n; b++)
                for (int r = 0; r < g4; r++) {
                    double v = (bIh == null ? 0 : bIh[r]) + (bHh == null ? 0 : bHh[r]);
                    for (int k = 0; k < in; k++) v += x[(s * n + b) * in + k] * wIh[r * in + k];
                    for (int k = 0; k < hid; k++) v += hPrev[b * hid + k] * wHh[r * hid + k];
                    gates[b * g4 + r] = v;
                }
            forward(n, hid, gates, 0, cPrev, 0, act, 0, h, 0, c, 0);
            System.arraycopy(h, 0, y, s * nh, nh);
            if (reserve != null) {
                System.arraycopy(act, 0, reserve, s * n * g4, n * g4);
                System.arraycopy(c, 0, reserve, t * n * g4 + s * nh, nh);
            }
            System.arraycopy(h, 0, hPrev, 0, nh);
            System.arraycopy(c, 0, cPrev, 0, nh);
        }
        System.arraycopy(hPrev, 0, hT, 0, nh);
        System.arraycopy(cPrev, 0, cT, 0, nh);
    }

    /**
     * Backward of {@link #sequenceForward} (backpropagation through time), from the forward's inputs, its y and
     * its reserve, and the gradients dy (t, n, h), dhT and dcT (n, h; null: zero). For s = t-1 .. 0:
     * <pre>
     *   dh = dy_s + dh_s^rec;  (dGates_s, dc_{s-1}) = {@link #backward}(act_s, c_{s-1}, c_s, dh, dc_s)
     *   dh_{s-1}^rec = dGates_s wHh;  dx_s = dGates_s wIh
     *   dwIh += dGates_s^T x_s;  dwHh += dGates_s^T h_{s-1};  db += sum over the batch of dGates_s
     * </pre>
     * starting from dh_{t-1}^rec = dhT and dc_{t-1} = dcT. Writes (overwrites) dwIh, dwHh, db (the gradient of
     * each bias: both get the same one), and dx, dh0 = dh_{-1}^rec, dc0 = dc_{-1} where those are not null.
     */
    public static void sequenceBackward(LstmGeometry g, double[] x, double[] h0, double[] c0, double[] wIh, double[] wHh,
                                        double[] y, double[] reserve, double[] dy, double[] dhT, double[] dcT,
                                        double[] dx, double[] dh0, double[] dc0, double[] dwIh, double[] dwHh, double[] db) {
        int t = g.t(), n = g.n(), in = g.input(), hid = g.hidden(), g4 = 4 * hid, nh = n * hid;
        java.util.Arrays.fill(dwIh, 0, g4 * in, 0.0);
        java.util.Arrays.fill(dwHh, 0, g4 * hid, 0.0);
        java.util.Arrays.fill(db, 0, g4, 0.0);
        if (dx != null) java.util.Arrays.fill(dx, 0, t * n * in, 0.0);
        double[] dhRec = dhT != null ? dhT.clone() : new double[nh], dc = dcT != null ? dcT.clone() : new double[nh];
        double[] zeros = new double[nh], dh = new double[nh], dGates = new double[n * g4], dcPrev = new double[nh];
        int cBase = t * n * g4;
        for (int s = t - 1; s >= 0; s--) {
            for (int i = 0; i < nh; i++) dh[i] = dy[s * nh + i] + dhRec[i];
            double[] cPrev;
            int cPrevOff;
            if (s > 0) {
                cPrev = reserve;
                cPrevOff = cBase + (s - 1) * nh;
            } else {
                cPrev = c0 != null ? c0 : zeros;
                cPrevOff = 0;
            }
            backward(n, hid, reserve, s * n * g4, cPrev, cPrevOff, reserve, cBase + s * nh, dh, 0, dc, 0, dGates, 0, dcPrev, 0);
            double[] hPrev = s > 0 ? y : (h0 != null ? h0 : zeros);
            int hPrevOff = s > 0 ? (s - 1) * nh : 0;
            java.util.Arrays.fill(dhRec, 0.0);
            for (int b = 0; b < n; b++)
                for (int r = 0; r < g4; r++) {
                    double d = dGates[b * g4 + r];
                    db[r] += d;
                    for (int k = 0; k < in; k++) {
                        dwIh[r * in + k] += d * x[(s * n + b) * in + k];
                        if (dx != null) dx[(s * n + b) * in + k] += d * wIh[r * in + k];
                    }
                    for (int k = 0; k < hid; k++) {
                        dwHh[r * hid + k] += d * hPrev[hPrevOff + b * hid + k];
                        dhRec[b * hid + k] += d * wHh[r * hid + k];
                    }
                }
            System.arraycopy(dcPrev, 0, dc, 0, nh);
        }
        if (dh0 != null) System.arraycopy(dhRec, 0, dh0, 0, nh);
        if (dc0 != null) System.arraycopy(dc, 0, dc0, 0, nh);
    }

    private static double sigmoid(double x) {
        return 1.0 / (1.0 + Math.exp(-x));
    }
}
