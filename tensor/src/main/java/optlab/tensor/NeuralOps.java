package optlab.tensor;

import java.util.Arrays;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.DType;
import optlab.kernels.LstmGeometry;
import optlab.kernels.Pool2dGeometry;

/**
 * The neural-network primitives on tensors, forward and backward, without gradients: each checks its
 * arguments' shapes (the error names the op and the shapes), allocates the outputs, and calls the
 * backend. The autograd module's functions are built from these; so is anything that wants the raw
 * kernels (benchmarks, tests).
 */
public final class NeuralOps {
    private NeuralOps() {}

    private static void rank(String op, String name, Tensor t, int rank) {
        if (t.dim() != rank) throw new IllegalArgumentException(op + ": " + name + " must be " + rank + "-D, got shape " + t.shape());
    }

    private static Tensor compact(Tensor t) {
        return t.contiguous();
    }

    /**
     * All operands of one primitive must be on one device (NOTE [device-placement]): nothing is copied
     * implicitly. The error names both devices and both operands. Null operands (optional ones) are skipped.
     */
    static void sameDevice(String op, String[] names, Tensor... ts) {
        Tensor first = null;
        String firstName = null;
        for (int i = 0; i < ts.length; i++) {
            Tensor t = ts[i];
            if (t == null) continue;
            if (first == null) {
                first = t;
                firstName = names[i];
            } else if (!t.device().equals(first.device())) {
                throw new IllegalArgumentException(op + ": tensors on different devices, " + firstName + " " + first.shape() + " on "
                        + first.device() + " and " + names[i] + " " + t.shape() + " on " + t.device()
                        + " (move one with Tensor.to(Device); a model moves with Module.to(Device))");
            }
        }
    }

    private static String[] names(String... n) {
        return n;
    }

    /** Every caller has checked the devices first, with the operands' names ({@link #sameDevice}). */
    private static void sameDType(String op, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) {
            throw new IllegalArgumentException(op + ": " + a.dtype() + " " + a.shape() + " on " + a.device() + " and "
                    + b.dtype() + " " + b.shape() + " on " + b.device() + " do not match");
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Convolution
    // ------------------------------------------------------------------------------------------------

    /** The geometry of conv2d(x, w): x is (n, c, h, w), w is (k, c, r, s). */
    public static Conv2dGeometry conv2dGeometry(Shape x, Shape w, int stride, int padding) {
        if (x.rank() != 4 || w.rank() != 4) {
            throw new IllegalArgumentException("conv2d: input " + x + " and weight " + w + " must both be 4-D (NCHW and KCRS)");
        }
        if (x.get(1) != w.get(1)) {
            throw new IllegalArgumentException("conv2d: input " + x + " has " + x.get(1) + " channels but weight " + w
                    + " expects " + w.get(1));
        }
        try {
            return new Conv2dGeometry(x.get(0), x.get(1), x.get(2), x.get(3), w.get(0), w.get(2), w.get(3),
                    stride, stride, padding, padding);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + " (input " + x + ", weight " + w + ")", e);
        }
    }

    /** y (n, k, p, q) = conv2d(x (n, c, h, w), w (k, c, r, s)), no bias. */
    public static Tensor conv2d(Tensor x, Tensor w, int stride, int padding) {
        sameDevice("conv2d", names("input", "weight"), x, w);
        sameDType("conv2d", x, w);
        Conv2dGeometry g = conv2dGeometry(x.shape(), w.shape(), stride, padding);
        try (Tensor xc = compact(x); Tensor wc = compact(w)) {
            Tensor y = Tensor.empty(Shape.of(g.n(), g.k(), g.p(), g.q()), x.dtype(), x.device());
            x.backend().conv2dForward(g, xc.ptr(), wc.ptr(), y.ptr());
            return y;
        }
    }

