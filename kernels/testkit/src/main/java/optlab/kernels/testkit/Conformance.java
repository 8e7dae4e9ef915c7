package optlab.kernels.testkit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import optlab.kernels.Backend;
import optlab.kernels.Backends;
import optlab.kernels.BinaryOp;
import optlab.kernels.Buffer;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.FusedKernel;
import optlab.kernels.KernelChoices;
import optlab.kernels.LstmGeometry;
import optlab.kernels.Pool2dGeometry;
import optlab.kernels.Ptr;
import optlab.kernels.Strides;
import optlab.kernels.Tolerance;
import optlab.kernels.UnaryOp;
import optlab.kernels.family.UnaryKernel;
import optlab.kernels.reference.RefBatchNorm;
import optlab.kernels.reference.RefConv;
import optlab.kernels.reference.RefElementwise;
import optlab.kernels.reference.RefEmbedding;
import optlab.kernels.reference.RefGemm;
import optlab.kernels.reference.RefLoss;
import optlab.kernels.reference.RefLstm;
import optlab.kernels.reference.RefPool;
import optlab.kernels.reference.ReferenceKernels;

/**
 * The conformance kit a user runs on a kernel before using it ({@code bin/optlab kernels check OP=SPEC}): the op's
 * primitives, forward and backward, on seeded random inputs of odd sizes and several geometries, run through a backend
 * opened with the kernel, each output compared element by element with the double-precision reference
 * ({@code optlab.kernels.reference}) under {@link Tolerance#FLOAT32}. The result names the worst element: its output,
 * case, index, value and the reference's. A forward-only kernel's backward is not checked (it says so).
 *
 * <p>What it does not check: speed, or a kernel whose math deliberately differs from the op's (a leaky ReLU in
 * relu's place fails here by design: it is not relu).
 */
public final class Conformance {
    private final Backend backend;
    private final KernelChoices.Choice choice;
    private final SplittableRandom random;
    private final List<String> log = new ArrayList<>();
    private final Tolerance tol = Tolerance.FLOAT32;
    private int checks;
    private double worstRatio = -1;
    private String worst = "nothing compared";
    private final List<Buffer> buffers = new ArrayList<>();

    /**
     * The outcome.
     *
     * @param lines one line per case, then the verdict
     * @param worstRatio the worst |got - expected| / (atol + rtol |expected|) over every element (pass: at most 1)
     */
    public record Result(String choice, boolean passed, int checks, double worstRatio, String worst, List<String> lines) {}

    private Conformance(Backend backend, KernelChoices.Choice choice, long seed) {
        this.backend = backend;
        this.choice = choice;
        this.random = new SplittableRandom(seed);
    }

    /**
     * Checks the single entry {@code entry} ({@code op=SPEC}) on {@code device}: opens a backend with it (refusing what
     * that backend cannot run, as a run would) and runs the op's cases.
     */
    public static Result check(String entry, Device device, long seed) {
        KernelChoices choices = KernelChoices.parse(entry);
        if (choices.overrides().size() != 1) throw new IllegalArgumentException("kernels check takes one op=SPEC, got '" + entry + "'");
        Backend be = Backends.create(device, choices);
        Conformance c = new Conformance(be, choices.overrides().get(0), seed);
        try {
            c.run();
        } finally {
            c.buffers.forEach(Buffer::close);
        }
        boolean pass = c.worstRatio <= 1;
        c.log.add(String.format(Locale.ROOT, "%s %s: %d outputs compared with the reference; worst %s", pass ? "PASS" : "FAIL", c.choice,
                c.checks, c.worst));
        return new Result(c.choice.toString(), pass, c.checks, c.worstRatio, c.worst, List.copyOf(c.log));
    }

