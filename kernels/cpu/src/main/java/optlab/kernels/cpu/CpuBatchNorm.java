package optlab.kernels.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import optlab.kernels.Checks;
import optlab.kernels.reference.RefBatchNorm;

/**
 * Float32 batch normalization of the CPU backend, parallel over channels, statistics accumulated in
 * double. Same formulas as the reference {@link RefBatchNorm}; x and y are (n, c, hw).
 *
 * <p>The per-channel sums (the mean, the squared deviations, and the backward's sums of dy and dy * x) run on
 * vectors: each float vector of a row is widened to two double vectors added into two accumulators, so a
 * channel's sum is 2 * (L / 2) running partial sums in double, added lane by lane at the end of the channel,
 * the tail of each row (hw % L) added in scalar. One thread owns a channel, so the order, and the bits, do not
 * depend on the thread count. The lanes are added in lane order by {@link #laneSum}, not by {@code reduceLanes(ADD)},
 * whose order the Vector API leaves to the implementation: C2's reduction and the interpreter's could round
 * differently, and two threads in different JIT tiers would then break that independence (NOTE [lstm-exp]'s hazard).
 * A single running double sum (as before) is a chain of dependent additions, about four cycles an element; this is
 * closer to one load an element.
 *
 * <p>The epilogue (Backend's NOTE [bn-epilogue]) runs row by row while the row is in L1: the forward adds z and applies
 * {@link CpuElementwise#relu} to each row of y just written; the backward first writes each row's masked gradient
 * g = {@link CpuElementwise#reluBackward}(dy, y) into dz, or into dx when there is no dz (the dx pass then reads g
 * from dx and overwrites it in place, element by element), and then runs the plain backward on g. The float
 * operations are the unfused ops', so the bits are theirs.
 */
final class CpuBatchNorm {
    private CpuBatchNorm() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    /** The low half (lo) and the high half (hi) of a float vector, widened to doubles. */
    private static DoubleVector lo(FloatVector v) {
        return (DoubleVector) v.convertShape(VectorOperators.F2D, D, 0);
    }

    private static DoubleVector hi(FloatVector v) {
        return (DoubleVector) v.convertShape(VectorOperators.F2D, D, 1);
    }

    /**
     * The lanes of a vector (stored into {@code lanes} by the caller: no vector crosses this call, NOTE [lstm-lanes])
     * added in lane order: the same bits in every JIT tier.
     */
    private static double laneSum(double[] lanes) {
        double s = lanes[0];
        for (int i = 1; i < lanes.length; i++) s += lanes[i];
        return s;
    }

    /** The sum of x over the channel's n rows of hw (row i at xb + i * stride), in double. */
    private static double sum(float[] x, int xb, int n, int stride, int hw) {
        DoubleVector a0 = DoubleVector.zero(D), a1 = DoubleVector.zero(D);
        double tail = 0;
        int bound = F.loopBound(hw);
        for (int i = 0; i < n; i++) {
            int base = xb + i * stride, j = 0;
            for (; j < bound; j += L) {
                FloatVector v = FloatVector.fromArray(F, x, base + j);
                a0 = a0.add(lo(v));
                a1 = a1.add(hi(v));
            }
            for (; j < hw; j++) tail += x[base + j];
        }
        double[] lanes = new double[D.length()];
        a0.add(a1).intoArray(lanes, 0);
        return laneSum(lanes) + tail;
    }

    /** The sum of (x - mean)^2 over the channel, in double. */
    private static double sumSquaredDeviations(float[] x, int xb, int n, int stride, int hw, double mean) {
        DoubleVector a0 = DoubleVector.zero(D), a1 = DoubleVector.zero(D);
        double tail = 0;
        int bound = F.loopBound(hw);
        for (int i = 0; i < n; i++) {
            int base = xb + i * stride, j = 0;
            for (; j < bound; j += L) {
                FloatVector v = FloatVector.fromArray(F, x, base + j);
                DoubleVector d0 = lo(v).sub(mean), d1 = hi(v).sub(mean);
                a0 = d0.fma(d0, a0);
                a1 = d1.fma(d1, a1);
            }
            for (; j < hw; j++) {
                double d = x[base + j] - mean;
                tail += d * d;
            }
        }
        double[] lanes = new double[D.length()];
        a0.add(a1).intoArray(lanes, 0);
        return laneSum(lanes) + tail;
    }