    /** dx (shape of the input) from dy and w. */
    public static Tensor conv2dBackwardData(Tensor dy, Tensor w, Shape inputShape, int stride, int padding) {
        sameDevice("conv2dBackwardData", names("dy", "weight"), dy, w);
        Conv2dGeometry g = conv2dGeometry(inputShape, w.shape(), stride, padding);
        checkShape("conv2dBackwardData", "dy", dy, Shape.of(g.n(), g.k(), g.p(), g.q()));
        try (Tensor dyc = compact(dy); Tensor wc = compact(w)) {
            Tensor dx = Tensor.empty(inputShape, dy.dtype(), dy.device());
            dy.backend().conv2dBackwardData(g, dyc.ptr(), wc.ptr(), dx.ptr());
            return dx;
        }
    }

    /** dw (shape of the weight) from x and dy. */
    public static Tensor conv2dBackwardFilter(Tensor x, Tensor dy, Shape weightShape, int stride, int padding) {
        sameDevice("conv2dBackwardFilter", names("input", "dy"), x, dy);
        Conv2dGeometry g = conv2dGeometry(x.shape(), weightShape, stride, padding);
        checkShape("conv2dBackwardFilter", "dy", dy, Shape.of(g.n(), g.k(), g.p(), g.q()));
        try (Tensor xc = compact(x); Tensor dyc = compact(dy)) {
            Tensor dw = Tensor.empty(weightShape, x.dtype(), x.device());
            x.backend().conv2dBackwardFilter(g, xc.ptr(), dyc.ptr(), dw.ptr());
            return dw;
        }
    }