    private void run() {
        String op = choice.op();
        if (op.equals("gemm")) gemm();
        else if (op.equals("conv2d")) conv2d();
        else if (op.equals("pool2d")) pool2d();
        else if (op.equals("batchnorm")) batchnorm();
        else if (op.equals("softmax_cross_entropy")) softmaxCrossEntropy();
        else if (op.equals("lstm")) lstm();
        else if (op.equals("embedding")) embedding();
        else if (op.startsWith("unary.")) unary(UnaryOp.valueOf(op.substring(6).toUpperCase(Locale.ROOT)));
        else if (op.startsWith("binary.")) binary(BinaryOp.valueOf(op.substring(7).toUpperCase(Locale.ROOT)));
        else if (op.startsWith("fused.")) fused(op.substring(6));
        else throw new IllegalArgumentException("kernels check: no conformance cases for " + op);
        if (choice.forwardOnly()) log.add("note: declared forward-only: its backward was not checked");
    }

    private boolean backward() {
        return !choice.forwardOnly();
    }

    // ------------------------------------------------------------------------------------------------
    // Inputs, outputs, comparison
    // ------------------------------------------------------------------------------------------------

    private float[] rnd(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (random.nextDouble() * 2 - 1);
        return a;
    }

    private static double[] wide(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    private Buffer up(float[] a) {
        Buffer b = backend.allocate(DType.FLOAT32, a.length);
        buffers.add(b);
        backend.write(b.ptr(), a, 0, a.length);
        return b;
    }

    private Buffer upInts(int[] a) {
        Buffer b = backend.allocate(DType.INT32, a.length);
        buffers.add(b);
        backend.write(b.ptr(), a, 0, a.length);
        return b;
    }

    /** A buffer of n elements filled with NaN, so that an output the kernel forgets to write fails. */
    private Buffer out(int n) {
        Buffer b = backend.allocate(DType.FLOAT32, Math.max(n, 1));
        buffers.add(b);
        backend.fill(b.ptr(), Math.max(n, 1), Double.NaN);
        return b;
    }

    /** Compares the first {@code expected.length} elements of {@code got} with the reference. */
    private void compare(String what, Buffer got, double[] expected) {
        double[] a = readDoubles(backend, got, expected.length);
        checks++;
        double caseWorst = 0;
        for (int i = 0; i < a.length; i++) {
            double e = expected[i], d = Math.abs(a[i] - e);
            double bound = tol.atol() + tol.rtol() * Math.abs(e), ratio;
            if (tol.close(a[i], e)) ratio = Double.isFinite(d) ? d / bound : 0; // NaN for NaN, or equal infinities: a match
            else ratio = Double.isFinite(d) ? Math.max(d / bound, Math.nextUp(1.0)) : Double.POSITIVE_INFINITY;
            caseWorst = Math.max(caseWorst, ratio);
            if (ratio > worstRatio) {
                worstRatio = ratio;
                Object shown = got.dtype() == DType.FLOAT32 ? (Object) (float) a[i] : (Object) a[i];
                worst = String.format(Locale.ROOT, "%s[%d] = %s, reference %s (%.3g of the tolerance atol %g + rtol %g)", what, i, shown, e,
                        ratio, tol.atol(), tol.rtol());
            }
        }
        log.add(String.format(Locale.ROOT, "%s %s (%d elements, worst %.3g of the tolerance)", caseWorst <= 1 ? "ok  " : "FAIL", what,
                a.length, caseWorst));
    }

    // ------------------------------------------------------------------------------------------------
    // The families
    // ------------------------------------------------------------------------------------------------

    /**
     * A fused kernel against the built-in one of its name, run by the CPU backend with the default choices (for the
     * optimizers', their Java reference): on the calls the kernel's {@link FusedKernel#sample} draws, odd sizes included,
     * every operand compared afterwards (what it writes, and what it must leave alone).
     */
    private void fused(String name) {
        FusedKernel builtIn = KernelChoices.fusedKernel(name);
        Backend reference = Backends.create(Device.CPU, KernelChoices.defaults());
        for (int n : new int[] {1, 7, 1031}) {
            for (int draw = 0; draw < 4; draw++) {
                FusedKernel.Sample s = builtIn.sample(random, n);
                if (s == null) {
                    throw new IllegalArgumentException("kernels check: fused." + name + " describes no sample call (FusedKernel#sample), "
                            + "so it cannot be checked");
                }
                List<double[]> expected = runFused(reference, builtIn, n, s, null);
                List<Buffer> got = new ArrayList<>();
                runFused(backend, builtIn, n, s, got);
                for (int i = 0; i < got.size(); i++) {
                    compare("fused." + name + " " + s.names().get(i) + " (n " + n + ", scalars " + Arrays.toString(s.scalars()) + ")",
                            got.get(i), expected.get(i));
                }
            }
        }
    }

    /** Runs {@code k} on {@code be} over the sample's operands; returns their values after (and keeps the buffers in {@code keep}). */
    private List<double[]> runFused(Backend be, FusedKernel k, int n, FusedKernel.Sample s, List<Buffer> keep) {
        List<Buffer> bufs = new ArrayList<>();
        try {
            Ptr[] ptrs = new Ptr[s.names().size()];
            for (int i = 0; i < ptrs.length; i++) {
                Buffer b = be.allocate(s.dtypes().get(i), n);
                bufs.add(b);
                double[] v = s.values().get(i);
                if (s.dtypes().get(i) == DType.FLOAT32) {
                    float[] f = new float[n];
                    for (int j = 0; j < n; j++) f[j] = (float) v[j];
                    be.write(b.ptr(), f, 0, n);
                } else {
                    be.write(b.ptr(), v, 0, n);
                }
                ptrs[i] = b.ptr();
            }
            be.fused(k, n, ptrs, s.scalars());
            List<double[]> out = new ArrayList<>();
            for (Buffer b : bufs) out.add(readDoubles(be, b, n));
            return out;
        } finally {
            if (keep != null) {
                keep.addAll(bufs);
                buffers.addAll(bufs);
            } else {
                bufs.forEach(Buffer::close);
            }
        }
    }

    private static double[] readDoubles(Backend be, Buffer b, int n) {
        double[] d = new double[n];
        if (b.dtype() == DType.FLOAT64) {
            be.read(b.ptr(), d, 0, n);
        } else {
            float[] f = new float[n];
            be.read(b.ptr(), f, 0, n);
            for (int i = 0; i < n; i++) d[i] = f[i];
        }
        return d;
    }

    private void gemm() {
        int[][] sizes = {{1, 1, 1}, {7, 5, 3}, {33, 17, 9}};
        for (int[] s : sizes)
            for (int t = 0; t < 4; t++)
                for (int batch : new int[] {1, 2}) {
                    boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                    int m = s[0], n = s[1], k = s[2];
                    int lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 1;
                    int sa = (ta ? k : m) * lda, sb = (tb ? n : k) * ldb, sc = m * ldc;
                    double alpha = 1.5, beta = batch == 1 ? 0 : 0.5;
                    float[] a = rnd(sa * batch), b = rnd(sb * batch), c = rnd(sc * batch);
                    Buffer cb = up(c);
                    backend.gemm(ta, tb, m, n, k, alpha, up(a).ptr(), lda, up(b).ptr(), ldb, beta, cb.ptr(), ldc, batch, sa, sb, sc);
                    double[] e = wide(c), aw = wide(a), bw = wide(b);
                    for (int i = 0; i < batch; i++) RefGemm.gemm(ta, tb, m, n, k, alpha, aw, i * sa, lda, bw, i * sb, ldb, beta, e, i * sc, ldc);
                    compare(String.format(Locale.ROOT, "gemm C (m %d n %d k %d%s%s batch %d beta %s)", m, n, k, ta ? " A^T" : "", tb ? " B^T" : "",
                            batch, beta), cb, e);
                }
    }

    private static final Conv2dGeometry[] CONVS = {
        new Conv2dGeometry(2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1),
        new Conv2dGeometry(1, 2, 9, 9, 3, 3, 3, 2, 2, 0, 0),
        new Conv2dGeometry(3, 1, 5, 5, 2, 1, 1, 1, 1, 0, 0),
    };

    private void conv2d() {
        for (Conv2dGeometry g : CONVS) {
            float[] x = rnd(g.inputSize()), w = rnd(g.filterSize()), dy = rnd(g.outputSize());
            Buffer xb = up(x), wb = up(w), dyb = up(dy), y = out(g.outputSize());
            backend.conv2dForward(g, xb.ptr(), wb.ptr(), y.ptr());
            double[] ye = new double[g.outputSize()];
            RefConv.forward(g, wide(x), 0, wide(w), 0, ye, 0);
            compare("conv2d forward y " + g, y, ye);
            if (!backward()) continue;
            Buffer dx = out(g.inputSize()), dw = out(g.filterSize());
            backend.conv2dBackwardData(g, dyb.ptr(), wb.ptr(), dx.ptr());
            backend.conv2dBackwardFilter(g, xb.ptr(), dyb.ptr(), dw.ptr());
            double[] dxe = new double[g.inputSize()], dwe = new double[g.filterSize()];
            RefConv.backwardData(g, wide(dy), 0, wide(w), 0, dxe, 0);
            RefConv.backwardFilter(g, wide(x), 0, wide(dy), 0, dwe, 0);
            compare("conv2d backwardData dx " + g, dx, dxe);
            compare("conv2d backwardFilter dw " + g, dw, dwe);
        }
    }

    private static final Pool2dGeometry[] POOLS = {
        new Pool2dGeometry(2, 3, 7, 6, 2, 2, 2, 2, 0, 0),
        new Pool2dGeometry(1, 2, 9, 9, 3, 3, 2, 2, 1, 1),
    };

    private void pool2d() {
        for (Pool2dGeometry g : POOLS) {
            float[] x = rnd(g.inputSize()), dy = rnd(g.outputSize());
            Buffer xb = up(x), dyb = up(dy), y = out(g.outputSize());
            backend.maxPool2dForward(g, xb.ptr(), y.ptr());
            double[] ye = new double[g.outputSize()];
            RefPool.maxForward(g, wide(x), 0, ye, 0);
            compare("pool2d max forward " + g, y, ye);
            if (backward()) {
                Buffer dx = out(g.inputSize());
                float[] yf = new float[g.outputSize()];
                backend.read(y.ptr(), yf, 0, yf.length);
                backend.maxPool2dBackward(g, xb.ptr(), up(yf).ptr(), dyb.ptr(), dx.ptr());
                double[] dxe = new double[g.inputSize()];
                RefPool.maxBackward(g, wide(x), 0, ye, 0, wide(dy), 0, dxe, 0);
                compare("pool2d max backward dx " + g, dx, dxe);
            }
            for (boolean pad : new boolean[] {false, true}) {
                Buffer ya = out(g.outputSize());
                backend.avgPool2dForward(g, pad, xb.ptr(), ya.ptr());
                double[] yae = new double[g.outputSize()];
                RefPool.avgForward(g, pad, wide(x), 0, yae, 0);
                compare("pool2d avg forward (countIncludePad " + pad + ") " + g, ya, yae);
                if (!backward()) continue;
                Buffer dx = out(g.inputSize());
                backend.avgPool2dBackward(g, pad, dyb.ptr(), dx.ptr());
                double[] dxe = new double[g.inputSize()];
                RefPool.avgBackward(g, pad, wide(dy), 0, dxe, 0);
                compare("pool2d avg backward dx (countIncludePad " + pad + ") " + g, dx, dxe);
            }
        }
    }

    private void batchnorm() {
        for (int[] s : new int[][] {{2, 3, 5}, {4, 1, 7}}) {
            int n = s[0], c = s[1], hw = s[2], size = n * c * hw;
            float[] x = rnd(size), gamma = rnd(c), beta = rnd(c), dy = rnd(size), rm = rnd(c), rv = new float[c];
            for (int i = 0; i < c; i++) rv[i] = 0.5f + i;
            double eps = 1e-5, momentum = 0.1;
            Buffer xb = up(x), gb = up(gamma), bb = up(beta), rmb = up(rm), rvb = up(rv), y = out(size), sm = out(c), si = out(c);
            backend.batchNormForwardTraining(n, c, hw, xb.ptr(), gb.ptr(), bb.ptr(), eps, momentum, rmb.ptr(), rvb.ptr(), y.ptr(), sm.ptr(),
                    si.ptr());
            double[] ye = new double[size], sme = new double[c], sie = new double[c], rme = wide(rm), rve = wide(rv);
            RefBatchNorm.forwardTraining(n, c, hw, wide(x), 0, wide(gamma), 0, wide(beta), 0, eps, momentum, rme, 0, rve, 0, ye, 0, sme, 0,
                    sie, 0);
            String shape = " (n " + n + " c " + c + " hw " + hw + ")";
            compare("batchnorm training y" + shape, y, ye);
            compare("batchnorm training saveMean" + shape, sm, sme);
            compare("batchnorm training saveInvStd" + shape, si, sie);
            compare("batchnorm training runningMean" + shape, rmb, rme);
            compare("batchnorm training runningVar" + shape, rvb, rve);
            Buffer yi = out(size);
            backend.batchNormForwardInference(n, c, hw, xb.ptr(), gb.ptr(), bb.ptr(), up(rm).ptr(), up(rv).ptr(), eps, yi.ptr());
            double[] yie = new double[size];
            RefBatchNorm.forwardInference(n, c, hw, wide(x), 0, wide(gamma), 0, wide(beta), 0, wide(rm), 0, wide(rv), 0, eps, yie, 0);
            compare("batchnorm inference y" + shape, yi, yie);
            if (!backward()) continue;
            float[] smf = new float[c], sif = new float[c];
            for (int i = 0; i < c; i++) {
                smf[i] = (float) sme[i];
                sif[i] = (float) sie[i];
            }
            Buffer dx = out(size), dg = out(c), db = out(c);
            backend.batchNormBackward(n, c, hw, xb.ptr(), up(dy).ptr(), gb.ptr(), up(smf).ptr(), up(sif).ptr(), dx.ptr(), dg.ptr(), db.ptr());
            double[] dxe = new double[size], dge = new double[c], dbe = new double[c];
            RefBatchNorm.backward(n, c, hw, wide(x), 0, wide(dy), 0, wide(gamma), 0, wide(smf), 0, wide(sif), 0, dxe, 0, dge, 0, dbe, 0);
            compare("batchnorm backward dx" + shape, dx, dxe);
            compare("batchnorm backward dgamma" + shape, dg, dge);
            compare("batchnorm backward dbeta" + shape, db, dbe);
        }
    }

    private void softmaxCrossEntropy() {
        for (int[] s : new int[][] {{1, 2}, {7, 10}, {3, 33}}) {
            int n = s[0], k = s[1];
            for (double smoothing : new double[] {0, 0.1}) {
                float[] z = rnd(n * k), dl = rnd(n);
                int[] labels = new int[n];
                for (int i = 0; i < n; i++) labels[i] = random.nextInt(k);
                Buffer lb = upInts(labels), loss = out(n), probs = out(n * k);
                backend.softmaxCrossEntropyForward(n, k, up(z).ptr(), lb.ptr(), smoothing, loss.ptr(), probs.ptr());
                double[] le = new double[n], pe = new double[n * k];
                RefLoss.softmaxCrossEntropyForward(n, k, wide(z), 0, labels, 0, smoothing, le, 0, pe, 0);
                String what = " (n " + n + " classes " + k + " smoothing " + smoothing + ")";
                compare("softmax_cross_entropy loss" + what, loss, le);
                compare("softmax_cross_entropy probs" + what, probs, pe);
                if (!backward()) continue;
                float[] pf = new float[n * k];
                for (int i = 0; i < pf.length; i++) pf[i] = (float) pe[i];
                Buffer dz = out(n * k);
                backend.softmaxCrossEntropyBackward(n, k, up(pf).ptr(), lb.ptr(), smoothing, up(dl).ptr(), dz.ptr());
                double[] dze = new double[n * k];
                RefLoss.softmaxCrossEntropyBackward(n, k, wide(pf), 0, labels, 0, smoothing, wide(dl), 0, dze, 0);
                compare("softmax_cross_entropy dLogits" + what, dz, dze);
            }
        }
    }

    private void lstm() {
        for (LstmGeometry g : new LstmGeometry[] {new LstmGeometry(3, 2, 4, 5), new LstmGeometry(1, 1, 3, 2)}) {
            int state = g.stateSize();
            float[] x = rnd(g.inputSize()), h0 = rnd(state), c0 = rnd(state), wih = rnd(g.weightIhSize()), whh = rnd(g.weightHhSize());
            float[] bih = rnd(g.biasSize()), bhh = rnd(g.biasSize()), dy = rnd(g.outputSize()), dhT = rnd(state), dcT = rnd(state);
            int reserveSize = backend.lstmReserveSize(g);
            Buffer xb = up(x), h0b = up(h0), c0b = up(c0), wihb = up(wih), whhb = up(whh), y = out(g.outputSize()), hT = out(state),
                    cT = out(state), reserve = out(reserveSize);
            backend.lstmSequenceForward(g, xb.ptr(), h0b.ptr(), c0b.ptr(), wihb.ptr(), whhb.ptr(), up(bih).ptr(), up(bhh).ptr(), y.ptr(),
                    hT.ptr(), cT.ptr(), reserve.ptr());
            double[] ye = new double[g.outputSize()], hTe = new double[state], cTe = new double[state];
            double[] re = new double[g.stepReserveSize()];
            RefLstm.sequenceForward(g, wide(x), wide(h0), wide(c0), wide(wih), wide(whh), wide(bih), wide(bhh), ye, hTe, cTe, re);
            compare("lstm forward y " + g, y, ye);
            compare("lstm forward hT " + g, hT, hTe);
            compare("lstm forward cT " + g, cT, cTe);
            if (!backward()) continue;
            Buffer dx = out(g.inputSize()), dh0 = out(state), dc0 = out(state), dwih = out(g.weightIhSize()), dwhh = out(g.weightHhSize()),
                    db = out(g.biasSize());
            backend.lstmSequenceBackward(g, xb.ptr(), h0b.ptr(), c0b.ptr(), wihb.ptr(), whhb.ptr(), y.ptr(), reserve.ptr(), up(dy).ptr(),
                    up(dhT).ptr(), up(dcT).ptr(), dx.ptr(), dh0.ptr(), dc0.ptr(), dwih.ptr(), dwhh.ptr(), db.ptr());
            double[] dxe = new double[g.inputSize()], dh0e = new double[state], dc0e = new double[state];
            double[] dwie = new double[g.weightIhSize()], dwhe = new double[g.weightHhSize()], dbe = new double[g.biasSize()];
            RefLstm.sequenceBackward(g, wide(x), wide(h0), wide(c0), wide(wih), wide(whh), ye, re, wide(dy), wide(dhT), wide(dcT), dxe, dh0e,
                    dc0e, dwie, dwhe, dbe);
            compare("lstm backward dx " + g, dx, dxe);
            compare("lstm backward dh0 " + g, dh0, dh0e);
            compare("lstm backward dc0 " + g, dc0, dc0e);
            compare("lstm backward dwIh " + g, dwih, dwie);
            compare("lstm backward dwHh " + g, dwhh, dwhe);
            compare("lstm backward db " + g, db, dbe);
        }
    }

    private void embedding() {
        for (int[] s : new int[][] {{1, 1, 1}, {9, 5, 4}, {33, 7, 3}}) {
            int n = s[0], dim = s[1], vocab = s[2];
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) idx[i] = random.nextInt(vocab); // repeats: the backward adds rows into one
            float[] table = rnd(vocab * dim), dOut = rnd(n * dim), dTable = rnd(vocab * dim);
            Buffer ib = upInts(idx), o = out(n * dim);
            backend.embeddingForward(n, dim, vocab, ib.ptr(), up(table).ptr(), o.ptr());
            double[] oe = new double[n * dim];
            RefEmbedding.forward(n, dim, vocab, idx, 0, wide(table), 0, oe, 0);
            String what = " (n " + n + " dim " + dim + " vocab " + vocab + ")";
            compare("embedding forward out" + what, o, oe);
            if (!backward()) continue;
            Buffer dt = up(dTable);
            backend.embeddingBackward(n, dim, vocab, ib.ptr(), up(dOut).ptr(), dt.ptr());
            double[] dte = wide(dTable);
            RefEmbedding.backward(n, dim, vocab, idx, 0, wide(dOut), 0, dte, 0);
            compare("embedding backward dTable (accumulated)" + what, dt, dte);
        }
    }

