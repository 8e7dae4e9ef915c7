package optlab.kernels.reference;

import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import optlab.kernels.Backend;
import optlab.kernels.BinaryOp;
import optlab.kernels.Buffer;
import optlab.kernels.Checks;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.FusedKernel;
import optlab.kernels.KernelCalls;
import optlab.kernels.KernelChoices;
import optlab.kernels.LstmGeometry;
import optlab.kernels.LstmSteps;
import optlab.kernels.MemoryStats;
import optlab.kernels.Pool2dGeometry;
import optlab.kernels.Ptr;
import optlab.kernels.RandomDistribution;
import optlab.kernels.ReduceOp;
import optlab.kernels.UnaryOp;
import optlab.kernels.random.Philox;

/**
 * The reference as a backend in its own right: every answer of the {@link Backend} contract is the double-precision
 * reference of this package, for every dtype. Use it to compare a fast backend, or a whole training step, against
 * the spec: run the same code once on a fast backend and once here, the {@code reference} device
 * ({@link Device#REFERENCE}; {@code Module.to(Device.REFERENCE)}, {@code --device reference}). It is single-threaded and slow by design; it is the readable statement of the contract,
 * not a kernel.
 *
 * <p>NOTE [float32-as-double]: every FLOAT32 and FLOAT64 buffer is a {@code double[]} (INT32: an {@code int[]}). Each
 * primitive runs its {@code Ref*} function on those arrays, in double, and a FLOAT32 output is then rounded to float,
 * {@code (double) (float) v}, once per element as it is stored, so a FLOAT32 buffer only ever holds values that are
 * exactly floats: the FLOAT32 answer is the double reference of the (float) inputs, rounded once. Host transfers
 * convert exactly (a float widens to the same double; a stored FLOAT32 value narrows to the float it is). An op that
 * accumulates into an output (embedding's backward; the backward passes of convolution and pooling sum into dx) sums
 * in double and rounds once at the end. Rounding happens after the {@code Ref*} call, which is the same as rounding
 * at each store because no reference reads an element of its output back after writing it, other than to accumulate
 * into it. The LSTM layer runs {@link RefLstm#sequenceForward} and {@link RefLstm#sequenceBackward} whole, not
 * {@link LstmSteps}' composition of primitives (which would round every step's gates and states to FLOAT32), so it too
 * is the double reference rounded once. A fused kernel's FLOAT64 code runs in double on the storage; its FLOAT32 code
 * is float arithmetic by its own definition and runs as on the CPU ({@link #fused}).
 *
 * <p>Arguments are checked as by every other backend, with the same helpers ({@link Checks}), so a bad call fails with the same exception and message. Data-dependent
 * checks (labels, embedding indices) run over all the data before anything is written, so a refused call changes
 * nothing.
 *
 * <p>Kernel choices: none; it runs only the reference. {@link #kernels()} is {@link KernelChoices#defaults()} (the
 * value a run records) and {@link #kernelCalls()} counts each call of the ops the CPU backend counts under
 * {@code op=reference} ({@code gemm=reference}, {@code unary.relu=reference}; a fused kernel under
 * {@code fused.NAME=host}, its Java {@link FusedKernel#runHost} being what runs, as on the CPU). The choices' table has
 * no {@code reference} variant yet; these keys are what such a variant would be named.
 *
 * <p>Buffers are plain arrays, freed by {@link Buffer#close()} (no cache, so {@link MemoryStats#cachedBytes()} is 0);
 * {@link #memoryStats()} counts the live ones and the heap their arrays hold (8 bytes per FLOAT32 element, as they
 * are doubles). A fresh buffer is NaN (INT32: {@link Integer#MIN_VALUE}) when {@code optlab.poison} is true (NOTE
 * [poison]), else zero.
 */
public final class ReferenceBackend implements Backend {
    private static final boolean POISON = Boolean.getBoolean("optlab.poison");
    private static final ReferenceBackend INSTANCE = new ReferenceBackend();

    /** The variant name each call is counted under ({@link KernelCalls}: {@code op=variant}). */
    public static final String VARIANT = "reference";

    private final KernelCalls calls = new KernelCalls();
    private final LongAdder gemm = counter("gemm"), conv2d = counter("conv2d"), pool2d = counter("pool2d"),
            batchnorm = counter("batchnorm"), softmaxCrossEntropy = counter("softmax_cross_entropy"),
            lstm = counter("lstm"), embedding = counter("embedding");
    private final LongAdder[] unary = new LongAdder[UnaryOp.values().length], binary = new LongAdder[BinaryOp.values().length];
    private long liveBuffers, liveBytes, peakBytes;

