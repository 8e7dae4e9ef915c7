package optlab.kernels.reference;

import static optlab.kernels.testkit.TestBuffers.downloadDoubles;
import static optlab.kernels.testkit.TestBuffers.randn;
import static optlab.kernels.testkit.TestBuffers.uniform;
import static optlab.kernels.testkit.TestBuffers.wide;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.function.BiConsumer;
import optlab.kernels.Backend;
import optlab.kernels.BinaryOp;
import optlab.kernels.Buffer;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.FusedKernel;
import optlab.kernels.KernelChoices;
import optlab.kernels.LstmGeometry;
import optlab.kernels.MemoryStats;
import optlab.kernels.Pool2dGeometry;
import optlab.kernels.Ptr;
import optlab.kernels.RandomDistribution;
import optlab.kernels.ReduceOp;
import optlab.kernels.UnaryOp;
import optlab.kernels.cpu.CpuBackend;
import optlab.kernels.testkit.TestBuffers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The reference backend beyond the conformance suite ({@link ReferenceBackendConformanceTest}): a FLOAT32 output is
 * exactly the double reference of its inputs rounded once to float, a FLOAT64 output exactly the reference; bad calls
 * are refused with the CPU backend's exception and message; freed buffers, memory counters and call counts.
 */
class ReferenceBackendTest {
    private final ReferenceBackend be = ReferenceBackend.get();
    private final TestBuffers buffers = new TestBuffers(be);

    @AfterEach
    void freeAndCheckLeaks() {
        buffers.freeAndCheckLeaks();
    }

    // ---------------------------------------------------------------------------------------------
    // helpers
    // ---------------------------------------------------------------------------------------------

    private Buffer f32(float[] data) {
        return buffers.upload(be, data);
    }

    private Buffer f64(double[] data) {
        return buffers.upload(be, data);
    }

    private Buffer empty(DType t, int n) {
        return buffers.empty(be, t, n);
    }

    private Buffer ints(int[] data) {
        Buffer b = buffers.empty(be, DType.INT32, data.length);
        be.write(b.ptr(), data, 0, data.length);
        return b;
    }

    private static Ptr ptr(Buffer b) {
        return b == null ? null : b.ptr();
    }

    /** What a FLOAT32 output must hold, to the bit: each value of the double reference rounded to float. */
    private static double[] rounded(double[] e) {
        double[] r = new double[e.length];
        for (int i = 0; i < e.length; i++) r[i] = (float) e[i];
        return r;
    }

    /** The FLOAT32 buffer holds exactly the rounded reference (assertArrayEquals on doubles compares bits, NaN too). */
    private void assertRounded(String what, double[] expected, Buffer got) {
        assertArrayEquals(rounded(expected), downloadDoubles(be, got), what + ": the double reference rounded once to float");
    }

    /** True if rounding changes some value: the comparison above then tells rounding once from not rounding. */
    private static boolean roundingMatters(double[] e) {
        for (double v : e) if ((float) v != v) return true;
        return false;
    }

    // ---------------------------------------------------------------------------------------------
    // FLOAT32: the double reference, rounded once
    // ---------------------------------------------------------------------------------------------

    @Test
    void float32ElementwiseOpsAndReductionsAreTheRoundedReference() {
        int n = 37;
        float[] x = uniform(1, n, 0.1, 4); // positive: every unary op is defined on it
        Buffer xb = f32(x), yb = empty(DType.FLOAT32, n);
        for (UnaryOp op : UnaryOp.values()) {
            be.unary(op, 1.7, n, xb.ptr(), yb.ptr());
            double[] e = new double[n];
            RefElementwise.unary(op, 1.7, n, wide(x), 0, e, 0);
            assertRounded("unary " + op, e, yb);
        }

        // out (5, 3, 4) = a / b with b one value per channel (stride 0 over n and hw), out at an offset
        int[] shape = {5, 3, 4}, dense = {12, 4, 1}, perChannel = {0, 1, 0};
        float[] a = randn(2, 60), b = uniform(3, 3, 0.5, 2);
        Buffer ab = f32(a), bb = f32(b), out = empty(DType.FLOAT32, 62);
        be.fill(out.ptr(), 62, 0.1);
        be.binary(BinaryOp.DIV, shape, out.ptr(2), dense, ab.ptr(), dense, bb.ptr(), perChannel);
        double[] e = new double[62];
        java.util.Arrays.fill(e, 0.1);
        RefElementwise.binary(BinaryOp.DIV, shape, e, 2, dense, wide(a), 0, dense, wide(b), 0, perChannel);
        assertTrue(roundingMatters(e));
        assertRounded("binary DIV broadcast, after a fill with 0.1", e, out);

        Buffer mean = empty(DType.FLOAT32, 5 * 4);
        be.reduce(ReduceOp.MEAN, 5, 3, 4, ab.ptr(), mean.ptr());
        double[] em = new double[20];
        RefElementwise.reduce(ReduceOp.MEAN, 5, 3, 4, wide(a), 0, em, 0);
        assertRounded("reduce MEAN", em, mean);

        Buffer r = empty(DType.FLOAT32, 1000);
        be.fillRandom(r.ptr(), 1000, RandomDistribution.NORMAL, 0.5, 2, 7L, 11L);
        double[] er = new double[1000];
        RefRandom.fill(er, 0, 1000, RandomDistribution.NORMAL, 0.5, 2, 7L, 11L);
        assertRounded("fillRandom NORMAL", er, r);

        Buffer dropped = empty(DType.FLOAT32, 60);
        be.dropout(60, 0.3, 5L, 9L, ab.ptr(), dropped.ptr());
        double[] ed = new double[60];
        RefRandom.dropout(60, 0.3, 5L, 9L, wide(a), 0, ed, 0);
        assertRounded("dropout", ed, dropped);
    }