    private static void checkShape(String op, String name, Tensor t, Shape expected) {
        if (!t.shape().equals(expected)) {
            throw new IllegalArgumentException(op + ": " + name + " has shape " + t.shape() + ", expected " + expected);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Pooling
    // ------------------------------------------------------------------------------------------------

    public static Pool2dGeometry pool2dGeometry(String op, Shape x, int kernel, int stride, int padding) {
        if (x.rank() != 4) throw new IllegalArgumentException(op + ": input must be 4-D (NCHW), got shape " + x);
        try {
            return new Pool2dGeometry(x.get(0), x.get(1), x.get(2), x.get(3), kernel, kernel, stride, stride, padding, padding);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(op + ": " + e.getMessage() + " (input " + x + ")", e);
        }
    }

    private static Shape pooledShape(Pool2dGeometry g) {
        return Shape.of(g.n(), g.c(), g.p(), g.q());
    }

    public static Tensor maxPool2d(Tensor x, int kernel, int stride, int padding) {
        Pool2dGeometry g = pool2dGeometry("maxPool2d", x.shape(), kernel, stride, padding);
        try (Tensor xc = compact(x)) {
            Tensor y = Tensor.empty(pooledShape(g), x.dtype(), x.device());
            x.backend().maxPool2dForward(g, xc.ptr(), y.ptr());
            return y;
        }
    }

    public static Tensor maxPool2dBackward(Tensor x, Tensor y, Tensor dy, int kernel, int stride, int padding) {
        sameDevice("maxPool2dBackward", names("input", "output", "dy"), x, y, dy);
        Pool2dGeometry g = pool2dGeometry("maxPool2dBackward", x.shape(), kernel, stride, padding);
        checkShape("maxPool2dBackward", "dy", dy, pooledShape(g));
        checkShape("maxPool2dBackward", "y", y, pooledShape(g));
        try (Tensor xc = compact(x); Tensor yc = compact(y); Tensor dyc = compact(dy)) {
            Tensor dx = Tensor.empty(x.shape(), x.dtype(), x.device());
            x.backend().maxPool2dBackward(g, xc.ptr(), yc.ptr(), dyc.ptr(), dx.ptr());
            return dx;
        }
    }

    public static Tensor avgPool2d(Tensor x, int kernel, int stride, int padding, boolean countIncludePad) {
        Pool2dGeometry g = pool2dGeometry("avgPool2d", x.shape(), kernel, stride, padding);
        try (Tensor xc = compact(x)) {
            Tensor y = Tensor.empty(pooledShape(g), x.dtype(), x.device());
            x.backend().avgPool2dForward(g, countIncludePad, xc.ptr(), y.ptr());
            return y;
        }
    }

    public static Tensor avgPool2dBackward(Tensor dy, Shape inputShape, int kernel, int stride, int padding, boolean countIncludePad) {
        Pool2dGeometry g = pool2dGeometry("avgPool2dBackward", inputShape, kernel, stride, padding);
        checkShape("avgPool2dBackward", "dy", dy, pooledShape(g));
        try (Tensor dyc = compact(dy)) {
            Tensor dx = Tensor.empty(inputShape, dy.dtype(), dy.device());
            dy.backend().avgPool2dBackward(g, countIncludePad, dyc.ptr(), dx.ptr());
            return dx;
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Batch norm over (n, c, *): statistics per channel c
    // ------------------------------------------------------------------------------------------------

    /** The outputs of a training-mode batch norm: y and the saved batch statistics. */
    public record BatchNormOutput(Tensor y, Tensor saveMean, Tensor saveInvStd) implements AutoCloseable {
        @Override
        public void close() {
            y.close();
            saveMean.close();
            saveInvStd.close();
        }
    }

    /** The gradients of a batch norm; dz, the gradient of its epilogue's z, is null when not asked for. */
    public record BatchNormGrads(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dz) {}

    private static int[] bnDims(String op, Tensor x, Tensor... perChannel) {
        if (x.dim() < 2) throw new IllegalArgumentException(op + ": input must have at least 2 dimensions (N, C, ...), got " + x.shape());
        int c = x.size(1), hw = 1;
        for (int d = 2; d < x.dim(); d++) hw *= x.size(d);
        for (Tensor p : perChannel) {
            if (p != null && !p.shape().equals(Shape.of(c))) {
                throw new IllegalArgumentException(op + ": per-channel tensor of shape " + p.shape() + " does not match "
                        + c + " channels of input " + x.shape());
            }
        }
        return new int[] {x.size(0), c, hw};
    }

    /**
     * Training mode: normalizes with the batch statistics; updates runningMean/runningVar in place
     * (when not null) with {@code momentum} (PyTorch's convention: new = (1 - momentum) old + momentum batch).
     */
    public static BatchNormOutput batchNormTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                                    double momentum, double eps) {
        return batchNormTraining(x, gamma, beta, runningMean, runningVar, momentum, eps, null, false);
    }

    /** An epilogue operand (z, or the backward's y), when given, is on x's device and of x's shape. */
    private static void epilogueOperand(String op, String name, Tensor t, Tensor x) {
        if (t != null) {
            sameDevice(op, names("input", name), x, t);
            checkShape(op, name, t, x.shape());
        }
    }

    /**
     * Training mode with the epilogue fused (Backend's NOTE [bn-epilogue]): {@code y = act(bn(x) + z)}, z of x's shape
     * or null (no add), act = ReLU when relu.
     */
    public static BatchNormOutput batchNormTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                                    double momentum, double eps, Tensor z, boolean relu) {
        sameDevice("batchNorm", names("input", "weight", "bias", "running_mean", "running_var"), x, gamma, beta, runningMean, runningVar);
        int[] d = bnDims("batchNorm", x, gamma, beta, runningMean, runningVar);
        epilogueOperand("batchNorm", "z", z, x);
        for (Tensor r : new Tensor[] {runningMean, runningVar}) {
            if (r != null && !r.isContiguous()) throw new IllegalArgumentException("batchNorm: running statistics must be contiguous");
        }
        try (Tensor xc = compact(x); Tensor gc = compact(gamma); Tensor bc = compact(beta); Tensor zc = compactOrNull(z)) {
            Tensor y = Tensor.empty(x.shape(), x.dtype(), x.device());
            Tensor mean = Tensor.empty(Shape.of(d[1]), x.dtype(), x.device());
            Tensor invStd = Tensor.empty(Shape.of(d[1]), x.dtype(), x.device());
            x.backend().batchNormForwardTraining(d[0], d[1], d[2], xc.ptr(), gc.ptr(), bc.ptr(), eps, momentum,
                    runningMean == null ? null : runningMean.ptr(), runningVar == null ? null : runningVar.ptr(),
                    y.ptr(), mean.ptr(), invStd.ptr(), zc == null ? null : zc.ptr(), relu);
            return new BatchNormOutput(y, mean, invStd);
        }
    }

    /** Inference mode: normalizes with the running statistics. */
    public static Tensor batchNormInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps) {
        return batchNormInference(x, gamma, beta, runningMean, runningVar, eps, null, false);
    }

    /** Inference mode with the epilogue fused: {@code y = act(bn(x) + z)}, as {@link #batchNormTraining}'s. */
    public static Tensor batchNormInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps,
                                            Tensor z, boolean relu) {
        sameDevice("batchNorm", names("input", "weight", "bias", "running_mean", "running_var"), x, gamma, beta, runningMean, runningVar);
        int[] d = bnDims("batchNorm", x, gamma, beta, runningMean, runningVar);
        epilogueOperand("batchNorm", "z", z, x);
        try (Tensor xc = compact(x); Tensor gc = compact(gamma); Tensor bc = compact(beta);
             Tensor mc = compact(runningMean); Tensor vc = compact(runningVar); Tensor zc = compactOrNull(z)) {
            Tensor y = Tensor.empty(x.shape(), x.dtype(), x.device());
            x.backend().batchNormForwardInference(d[0], d[1], d[2], xc.ptr(), gc.ptr(), bc.ptr(), mc.ptr(), vc.ptr(), eps, y.ptr(),
                    zc == null ? null : zc.ptr(), relu);
            return y;
        }
    }

