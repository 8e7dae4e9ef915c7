package optlab.kernels.reference;

/**
 * Reference LSTM cell, pointwise part. gates and act are (n, 4h) in PyTorch's order [i | f | g | o];
 * cPrev, c, h are (n, h).
 * <pre>
 *   i = sigmoid(gi), f = sigmoid(gf), g = tanh(gg), o = sigmoid(go)
 *   c = f * cPrev + i * g
 *   h = o * tanh(c)
 * </pre>
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

    private static double sigmoid(double x) {
        return 1.0 / (1.0 + Math.exp(-x));
    }
}