    @Test
    void float32GemmConvolutionAndPoolingAreTheRoundedReference() {
        // C_b (5, 4; ldc 6) = 0.5 A_b^T B_b - 1.5 C_b for 2 batches, at offsets
        int m = 5, n = 4, k = 7, lda = 5, ldb = 4, ldc = 6, sa = k * lda + 1, sb = k * ldb, sc = m * ldc + 2;
        float[] a = randn(1, 1 + 2 * sa), b = randn(2, 2 * sb), c = randn(3, 3 + 2 * sc);
        Buffer ab = f32(a), bb = f32(b), cb = f32(c);
        be.gemm(true, false, m, n, k, 0.5, ab.ptr(1), lda, bb.ptr(), ldb, -1.5, cb.ptr(3), ldc, 2, sa, sb, sc);
        double[] e = wide(c);
        for (int i = 0; i < 2; i++) RefGemm.gemm(true, false, m, n, k, 0.5, wide(a), 1 + i * sa, lda, wide(b), i * sb, ldb, -1.5, e, 3 + i * sc, ldc);
        assertTrue(roundingMatters(e));
        assertRounded("gemm", e, cb);

        Conv2dGeometry g = new Conv2dGeometry(2, 3, 7, 5, 4, 3, 3, 2, 1, 1, 0);
        float[] x = randn(4, g.inputSize()), w = randn(5, g.filterSize()), dy = randn(6, g.outputSize());
        Buffer xb = f32(x), wb = f32(w), dyb = f32(dy);
        Buffer y = empty(DType.FLOAT32, g.outputSize()), dx = empty(DType.FLOAT32, g.inputSize()), dw = empty(DType.FLOAT32, g.filterSize());
        be.conv2dForward(g, xb.ptr(), wb.ptr(), y.ptr());
        be.conv2dBackwardData(g, dyb.ptr(), wb.ptr(), dx.ptr());
        be.conv2dBackwardFilter(g, xb.ptr(), dyb.ptr(), dw.ptr());
        double[] ey = new double[g.outputSize()], edx = new double[g.inputSize()], edw = new double[g.filterSize()];
        RefConv.forward(g, wide(x), 0, wide(w), 0, ey, 0);
        RefConv.backwardData(g, wide(dy), 0, wide(w), 0, edx, 0);
        RefConv.backwardFilter(g, wide(x), 0, wide(dy), 0, edw, 0);
        assertRounded("conv2dForward", ey, y);
        assertRounded("conv2dBackwardData (summed in double, rounded once)", edx, dx);
        assertRounded("conv2dBackwardFilter", edw, dw);

        Pool2dGeometry p = new Pool2dGeometry(2, 3, 7, 9, 3, 3, 2, 2, 1, 1);
        float[] px = randn(7, p.inputSize()), pdy = randn(8, p.outputSize());
        Buffer pxb = f32(px), pdyb = f32(pdy), py = empty(DType.FLOAT32, p.outputSize()), pdx = empty(DType.FLOAT32, p.inputSize());
        double[] epy = new double[p.outputSize()], epdx = new double[p.inputSize()];
        be.maxPool2dForward(p, pxb.ptr(), py.ptr());
        RefPool.maxForward(p, wide(px), 0, epy, 0);
        assertRounded("maxPool2dForward", epy, py);
        be.maxPool2dBackward(p, pxb.ptr(), py.ptr(), pdyb.ptr(), pdx.ptr());
        RefPool.maxBackward(p, wide(px), 0, epy, 0, wide(pdy), 0, epdx, 0);
        assertRounded("maxPool2dBackward", epdx, pdx);
        for (boolean include : new boolean[] {true, false}) {
            be.avgPool2dForward(p, include, pxb.ptr(), py.ptr());
            RefPool.avgForward(p, include, wide(px), 0, epy, 0);
            assertRounded("avgPool2dForward include=" + include, epy, py);
            be.avgPool2dBackward(p, include, pdyb.ptr(), pdx.ptr());
            RefPool.avgBackward(p, include, wide(pdy), 0, epdx, 0);
            assertRounded("avgPool2dBackward include=" + include, epdx, pdx);
        }
    }