    private ReferenceBackend() {
        for (UnaryOp u : UnaryOp.values()) unary[u.ordinal()] = counter(KernelChoices.unaryOp(u));
        for (BinaryOp b : BinaryOp.values()) binary[b.ordinal()] = counter(KernelChoices.binaryOp(b));
    }

    private LongAdder counter(String op) {
        return calls.counter(op + "=" + VARIANT);
    }

    /** The reference backend (there is one: it has no kernel choices to differ by). */
    public static ReferenceBackend get() {
        return INSTANCE;
    }

    @Override
    public String name() {
        return "reference (double)";
    }

    /** {@link Device#REFERENCE}: tensors on it are placed and moved like any device's ({@code Tensor.to}). */
    @Override
    public Device device() {
        return Device.REFERENCE;
    }

    /** Every op {@code reference}; fused kernels (none unless overridden elsewhere) run their host code. */
    @Override
    public java.util.Map<String, String> kernelRecord() {
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        for (String op : KernelChoices.defaults().record(KernelChoices.Target.CPU).keySet()) out.put(op, VARIANT);
        return out;
    }

    @Override
    public KernelChoices kernels() {
        return KernelChoices.defaults();
    }

    @Override
    public KernelCalls kernelCalls() {
        return calls;
    }

    // ------------------------------------------------------------------------------------------------
    // Access to arrays, and the FLOAT32 rounding (NOTE [float32-as-double])
    // ------------------------------------------------------------------------------------------------

    private ReferenceBuffer own(Ptr p) {
        if (!(p.buffer() instanceof ReferenceBuffer b)) {
            throw new IllegalArgumentException("reference backend got a buffer of another backend: " + p.buffer());
        }
        return b;
    }

    /** The storage of a FLOAT32 or FLOAT64 operand. */
    private double[] d(Ptr p) {
        if (!p.dtype().isFloating()) throw new IllegalArgumentException("expected a FLOAT32 or FLOAT64 buffer, got " + p.dtype());
        return (double[]) own(p).storage();
    }

    private int[] i32(Ptr p) {
        requireType(p, DType.INT32);
        return (int[]) own(p).storage();
    }

    private static void requireType(Ptr p, DType t) {
        if (p.dtype() != t) throw new IllegalArgumentException("expected a " + t + " buffer, got " + p.dtype());
    }

    /** Rounds a[from .. from + n) to float. */
    private static void toFloat(double[] a, int from, int n) {
        for (int i = from; i < from + n; i++) a[i] = (float) a[i];
    }

    /** If p is FLOAT32, rounds its n elements to float: called on each FLOAT32 output after its reference ran. */
    private void round(Ptr p, int n) {
        if (p != null && p.dtype() == DType.FLOAT32) toFloat(d(p), p.offset(), n);
    }

    /** If p is FLOAT32, rounds every element of shape addressed through strides from p. */
    private void round(Ptr p, int[] shape, int[] strides) {
        if (p.dtype() != DType.FLOAT32) return;
        double[] a = d(p);
        RefElementwise.forEachIndex(shape, new int[][] {strides}, new int[] {p.offset()}, o -> a[o[0]] = (float) a[o[0]]);
    }

    /** A copy of p's n elements, starting at index 0 (for the references that take whole arrays), or null for null. */
    private double[] slice(Ptr p, int n) {
        return p == null ? null : Arrays.copyOfRange(d(p), p.offset(), p.offset() + n);
    }

    /** Stores v (n elements) at p, rounded if p is FLOAT32; nothing for a null p. */
    private void store(double[] v, Ptr p, int n) {
        if (p == null) return;
        System.arraycopy(v, 0, d(p), p.offset(), n);
        round(p, n);
    }

    // ------------------------------------------------------------------------------------------------
    // Memory and host transfers
    // ------------------------------------------------------------------------------------------------