    public static BatchNormGrads batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd) {
        return batchNormBackward(x, dy, gamma, saveMean, saveInvStd, null, false, false);
    }

    /**
     * The backward of the training forward with its epilogue: y is that forward's output (needed when relu); with
     * {@code wantDz} the grads carry dz, the gradient of its z.
     */
    public static BatchNormGrads batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                                   Tensor y, boolean relu, boolean wantDz) {
        sameDevice("batchNormBackward", names("input", "dy", "weight", "saved mean", "saved inverse std"), x, dy, gamma, saveMean, saveInvStd);
        int[] d = bnDims("batchNormBackward", x, gamma, saveMean, saveInvStd);
        checkShape("batchNormBackward", "dy", dy, x.shape());
        if (relu && y == null) throw new IllegalArgumentException("batchNormBackward: relu needs y, the forward's output (got null)");
        epilogueOperand("batchNormBackward", "y", relu ? y : null, x);
        try (Tensor xc = compact(x); Tensor dyc = compact(dy); Tensor gc = compact(gamma);
             Tensor mc = compact(saveMean); Tensor sc = compact(saveInvStd); Tensor yc = compactOrNull(relu ? y : null)) {
            Tensor dx = Tensor.empty(x.shape(), x.dtype(), x.device());
            Tensor dg = Tensor.empty(Shape.of(d[1]), x.dtype(), x.device());
            Tensor db = Tensor.empty(Shape.of(d[1]), x.dtype(), x.device());
            Tensor dz = wantDz ? Tensor.empty(x.shape(), x.dtype(), x.device()) : null;
            x.backend().batchNormBackward(d[0], d[1], d[2], xc.ptr(), dyc.ptr(), gc.ptr(), mc.ptr(), sc.ptr(),
                    dx.ptr(), dg.ptr(), db.ptr(), yc == null ? null : yc.ptr(), relu, dz == null ? null : dz.ptr());
            return new BatchNormGrads(dx, dg, db, dz);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Softmax cross-entropy
    // ------------------------------------------------------------------------------------------------

    /** Per-sample losses (n) and the softmax probabilities (n, classes) saved for the backward. */
    public record CrossEntropyOutput(Tensor loss, Tensor probs) {}

    private static void checkLabels(String op, Tensor logits, Tensor labels) {
        sameDevice(op, names("logits", "labels"), logits, labels);
        rank(op, "logits", logits, 2);
        if (labels.dtype() != DType.INT32) throw new IllegalArgumentException(op + ": labels must be INT32, got " + labels.dtype());
        if (!labels.shape().equals(Shape.of(logits.size(0)))) {
            throw new IllegalArgumentException(op + ": logits " + logits.shape() + " and labels " + labels.shape()
                    + " disagree on the batch size");
        }
    }

    public static CrossEntropyOutput softmaxCrossEntropy(Tensor logits, Tensor labels, double labelSmoothing) {
        checkLabels("crossEntropy", logits, labels);
        int n = logits.size(0), k = logits.size(1);
        try (Tensor z = compact(logits); Tensor l = compact(labels)) {
            Tensor loss = Tensor.empty(Shape.of(n), logits.dtype(), logits.device());
            Tensor probs = Tensor.empty(logits.shape(), logits.dtype(), logits.device());
            logits.backend().softmaxCrossEntropyForward(n, k, z.ptr(), l.ptr(), labelSmoothing, loss.ptr(), probs.ptr());
            return new CrossEntropyOutput(loss, probs);
        }
    }

    /** dLogits from the saved probabilities and the per-sample upstream gradient dLoss (n). */
    public static Tensor softmaxCrossEntropyBackward(Tensor probs, Tensor labels, double labelSmoothing, Tensor dLoss) {
        checkLabels("crossEntropyBackward", probs, labels);
        checkShape("crossEntropyBackward", "dLoss", dLoss, Shape.of(probs.size(0)));
        sameDevice("crossEntropyBackward", names("probabilities", "dLoss"), probs, dLoss);
        try (Tensor p = compact(probs); Tensor l = compact(labels); Tensor dl = compact(dLoss)) {
            Tensor dz = Tensor.empty(probs.shape(), probs.dtype(), probs.device());
            probs.backend().softmaxCrossEntropyBackward(probs.size(0), probs.size(1), p.ptr(), l.ptr(), labelSmoothing, dl.ptr(), dz.ptr());
            return dz;
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Dropout, embedding, LSTM cell
    // ------------------------------------------------------------------------------------------------

    /** y = x * mask / (1 - p) with the mask of Philox positions [counter, counter + numel) under seed. */
    public static Tensor dropout(Tensor x, double p, long seed, long counter) {
        try (Tensor xc = compact(x)) {
            Tensor y = Tensor.empty(x.shape(), x.dtype(), x.device());
            x.backend().dropout(x.numel(), p, seed, counter, xc.ptr(), y.ptr());
            return y;
        }
    }

    /** out (indices.shape..., dim) = table[indices]; table is (vocab, dim), indices INT32. */
    public static Tensor embedding(Tensor indices, Tensor table) {
        sameDevice("embedding", names("indices", "table"), indices, table);
        rank("embedding", "table", table, 2);
        if (indices.dtype() != DType.INT32) throw new IllegalArgumentException("embedding: indices must be INT32, got " + indices.dtype());
        int[] outShape = Arrays.copyOf(indices.shape().toArray(), indices.dim() + 1);
        outShape[indices.dim()] = table.size(1);
        try (Tensor ic = compact(indices); Tensor tc = compact(table)) {
            Tensor out = Tensor.empty(Shape.of(outShape), table.dtype(), table.device());
            table.backend().embeddingForward(indices.numel(), table.size(1), table.size(0), ic.ptr(), tc.ptr(), out.ptr());
            return out;
        }
    }

    /** dTable (vocab, dim): the rows of dOut summed per index. */
    public static Tensor embeddingBackward(Tensor indices, Tensor dOut, int vocab) {
        sameDevice("embeddingBackward", names("indices", "dOut"), indices, dOut);
        int dim = dOut.size(-1);
        if (dOut.numel() != indices.numel() * dim) {
            throw new IllegalArgumentException("embeddingBackward: dOut " + dOut.shape() + " does not match indices " + indices.shape());
        }
        try (Tensor ic = compact(indices); Tensor dc = compact(dOut)) {
            Tensor dTable = Tensor.zeros(Shape.of(vocab, dim), dOut.dtype(), dOut.device());
            dOut.backend().embeddingBackward(indices.numel(), dim, vocab, ic.ptr(), dc.ptr(), dTable.ptr());
            return dTable;
        }
    }

    /** The activated gates (n, 4h), h and c (n, h) of an LSTM step. */
    public record LstmCellOutput(Tensor act, Tensor h, Tensor c) {}

    /** gates (n, 4h) are the pre-activations [i | f | g | o]; cPrev is (n, h). */
    public static LstmCellOutput lstmCell(Tensor gates, Tensor cPrev) {
        rank("lstmCell", "gates", gates, 2);
        int n = gates.size(0), h = gates.size(1) / 4;
        if (gates.size(1) % 4 != 0 || !cPrev.shape().equals(Shape.of(n, h))) {
            throw new IllegalArgumentException("lstmCell: gates " + gates.shape() + " and cell state " + cPrev.shape()
                    + " do not fit (expected gates (n, 4h) and state (n, h))");
        }
        sameDevice("lstmCell", names("gates", "cell state"), gates, cPrev);
        sameDType("lstmCell", gates, cPrev);
        try (Tensor g = compact(gates); Tensor cp = compact(cPrev)) {
            Tensor act = Tensor.empty(gates.shape(), gates.dtype(), gates.device());
            Tensor hOut = Tensor.empty(cPrev.shape(), gates.dtype(), gates.device());
            Tensor cOut = Tensor.empty(cPrev.shape(), gates.dtype(), gates.device());
            gates.backend().lstmCellForward(n, h, g.ptr(), cp.ptr(), act.ptr(), hOut.ptr(), cOut.ptr());
            return new LstmCellOutput(act, hOut, cOut);
        }
    }

    /** The gradients with respect to the gate pre-activations (n, 4h) and the previous cell state (n, h). */
    public record LstmCellGrads(Tensor dGates, Tensor dcPrev) {}

    /** dh and dc are the gradients arriving at h and c (dc may be null). */
    public static LstmCellGrads lstmCellBackward(Tensor act, Tensor cPrev, Tensor c, Tensor dh, Tensor dc) {
        sameDevice("lstmCellBackward", names("activations", "previous cell state", "cell state", "dh", "dc"), act, cPrev, c, dh, dc);
        int n = cPrev.size(0), h = cPrev.size(1);
        checkShape("lstmCellBackward", "dh", dh, cPrev.shape());
        if (dc != null) checkShape("lstmCellBackward", "dc", dc, cPrev.shape());
        try (Tensor ac = compact(act); Tensor cpc = compact(cPrev); Tensor cc = compact(c); Tensor dhc = compact(dh);
             Tensor dcc = dc == null ? null : compact(dc)) {
            Tensor dGates = Tensor.empty(act.shape(), act.dtype(), act.device());
            Tensor dcPrev = Tensor.empty(cPrev.shape(), act.dtype(), act.device());
            act.backend().lstmCellBackward(n, h, ac.ptr(), cpc.ptr(), cc.ptr(), dhc.ptr(), dcc == null ? null : dcc.ptr(),
                    dGates.ptr(), dcPrev.ptr());
            return new LstmCellGrads(dGates, dcPrev);
        }
    }

    /**
     * One LSTM layer's forward over a whole sequence ({@link optlab.kernels.Backend#lstmSequenceForward}). {@code yc}
     * is (t + 1, n, h): the h of every step, then the final cell state; the final h is {@code yc[t - 1]}. One
     * tensor carries both so that the autograd graph, whose nodes have one output, needs one node per layer.
     * {@code reserve} is what the backward reads (its size and layout belong to the kernel variant that ran,
     * {@code variant}: NOTE [lstm-reserve]), or null when the forward ran without one (inference).
     */
    public record LstmSequenceOutput(Tensor yc, Tensor reserve, String variant) {}

    /** The {@code lstm} kernel choice the backend runs on {@code device} now, as {@code lstm=VARIANT}. */
    private static String lstmVariant(Tensor x) {
        return x.backend().kernels().choice("lstm", x.device()).toString();
    }

    /**
     * x (t, n, in); h0 and c0 (n, h) or null for zeros; wIh (4h, in) and wHh (4h, h) with gate blocks
     * [i | f | g | o]; bIh and bHh (4h) or null. With {@code keepReserve} false nothing is kept for a backward.
     */
    public static LstmSequenceOutput lstmSequence(Tensor x, Tensor h0, Tensor c0, Tensor wIh, Tensor wHh, Tensor bIh,
                                                  Tensor bHh, boolean keepReserve) {
        String op = "lstmSequence";
        rank(op, "x", x, 3);
        rank(op, "weight_ih", wIh, 2);
        int t = x.size(0), n = x.size(1), in = x.size(2), hid = wHh.size(wHh.dim() - 1);
        checkShape(op, "weight_ih", wIh, Shape.of(4 * hid, in));
        checkShape(op, "weight_hh", wHh, Shape.of(4 * hid, hid));
        for (Tensor b : new Tensor[] {bIh, bHh}) if (b != null) checkShape(op, "bias", b, Shape.of(4 * hid));
        for (Tensor s : new Tensor[] {h0, c0}) if (s != null) checkShape(op, "state", s, Shape.of(n, hid));
        sameDevice(op, names("x", "h0", "c0", "weight_ih", "weight_hh", "bias_ih", "bias_hh"), x, h0, c0, wIh, wHh, bIh, bHh);
        for (Tensor o : new Tensor[] {h0, c0, wIh, wHh, bIh, bHh}) if (o != null) sameDType(op, x, o);
        LstmGeometry g = new LstmGeometry(t, n, in, hid);
        var be = x.backend();
        Tensor yc = null, reserve = null;
        try (Tensor xc = compact(x); Tensor h0c = compactOrNull(h0); Tensor c0c = compactOrNull(c0); Tensor wi = compact(wIh);
             Tensor wh = compact(wHh); Tensor bi = compactOrNull(bIh); Tensor bh = compactOrNull(bHh);
             Tensor hT = Tensor.empty(Shape.of(n, hid), x.dtype(), x.device())) {
            String variant = lstmVariant(x);
            yc = Tensor.empty(Shape.of(t + 1, n, hid), x.dtype(), x.device());
            reserve = keepReserve ? Tensor.empty(Shape.of(be.lstmReserveSize(g)), x.dtype(), x.device()) : null;
            be.lstmSequenceForward(g, xc.ptr(), ptrOrNull(h0c), ptrOrNull(c0c), wi.ptr(), wh.ptr(), ptrOrNull(bi), ptrOrNull(bh),
                    yc.ptr(), hT.ptr(), yc.ptr().plus(g.outputSize()), ptrOrNull(reserve));
            return new LstmSequenceOutput(yc, reserve, variant);
        } catch (RuntimeException e) {
            closeAll(yc, reserve); // a refused call (say, a dtype this backend does not take) keeps nothing
            throw e;
        }
    }

    /** The gradients of {@link #lstmSequence}'s inputs; dx, dh0 and dc0 are null where not asked for; db is each bias's. */
    public record LstmSequenceGrads(Tensor dx, Tensor dh0, Tensor dc0, Tensor dwIh, Tensor dwHh, Tensor db) {}

    /**
     * The backward of {@link #lstmSequence} ({@link optlab.kernels.Backend#lstmSequenceBackward}), given its inputs,
     * its output {@code fwd}, and {@code dyc} (t + 1, n, h), the gradient of yc. Run it once per forward, under the
     * forward's kernel choice (NOTE [lstm-reserve]): another choice is refused, naming both.
     */
    public static LstmSequenceGrads lstmSequenceBackward(Tensor x, Tensor h0, Tensor c0, Tensor wIh, Tensor wHh,
                                                         LstmSequenceOutput fwd, Tensor dyc, boolean wantDx, boolean wantDh0,
                                                         boolean wantDc0) {
        String op = "lstmSequenceBackward";
        Tensor yc = fwd.yc(), reserve = fwd.reserve();
        if (reserve == null) throw new IllegalArgumentException(op + ": no reserve (the forward ran without keepReserve)");
        String variant = lstmVariant(x);
        if (!variant.equals(fwd.variant())) {
            throw new IllegalStateException(op + ": the forward ran under " + fwd.variant() + " and the backward would run under "
                    + variant + "; the reserve is the forward's variant's own (NOTE [lstm-reserve]): keep one kernel choice "
                    + "from a forward to its backward");
        }
        int t = x.size(0), n = x.size(1), in = x.size(2), hid = wHh.size(1);
        checkShape(op, "dyc", dyc, yc.shape());
        sameDevice(op, names("x", "h0", "c0", "weight_ih", "weight_hh", "yc", "reserve", "dyc"), x, h0, c0, wIh, wHh, yc, reserve, dyc);
        LstmGeometry g = new LstmGeometry(t, n, in, hid);
        var be = x.backend();
        Tensor dx = null, dh0 = null, dc0 = null, dwIh = null, dwHh = null, db = null;
        try (Tensor xc = compact(x); Tensor h0c = compactOrNull(h0); Tensor c0c = compactOrNull(c0); Tensor wi = compact(wIh);
             Tensor wh = compact(wHh); Tensor ycc = compact(yc); Tensor dycc = compact(dyc)) {
            if (wantDx) dx = Tensor.empty(x.shape(), x.dtype(), x.device());
            if (wantDh0) dh0 = Tensor.empty(Shape.of(n, hid), x.dtype(), x.device());
            if (wantDc0) dc0 = Tensor.empty(Shape.of(n, hid), x.dtype(), x.device());
            dwIh = Tensor.empty(wIh.shape(), x.dtype(), x.device());
            dwHh = Tensor.empty(wHh.shape(), x.dtype(), x.device());
            db = Tensor.empty(Shape.of(4 * hid), x.dtype(), x.device());
            be.lstmSequenceBackward(g, xc.ptr(), ptrOrNull(h0c), ptrOrNull(c0c), wi.ptr(), wh.ptr(), ycc.ptr(), reserve.ptr(),
                    dycc.ptr(), null, dycc.ptr().plus(g.outputSize()), ptrOrNull(dx), ptrOrNull(dh0), ptrOrNull(dc0), dwIh.ptr(),
                    dwHh.ptr(), db.ptr());
            return new LstmSequenceGrads(dx, dh0, dc0, dwIh, dwHh, db);
        } catch (RuntimeException e) {
            closeAll(dx, dh0, dc0, dwIh, dwHh, db);
            throw e;
        }
    }

    private static void closeAll(Tensor... ts) {
        for (Tensor t : ts) if (t != null) t.close();
    }

    private static Tensor compactOrNull(Tensor t) {
        return t == null ? null : t.contiguous();
    }

    private static optlab.kernels.Ptr ptrOrNull(Tensor t) {
        return t == null ? null : t.ptr();
    }
}