    @Test
    void float32BatchNormLossAndEmbeddingAreTheRoundedReference() {
        int n = 3, c = 4, hw = 5, size = n * c * hw;
        float[] x = randn(1, size), gamma = uniform(2, c, 0.5, 1.5), beta = randn(3, c), dy = randn(4, size);
        float[] rm = randn(5, c), rv = uniform(6, c, 0.5, 2);
        Buffer xb = f32(x), gb = f32(gamma), bb = f32(beta), dyb = f32(dy), rmb = f32(rm), rvb = f32(rv);
        Buffer y = empty(DType.FLOAT32, size), sm = empty(DType.FLOAT32, c), si = empty(DType.FLOAT32, c);
        be.batchNormForwardTraining(n, c, hw, xb.ptr(), gb.ptr(), bb.ptr(), 1e-5, 0.1, rmb.ptr(), rvb.ptr(), y.ptr(), sm.ptr(), si.ptr());
        double[] ey = new double[size], esm = new double[c], esi = new double[c], erm = wide(rm), erv = wide(rv);
        RefBatchNorm.forwardTraining(n, c, hw, wide(x), 0, wide(gamma), 0, wide(beta), 0, 1e-5, 0.1, erm, 0, erv, 0, ey, 0, esm, 0, esi, 0);
        assertRounded("batch norm y", ey, y);
        assertRounded("batch norm saved mean", esm, sm);
        assertRounded("batch norm saved inverse std", esi, si);
        assertRounded("batch norm running mean", erm, rmb);
        assertRounded("batch norm running var", erv, rvb);
        // the backward reads the saved statistics as stored: floats
        Buffer dx = empty(DType.FLOAT32, size), dg = empty(DType.FLOAT32, c), db = empty(DType.FLOAT32, c);
        be.batchNormBackward(n, c, hw, xb.ptr(), dyb.ptr(), gb.ptr(), sm.ptr(), si.ptr(), dx.ptr(), dg.ptr(), db.ptr());
        double[] edx = new double[size], edg = new double[c], edb = new double[c];
        RefBatchNorm.backward(n, c, hw, wide(x), 0, wide(dy), 0, wide(gamma), 0, rounded(esm), 0, rounded(esi), 0, edx, 0, edg, 0, edb, 0);
        assertRounded("batch norm dx", edx, dx);
        assertRounded("batch norm dgamma", edg, dg);
        assertRounded("batch norm dbeta", edb, db);

        int rows = 6, classes = 5;
        float[] z = randn(7, rows * classes), dl = randn(8, rows);
        int[] labels = {0, 4, 2, 2, 1, 3};
        Buffer zb = f32(z), lb = ints(labels), loss = empty(DType.FLOAT32, rows), probs = empty(DType.FLOAT32, rows * classes);
        Buffer dlb = f32(dl), dz = empty(DType.FLOAT32, rows * classes);
        be.softmaxCrossEntropyForward(rows, classes, zb.ptr(), lb.ptr(), 0.1, loss.ptr(), probs.ptr());
        be.softmaxCrossEntropyBackward(rows, classes, probs.ptr(), lb.ptr(), 0.1, dlb.ptr(), dz.ptr());
        double[] el = new double[rows], ep = new double[rows * classes], edz = new double[rows * classes];
        RefLoss.softmaxCrossEntropyForward(rows, classes, wide(z), 0, labels, 0, 0.1, el, 0, ep, 0);
        RefLoss.softmaxCrossEntropyBackward(rows, classes, rounded(ep), 0, labels, 0, 0.1, wide(dl), 0, edz, 0);
        assertRounded("cross-entropy loss", el, loss);
        assertRounded("cross-entropy probs", ep, probs);
        assertRounded("cross-entropy dlogits (from the stored probs)", edz, dz);

        int count = 40, dim = 3, vocab = 7;
        int[] idx = new int[count];
        for (int i = 0; i < count; i++) idx[i] = (i * 5) % 3 == 0 ? 2 : i % vocab; // row 2 gets many additions
        float[] table = randn(9, vocab * dim), dOut = randn(10, count * dim), dTable = randn(11, vocab * dim);
        Buffer ib = ints(idx), tb = f32(table), eo = empty(DType.FLOAT32, count * dim), gob = f32(dOut), dtb = f32(dTable);
        be.embeddingForward(count, dim, vocab, ib.ptr(), tb.ptr(), eo.ptr());
        be.embeddingBackward(count, dim, vocab, ib.ptr(), gob.ptr(), dtb.ptr());
        double[] eeo = new double[count * dim], edt = wide(dTable);
        RefEmbedding.forward(count, dim, vocab, idx, 0, wide(table), 0, eeo, 0);
        RefEmbedding.backward(count, dim, vocab, idx, 0, wide(dOut), 0, edt, 0);
        assertRounded("embedding forward", eeo, eo);
        assertTrue(roundingMatters(edt));
        assertRounded("embedding backward (each row summed in double, rounded once)", edt, dtb);
    }