    @Override
    public Buffer allocate(DType dtype, int length) {
        Checks.nonNegative("allocate", "length", length);
        Object storage;
        if (dtype == DType.INT32) {
            int[] a = new int[length];
            if (POISON) Arrays.fill(a, Integer.MIN_VALUE);
            storage = a;
        } else {
            double[] a = new double[length];
            if (POISON) Arrays.fill(a, Double.NaN);
            storage = a;
        }
        long bytes = ReferenceBuffer.storageBytes(dtype, length);
        synchronized (this) {
            liveBuffers++;
            liveBytes += bytes;
            peakBytes = Math.max(peakBytes, liveBytes);
        }
        return new ReferenceBuffer(this, dtype, length, storage);
    }

    /** Called once by each buffer when it is closed. */
    synchronized void released(long bytes) {
        liveBuffers--;
        liveBytes -= bytes;
    }

    @Override
    public synchronized MemoryStats memoryStats() {
        return new MemoryStats(liveBuffers, liveBytes, peakBytes, 0);
    }

    @Override
    public void write(Ptr dst, float[] src, int srcOffset, int length) {
        dst.require(length, "write");
        requireType(dst, DType.FLOAT32);
        double[] a = d(dst);
        for (int i = 0; i < length; i++) a[dst.offset() + i] = src[srcOffset + i]; // widening: exact
    }

    @Override
    public void write(Ptr dst, double[] src, int srcOffset, int length) {
        dst.require(length, "write");
        requireType(dst, DType.FLOAT64);
        System.arraycopy(src, srcOffset, d(dst), dst.offset(), length);
    }

    @Override
    public void write(Ptr dst, int[] src, int srcOffset, int length) {
        dst.require(length, "write");
        System.arraycopy(src, srcOffset, i32(dst), dst.offset(), length);
    }

    @Override
    public void read(Ptr src, float[] dst, int dstOffset, int length) {
        src.require(length, "read");
        int o = src.offset();
        switch (own(src).storage()) {
            case double[] a -> { for (int i = 0; i < length; i++) dst[dstOffset + i] = (float) a[o + i]; } // FLOAT32: exact
            case int[] a -> { for (int i = 0; i < length; i++) dst[dstOffset + i] = a[o + i]; }
            default -> throw new AssertionError();
        }
    }

    @Override
    public void read(Ptr src, double[] dst, int dstOffset, int length) {
        src.require(length, "read");
        int o = src.offset();
        switch (own(src).storage()) {
            case double[] a -> System.arraycopy(a, o, dst, dstOffset, length);
            case int[] a -> { for (int i = 0; i < length; i++) dst[dstOffset + i] = a[o + i]; }
            default -> throw new AssertionError();
        }
    }

    @Override
    public void read(Ptr src, int[] dst, int dstOffset, int length) {
        src.require(length, "read");
        System.arraycopy(i32(src), src.offset(), dst, dstOffset, length);
    }

    @Override
    public void synchronize() {}

    // ------------------------------------------------------------------------------------------------
    // Fill, random, copy
    // ------------------------------------------------------------------------------------------------

    @Override
    public void fill(Ptr dst, int n, double value) {
        dst.require(n, "fill");
        if (dst.dtype() == DType.INT32) {
            if (value != (int) value) throw new IllegalArgumentException("fill: " + value + " is not an INT32 value");
            Arrays.fill(i32(dst), dst.offset(), dst.offset() + n, (int) value);
            return;
        }
        RefElementwise.fill(d(dst), dst.offset(), n, value);
        round(dst, n);
    }

    @Override
    public void fillRandom(Ptr dst, int n, RandomDistribution dist, double a, double b, long seed, long counter) {
        Checks.fillRandom(dst, n, dist, a, b);
        Checks.floating("fillRandom", dst);
        RefRandom.fill(d(dst), dst.offset(), n, dist, a, b, seed, counter);
        round(dst, n);
    }

    @Override
    public void copy(int[] shape, Ptr dst, int[] dstStrides, Ptr src, int[] srcStrides) {
        Checks.copy(shape, dst, dstStrides, src, srcStrides);
        Object d = own(dst).storage(), s = own(src).storage();
        if (d instanceof double[] da && s instanceof double[] sa) {
            RefElementwise.copy(shape, da, dst.offset(), dstStrides, sa, src.offset(), srcStrides);
            round(dst, shape, dstStrides); // FLOAT64 to FLOAT32 rounds; FLOAT32 values are floats already
            return;
        }
        // to or from INT32: element by element through double (ints convert exactly; to INT32 truncates, as a C cast)
        boolean f32 = dst.dtype() == DType.FLOAT32;
        RefElementwise.forEachIndex(shape, new int[][] {dstStrides, srcStrides}, new int[] {dst.offset(), src.offset()}, o -> {
            double v = s instanceof int[] a ? a[o[1]] : ((double[]) s)[o[1]];
            if (d instanceof int[] a) a[o[0]] = (int) v;
            else ((double[]) d)[o[0]] = f32 ? (float) v : v;
        });
    }