    private void unary(UnaryOp op) {
        double alpha = 0.75;
        for (int n : new int[] {1, 7, 1023}) {
            float[] x = rnd(n);
            if (op == UnaryOp.LOG || op == UnaryOp.SQRT) for (int i = 0; i < n; i++) x[i] = Math.abs(x[i]) + 0.1f;
            Buffer xb = up(x), y = out(n);
            backend.unary(op, alpha, n, xb.ptr(), y.ptr());
            double[] ye = new double[n];
            RefElementwise.unary(op, alpha, n, wide(x), 0, ye, 0);
            compare("unary " + op + " forward (n " + n + ")", y, ye);
            if (!backward()) continue;
            float[] dy = rnd(n), yf = new float[n];
            backend.read(y.ptr(), yf, 0, n);
            double[] dxe = new double[n];
            try {
                for (int i = 0; i < n; i++) dxe[i] = dy[i] * ReferenceKernels.derivative(op, alpha, x[i], yf[i]);
            } catch (UnsupportedOperationException e) {
                log.add("note: " + e.getMessage() + ": its backward was not checked");
                return;
            }
            Buffer dx = out(n);
            if (choice.java() != null) {
                ((UnaryKernel) choice.java().instance()).backward(op, alpha, n, xb.ptr(), up(yf).ptr(), up(dy).ptr(), dx.ptr());
            } else {
                log.add("note: a compiled unary kernel's backward is checked in a training step (CudaAutogradTest), not here");
                return;
            }
            compare("unary " + op + " backward dx (n " + n + ")", dx, dxe);
        }
    }

    private void binary(BinaryOp op) {
        int[][] shapes = {{1}, {7, 5}, {3, 4, 9}};
        for (int[] shape : shapes) {
            for (boolean broadcast : new boolean[] {false, true}) {
                int[] full = Strides.contiguous(shape), bs = full.clone();
                if (broadcast) bs[0] = 0; // b repeats along the first axis
                int size = 1;
                for (int d : shape) size *= d;
                float[] a = rnd(size), b = rnd(size);
                if (op == BinaryOp.DIV) for (int i = 0; i < size; i++) b[i] = Math.copySign(Math.abs(b[i]) + 0.5f, b[i]);
                Buffer o = out(size);
                backend.binary(op, shape, o.ptr(), full, up(a).ptr(), full, up(b).ptr(), bs);
                double[] e = new double[size];
                RefElementwise.binary(op, shape, e, 0, full, wide(a), 0, full, wide(b), 0, bs);
                compare("binary " + op + " " + java.util.Arrays.toString(shape) + (broadcast ? " b broadcast on axis 0" : ""), o, e);
            }
        }
    }
}