    @Test
    void float32LstmIsTheRoundedReferenceOfTheWholeLayer() {
        int n = 3, h = 4, nh = n * h;
        float[] gates = randn(1, 4 * nh), cPrev = randn(2, nh), dh = randn(3, nh);
        Buffer gb = f32(gates), cpb = f32(cPrev), act = empty(DType.FLOAT32, 4 * nh), hb = empty(DType.FLOAT32, nh), cb = empty(DType.FLOAT32, nh);
        Buffer dhb = f32(dh), dg = empty(DType.FLOAT32, 4 * nh), dcp = empty(DType.FLOAT32, nh);
        be.lstmCellForward(n, h, gb.ptr(), cpb.ptr(), act.ptr(), hb.ptr(), cb.ptr());
        be.lstmCellBackward(n, h, act.ptr(), cpb.ptr(), cb.ptr(), dhb.ptr(), null, dg.ptr(), dcp.ptr());
        double[] ea = new double[4 * nh], eh = new double[nh], ec = new double[nh], edg = new double[4 * nh], edcp = new double[nh];
        RefLstm.forward(n, h, wide(gates), 0, wide(cPrev), 0, ea, 0, eh, 0, ec, 0);
        RefLstm.backward(n, h, rounded(ea), 0, wide(cPrev), 0, rounded(ec), 0, wide(dh), 0, null, 0, edg, 0, edcp, 0);
        assertRounded("lstm cell act", ea, act);
        assertRounded("lstm cell h", eh, hb);
        assertRounded("lstm cell c", ec, cb);
        assertRounded("lstm cell dgates", edg, dg);
        assertRounded("lstm cell dcPrev", edcp, dcp);

        // a layer over 5 steps: computed in double from end to end (no rounding between steps), rounded once
        LstmGeometry g = new LstmGeometry(5, 3, 2, 4);
        int ns = g.stateSize();
        float[] x = randn(4, g.inputSize()), wIh = uniform(5, g.weightIhSize(), -0.5, 0.5), wHh = uniform(6, g.weightHhSize(), -0.5, 0.5);
        float[] bIh = uniform(7, g.biasSize(), -0.5, 0.5), h0 = randn(8, ns), c0 = randn(9, ns), dy = randn(10, g.outputSize()), dcT = randn(11, ns);
        Buffer xb = f32(x), wIhb = f32(wIh), wHhb = f32(wHh), bIhb = f32(bIh), h0b = f32(h0), c0b = f32(c0), dyb = f32(dy), dcTb = f32(dcT);
        Buffer y = empty(DType.FLOAT32, g.outputSize()), hT = empty(DType.FLOAT32, ns), cT = empty(DType.FLOAT32, ns);
        Buffer reserve = empty(DType.FLOAT32, be.lstmReserveSize(g));
        be.lstmSequenceForward(g, xb.ptr(), h0b.ptr(), c0b.ptr(), wIhb.ptr(), wHhb.ptr(), bIhb.ptr(), null, y.ptr(), hT.ptr(), cT.ptr(),
                reserve.ptr());
        double[] ey = new double[g.outputSize()], ehT = new double[ns], ecT = new double[ns], eres = new double[g.stepReserveSize()];
        RefLstm.sequenceForward(g, wide(x), wide(h0), wide(c0), wide(wIh), wide(wHh), wide(bIh), null, ey, ehT, ecT, eres);
        assertRounded("lstm layer y", ey, y);
        assertRounded("lstm layer hT", ehT, hT);
        assertRounded("lstm layer cT", ecT, cT);
        assertRounded("lstm layer reserve", eres, reserve);

        Buffer dx = empty(DType.FLOAT32, g.inputSize()), dh0 = empty(DType.FLOAT32, ns);
        Buffer dwIh = empty(DType.FLOAT32, g.weightIhSize()), dwHh = empty(DType.FLOAT32, g.weightHhSize()), db = empty(DType.FLOAT32, g.biasSize());
        be.lstmSequenceBackward(g, xb.ptr(), h0b.ptr(), c0b.ptr(), wIhb.ptr(), wHhb.ptr(), y.ptr(), reserve.ptr(), dyb.ptr(), null, dcTb.ptr(),
                dx.ptr(), dh0.ptr(), null, dwIh.ptr(), dwHh.ptr(), db.ptr());
        double[] edx = new double[g.inputSize()], edh0 = new double[ns];
        double[] edwIh = new double[g.weightIhSize()], edwHh = new double[g.weightHhSize()], edb = new double[g.biasSize()];
        RefLstm.sequenceBackward(g, wide(x), wide(h0), wide(c0), wide(wIh), wide(wHh), rounded(ey), rounded(eres), wide(dy), null, wide(dcT),
                edx, edh0, null, edwIh, edwHh, edb);
        assertRounded("lstm layer dx", edx, dx);
        assertRounded("lstm layer dh0", edh0, dh0);
        assertRounded("lstm layer dwIh", edwIh, dwIh);
        assertRounded("lstm layer dwHh", edwHh, dwHh);
        assertRounded("lstm layer db", edb, db);
    }

    // ---------------------------------------------------------------------------------------------
    // FLOAT64: the reference itself
    // ---------------------------------------------------------------------------------------------

    @Test
    void float64OutputsAreTheReferenceExactly() {
        double[] a = wide(randn(1, 35)), b = wide(randn(2, 28)), c = wide(randn(3, 20));
        Buffer ab = f64(a), bb = f64(b), cb = f64(c);
        be.gemm(false, false, 5, 4, 7, 0.3, ab.ptr(), 7, bb.ptr(), 4, 0.7, cb.ptr(), 4, 1, 0, 0, 0);
        RefGemm.gemm(false, false, 5, 4, 7, 0.3, a, 0, 7, b, 0, 4, 0.7, c, 0, 4);
        assertTrue(roundingMatters(c));
        assertArrayEquals(c, downloadDoubles(be, cb), "gemm FLOAT64");

        Conv2dGeometry g = new Conv2dGeometry(1, 2, 5, 6, 3, 3, 3, 1, 1, 1, 1);
        double[] x = wide(randn(4, g.inputSize())), w = wide(randn(5, g.filterSize())), e = new double[g.outputSize()];
        Buffer y = empty(DType.FLOAT64, g.outputSize());
        be.conv2dForward(g, f64(x).ptr(), f64(w).ptr(), y.ptr());
        RefConv.forward(g, x, 0, w, 0, e, 0);
        assertArrayEquals(e, downloadDoubles(be, y), "conv2dForward FLOAT64");

        LstmGeometry l = new LstmGeometry(3, 2, 3, 2);
        double[] lx = wide(randn(6, l.inputSize())), wIh = wide(randn(7, l.weightIhSize())), wHh = wide(randn(8, l.weightHhSize()));
        Buffer ly = empty(DType.FLOAT64, l.outputSize()), hT = empty(DType.FLOAT64, l.stateSize()), cT = empty(DType.FLOAT64, l.stateSize());
        be.lstmSequenceForward(l, f64(lx).ptr(), null, null, f64(wIh).ptr(), f64(wHh).ptr(), null, null, ly.ptr(), hT.ptr(), cT.ptr(), null);
        double[] ey = new double[l.outputSize()], ehT = new double[l.stateSize()], ecT = new double[l.stateSize()];
        RefLstm.sequenceForward(l, lx, null, null, wIh, wHh, null, null, ey, ehT, ecT, null);
        assertArrayEquals(ey, downloadDoubles(be, ly), "lstm layer y FLOAT64");
        assertArrayEquals(ecT, downloadDoubles(be, cT), "lstm layer cT FLOAT64");
    }