    /** {sum dy, sum dy * x} over the channel, in double; dy's rows at db + i * stride, as x's. */
    private static void sumsForBackward(float[] x, int xb, float[] dy, int db, int n, int stride, int hw, double[] out) {
        DoubleVector s0 = DoubleVector.zero(D), s1 = DoubleVector.zero(D);
        DoubleVector p0 = DoubleVector.zero(D), p1 = DoubleVector.zero(D);
        double sumDy = 0, sumDyX = 0;
        int bound = F.loopBound(hw);
        for (int i = 0; i < n; i++) {
            int xr = xb + i * stride, dr = db + i * stride, j = 0;
            for (; j < bound; j += L) {
                FloatVector g = FloatVector.fromArray(F, dy, dr + j), v = FloatVector.fromArray(F, x, xr + j);
                DoubleVector g0 = lo(g), g1 = hi(g);
                s0 = s0.add(g0);
                s1 = s1.add(g1);
                p0 = g0.fma(lo(v), p0);
                p1 = g1.fma(hi(v), p1);
            }
            for (; j < hw; j++) {
                sumDy += dy[dr + j];
                sumDyX += dy[dr + j] * (double) x[xr + j];
            }
        }
        double[] lanes = new double[D.length()];
        s0.add(s1).intoArray(lanes, 0);
        out[0] = laneSum(lanes) + sumDy;
        p0.add(p1).intoArray(lanes, 0);
        out[1] = laneSum(lanes) + sumDyX;
    }

    /**
     * y = act(x * scale + shift + z) over the channel (a float multiply, then a float add, as the scalar expression;
     * then the epilogue's float add of z when z is not null, and ReLU when relu). z's rows are at zb + i * stride.
     */
    private static void affine(float[] x, int xb, float[] y, int yb, float[] z, int zb, boolean relu, int n, int stride, int hw,
                               float scale, float shift) {
        int bound = F.loopBound(hw);
        for (int i = 0; i < n; i++) {
            int xr = xb + i * stride, yr = yb + i * stride, j = 0;
            for (; j < bound; j += L) FloatVector.fromArray(F, x, xr + j).mul(scale).add(shift).intoArray(y, yr + j);
            for (; j < hw; j++) y[yr + j] = x[xr + j] * scale + shift;
            if (z != null) addRow(y, yr, z, zb + i * stride, hw);
            if (relu) CpuElementwise.relu(y, yr, y, yr, hw);
        }
    }

    /** y += z over one row of hw (the float add of the unfused op). */
    private static void addRow(float[] y, int yr, float[] z, int zr, int hw) {
        int bound = F.loopBound(hw), j = 0;
        for (; j < bound; j += L) FloatVector.fromArray(F, y, yr + j).add(FloatVector.fromArray(F, z, zr + j)).intoArray(y, yr + j);
        for (; j < hw; j++) y[yr + j] += z[zr + j];
    }

    private static int channelGrain(int n, int hw) {
        return Math.max(1, CpuElementwise.GRAIN / Math.max(1, n * hw));
    }

    static void forwardTraining(int n, int c, int hw, float[] x, int xo, float[] gamma, int go, float[] beta, int bo,
                                double eps, double momentum, float[] rm, int rmo, float[] rv, int rvo,
                                float[] y, int yo, float[] saveMean, int smo, float[] saveInvStd, int sio,
                                float[] z, int zo, boolean relu) {
        int m = Checks.batchNormCount(n, hw);
        Parallel.forRange(c, channelGrain(n, hw), (c0, c1) -> {
            for (int ch = c0; ch < c1; ch++) {
                int xb = xo + ch * hw, stride = c * hw;
                double mean = sum(x, xb, n, stride, hw) / m;
                double var = sumSquaredDeviations(x, xb, n, stride, hw, mean) / m;
                double invStd = 1.0 / Math.sqrt(var + eps);
                float scale = (float) (gamma[go + ch] * invStd);
                float shift = (float) (beta[bo + ch] - mean * gamma[go + ch] * invStd);
                affine(x, xb, y, yo + ch * hw, z, zo + ch * hw, relu, n, stride, hw, scale, shift);
                saveMean[smo + ch] = (float) mean;
                saveInvStd[sio + ch] = (float) invStd;
                if (rm != null) {
                    rm[rmo + ch] = (float) ((1 - momentum) * rm[rmo + ch] + momentum * mean);
                    rv[rvo + ch] = (float) ((1 - momentum) * rv[rvo + ch] + momentum * var * m / (m - 1));
                }
            }
        });
    }

