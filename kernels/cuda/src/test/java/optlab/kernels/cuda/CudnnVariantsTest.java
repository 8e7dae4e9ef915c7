package optlab.kernels.cuda;

import static optlab.kernels.testkit.TestBuffers.randn;
import static optlab.kernels.testkit.TestBuffers.uniform;
import static optlab.kernels.testkit.TestBuffers.wide;
import static optlab.kernels.cuda.GpuFixtures.gpu;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import optlab.kernels.Backend;
import optlab.kernels.Buffer;
import optlab.kernels.LstmGeometry;
import optlab.kernels.Pool2dGeometry;
import optlab.kernels.Ptr;
import optlab.kernels.Tolerance;
import optlab.kernels.reference.RefBatchNorm;
import optlab.kernels.reference.RefLstm;
import optlab.kernels.reference.RefPool;
import optlab.kernels.testkit.GpuTest;
import optlab.kernels.testkit.TestBuffers;
import optlab.kernels.vendor.Cudnn9;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The cuDNN variants of pool2d, batchnorm and lstm against the engine's own CUDA kernels and the CPU reference, on
 * random inputs at odd sizes and at training sizes: max and average pooling with padding and stride; batch norm in
 * training (with and without running statistics, at a momentum and epsilon other than the defaults) and inference,
 * and its backward; the LSTM layer with and without initial states, forward, inference and backward. Each test
 * also checks that cuDNN's function ran (Cudnn9#calls), so a dispatch that silently fell back to the own kernels
 * cannot pass. The whole conformance suite runs on the cuDNN variants too (CudaBackendConformanceTest$Cudnn).
 */
@GpuTest
class CudnnVariantsTest {
    private TestBuffers bufs;

    @BeforeEach
    void gpuAndCudnn() {
        GpuFixtures.requireGpu();
        assumeTrue(VendorLibraries.cudnnAvailable(), () -> String.join("\n", VendorLibraries.report()));
        own = gpu("");
        dnn = gpu("pool2d=cudnn, batchnorm=cudnn, lstm=cudnn");
        bufs = new TestBuffers(CudaBackend.get());
    }

    @AfterEach
    void free() {
        if (bufs != null) bufs.freeAndCheckLeaks();
    }

    private CudaBackend own, dnn; // set once a GPU and cuDNN are known to be there

    /** Every buffer of these tests lives on {@code own}'s device; dnn reads and writes the same memory. */
    private Buffer upload(float[] data) {
        return bufs.upload(own, data);
    }

    private Buffer empty(int n) {
        return bufs.empty(own, n);
    }

    private float[] download(Buffer b) {
        return TestBuffers.download(own, b);
    }

    private static Ptr ptr(Buffer b) {
        return b == null ? null : b.ptr();
    }

    /** Asserts that cuDNN's {@code function} ran between two counts. */
    private static void ran(String function, long before) {
        assertTrue(Cudnn9.calls(function) > before, function + " was not called: the cudnn variant did not run cuDNN");
    }

    // ------------------------------------------------------------------------------------------------
    // pooling
    // ------------------------------------------------------------------------------------------------

    /** (n, c, h, w, kh, kw, strideH, strideW, padH, padW): odd sizes, padding and stride, and ResNet/DenseNet sizes. */
    static final int[][] POOLS = {
            {1, 1, 1, 1, 1, 1, 1, 1, 0, 0},
            {3, 5, 17, 13, 3, 3, 2, 2, 1, 1},
            {2, 7, 9, 11, 2, 3, 1, 2, 1, 1},
            {4, 3, 8, 8, 2, 2, 2, 2, 0, 0},
            {5, 2, 7, 7, 3, 1, 3, 1, 1, 0},
            {32, 64, 32, 32, 3, 3, 2, 2, 1, 1},
            {64, 128, 8, 8, 2, 2, 2, 2, 0, 0},
    };