    // ---------------------------------------------------------------------------------------------
    // host transfers, copies, fused kernels
    // ---------------------------------------------------------------------------------------------

    @Test
    void transfersAndCopiesConvertExactly() {
        float[] special = {0f, -0f, Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, -1.1f, Float.NaN, Float.NEGATIVE_INFINITY};
        Buffer f = f32(special);
        float[] back = new float[special.length];
        be.read(f.ptr(), back, 0, back.length);
        assertArrayEquals(special, back, "FLOAT32 round trip, to the bit");
        assertArrayEquals(wide(special), downloadDoubles(be, f), "a FLOAT32 buffer read as doubles: each float widened");

        double[] d = {0.1, 1e-50, 1e300, -2.5};
        Buffer db = f64(d), asF32 = empty(DType.FLOAT32, 4), asI32 = empty(DType.INT32, 4);
        be.read(db.ptr(), back, 0, 4);
        for (int i = 0; i < 4; i++) assertEquals((float) d[i], back[i], "FLOAT64 read as float rounds, element " + i);
        int[] one = {4}, unit = {1};
        be.copy(one, asF32.ptr(), unit, db.ptr(), unit);
        assertArrayEquals(rounded(d), downloadDoubles(be, asF32), "a copy FLOAT64 -> FLOAT32 stores floats");
        be.copy(one, asI32.ptr(), unit, db.ptr(), unit);
        int[] got = new int[4];
        be.read(asI32.ptr(), got, 0, 4);
        assertArrayEquals(new int[] {0, 0, Integer.MAX_VALUE, -2}, got, "to INT32 truncates as a Java (C) cast");

        be.fill(asF32.ptr(), 4, 0.1);
        assertArrayEquals(new double[] {0.1f, 0.1f, 0.1f, 0.1f}, downloadDoubles(be, asF32), "fill stores the float nearest 0.1");
    }

    /** out[i] = in[i] + s0 over FLOAT32 operands, in float (as an optimizer's f32 kernel computes). */
    private static final FusedKernel ADD_F32 = new FusedKernel() {
        @Override
        public String name() {
            return "test_add_f32";
        }

        @Override
        public void runHost(HostOperands ops, double[] s, int from, int to) {
            float[] in = ops.f32(0), out = ops.f32(1);
            for (int i = from; i < to; i++) out[ops.offset(1) + i] = in[ops.offset(0) + i] + (float) s[0];
        }
    };

    /** y[i] = y[i] / 3 + x[i] over FLOAT64 operands. */
    private static final FusedKernel THIRD_F64 = new FusedKernel() {
        @Override
        public String name() {
            return "test_third_f64";
        }

        @Override
        public void runHost(HostOperands ops, double[] s, int from, int to) {
            double[] x = ops.f64(0), y = ops.f64(1);
            for (int i = from; i < to; i++) y[ops.offset(1) + i] = y[ops.offset(1) + i] / 3 + x[ops.offset(0) + i];
        }
    };

    @Test
    void fusedKernelsRunOnTheStorageAndAliasingOperandsAlias() {
        // FLOAT64: the kernel runs in double on the buffer itself
        double[] x = wide(randn(1, 20)), y = wide(randn(2, 22));
        Buffer xb = f64(x), yb = f64(y);
        be.fused(THIRD_F64, 19, new Ptr[] {xb.ptr(1), yb.ptr(3)}, new double[0]);
        double[] e = y.clone();
        for (int i = 0; i < 19; i++) e[3 + i] = e[3 + i] / 3 + x[1 + i];
        assertArrayEquals(e, downloadDoubles(be, yb), "FLOAT64 fused, exactly");

        // FLOAT32, in place through two operands of one buffer, and a second buffer: as on the CPU, to the bit
        float[] v = randn(3, 30);
        Buffer vb = f32(v), wb = empty(DType.FLOAT32, 30);
        be.fill(wb.ptr(), 30, 0);
        be.fused(ADD_F32, 25, new Ptr[] {vb.ptr(2), vb.ptr(2)}, new double[] {0.1});
        be.fused(ADD_F32, 10, new Ptr[] {vb.ptr(), wb.ptr(5)}, new double[] {1});
        CpuBackend cpu = CpuBackend.get();
        TestBuffers cpuBuffers = new TestBuffers(cpu);
        Buffer cv = cpuBuffers.upload(cpu, v), cw = cpuBuffers.empty(cpu, 30);
        cpu.fill(cw.ptr(), 30, 0);
        cpu.fused(ADD_F32, 25, new Ptr[] {cv.ptr(2), cv.ptr(2)}, new double[] {0.1});
        cpu.fused(ADD_F32, 10, new Ptr[] {cv.ptr(), cw.ptr(5)}, new double[] {1});
        assertArrayEquals(TestBuffers.download(cpu, cv), TestBuffers.download(be, vb), "in-place FLOAT32 fused");
        assertArrayEquals(TestBuffers.download(cpu, cw), TestBuffers.download(be, wb), "FLOAT32 fused into another buffer");
        cpuBuffers.freeAndCheckLeaks();

        var err = assertThrows(IllegalArgumentException.class, () -> be.fused(ADD_F32, 5, new Ptr[] {xb.ptr(), yb.ptr()}, new double[] {1}));
        assertEquals("test_add_f32: operand 0 is FLOAT64, not FLOAT32", err.getMessage());
    }