    // ------------------------------------------------------------------------------------------------
    // Elementwise and reductions
    // ------------------------------------------------------------------------------------------------

    @Override
    public void unary(UnaryOp op, double alpha, int n, Ptr x, Ptr y) {
        x.require(n, "unary " + op + ": x");
        y.require(n, "unary " + op + ": y");
        Checks.floating("unary " + op, x, y);
        unary[op.ordinal()].increment();
        RefElementwise.unary(op, alpha, n, d(x), x.offset(), d(y), y.offset());
        round(y, n);
    }

    @Override
    public void binary(BinaryOp op, int[] shape, Ptr out, int[] os, Ptr a, int[] as, Ptr b, int[] bs) {
        Checks.binary(op, shape, out, os, a, as, b, bs);
        Checks.floating("binary " + op, out, a, b);
        binary[op.ordinal()].increment();
        RefElementwise.binary(op, shape, d(out), out.offset(), os, d(a), a.offset(), as, d(b), b.offset(), bs);
        round(out, shape, os);
    }

    @Override
    public void reduce(ReduceOp op, int outer, int size, int inner, Ptr x, Ptr y) {
        Checks.positive("reduce", "outer", outer, "size", size, "inner", inner);
        x.require(outer * size * inner, "reduce: x");
        y.require(outer * inner, "reduce: y");
        Checks.floating("reduce", x, y);
        RefElementwise.reduce(op, outer, size, inner, d(x), x.offset(), d(y), y.offset());
        round(y, outer * inner);
    }

    @Override
    public void argmax(int outer, int size, int inner, Ptr x, Ptr indices) {
        Checks.positive("argmax", "outer", outer, "size", size, "inner", inner);
        x.require(outer * size * inner, "argmax: x");
        indices.require(outer * inner, "argmax: indices");
        Checks.floating("argmax", x);
        RefElementwise.argmax(outer, size, inner, d(x), x.offset(), i32(indices), indices.offset());
    }

    /** A FLOAT32 x is passed as the doubles it is stored as, which keeps every bin (NOTE [log2-bins]). */
    @Override
    public void log2Histogram(int n, Ptr x, int minExponent, int maxExponent, Ptr counts) {
        Checks.log2Histogram(n, x, minExponent, maxExponent, counts);
        RefHistogram.log2Histogram(n, d(x), x.offset(), minExponent, maxExponent, i32(counts), counts.offset());
    }

