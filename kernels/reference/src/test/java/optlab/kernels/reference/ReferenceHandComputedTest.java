package optlab.kernels.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import optlab.kernels.BinaryOp;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.Pool2dGeometry;
import optlab.kernels.ReduceOp;
import org.junit.jupiter.api.Test;

/**
 * The reference implementations on inputs small enough to work out by hand; each expected value is
 * derived in the comment beside it. (The fast kernels are tested against the reference; the
 * reference's backwards are also gradient-checked in the autograd module.)
 */
class ReferenceHandComputedTest {
    private static final double EPS = 1e-12;

    // x is the 3x3 image 1..9 (row-major), one channel
    private static final double[] X = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    // w is the 2x2 filter [[1, 0], [0, -1]]: y[p][q] = x[p][q] - x[p+1][q+1]
    private static final double[] W = {1, 0, 0, -1};

    @Test
    void convolutionOfADifferenceFilter() {
        Conv2dGeometry g = new Conv2dGeometry(1, 1, 3, 3, 1, 2, 2, 1, 1, 0, 0);
        double[] y = new double[4];
        RefConv.forward(g, X, 0, W, 0, y, 0);
        assertArrayEquals(new double[] {-4, -4, -4, -4}, y, EPS); // x[p][q] - x[p+1][q+1] = -4 everywhere

        // with padding 1 the output is 4x4 and y[p][q] = x[p-1][q-1] - x[p][q], zero outside
        Conv2dGeometry padded = new Conv2dGeometry(1, 1, 3, 3, 1, 2, 2, 1, 1, 1, 1);
        double[] yp = new double[16];
        RefConv.forward(padded, X, 0, W, 0, yp, 0);
        assertEquals(-1, yp[0], EPS); // 0 - x[0][0]
        assertEquals(-4, yp[5], EPS); // x[0][0] - x[1][1] = 1 - 5
        assertEquals(9, yp[15], EPS); // x[2][2] - 0
        assertEquals(-2, yp[1], EPS); // x[-1][0] (padding) - x[0][1]
        assertEquals(0, yp[3], EPS); // x[-1][2] - x[0][3]: both in the padding
    }

    @Test
    void convolutionBackwardsByHand() {
        Conv2dGeometry g = new Conv2dGeometry(1, 1, 3, 3, 1, 2, 2, 1, 1, 0, 0);
        double[] dy = {1, 1, 1, 1};
        // dw[r][s] = sum_{p,q} dy[p][q] x[p+r][q+s]: the sum of the 2x2 block of x at (r, s)
        double[] dw = new double[4];
        RefConv.backwardFilter(g, X, 0, dy, 0, dw, 0);
        assertArrayEquals(new double[] {1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9}, dw, EPS);
        // dx[i][j] = sum_{p,q} dy[p][q] w[i-p][j-q]: corners see one tap, the centre sees w00 + w11 = 0
        double[] dx = new double[9];
        RefConv.backwardData(g, dy, 0, W, 0, dx, 0);
        assertArrayEquals(new double[] {1, 1, 0, 1, 0, -1, 0, -1, -1}, dx, EPS);
    }

    @Test
    void maxPoolRoutesTheGradientToTheFirstMaximum() {
        Pool2dGeometry g = new Pool2dGeometry(1, 1, 2, 4, 2, 2, 2, 2, 0, 0);
        double[] x = {1, 3, 5, 5, 2, 4, 1, 2}; // windows [[1,3],[2,4]] and [[5,5],[1,2]] (a tie)
        double[] y = new double[2];
        RefPool.maxForward(g, x, 0, y, 0);
        assertArrayEquals(new double[] {4, 5}, y, EPS);
        double[] dx = new double[8];
        RefPool.maxBackward(g, x, 0, y, 0, new double[] {10, 20}, 0, dx, 0);
        assertArrayEquals(new double[] {0, 0, 20, 0, 0, 10, 0, 0}, dx, EPS); // the tie goes to its first position
    }

    @Test
    void averagePoolDivisorWithAndWithoutPadding() {
        // 3x3 ones, window 3, stride 1, padding 1: the corner window covers 4 real and 5 padded cells
        Pool2dGeometry g = new Pool2dGeometry(1, 1, 3, 3, 3, 3, 1, 1, 1, 1);
        double[] ones = {1, 1, 1, 1, 1, 1, 1, 1, 1};
        double[] y = new double[9];
        RefPool.avgForward(g, true, ones, 0, y, 0);
        assertEquals(4.0 / 9, y[0], EPS);
        assertEquals(1.0, y[4], EPS);
        RefPool.avgForward(g, false, ones, 0, y, 0);
        assertEquals(1.0, y[0], EPS);
    }

    @Test
    void batchNormOfFourValues() {
        double[] x = {1, 2, 3, 4}; // n=4, one channel: mean 2.5, biased variance 1.25, unbiased 5/3
        double[] y = new double[4], sm = new double[1], si = new double[1];
        double[] rm = {0}, rv = {1};
        RefBatchNorm.forwardTraining(4, 1, 1, x, 0, new double[] {2}, 0, new double[] {1}, 0, 0.0, 0.1,
                rm, 0, rv, 0, y, 0, sm, 0, si, 0);
        double s = 1 / Math.sqrt(1.25);
        assertArrayEquals(new double[] {1 - 3 * s, 1 - s, 1 + s, 1 + 3 * s}, y, EPS); // 2*(x-2.5)/sqrt(1.25) + 1
        assertEquals(2.5, sm[0], EPS);
        assertEquals(0.25, rm[0], EPS); // 0.9*0 + 0.1*2.5
        assertEquals(0.9 + 0.1 * 5.0 / 3, rv[0], EPS);
    }