    // ---------------------------------------------------------------------------------------------
    // refusals: the CPU backend's exception and message
    // ---------------------------------------------------------------------------------------------

    /** The operands a refused call is given, allocated on the backend under test. */
    private record Operands(Buffer f, Buffer f2, Buffer f3, Buffer d, Buffer labels) {
        static Operands on(Backend be, TestBuffers tb) {
            Buffer labels = tb.empty(be, DType.INT32, 4);
            be.write(labels.ptr(), new int[] {0, 5, 1, 2}, 0, 4);
            Operands o = new Operands(tb.empty(be, 12), tb.empty(be, 12), tb.empty(be, 12), tb.empty(be, DType.FLOAT64, 12), labels);
            for (Buffer b : new Buffer[] {o.f, o.f2, o.f3}) be.fill(b.ptr(), 12, 0.5);
            return o;
        }
    }

    private record Refusal(String what, BiConsumer<Backend, Operands> call) {}

    private static final LstmGeometry SMALL_LSTM = new LstmGeometry(1, 1, 2, 2); // wIh needs 16 elements

    private static final Refusal[] REFUSALS = {
            new Refusal("allocate a negative length", (b, o) -> b.allocate(DType.FLOAT32, -1)),
            new Refusal("write floats into FLOAT64", (b, o) -> b.write(o.d.ptr(), new float[3], 0, 3)),
            new Refusal("write doubles into FLOAT32", (b, o) -> b.write(o.f.ptr(), new double[3], 0, 3)),
            new Refusal("write past the end", (b, o) -> b.write(o.f.ptr(10), new float[3], 0, 3)),
            new Refusal("read ints from FLOAT32", (b, o) -> b.read(o.f.ptr(), new int[3], 0, 3)),
            new Refusal("fill INT32 with 0.5", (b, o) -> b.fill(o.labels.ptr(), 4, 0.5)),
            new Refusal("fillRandom uniform with a > b", (b, o) -> b.fillRandom(o.f.ptr(), 12, RandomDistribution.UNIFORM, 1, 0, 1L, 0L)),
            new Refusal("fillRandom into INT32", (b, o) -> b.fillRandom(o.labels.ptr(), 4, RandomDistribution.NORMAL, 0, 1, 1L, 0L)),
            new Refusal("copy leaves the buffer", (b, o) -> b.copy(new int[] {3, 5}, o.f.ptr(), new int[] {5, 1}, o.f2.ptr(), new int[] {4, 1})),
            new Refusal("unary with mixed dtypes", (b, o) -> b.unary(UnaryOp.RELU, 0, 12, o.f.ptr(), o.d.ptr())),
            new Refusal("unary with a short y", (b, o) -> b.unary(UnaryOp.EXP, 0, 12, o.f.ptr(), o.f2.ptr(1))),
            new Refusal("binary strides of another rank", (b, o) -> b.binary(BinaryOp.ADD, new int[] {3, 4}, o.f.ptr(), new int[] {4},
                    o.f2.ptr(), new int[] {4, 1}, o.f3.ptr(), new int[] {4, 1})),
            new Refusal("reduce over size 0", (b, o) -> b.reduce(ReduceOp.SUM, 1, 0, 1, o.f.ptr(), o.f2.ptr())),
            new Refusal("argmax into FLOAT32 indices", (b, o) -> b.argmax(1, 12, 1, o.f.ptr(), o.f2.ptr())),
            new Refusal("log2Histogram with min > max", (b, o) -> b.log2Histogram(12, o.f.ptr(), 3, 2, o.labels.ptr())),
            new Refusal("gemm: A leaves its buffer", (b, o) -> b.gemm(false, false, 4, 4, 4, 1, o.f.ptr(), 4, o.f2.ptr(), 4, 0, o.f3.ptr(), 4,
                    1, 0, 0, 0)),
            new Refusal("conv2d: a short filter", (b, o) -> b.conv2dForward(new Conv2dGeometry(1, 1, 3, 3, 2, 3, 3, 1, 1, 1, 1),
                    o.f.ptr(), o.f2.ptr(), o.f3.ptr())),
            new Refusal("maxPool2d: a short output", (b, o) -> b.maxPool2dForward(new Pool2dGeometry(1, 1, 3, 4, 1, 1, 1, 1, 0, 0),
                    o.f.ptr(), o.f2.ptr(1))),
            new Refusal("batch norm over one value per channel", (b, o) -> b.batchNormForwardTraining(1, 3, 1, o.f.ptr(), o.f2.ptr(),
                    o.f2.ptr(3), 1e-5, 0.1, null, null, o.f3.ptr(), o.f2.ptr(6), o.f2.ptr(9))),
            new Refusal("batch norm with one running statistic", (b, o) -> b.batchNormForwardTraining(2, 3, 2, o.f.ptr(), o.f2.ptr(),
                    o.f2.ptr(3), 1e-5, 0.1, o.f2.ptr(6), null, o.f3.ptr(), o.f2.ptr(6), o.f2.ptr(9))),
            new Refusal("cross-entropy: label 5 of 3 classes", (b, o) -> b.softmaxCrossEntropyForward(4, 3, o.f.ptr(), o.labels.ptr(), 0,
                    o.f2.ptr(), o.f3.ptr())),
            new Refusal("cross-entropy: smoothing 2", (b, o) -> b.softmaxCrossEntropyBackward(4, 3, o.f.ptr(), o.labels.ptr(), 2,
                    o.f2.ptr(), o.f3.ptr())),
            new Refusal("dropout with p = 1", (b, o) -> b.dropout(12, 1.0, 1L, 0L, o.f.ptr(), o.f2.ptr())),
            new Refusal("embedding: index 5 of 4 rows", (b, o) -> b.embeddingForward(4, 3, 4, o.labels.ptr(), o.f.ptr(), o.f2.ptr())),
            new Refusal("embedding backward: index 5 of 4 rows", (b, o) -> b.embeddingBackward(4, 3, 4, o.labels.ptr(), o.f.ptr(), o.f2.ptr())),
            new Refusal("lstm cell: dc of another dtype", (b, o) -> b.lstmCellBackward(1, 2, o.f.ptr(), o.f2.ptr(), o.f2.ptr(2), o.f2.ptr(4),
                    o.d.ptr(), o.f3.ptr(), o.f2.ptr(8))),
            new Refusal("lstm layer: a short wIh", (b, o) -> b.lstmSequenceForward(SMALL_LSTM, o.f.ptr(), null, null, o.f2.ptr(), o.f3.ptr(),
                    null, null, o.f.ptr(2), o.f.ptr(4), o.f.ptr(6), null)),
            new Refusal("lstm layer backward: no reserve", (b, o) -> b.lstmSequenceBackward(new LstmGeometry(1, 1, 1, 1), o.f.ptr(), null,
                    null, o.f2.ptr(), o.f2.ptr(4), o.f.ptr(1), null, o.f.ptr(2), null, null, null, null, null, o.f3.ptr(), o.f3.ptr(4),
                    o.f3.ptr(8))),
    };

