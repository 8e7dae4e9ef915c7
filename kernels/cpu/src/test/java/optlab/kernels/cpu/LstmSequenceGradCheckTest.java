package optlab.kernels.cpu;

import java.util.SplittableRandom;
import optlab.kernels.Backend;
import optlab.kernels.Buffer;
import optlab.kernels.DType;
import optlab.kernels.LstmGeometry;
import optlab.kernels.Ptr;
import optlab.kernels.Tolerance;
import optlab.kernels.reference.RefLstm;
import optlab.kernels.testkit.TestBuffers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The sequence-level LSTM primitive of the contract, in FLOAT64 on the CPU backend (LstmSteps over the backend's
 * GEMM and cell): its backward against central differences of its own forward (the gradient check of a new
 * differentiable primitive), and both against the reference at FLOAT64 tolerance.
 */
class LstmSequenceGradCheckTest {
    private final Backend be = CpuBackend.get();
    private final TestBuffers bufs = new TestBuffers(be);

    @AfterEach
    void free() {
        bufs.freeAndCheckLeaks();
    }

    private Buffer upload(double[] a) {
        return bufs.upload(be, a);
    }

    private Buffer empty(int n) {
        return bufs.empty(be, DType.FLOAT64, n);
    }

    private double[] download(Buffer b) {
        return TestBuffers.downloadDoubles(be, b);
    }

    private static double[] randn(long seed, int n, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = scale * r.nextGaussian();
        return a;
    }

    private final LstmGeometry g = new LstmGeometry(3, 2, 3, 2);
    private final double k = 1 / Math.sqrt(g.hidden());
    private final double[] x = randn(1, g.inputSize(), 1), h0 = randn(2, g.stateSize(), 1), c0 = randn(3, g.stateSize(), 1);
    private final double[] wIh = randn(4, g.weightIhSize(), k), wHh = randn(5, g.weightHhSize(), k);
    private final double[] bIh = randn(6, g.biasSize(), k), bHh = randn(7, g.biasSize(), k);
    private final double[] ry = randn(8, g.outputSize(), 1), rh = randn(9, g.stateSize(), 1), rc = randn(10, g.stateSize(), 1);
    private final double[][] params = {x, h0, c0, wIh, wHh, bIh, bHh};

    /** loss = sum(y * ry) + sum(hT * rh) + sum(cT * rc), through the backend. */
    private double loss() {
        try (Buffer y = be.allocate(DType.FLOAT64, g.outputSize());
             Buffer hT = be.allocate(DType.FLOAT64, g.stateSize()); Buffer cT = be.allocate(DType.FLOAT64, g.stateSize())) {
            Buffer[] in = new Buffer[params.length];
            try {
                for (int i = 0; i < params.length; i++) {
                    in[i] = be.allocate(DType.FLOAT64, params[i].length);
                    be.write(in[i].ptr(), params[i], 0, params[i].length);
                }
                be.lstmSequenceForward(g, in[0].ptr(), in[1].ptr(), in[2].ptr(), in[3].ptr(), in[4].ptr(), in[5].ptr(), in[6].ptr(), y.ptr(),
                        hT.ptr(), cT.ptr(), null);
            } finally {
                for (Buffer b : in) if (b != null) b.close();
            }
            double[] yy = new double[g.outputSize()], h = new double[g.stateSize()], c = new double[g.stateSize()];
            be.read(y.ptr(), yy, 0, yy.length);
            be.read(hT.ptr(), h, 0, h.length);
            be.read(cT.ptr(), c, 0, c.length);
            double l = 0;
            for (int i = 0; i < yy.length; i++) l += yy[i] * ry[i];
            for (int i = 0; i < h.length; i++) l += h[i] * rh[i] + c[i] * rc[i];
            return l;
        }
    }

    @Test
    void float64BackwardMatchesCentralDifferencesAndTheReference() {
        Buffer[] in = new Buffer[params.length];
        for (int i = 0; i < params.length; i++) in[i] = upload(params[i]);
        Buffer y = empty(g.outputSize()), hT = empty(g.stateSize()), cT = empty(g.stateSize()), res = empty(be.lstmReserveSize(g));
        be.lstmSequenceForward(g, in[0].ptr(), in[1].ptr(), in[2].ptr(), in[3].ptr(), in[4].ptr(), in[5].ptr(), in[6].ptr(), y.ptr(), hT.ptr(),
                cT.ptr(), res.ptr());
        Buffer dx = empty(g.inputSize()), dh0 = empty(g.stateSize()), dc0 = empty(g.stateSize());
        Buffer dwIh = empty(g.weightIhSize()), dwHh = empty(g.weightHhSize()), db = empty(g.biasSize());
        Ptr dyP = upload(ry).ptr(), dhTP = upload(rh).ptr(), dcTP = upload(rc).ptr();
        be.lstmSequenceBackward(g, in[0].ptr(), in[1].ptr(), in[2].ptr(), in[3].ptr(), in[4].ptr(), y.ptr(), res.ptr(), dyP, dhTP, dcTP, dx.ptr(),
                dh0.ptr(), dc0.ptr(), dwIh.ptr(), dwHh.ptr(), db.ptr());
        double[][] analytic = {download(dx), download(dh0), download(dc0), download(dwIh), download(dwHh), download(db), download(db)};
        String[] names = {"x", "h0", "c0", "wIh", "wHh", "bIh", "bHh"};

        // against the reference, to double precision
        double[] ey = new double[g.outputSize()], ehT = new double[g.stateSize()], ecT = new double[g.stateSize()];
        double[] eres = new double[g.stepReserveSize()];
        RefLstm.sequenceForward(g, x, h0, c0, wIh, wHh, bIh, bHh, ey, ehT, ecT, eres);
        Tolerance.FLOAT64.assertClose("y", download(y), ey);
        Tolerance.FLOAT64.assertClose("hT", download(hT), ehT);
        Tolerance.FLOAT64.assertClose("cT", download(cT), ecT);
        Tolerance.FLOAT64.assertClose("reserve (the step layout)", download(res), eres);
        double[][] expected = {new double[g.inputSize()], new double[g.stateSize()], new double[g.stateSize()], new double[g.weightIhSize()],
                new double[g.weightHhSize()], new double[g.biasSize()]};
        RefLstm.sequenceBackward(g, x, h0, c0, wIh, wHh, ey, eres, ry, rh, rc, expected[0], expected[1], expected[2], expected[3], expected[4],
                expected[5]);
        for (int p = 0; p < 6; p++) Tolerance.FLOAT64.assertClose("d" + names[p] + " vs reference", analytic[p], expected[p]);

        // against central differences of the backend's own forward
        double eps = 1e-6;
        for (int p = 0; p < params.length; p++) {
            double[] numeric = new double[params[p].length];
            for (int i = 0; i < numeric.length; i++) {
                double keep = params[p][i];
                params[p][i] = keep + eps;
                double up = loss();
                params[p][i] = keep - eps;
                double down = loss();
                params[p][i] = keep;
                numeric[i] = (up - down) / (2 * eps);
            }
            Tolerance.GRADCHECK.assertClose("d loss / d " + names[p], analytic[p], numeric);
        }
    }
}