    static void forwardInference(int n, int c, int hw, float[] x, int xo, float[] gamma, int go, float[] beta, int bo,
                                 float[] rm, int rmo, float[] rv, int rvo, double eps, float[] y, int yo,
                                 float[] z, int zo, boolean relu) {
        Parallel.forRange(c, channelGrain(n, hw), (c0, c1) -> {
            for (int ch = c0; ch < c1; ch++) {
                double invStd = 1.0 / Math.sqrt(rv[rvo + ch] + eps);
                float scale = (float) (gamma[go + ch] * invStd);
                float shift = (float) (beta[bo + ch] - rm[rmo + ch] * gamma[go + ch] * invStd);
                affine(x, xo + ch * hw, y, yo + ch * hw, z, zo + ch * hw, relu, n, c * hw, hw, scale, shift);
            }
        });
    }

    static void backward(int n, int c, int hw, float[] x, int xo, float[] dy, int dyo, float[] gamma, int go,
                         float[] saveMean, int smo, float[] saveInvStd, int sio,
                         float[] dx, int dxo, float[] dgamma, int dgo, float[] dbeta, int dbo,
                         float[] y, int yo, boolean relu, float[] dz, int dzo) {
        int m = n * hw;
        // g, the gradient reaching batch norm's output: dy, or the ReLU's masked dy in dz (or, with no dz, in dx)
        float[] g = relu ? (dz != null ? dz : dx) : dy;
        int gOff = relu ? (dz != null ? dzo : dxo) : dyo;
        Parallel.forRange(c, channelGrain(n, hw), (c0, c1) -> {
            double[] sums = new double[2];
            for (int ch = c0; ch < c1; ch++) {
                double mean = saveMean[smo + ch], invStd = saveInvStd[sio + ch];
                if (relu || dz != null) {
                    for (int i = 0; i < n; i++) {
                        int at = (i * c + ch) * hw;
                        if (relu) CpuElementwise.reluBackward(g, gOff + at, dy, dyo + at, y, yo + at, hw);
                        else System.arraycopy(dy, dyo + at, dz, dzo + at, hw);
                    }
                }
                sumsForBackward(x, xo + ch * hw, g, gOff + ch * hw, n, c * hw, hw, sums);
                double sumDy = sums[0], sumDyX = sums[1];
                double sumDyXhat = (sumDyX - mean * sumDy) * invStd; // sum dy * (x - mean) * invStd
                dbeta[dbo + ch] = (float) sumDy;
                dgamma[dgo + ch] = (float) sumDyXhat;
                // dx = gamma*invStd/m * (m*dy - sumDy - xhat*sumDyXhat), xhat = (x - mean)*invStd
                double k = gamma[go + ch] * invStd;
                float a = (float) k;
                float bx = (float) (-k * invStd * sumDyXhat / m);
                float c0f = (float) (-k * sumDy / m + k * invStd * sumDyXhat * mean / m);
                int bound = F.loopBound(hw);
                for (int i = 0; i < n; i++) {
                    int xb = xo + (i * c + ch) * hw, db = gOff + (i * c + ch) * hw, ob = dxo + (i * c + ch) * hw, j = 0;
                    for (; j < bound; j += L) {
                        FloatVector.fromArray(F, g, db + j).mul(a).add(FloatVector.fromArray(F, x, xb + j).mul(bx))
                                .add(c0f).intoArray(dx, ob + j);
                    }
                    for (; j < hw; j++) dx[ob + j] = a * g[db + j] + bx * x[xb + j] + c0f;
                }
            }
        });
    }
}