    @Test
    void badCallsAreRefusedWithTheCpuBackendsExceptionAndMessage() {
        CpuBackend cpu = CpuBackend.get();
        TestBuffers cpuBuffers = new TestBuffers(cpu);
        Operands onCpu = Operands.on(cpu, cpuBuffers), onRef = Operands.on(be, buffers);
        for (Refusal r : REFUSALS) {
            var expected = assertThrows(IllegalArgumentException.class, () -> r.call.accept(cpu, onCpu), r.what + " on the CPU");
            var got = assertThrows(IllegalArgumentException.class, () -> r.call.accept(be, onRef), r.what + " on the reference");
            assertEquals(expected.getMessage(), got.getMessage(), r.what);
        }
        // a refused call changes nothing: the outputs of the refused cross-entropy and embedding calls hold their fill
        for (Buffer b : new Buffer[] {onRef.f2, onRef.f3}) {
            double[] got = downloadDoubles(be, b);
            for (int i = 0; i < got.length; i++) assertEquals((float) 0.5, got[i], "element " + i + " after the refusals");
        }
        cpuBuffers.freeAndCheckLeaks();
    }

    @Test
    void aBufferOfAnotherBackendIsRefused() {
        CpuBackend cpu = CpuBackend.get();
        TestBuffers cpuBuffers = new TestBuffers(cpu);
        Buffer theirs = cpuBuffers.empty(cpu, 4), ours = empty(DType.FLOAT32, 4);
        var e = assertThrows(IllegalArgumentException.class, () -> be.unary(UnaryOp.NEG, 0, 4, theirs.ptr(), ours.ptr()));
        assertEquals("reference backend got a buffer of another backend: " + theirs, e.getMessage());
        cpuBuffers.freeAndCheckLeaks();
    }

    // ---------------------------------------------------------------------------------------------
    // lifetimes, memory, identity, call counts
    // ---------------------------------------------------------------------------------------------

    @Test
    void aFreedBufferThrowsOnUseAsOnTheCpu() {
        CpuBackend cpu = CpuBackend.get();
        for (Backend b : new Backend[] {cpu, be}) {
            Buffer x = b.allocate(DType.FLOAT32, 10), y = b.allocate(DType.FLOAT32, 10);
            Ptr px = x.ptr();
            x.close();
            assertTrue(x.isClosed());
            x.close(); // idempotent
            var fill = assertThrows(IllegalStateException.class, () -> b.fill(px, 10, 1));
            assertEquals("fill: buffer was already freed", fill.getMessage(), b.name());
            var read = assertThrows(IllegalStateException.class, () -> b.read(px, new float[10], 0, 10));
            assertEquals("read: buffer was already freed", read.getMessage(), b.name());
            var unary = assertThrows(IllegalStateException.class, () -> b.unary(UnaryOp.EXP, 0, 10, y.ptr(), px));
            assertEquals("unary EXP: y: buffer was already freed", unary.getMessage(), b.name());
            var gemm = assertThrows(IllegalStateException.class,
                    () -> b.gemm(false, false, 2, 2, 2, 1, px, 2, y.ptr(), 2, 0, y.ptr(4), 2, 1, 0, 0, 0));
            assertEquals("gemm: A's buffer was already freed", gemm.getMessage(), b.name());
            var copy = assertThrows(IllegalStateException.class, () -> b.copy(new int[] {10}, y.ptr(), new int[] {1}, px, new int[] {1}));
            assertEquals("copy: buffer was already freed", copy.getMessage(), b.name());
            y.close();
        }
    }