    @Test
    void crossEntropyOfKnownDistributions() {
        // logits (ln 3, 0) give p = (3/4, 1/4); with label 1 the loss is -ln(1/4) = ln 4
        double[] loss = new double[2], probs = new double[4];
        RefLoss.softmaxCrossEntropyForward(2, 2, new double[] {Math.log(3), 0, 0, 0}, 0, new int[] {1, 0}, 0, 0.0, loss, 0, probs, 0);
        assertEquals(Math.log(4), loss[0], EPS);
        assertEquals(Math.log(2), loss[1], EPS); // equal logits: p = 1/2
        assertArrayEquals(new double[] {0.75, 0.25, 0.5, 0.5}, probs, EPS);
        // smoothing 0.2 over 2 classes: q = (0.1, 0.9) for label 1; loss = -(0.1 ln 3/4 + 0.9 ln 1/4)
        RefLoss.softmaxCrossEntropyForward(1, 2, new double[] {Math.log(3), 0}, 0, new int[] {1}, 0, 0.2, loss, 0, probs, 0);
        assertEquals(-(0.1 * Math.log(0.75) + 0.9 * Math.log(0.25)), loss[0], EPS);
        double[] dz = new double[2];
        RefLoss.softmaxCrossEntropyBackward(1, 2, probs, 0, new int[] {1}, 0, 0.2, new double[] {2}, 0, dz, 0);
        assertArrayEquals(new double[] {2 * (0.75 - 0.1), 2 * (0.25 - 0.9)}, dz, EPS);
    }

    @Test
    void lstmCellWithZeroGates() {
        // all pre-activations 0: i = f = o = 1/2, g = 0; with cPrev = 1: c = 1/2, h = tanh(1/2)/2
        double[] act = new double[4], h = new double[1], c = new double[1];
        RefLstm.forward(1, 1, new double[4], 0, new double[] {1}, 0, act, 0, h, 0, c, 0);
        assertArrayEquals(new double[] {0.5, 0.5, 0, 0.5}, act, EPS);
        assertEquals(0.5, c[0], EPS);
        assertEquals(Math.tanh(0.5) / 2, h[0], EPS);
    }

    @Test
    void reductionsAndBroadcastingByHand() {
        double[] x = {1, 2, 3, 4, 5, 6}; // (2, 3)
        double[] y = new double[3];
        RefElementwise.reduce(ReduceOp.SUM, 1, 2, 3, x, 0, y, 0); // column sums
        assertArrayEquals(new double[] {5, 7, 9}, y, EPS);
        double[] m = new double[2];
        RefElementwise.reduce(ReduceOp.MEAN, 2, 3, 1, x, 0, m, 0); // row means
        assertArrayEquals(new double[] {2, 5}, m, EPS);
        RefElementwise.reduce(ReduceOp.MAX, 2, 3, 1, x, 0, m, 0);
        assertArrayEquals(new double[] {3, 6}, m, EPS);
        double[] out = new double[6];
        // (2, 3) + (3,) broadcast along rows: b strides (0, 1)
        RefElementwise.binary(BinaryOp.ADD, new int[] {2, 3}, out, 0, new int[] {3, 1}, x, 0, new int[] {3, 1},
                new double[] {10, 20, 30}, 0, new int[] {0, 1});
        assertArrayEquals(new double[] {11, 22, 33, 14, 25, 36}, out, EPS);
    }
    @Test
    void floorLog2IsExactAcrossTheDoubleRange() {
        assertEquals(0, RefHistogram.floorLog2(1.0));
        assertEquals(0, RefHistogram.floorLog2(-1.999));
        assertEquals(1, RefHistogram.floorLog2(2.0));                          // an edge belongs to the bin above
        assertEquals(-1, RefHistogram.floorLog2(Math.nextDown(1.0)));
        assertEquals(1023, RefHistogram.floorLog2(Double.MAX_VALUE));
        assertEquals(-1022, RefHistogram.floorLog2(Double.MIN_NORMAL));
        assertEquals(-1023, RefHistogram.floorLog2(Math.nextDown(Double.MIN_NORMAL))); // the largest subnormal
        assertEquals(-1074, RefHistogram.floorLog2(Double.MIN_VALUE));         // 2^-1074, the smallest subnormal
        assertEquals(-1073, RefHistogram.floorLog2(3 * Double.MIN_VALUE));     // 3 * 2^-1074 lies in [2^-1073, 2^-1072)
        assertEquals(-149, RefHistogram.floorLog2(Float.MIN_VALUE));           // a float subnormal, widened: normal as a double
        assertEquals(-127, RefHistogram.floorLog2(Math.nextDown(Float.MIN_NORMAL)));
    }

    @Test
    void log2HistogramOfHandPickedValues() {
        // exponents -2..1: slots 0..3 are the bins -2, -1, 0, 1, slot 4 counts NaN and infinities
        double[] x = {
                0.0, -0.0, 1e-30,  // zeros and a value below 2^-2: the lowest bin (slot 0)
                0.25, -0.3,        // 2^-2 <= |v| < 2^-1: bin -2 (slot 0)
                0.5, Math.nextDown(1.0), // bin -1 (slot 1)
                1.0, -1.5,         // bin 0 (slot 2)
                2.0, 3.99, 4.0, -1e300, Double.MAX_VALUE, // 2 <= |v|: bin 1 and everything at or above 2^2 (slot 3)
                Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, // slot 4
        };
        int[] counts = {9, 100, 10, 10, 10, 10, 9}; // one guard each side, then the 5 slots: accumulated into
        RefHistogram.log2Histogram(x.length, x, 0, -2, 1, counts, 1);
        assertArrayEquals(new int[] {9, 105, 12, 12, 15, 13, 9}, counts);
    }
}