    // ------------------------------------------------------------------------------------------------
    // GEMM
    // ------------------------------------------------------------------------------------------------

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, Ptr a, int lda, Ptr b, int ldb,
                     double beta, Ptr c, int ldc, int batch, int strideA, int strideB, int strideC) {
        Checks.gemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, batch, strideA, strideB, strideC);
        Checks.floating("gemm", a, b, c);
        gemm.increment();
        double[] ca = d(c);
        for (int i = 0; i < batch; i++) {
            int ao = a.offset() + i * strideA, bo = b.offset() + i * strideB, co = c.offset() + i * strideC;
            RefGemm.gemm(transA, transB, m, n, k, alpha, d(a), ao, lda, d(b), bo, ldb, beta, ca, co, ldc);
            if (c.dtype() == DType.FLOAT32) for (int row = 0; row < m; row++) toFloat(ca, co + row * ldc, n);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Convolution and pooling
    // ------------------------------------------------------------------------------------------------

    @Override
    public void conv2dForward(Conv2dGeometry g, Ptr x, Ptr w, Ptr y) {
        Checks.conv2d("conv2dForward", g, x, w, y);
        Checks.floating("conv2dForward", x, w, y);
        conv2d.increment();
        RefConv.forward(g, d(x), x.offset(), d(w), w.offset(), d(y), y.offset());
        round(y, g.outputSize());
    }

    @Override
    public void conv2dBackwardData(Conv2dGeometry g, Ptr dy, Ptr w, Ptr dx) {
        Checks.conv2d("conv2dBackwardData", g, dx, w, dy);
        Checks.floating("conv2dBackwardData", dy, w, dx);
        conv2d.increment();
        RefConv.backwardData(g, d(dy), dy.offset(), d(w), w.offset(), d(dx), dx.offset());
        round(dx, g.inputSize());
    }

    @Override
    public void conv2dBackwardFilter(Conv2dGeometry g, Ptr x, Ptr dy, Ptr dw) {
        Checks.conv2d("conv2dBackwardFilter", g, x, dw, dy);
        Checks.floating("conv2dBackwardFilter", x, dy, dw);
        conv2d.increment();
        RefConv.backwardFilter(g, d(x), x.offset(), d(dy), dy.offset(), d(dw), dw.offset());
        round(dw, g.filterSize());
    }

    @Override
    public void maxPool2dForward(Pool2dGeometry g, Ptr x, Ptr y) {
        Checks.pool2d("maxPool2dForward", g, x, y);
        Checks.floating("maxPool2dForward", x, y);
        pool2d.increment();
        RefPool.maxForward(g, d(x), x.offset(), d(y), y.offset());
        round(y, g.outputSize());
    }

    @Override
    public void maxPool2dBackward(Pool2dGeometry g, Ptr x, Ptr y, Ptr dy, Ptr dx) {
        Checks.pool2d("maxPool2dBackward", g, x, y);
        Checks.pool2d("maxPool2dBackward", g, dx, dy);
        Checks.floating("maxPool2dBackward", x, y, dy, dx);
        pool2d.increment();
        RefPool.maxBackward(g, d(x), x.offset(), d(y), y.offset(), d(dy), dy.offset(), d(dx), dx.offset());
        round(dx, g.inputSize());
    }

    @Override
    public void avgPool2dForward(Pool2dGeometry g, boolean countIncludePad, Ptr x, Ptr y) {
        Checks.pool2d("avgPool2dForward", g, x, y);
        Checks.floating("avgPool2dForward", x, y);
        pool2d.increment();
        RefPool.avgForward(g, countIncludePad, d(x), x.offset(), d(y), y.offset());
        round(y, g.outputSize());
    }

    @Override
    public void avgPool2dBackward(Pool2dGeometry g, boolean countIncludePad, Ptr dy, Ptr dx) {
        Checks.pool2d("avgPool2dBackward", g, dx, dy);
        Checks.floating("avgPool2dBackward", dy, dx);
        pool2d.increment();
        RefPool.avgBackward(g, countIncludePad, d(dy), dy.offset(), d(dx), dx.offset());
        round(dx, g.inputSize());
    }

    // ------------------------------------------------------------------------------------------------
    // Batch norm
    // ------------------------------------------------------------------------------------------------

    @Override
    public void batchNormForwardTraining(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta, double eps, double momentum,
                                         Ptr rm, Ptr rv, Ptr y, Ptr sm, Ptr si, Ptr z, boolean relu) {
        Checks.batchNormForwardTraining(n, c, hw, x, gamma, beta, rm, rv, y, sm, si, z);
        Checks.floating("batchNormForwardTraining", x, gamma, beta, y, sm, si, z);
        batchnorm.increment();
        RefBatchNorm.forwardTraining(n, c, hw, d(x), x.offset(), d(gamma), gamma.offset(), d(beta), beta.offset(), eps, momentum,
                rm == null ? null : d(rm), rm == null ? 0 : rm.offset(), rv == null ? null : d(rv), rv == null ? 0 : rv.offset(),
                d(y), y.offset(), d(sm), sm.offset(), d(si), si.offset());
        round(y, n * c * hw); // batch norm's output is rounded before the epilogue, as the unfused ops' (NOTE [bn-epilogue])
        RefBatchNorm.epilogue(n * c * hw, d(y), y.offset(), z == null ? null : d(z), z == null ? 0 : z.offset(), relu);
        round(y, n * c * hw);
        round(sm, c);
        round(si, c);
        round(rm, c);
        round(rv, c);
    }

    @Override
    public void batchNormForwardInference(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta, Ptr rm, Ptr rv, double eps, Ptr y,
                                          Ptr z, boolean relu) {
        Checks.batchNormForwardInference(n, c, hw, x, gamma, beta, rm, rv, y, z);
        Checks.floating("batchNormForwardInference", x, gamma, beta, rm, rv, y, z);
        batchnorm.increment();
        RefBatchNorm.forwardInference(n, c, hw, d(x), x.offset(), d(gamma), gamma.offset(), d(beta), beta.offset(),
                d(rm), rm.offset(), d(rv), rv.offset(), eps, d(y), y.offset());
        round(y, n * c * hw);
        RefBatchNorm.epilogue(n * c * hw, d(y), y.offset(), z == null ? null : d(z), z == null ? 0 : z.offset(), relu);
        round(y, n * c * hw);
    }

    @Override
    public void batchNormBackward(int n, int c, int hw, Ptr x, Ptr dy, Ptr gamma, Ptr sm, Ptr si, Ptr dx, Ptr dgamma, Ptr dbeta,
                                  Ptr y, boolean relu, Ptr dz) {
        Checks.batchNormBackward(n, c, hw, x, dy, gamma, sm, si, dx, dgamma, dbeta, y, relu, dz);
        Checks.floating("batchNormBackward", x, dy, gamma, sm, si, dx, dgamma, dbeta, relu ? y : null, dz);
        batchnorm.increment();
        int size = n * c * hw;
        double[] g = RefBatchNorm.epilogueGradient(size, d(dy), dy.offset(), relu ? d(y) : null, relu ? y.offset() : 0, relu);
        RefBatchNorm.backward(n, c, hw, d(x), x.offset(), g, 0, d(gamma), gamma.offset(), d(sm), sm.offset(),
                d(si), si.offset(), d(dx), dx.offset(), d(dgamma), dgamma.offset(), d(dbeta), dbeta.offset());
        if (dz != null) {
            System.arraycopy(g, 0, d(dz), dz.offset(), size);
            round(dz, size);
        }
        round(dx, n * c * hw);
        round(dgamma, c);
        round(dbeta, c);
    }

    // ------------------------------------------------------------------------------------------------
    // Softmax cross-entropy, dropout, embedding
    // ------------------------------------------------------------------------------------------------

    /** Every label checked before anything is written (the first bad one named, as the reference names it). */
    private void checkLabels(int n, int classes, Ptr labels) {
        int[] l = i32(labels);
        for (int i = 0; i < n; i++) Checks.label(l[labels.offset() + i], i, classes);
    }

    @Override
    public void softmaxCrossEntropyForward(int n, int classes, Ptr logits, Ptr labels, double smoothing, Ptr loss, Ptr probs) {
        Checks.softmaxCrossEntropyForward(n, classes, logits, labels, smoothing, loss, probs);
        Checks.floating("softmaxCrossEntropyForward", logits, loss, probs);
        softmaxCrossEntropy.increment();
        checkLabels(n, classes, labels);
        RefLoss.softmaxCrossEntropyForward(n, classes, d(logits), logits.offset(), i32(labels), labels.offset(), smoothing,
                d(loss), loss.offset(), d(probs), probs.offset());
        round(loss, n);
        round(probs, n * classes);
    }

    @Override
    public void softmaxCrossEntropyBackward(int n, int classes, Ptr probs, Ptr labels, double smoothing, Ptr dLoss, Ptr dLogits) {
        Checks.softmaxCrossEntropyBackward(n, classes, probs, labels, smoothing, dLoss, dLogits);
        Checks.floating("softmaxCrossEntropyBackward", probs, dLoss, dLogits);
        softmaxCrossEntropy.increment();
        checkLabels(n, classes, labels);
        RefLoss.softmaxCrossEntropyBackward(n, classes, d(probs), probs.offset(), i32(labels), labels.offset(), smoothing,
                d(dLoss), dLoss.offset(), d(dLogits), dLogits.offset());
        round(dLogits, n * classes);
    }

    @Override
    public void dropout(int n, double p, long seed, long counter, Ptr x, Ptr y) {
        x.require(n, "dropout: x");
        y.require(n, "dropout: y");
        Philox.threshold(p); // checks p
        Checks.floating("dropout", x, y);
        RefRandom.dropout(n, p, seed, counter, d(x), x.offset(), d(y), y.offset());
        round(y, n);
    }

    @Override
    public void embeddingForward(int n, int dim, int vocab, Ptr indices, Ptr table, Ptr out) {
        Checks.embeddingForward(n, dim, vocab, indices, table, out);
        Checks.floating("embeddingForward", table, out);
        embedding.increment();
        int[] idx = i32(indices);
        for (int i = 0; i < n; i++) Checks.embeddingIndex(idx[indices.offset() + i], i, vocab); // before anything is written
        RefEmbedding.forward(n, dim, vocab, idx, indices.offset(), d(table), table.offset(), d(out), out.offset());
        round(out, n * dim); // rows copied from a table of the same dtype: floats already, rounded for the rule's sake
    }

    /** Sums each row's additions in double and rounds once (the contract's deterministic order, RefEmbedding#backward). */
    @Override
    public void embeddingBackward(int n, int dim, int vocab, Ptr indices, Ptr dOut, Ptr dTable) {
        Checks.embeddingBackward(n, dim, vocab, indices, dOut, dTable);
        Checks.floating("embeddingBackward", dOut, dTable);
        embedding.increment();
        RefEmbedding.backward(n, dim, vocab, i32(indices), indices.offset(), d(dOut), dOut.offset(), d(dTable), dTable.offset());
        round(dTable, vocab * dim);
    }

    // ------------------------------------------------------------------------------------------------
    // LSTM: the cell, and one layer over a sequence
    // ------------------------------------------------------------------------------------------------

    @Override
    public void lstmCellForward(int n, int hidden, Ptr gates, Ptr cPrev, Ptr act, Ptr h, Ptr c) {
        Checks.lstmCellForward(n, hidden, gates, cPrev, act, h, c);
        Checks.floating("lstmCellForward", gates, cPrev, act, h, c);
        int nh = n * hidden;
        RefLstm.forward(n, hidden, d(gates), gates.offset(), d(cPrev), cPrev.offset(), d(act), act.offset(), d(h), h.offset(),
                d(c), c.offset());
        round(act, 4 * nh);
        round(h, nh);
        round(c, nh);
    }

    @Override
    public void lstmCellBackward(int n, int hidden, Ptr act, Ptr cPrev, Ptr c, Ptr dh, Ptr dc, Ptr dGates, Ptr dcPrev) {
        Checks.lstmCellBackward(n, hidden, act, cPrev, c, dh, dc, dGates, dcPrev);
        Checks.floating("lstmCellBackward", act, cPrev, c, dh, dGates, dcPrev);
        int nh = n * hidden;
        RefLstm.backward(n, hidden, d(act), act.offset(), d(cPrev), cPrev.offset(), d(c), c.offset(), d(dh), dh.offset(),
                dc == null ? null : d(dc), dc == null ? 0 : dc.offset(), d(dGates), dGates.offset(), d(dcPrev), dcPrev.offset());
        round(dGates, 4 * nh);
        round(dcPrev, nh);
    }

    /** The step-by-step reserve of RefLstm#sequenceForward: act (t, n, 4h), then c (t, n, h) (NOTE [lstm-reserve]). */
    @Override
    public int lstmReserveSize(LstmGeometry g) {
        return g.stepReserveSize();
    }

    /**
     * {@link RefLstm#sequenceForward} on copies of the operands (it takes whole arrays), its outputs stored back and,
     * for FLOAT32, rounded once: the whole layer is computed in double, not step by step in the operands' dtype as
     * {@link LstmSteps} (the CPU backend's way) would, so the answer is the double reference of the layer.
     */
    @Override
    public void lstmSequenceForward(LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr bIh, Ptr bHh,
                                    Ptr y, Ptr hT, Ptr cT, Ptr reserve) {
        Checks.lstmSequenceForward("lstmSequenceForward", g, x, h0, c0, wIh, wHh, bIh, bHh, y, hT, cT, reserve, lstmReserveSize(g));
        lstm.increment();
        int ns = g.stateSize();
        double[] ey = new double[g.outputSize()], ehT = new double[ns], ecT = new double[ns];
        double[] eres = reserve == null ? null : new double[g.stepReserveSize()];
        RefLstm.sequenceForward(g, slice(x, g.inputSize()), slice(h0, ns), slice(c0, ns), slice(wIh, g.weightIhSize()),
                slice(wHh, g.weightHhSize()), slice(bIh, g.biasSize()), slice(bHh, g.biasSize()), ey, ehT, ecT, eres);
        store(ey, y, g.outputSize());
        store(ehT, hT, ns);
        store(ecT, cT, ns);
        store(eres, reserve, g.stepReserveSize());
    }

    /** {@link RefLstm#sequenceBackward} on copies of the operands, its outputs stored back (rounded once if FLOAT32). */
    @Override
    public void lstmSequenceBackward(LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr y, Ptr reserve,
                                     Ptr dy, Ptr dhT, Ptr dcT, Ptr dx, Ptr dh0, Ptr dc0, Ptr dwIh, Ptr dwHh, Ptr db) {
        Checks.lstmSequenceBackward("lstmSequenceBackward", g, x, h0, c0, wIh, wHh, y, reserve, lstmReserveSize(g), dy, dhT, dcT,
                dx, dh0, dc0, dwIh, dwHh, db);
        lstm.increment();
        int ns = g.stateSize();
        double[] edx = dx == null ? null : new double[g.inputSize()];
        double[] edh0 = dh0 == null ? null : new double[ns], edc0 = dc0 == null ? null : new double[ns];
        double[] edwIh = new double[g.weightIhSize()], edwHh = new double[g.weightHhSize()], edb = new double[g.biasSize()];
        RefLstm.sequenceBackward(g, slice(x, g.inputSize()), slice(h0, ns), slice(c0, ns), slice(wIh, g.weightIhSize()),
                slice(wHh, g.weightHhSize()), slice(y, g.outputSize()), slice(reserve, g.stepReserveSize()),
                slice(dy, g.outputSize()), slice(dhT, ns), slice(dcT, ns), edx, edh0, edc0, edwIh, edwHh, edb);
        store(edx, dx, g.inputSize());
        store(edh0, dh0, ns);
        store(edc0, dc0, ns);
        store(edwIh, dwIh, g.weightIhSize());
        store(edwHh, dwHh, g.weightHhSize());
        store(edb, db, g.biasSize());
    }

    // ------------------------------------------------------------------------------------------------
    // Fused programs
    // ------------------------------------------------------------------------------------------------

    /**
     * Runs the kernel's {@link FusedKernel#runHost} over [0, n) in one call, on one thread. A FLOAT64 operand is its
     * storage itself, so the kernel computes in double on it. A kernel's FLOAT32 code is float code by its own
     * definition (it asks for {@code float[]}s), so each FLOAT32 buffer among the operands is handed over as one
     * {@code float[]} copy of the range its operands cover (exact: it holds floats), shared by operands of the same
     * buffer so that aliasing operands alias, and copied back (widened, exact) after the kernel ran.
     */
    @Override
    public void fused(FusedKernel kernel, int n, Ptr[] operands, double[] scalars) {
        calls.counter(KernelChoices.fusedOp(kernel.name()) + "=host").increment();
        for (int j = 0; j < operands.length; j++) {
            operands[j].require(n, kernel.name() + ": operand " + j);
            own(operands[j]);
        }
        // the FLOAT32 buffers: the range [lo, hi) of each that the operands cover, and its float copy
        Map<Buffer, int[]> ranges = new IdentityHashMap<>();
        for (Ptr p : operands) {
            if (p.dtype() != DType.FLOAT32) continue;
            int[] r = ranges.computeIfAbsent(p.buffer(), b -> new int[] {p.offset(), p.offset() + n});
            r[0] = Math.min(r[0], p.offset());
            r[1] = Math.max(r[1], p.offset() + n);
        }
        Map<Buffer, float[]> floats = new IdentityHashMap<>();
        ranges.forEach((b, r) -> {
            double[] a = d(b.ptr());
            float[] f = new float[r[1] - r[0]];
            for (int i = 0; i < f.length; i++) f[i] = (float) a[r[0] + i];
            floats.put(b, f);
        });
        FusedKernel.HostOperands host = new FusedKernel.HostOperands() {
            @Override
            public float[] f32(int j) {
                if (operands[j].dtype() == DType.FLOAT32) return floats.get(operands[j].buffer());
                throw new IllegalArgumentException(kernel.name() + ": operand " + j + " is " + operands[j].dtype() + ", not FLOAT32");
            }

            @Override
            public double[] f64(int j) {
                if (operands[j].dtype() == DType.FLOAT64) return d(operands[j]);
                throw new IllegalArgumentException(kernel.name() + ": operand " + j + " is " + operands[j].dtype() + ", not FLOAT64");
            }

            @Override
            public int offset(int j) {
                Ptr p = operands[j];
                return p.dtype() == DType.FLOAT32 ? p.offset() - ranges.get(p.buffer())[0] : p.offset();
            }
        };
        if (n > 0) kernel.runHost(host, scalars, 0, n);
        ranges.forEach((b, r) -> {
            double[] a = d(b.ptr());
            float[] f = floats.get(b);
            for (int i = 0; i < f.length; i++) a[r[0] + i] = f[i];
        });
    }

    @Override
    public String toString() {
        return name();
    }
}