    @Test
    void memoryStatsCountLiveBuffersAndReturnToTheirBaselineAfterClosing() {
        MemoryStats before = be.memoryStats();
        Buffer a = be.allocate(DType.FLOAT32, 16), b = be.allocate(DType.FLOAT64, 3), c = be.allocate(DType.INT32, 5);
        MemoryStats during = be.memoryStats();
        assertEquals(before.liveBuffers() + 3, during.liveBuffers());
        assertEquals(before.liveBytes() + 16 * 8 + 3 * 8 + 5 * 4, during.liveBytes(), "FLOAT32 elements are held as doubles: 8 bytes");
        assertTrue(during.peakBytes() >= during.liveBytes(), during.toString());
        assertEquals(0, during.cachedBytes(), "no allocator cache");
        // ops that make temporaries of their own (the LSTM layer, fused kernels) leave no buffer behind
        be.fill(a.ptr(), 16, 0.5);
        be.lstmSequenceForward(new LstmGeometry(1, 1, 1, 1), a.ptr(), null, null, a.ptr(1), a.ptr(5), null, null, a.ptr(9), a.ptr(10),
                a.ptr(11), null);
        be.fused(ADD_F32, 4, new Ptr[] {a.ptr(), a.ptr(12)}, new double[] {1});
        assertEquals(during, be.memoryStats(), "the ops allocated no buffer");
        a.close();
        b.close();
        c.close();
        MemoryStats after = be.memoryStats();
        assertEquals(before.liveBuffers(), after.liveBuffers());
        assertEquals(before.liveBytes(), after.liveBytes());
        c.close(); // a second close counts nothing
        assertEquals(after, be.memoryStats());
    }

    @Test
    void poisonedOrZeroedFreshBuffers() {
        Buffer f = empty(DType.FLOAT32, 3), i = empty(DType.INT32, 3);
        int[] ints = new int[3];
        be.read(i.ptr(), ints, 0, 3);
        if (Boolean.getBoolean("optlab.poison")) { // NOTE [poison], set by surefire
            assertArrayEquals(new double[] {Double.NaN, Double.NaN, Double.NaN}, downloadDoubles(be, f));
            assertArrayEquals(new int[] {Integer.MIN_VALUE, Integer.MIN_VALUE, Integer.MIN_VALUE}, ints);
        } else {
            assertArrayEquals(new double[3], downloadDoubles(be, f));
            assertArrayEquals(new int[3], ints);
        }
    }

    @Test
    void itIsOneBackendOnTheHostWithTheDefaultChoices() {
        assertSame(be, ReferenceBackend.get());
        assertEquals("reference (double)", be.name());
        assertEquals(Device.REFERENCE, be.device());
        assertEquals(KernelChoices.defaults(), be.kernels());
        Buffer x = empty(DType.FLOAT32, 4);
        assertSame(be, x.backend());
        be.synchronize();
    }

    @Test
    void callsAreCountedUnderTheReferenceVariant() {
        Buffer a = empty(DType.FLOAT32, 16), c = empty(DType.FLOAT32, 16);
        be.fill(a.ptr(), 16, 1);
        be.kernelCalls().reset();
        be.gemm(false, false, 4, 4, 4, 1, a.ptr(), 4, a.ptr(), 4, 0, c.ptr(), 4, 1, 0, 0, 0);
        be.unary(UnaryOp.RELU, 0, 16, a.ptr(), c.ptr());
        be.unary(UnaryOp.RELU, 0, 16, c.ptr(), c.ptr());
        be.binary(BinaryOp.MUL, new int[] {16}, c.ptr(), new int[] {1}, a.ptr(), new int[] {1}, c.ptr(), new int[] {1});
        Conv2dGeometry g = new Conv2dGeometry(1, 1, 4, 4, 1, 1, 1, 1, 1, 0, 0);
        be.conv2dForward(g, a.ptr(), a.ptr(), c.ptr());
        be.conv2dBackwardData(g, a.ptr(), a.ptr(), c.ptr());
        be.fused(ADD_F32, 16, new Ptr[] {a.ptr(), c.ptr()}, new double[] {1});
        be.lstmSequenceForward(new LstmGeometry(1, 1, 1, 1), a.ptr(), null, null, a.ptr(1), a.ptr(5), null, null, c.ptr(), c.ptr(1),
                c.ptr(2), null);
        be.reduce(ReduceOp.SUM, 1, 16, 1, a.ptr(), c.ptr()); // not counted, as on the CPU
        assertEquals(Map.of("gemm=reference", 1L, "unary.relu=reference", 2L, "binary.mul=reference", 1L, "conv2d=reference", 2L,
                "fused.test_add_f32=host", 1L, "lstm=reference", 1L), be.kernelCalls().snapshot());
    }
}