    @Test
    void poolingMatchesTheOwnKernelsAndTheReference() {
        Tolerance tol = Tolerance.FLOAT32;
        for (int[] c : POOLS) {
            Pool2dGeometry g = new Pool2dGeometry(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]);
            float[] x = randn(1, g.inputSize()), dy = randn(2, g.outputSize());
            Buffer xb = upload(x), dyb = upload(dy), y1 = empty(g.outputSize()), y2 = empty(g.outputSize());
            Buffer dx1 = empty(g.inputSize()), dx2 = empty(g.inputSize());
            double[] ey = new double[g.outputSize()], edx = new double[g.inputSize()];
            long f = Cudnn9.calls("cudnnPoolingForward"), b = Cudnn9.calls("cudnnPoolingBackward");

            own.maxPool2dForward(g, xb.ptr(), y1.ptr());
            dnn.maxPool2dForward(g, xb.ptr(), y2.ptr());
            RefPool.maxForward(g, wide(x), 0, ey, 0);
            tol.assertClose("cudnn max pool vs own " + g, download(y2), wide(download(y1)));
            tol.assertClose("cudnn max pool vs reference " + g, download(y2), ey);
            own.maxPool2dBackward(g, xb.ptr(), y1.ptr(), dyb.ptr(), dx1.ptr());
            dnn.maxPool2dBackward(g, xb.ptr(), y2.ptr(), dyb.ptr(), dx2.ptr());
            RefPool.maxBackward(g, wide(x), 0, ey, 0, wide(dy), 0, edx, 0);
            tol.assertClose("cudnn max pool backward vs own " + g, download(dx2), wide(download(dx1)));
            tol.assertClose("cudnn max pool backward vs reference " + g, download(dx2), edx);

            for (boolean include : new boolean[] {true, false}) {
                String what = "avg pool (count padding: " + include + ") " + g;
                own.avgPool2dForward(g, include, xb.ptr(), y1.ptr());
                dnn.avgPool2dForward(g, include, xb.ptr(), y2.ptr());
                RefPool.avgForward(g, include, wide(x), 0, ey, 0);
                tol.assertClose("cudnn " + what + " vs own", download(y2), wide(download(y1)));
                tol.assertClose("cudnn " + what + " vs reference", download(y2), ey);
                own.avgPool2dBackward(g, include, dyb.ptr(), dx1.ptr());
                dnn.avgPool2dBackward(g, include, dyb.ptr(), dx2.ptr());
                RefPool.avgBackward(g, include, wide(dy), 0, edx, 0);
                tol.assertClose("cudnn " + what + " backward vs own", download(dx2), wide(download(dx1)));
                tol.assertClose("cudnn " + what + " backward vs reference", download(dx2), edx);
            }
            ran("cudnnPoolingForward", f);
            ran("cudnnPoolingBackward", b);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // batch norm
    // ------------------------------------------------------------------------------------------------

    /** (n, c, hw): odd sizes, one value per image, and ResNet-20's first block at batch 128. */
    static final int[][] BNS = {{2, 3, 5}, {7, 1, 1}, {3, 5, 1}, {5, 33, 49}, {128, 16, 1024}};

    @Test
    void batchNormMatchesTheOwnKernelsAndTheReference() {
        double eps = 1e-3, momentum = 0.3; // not the defaults: a convention difference shows
        for (int[] c : BNS) {
            int n = c[0], ch = c[1], hw = c[2], size = n * ch * hw;
            String what = "bn " + Arrays.toString(c);
            float[] x = randn(1, size), gamma = uniform(2, ch, 0.5, 1.5), beta = randn(3, ch), dy = randn(4, size);
            for (int i = 0; i < size; i++) x[i] = 3 + 2 * x[i];
            float[] rm = randn(5, ch), rv = uniform(6, ch, 0.5, 2);
            Buffer xb = upload(x), gb = upload(gamma), bb = upload(beta), dyb = upload(dy);
            Buffer rm1 = upload(rm), rv1 = upload(rv), rm2 = upload(rm), rv2 = upload(rv);
            Buffer y1 = empty(size), y2 = empty(size), sm1 = empty(ch), sm2 = empty(ch), si1 = empty(ch), si2 = empty(ch);
            long f = Cudnn9.calls("cudnnBatchNormalizationForwardTraining");
            own.batchNormForwardTraining(n, ch, hw, xb.ptr(), gb.ptr(), bb.ptr(), eps, momentum, rm1.ptr(), rv1.ptr(), y1.ptr(), sm1.ptr(), si1.ptr());
            dnn.batchNormForwardTraining(n, ch, hw, xb.ptr(), gb.ptr(), bb.ptr(), eps, momentum, rm2.ptr(), rv2.ptr(), y2.ptr(), sm2.ptr(), si2.ptr());
            ran("cudnnBatchNormalizationForwardTraining", f);
            double[] ey = new double[size], esm = new double[ch], esi = new double[ch], erm = wide(rm), erv = wide(rv);
            RefBatchNorm.forwardTraining(n, ch, hw, wide(x), 0, wide(gamma), 0, wide(beta), 0, eps, momentum, erm, 0, erv, 0, ey, 0, esm, 0, esi, 0);
            Tolerance tol = Tolerance.FLOAT32;
            for (Object[] o : new Object[][] {{"y", y1, y2, ey}, {"saved mean", sm1, sm2, esm}, {"saved inverse std", si1, si2, esi},
                    {"running mean", rm1, rm2, erm}, {"running variance (unbiased, NOTE [bn-running-stats])", rv1, rv2, erv}}) {
                tol.assertClose("cudnn " + what + " " + o[0] + " vs own", download((Buffer) o[2]), wide(download((Buffer) o[1])));
                tol.assertClose("cudnn " + what + " " + o[0] + " vs reference", download((Buffer) o[2]), (double[]) o[3]);
            }

            // without running statistics (NULL, NULL): y and the saved statistics alike
            Buffer y3 = empty(size), sm3 = empty(ch), si3 = empty(ch);
            dnn.batchNormForwardTraining(n, ch, hw, xb.ptr(), gb.ptr(), bb.ptr(), eps, momentum, null, null, y3.ptr(), sm3.ptr(), si3.ptr());
            tol.assertClose("cudnn " + what + " y without running statistics", download(y3), ey);
            tol.assertClose("cudnn " + what + " saved inverse std without running statistics", download(si3), esi);

            // backward from the saved statistics (cuDNN gets no epsilon from the contract: Cudnn9#bnBackward)
            Buffer dx1 = empty(size), dx2 = empty(size), dg1 = empty(ch), dg2 = empty(ch), db1 = empty(ch), db2 = empty(ch);
            long bw = Cudnn9.calls("cudnnBatchNormalizationBackward");
            own.batchNormBackward(n, ch, hw, xb.ptr(), dyb.ptr(), gb.ptr(), sm1.ptr(), si1.ptr(), dx1.ptr(), dg1.ptr(), db1.ptr());
            dnn.batchNormBackward(n, ch, hw, xb.ptr(), dyb.ptr(), gb.ptr(), sm2.ptr(), si2.ptr(), dx2.ptr(), dg2.ptr(), db2.ptr());
            ran("cudnnBatchNormalizationBackward", bw);
            double[] edx = new double[size], edg = new double[ch], edb = new double[ch];
            RefBatchNorm.backward(n, ch, hw, wide(x), 0, wide(dy), 0, wide(gamma), 0, esm, 0, esi, 0, edx, 0, edg, 0, edb, 0);
            // dx subtracts two sums over n*hw values (up to 131072) from m*dy, and dgamma/dbeta are such sums
            Tolerance sums = new Tolerance(1e-3, 1e-3);
            sums.assertClose("cudnn " + what + " dx vs own", download(dx2), wide(download(dx1)));
            sums.assertClose("cudnn " + what + " dx vs reference", download(dx2), edx);
            sums.assertClose("cudnn " + what + " dgamma vs reference", download(dg2), edg);
            sums.assertClose("cudnn " + what + " dbeta vs reference", download(db2), edb);

            // inference from the updated running statistics
            long inf = Cudnn9.calls("cudnnBatchNormalizationForwardInference");
            own.batchNormForwardInference(n, ch, hw, xb.ptr(), gb.ptr(), bb.ptr(), rm1.ptr(), rv1.ptr(), eps, y1.ptr());
            dnn.batchNormForwardInference(n, ch, hw, xb.ptr(), gb.ptr(), bb.ptr(), rm2.ptr(), rv2.ptr(), eps, y2.ptr());
            ran("cudnnBatchNormalizationForwardInference", inf);
            RefBatchNorm.forwardInference(n, ch, hw, wide(x), 0, wide(gamma), 0, wide(beta), 0, erm, 0, erv, 0, eps, ey, 0);
            tol.assertClose("cudnn " + what + " inference vs own", download(y2), wide(download(y1)));
            tol.assertClose("cudnn " + what + " inference vs reference", download(y2), ey);
        }
    }

    @Test
    void aNegativeEpsilonIsRefusedByName() {
        Buffer x = empty(6), p = empty(3);
        var e = assertThrows(IllegalArgumentException.class, () -> dnn.batchNormForwardTraining(2, 3, 1, x.ptr(), p.ptr(), p.ptr(), -1e-5, 0.1,
                null, null, x.ptr(), p.ptr(), p.ptr()));
        assertTrue(e.getMessage().contains("-1.0E-5") && e.getMessage().contains("CUDNN_BN_MIN_EPSILON"), e.getMessage());
    }

    // ------------------------------------------------------------------------------------------------
    // LSTM
    // ------------------------------------------------------------------------------------------------

    /** (t, n, input, hidden): single values, odd sizes, and the medium PTB language model's layer at a small batch. */
    static final int[][] LSTMS = {{1, 1, 1, 1}, {5, 7, 13, 33}, {9, 3, 1, 17}, {35, 20, 200, 200}};

    @Test
    void lstmMatchesTheOwnKernelsAndTheReference() {
        for (int[] c : LSTMS) {
            LstmGeometry g = new LstmGeometry(c[0], c[1], c[2], c[3]);
            double k = 1 / Math.sqrt(g.hidden());
            for (boolean states : new boolean[] {true, false}) {
                String what = "lstm " + g + (states ? " with h0, c0, dhT, dcT" : " from zero states");
                int ns = g.stateSize();
                float[] x = randn(11, g.inputSize()), wIh = uniform(12, g.weightIhSize(), -k, k), wHh = uniform(13, g.weightHhSize(), -k, k);
                float[] bIh = uniform(14, g.biasSize(), -k, k), bHh = uniform(15, g.biasSize(), -k, k), h0 = randn(16, ns), c0 = randn(17, ns);
                float[] dy = randn(18, g.outputSize()), dhT = randn(19, ns), dcT = randn(20, ns);
                Buffer xb = upload(x), wIhb = upload(wIh), wHhb = upload(wHh), bIhb = upload(bIh), bHhb = upload(bHh), dyb = upload(dy);
                Buffer h0b = states ? upload(h0) : null, c0b = states ? upload(c0) : null;
                Buffer dhTb = states ? upload(dhT) : null, dcTb = states ? upload(dcT) : null;

                double[] ey = new double[g.outputSize()], ehT = new double[ns], ecT = new double[ns], eres = new double[g.stepReserveSize()];
                RefLstm.sequenceForward(g, wide(x), states ? wide(h0) : null, states ? wide(c0) : null, wide(wIh), wide(wHh), wide(bIh),
                        wide(bHh), ey, ehT, ecT, eres);
                double[] edx = new double[g.inputSize()], edh0 = new double[ns], edc0 = new double[ns];
                double[] edwIh = new double[g.weightIhSize()], edwHh = new double[g.weightHhSize()], edb = new double[g.biasSize()];
                RefLstm.sequenceBackward(g, wide(x), states ? wide(h0) : null, states ? wide(c0) : null, wide(wIh), wide(wHh), ey, eres, wide(dy),
                        states ? wide(dhT) : null, states ? wide(dcT) : null, edx, edh0, edc0, edwIh, edwHh, edb);

                float[][] results = new float[2][];
                for (Backend be : new Backend[] {own, dnn}) {
                    String who = (be == dnn ? "cudnn " : "own ") + what;
                    long f = Cudnn9.calls("cudnnRNNForward"), bd = Cudnn9.calls("cudnnRNNBackwardData_v8");
                    long bw = Cudnn9.calls("cudnnRNNBackwardWeights_v8");
                    int reserveSize = be.lstmReserveSize(g);
                    assertTrue(reserveSize > 0, who + ": reserve size " + reserveSize);
                    Buffer y = empty(g.outputSize()), hT = empty(ns), cT = empty(ns), reserve = empty(reserveSize);
                    be.lstmSequenceForward(g, xb.ptr(), ptr(h0b), ptr(c0b), wIhb.ptr(), wHhb.ptr(), bIhb.ptr(), bHhb.ptr(), y.ptr(), hT.ptr(),
                            cT.ptr(), reserve.ptr());
                    Buffer yi = empty(g.outputSize()), hTi = empty(ns), cTi = empty(ns);
                    be.lstmSequenceForward(g, xb.ptr(), ptr(h0b), ptr(c0b), wIhb.ptr(), wHhb.ptr(), bIhb.ptr(), bHhb.ptr(), yi.ptr(), hTi.ptr(),
                            cTi.ptr(), null);
                    Buffer dx = empty(g.inputSize()), dh0 = empty(ns), dc0 = empty(ns);
                    Buffer dwIh = empty(g.weightIhSize()), dwHh = empty(g.weightHhSize()), db = empty(g.biasSize());
                    be.lstmSequenceBackward(g, xb.ptr(), ptr(h0b), ptr(c0b), wIhb.ptr(), wHhb.ptr(), y.ptr(), reserve.ptr(), dyb.ptr(), ptr(dhTb),
                            ptr(dcTb), dx.ptr(), dh0.ptr(), dc0.ptr(), dwIh.ptr(), dwHh.ptr(), db.ptr());
                    if (be == dnn) {
                        ran("cudnnRNNForward", f);
                        ran("cudnnRNNBackwardData_v8", bd);
                        ran("cudnnRNNBackwardWeights_v8", bw);
                    }
                    Tolerance tol = new Tolerance(1e-5, 1e-4).times(g.t() > 10 ? 10 : 1); // 35 recurrent FP32 steps: errors compound
                    tol.assertClose(who + " y", download(y), ey);
                    tol.assertClose(who + " hT", download(hT), ehT);
                    tol.assertClose(who + " cT", download(cT), ecT);
                    tol.assertClose(who + " y (inference)", download(yi), ey);
                    tol.assertClose(who + " hT (inference)", download(hTi), ehT);
                    // backpropagation through t steps, and weight gradients summing t*n products
                    Tolerance grads = new Tolerance(1e-4, 1e-3).times(g.t() > 10 ? 10 : 1);
                    grads.assertClose(who + " dx", download(dx), edx);
                    grads.assertClose(who + " dh0", download(dh0), edh0);
                    grads.assertClose(who + " dc0", download(dc0), edc0);
                    grads.assertClose(who + " dwIh", download(dwIh), edwIh);
                    grads.assertClose(who + " dwHh", download(dwHh), edwHh);
                    grads.assertClose(who + " db", download(db), edb);
                    results[be == dnn ? 1 : 0] = download(y);
                }
                new Tolerance(1e-5, 1e-4).times(g.t() > 10 ? 10 : 1).assertClose("cudnn vs own " + what + " y", results[1], wide(results[0]));
            }
        }
    }

    @Test
    void lstmWithoutBiasesUsesZeros() {
        LstmGeometry g = new LstmGeometry(3, 4, 5, 6);
        float[] x = randn(1, g.inputSize()), wIh = uniform(2, g.weightIhSize(), -0.4, 0.4), wHh = uniform(3, g.weightHhSize(), -0.4, 0.4);
        Buffer xb = upload(x), wIhb = upload(wIh), wHhb = upload(wHh);
        Buffer y = empty(g.outputSize()), hT = empty(g.stateSize()), cT = empty(g.stateSize());
        dnn.lstmSequenceForward(g, xb.ptr(), null, null, wIhb.ptr(), wHhb.ptr(), null, null, y.ptr(), hT.ptr(), cT.ptr(), null);
        double[] ey = new double[g.outputSize()], ehT = new double[g.stateSize()], ecT = new double[g.stateSize()];
        RefLstm.sequenceForward(g, wide(x), null, null, wide(wIh), wide(wHh), null, null, ey, ehT, ecT, null);
        Tolerance.FLOAT32.assertClose("cudnn lstm without biases", download(y), ey);
    }
}
