package optlab.kernels.cpu;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import optlab.kernels.Backend;
import optlab.kernels.BatchNormEpilogue;
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
import optlab.kernels.family.BatchNormKernel;
import optlab.kernels.family.BinaryKernel;
import optlab.kernels.family.Conv2dKernel;
import optlab.kernels.family.EmbeddingKernel;
import optlab.kernels.family.GemmKernel;
import optlab.kernels.family.LstmKernel;
import optlab.kernels.family.Pool2dKernel;
import optlab.kernels.family.SoftmaxCrossEntropyKernel;
import optlab.kernels.family.UnaryKernel;
import optlab.kernels.random.Philox;
import optlab.kernels.reference.RefBatchNorm;
import optlab.kernels.reference.RefConv;
import optlab.kernels.reference.RefElementwise;
import optlab.kernels.reference.RefEmbedding;
import optlab.kernels.reference.RefGemm;
import optlab.kernels.reference.RefLoss;
import optlab.kernels.reference.RefLstm;
import optlab.kernels.reference.RefPool;
import optlab.kernels.reference.RefRandom;

/**
 * The CPU backend: Java arrays, all cores.
 *
 * <p>FLOAT32, the training type, runs the fast kernels of this package (vectorized GEMM, im2col
 * convolution, parallel loops). FLOAT64 runs the plain reference of {@code optlab.kernels.reference},
 * which is what the gradient checks exercise; the tests hold the two together on random inputs. A few
 * small primitives (softmax cross-entropy, embedding) run the reference for FLOAT32 too, widening to
 * double and back: their cost is negligible next to the GEMMs around them.
 *
 * <p>Kernel choices (NOTE [kernel-choices]): every op family can run a user's Java kernel instead
 * ({@code conv2d=java:my.Conv}), called after this backend has checked the arguments; each call is counted
 * for the variant that served it ({@link #kernelCalls()}). Instances with different choices share one
 * allocator and accept each other's buffers.
 */
public final class CpuBackend implements Backend {
    private static final CpuAllocator ALLOCATOR = new CpuAllocator();
    private static final CpuBackend DEFAULT = new CpuBackend(KernelChoices.defaults());

    private final KernelChoices choices;
    private final KernelCalls calls = new KernelCalls();
    private final Slot<GemmKernel> gemm;
    private final Slot<Conv2dKernel> conv2d;
    private final Slot<Pool2dKernel> pool2d;
    private final Slot<BatchNormKernel> batchnorm;
    private final Slot<SoftmaxCrossEntropyKernel> softmaxCrossEntropy;
    private final Slot<LstmKernel> lstm;
    private final Slot<EmbeddingKernel> embedding;
    private final Slot<UnaryKernel>[] unary;
    private final Slot<BinaryKernel>[] binary;
    private final Map<String, Slot<FusedKernel>> fused = new ConcurrentHashMap<>();
    /** The latest float32 dropout masks, replayed by the backward's call with the same key (CpuDropout.Masks). */
    private final CpuDropout.Masks dropoutMasks = new CpuDropout.Masks();

    /**
     * One op's dispatch: the user's Java kernel or null for the built-in one, and the call counter of the choice that
     * serves it.
     */
    private record Slot<T>(T user, LongAdder calls) {
        /** The user kernel to call, or null for the built-in one; counts the call. */
        T take() {
            calls.increment();
            return user;
        }
    }

    private <T> Slot<T> slot(String op, Class<T> family) {
        KernelChoices.Choice c = choices.choice(op, KernelChoices.Target.CPU);
        T user = c.java() == null ? null : family.cast(c.java().instance());
        return new Slot<>(user, calls.counter(c));
    }

    @SuppressWarnings("unchecked")
    private CpuBackend(KernelChoices choices) {
        choices.requireRunnableOn(KernelChoices.Target.CPU);
        this.choices = choices;
        gemm = slot("gemm", GemmKernel.class);
        conv2d = slot("conv2d", Conv2dKernel.class);
        pool2d = slot("pool2d", Pool2dKernel.class);
        batchnorm = slot("batchnorm", BatchNormKernel.class);
        softmaxCrossEntropy = slot("softmax_cross_entropy", SoftmaxCrossEntropyKernel.class);
        lstm = slot("lstm", LstmKernel.class);
        embedding = slot("embedding", EmbeddingKernel.class);
        unary = new Slot[UnaryOp.values().length];
        for (UnaryOp u : UnaryOp.values()) unary[u.ordinal()] = slot(KernelChoices.unaryOp(u), UnaryKernel.class);
        binary = new Slot[BinaryOp.values().length];
        for (BinaryOp b : BinaryOp.values()) binary[b.ordinal()] = slot(KernelChoices.binaryOp(b), BinaryKernel.class);
    }

    /** The CPU backend with the default kernel choices. */
    public static CpuBackend get() {
        return DEFAULT;
    }

    /** A CPU backend with {@code choices} (use {@link optlab.kernels.Backends#open}, which makes it the CPU's current one). */
    public static CpuBackend open(KernelChoices choices) {
        return choices.equals(KernelChoices.defaults()) ? DEFAULT : new CpuBackend(choices);
    }

    @Override
    public KernelChoices kernels() {
        return choices;
    }

    @Override
    public KernelCalls kernelCalls() {
        return calls;
    }

    CpuAllocator allocator() {
        return ALLOCATOR;
    }

    @Override
    public String name() {
        return "cpu (" + Parallel.threads() + " threads)";
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    // ------------------------------------------------------------------------------------------------
    // Access to arrays
    // ------------------------------------------------------------------------------------------------

    private CpuBuffer own(Ptr p) {
        if (!(p.buffer() instanceof CpuBuffer b)) {
            throw new IllegalArgumentException("cpu backend got a buffer of another backend: " + p.buffer());
        }
        return b;
    }

    private float[] f(Ptr p) {
        requireType(p, DType.FLOAT32);
        return (float[]) own(p).array();
    }

    private double[] d(Ptr p) {
        requireType(p, DType.FLOAT64);
        return (double[]) own(p).array();
    }

    private int[] i32(Ptr p) {
        requireType(p, DType.INT32);
        return (int[]) own(p).array();
    }

    private static void requireType(Ptr p, DType t) {
        if (p.dtype() != t) throw new IllegalArgumentException("expected a " + t + " buffer, got " + p.dtype());
    }

    private static void need(Ptr p, int n, String what) {
        p.require(n, what);
    }

    // ------------------------------------------------------------------------------------------------
    // Memory and host transfers
    // ------------------------------------------------------------------------------------------------

    @Override
    public Buffer allocate(DType dtype, int length) {
        return new CpuBuffer(this, dtype, length, ALLOCATOR.acquire(dtype, length));
    }

    @Override
    public MemoryStats memoryStats() {
        return ALLOCATOR.stats();
    }

    /** Drops the allocator's cached arrays. */
    public void emptyCache() {
        ALLOCATOR.trim();
    }

    @Override
    public void write(Ptr dst, float[] src, int srcOffset, int length) {
        need(dst, length, "write");
        System.arraycopy(src, srcOffset, f(dst), dst.offset(), length);
    }

    @Override
    public void write(Ptr dst, double[] src, int srcOffset, int length) {
        need(dst, length, "write");
        System.arraycopy(src, srcOffset, d(dst), dst.offset(), length);
    }

    @Override
    public void write(Ptr dst, int[] src, int srcOffset, int length) {
        need(dst, length, "write");
        System.arraycopy(src, srcOffset, i32(dst), dst.offset(), length);
    }

    @Override
    public void read(Ptr src, float[] dst, int dstOffset, int length) {
        need(src, length, "read");
        int o = src.offset();
        switch (own(src).array()) {
            case float[] a -> System.arraycopy(a, o, dst, dstOffset, length);
            case double[] a -> { for (int i = 0; i < length; i++) dst[dstOffset + i] = (float) a[o + i]; }
            case int[] a -> { for (int i = 0; i < length; i++) dst[dstOffset + i] = a[o + i]; }
            default -> throw new AssertionError();
        }
    }

    @Override
    public void read(Ptr src, double[] dst, int dstOffset, int length) {
        need(src, length, "read");
        int o = src.offset();
        switch (own(src).array()) {
            case float[] a -> { for (int i = 0; i < length; i++) dst[dstOffset + i] = a[o + i]; }
            case double[] a -> System.arraycopy(a, o, dst, dstOffset, length);
            case int[] a -> { for (int i = 0; i < length; i++) dst[dstOffset + i] = a[o + i]; }
            default -> throw new AssertionError();
        }
    }

    @Override
    public void read(Ptr src, int[] dst, int dstOffset, int length) {
        need(src, length, "read");
        System.arraycopy(i32(src), src.offset(), dst, dstOffset, length);
    }

    @Override
    public void synchronize() {}

    // ------------------------------------------------------------------------------------------------
    // Fill, random, copy
    // ------------------------------------------------------------------------------------------------

    @Override
    public void fill(Ptr dst, int n, double value) {
        need(dst, n, "fill");
        int o = dst.offset();
        switch (own(dst).array()) {
            case float[] a -> CpuElementwise.fill(a, o, n, (float) value);
            case double[] a -> RefElementwise.fill(a, o, n, value);
            case int[] a -> {
                if (value != (int) value) throw new IllegalArgumentException("fill: " + value + " is not an INT32 value");
                Arrays.fill(a, o, o + n, (int) value);
            }
            default -> throw new AssertionError();
        }
    }

    @Override
    public void fillRandom(Ptr dst, int n, RandomDistribution dist, double a, double b, long seed, long counter) {
        Checks.fillRandom(dst, n, dist, a, b);
        int o = dst.offset();
        switch (Checks.floating("fillRandom", dst)) {
            case FLOAT32 -> {
                float[] x = f(dst);
                Parallel.forRange(n, 4096, (from, to) -> {
                    for (int i = from; i < to; i++) x[o + i] = (float) RefRandom.sample(dist, a, b, seed, counter + i);
                });
            }
            default -> {
                double[] x = d(dst);
                Parallel.forRange(n, 4096, (from, to) -> RefRandom.fill(x, o + from, to - from, dist, a, b, seed, counter + from));
            }
        }
    }

    @Override
    public void copy(int[] shape, Ptr dst, int[] dstStrides, Ptr src, int[] srcStrides) {
        Checks.copy(shape, dst, dstStrides, src, srcStrides);
        Object d = own(dst).array(), s = own(src).array();
        if (dst.dtype() == src.dtype()) {
            CpuElementwise.copy(shape, d, dst.offset(), dstStrides, s, src.offset(), srcStrides);
            return;
        }
        // dtype conversion: element by element through double (ints convert exactly, floats round)
        RefElementwise.forEachIndex(shape, new int[][] {dstStrides, srcStrides}, new int[] {dst.offset(), src.offset()}, o -> {
            double v = switch (s) {
                case float[] a -> a[o[1]];
                case double[] a -> a[o[1]];
                case int[] a -> a[o[1]];
                default -> throw new AssertionError();
            };
            switch (d) {
                case float[] a -> a[o[0]] = (float) v;
                case double[] a -> a[o[0]] = v;
                case int[] a -> a[o[0]] = (int) v;
                default -> throw new AssertionError();
            }
        });
    }

    // ------------------------------------------------------------------------------------------------
    // Elementwise and reductions
    // ------------------------------------------------------------------------------------------------

    @Override
    public void unary(UnaryOp op, double alpha, int n, Ptr x, Ptr y) {
        need(x, n, "unary " + op + ": x");
        need(y, n, "unary " + op + ": y");
        DType t = Checks.floating("unary " + op, x, y);
        UnaryKernel u = unary[op.ordinal()].take();
        if (u != null) {
            u.forward(op, alpha, n, x, y);
        } else if (t == DType.FLOAT32) {
            CpuElementwise.unary(op, alpha, n, f(x), x.offset(), f(y), y.offset());
        } else {
            RefElementwise.unary(op, alpha, n, d(x), x.offset(), d(y), y.offset());
        }
    }

    @Override
    public void binary(BinaryOp op, int[] shape, Ptr out, int[] os, Ptr a, int[] as, Ptr b, int[] bs) {
        String what = "binary " + op;
        Checks.binary(op, shape, out, os, a, as, b, bs);
        DType t = Checks.floating(what, out, a, b);
        BinaryKernel u = binary[op.ordinal()].take();
        if (u != null) {
            u.apply(op, shape, out, os, a, as, b, bs);
        } else if (t == DType.FLOAT32) {
            CpuElementwise.binary(op, shape, f(out), out.offset(), os, f(a), a.offset(), as, f(b), b.offset(), bs);
        } else {
            RefElementwise.binary(op, shape, d(out), out.offset(), os, d(a), a.offset(), as, d(b), b.offset(), bs);
        }
    }

    @Override
    public void reduce(ReduceOp op, int outer, int size, int inner, Ptr x, Ptr y) {
        Checks.positive("reduce", "outer", outer, "size", size, "inner", inner);
        need(x, outer * size * inner, "reduce: x");
        need(y, outer * inner, "reduce: y");
        if (Checks.floating("reduce", x, y) == DType.FLOAT32) {
            CpuElementwise.reduce(op, outer, size, inner, f(x), x.offset(), f(y), y.offset());
        } else {
            RefElementwise.reduce(op, outer, size, inner, d(x), x.offset(), d(y), y.offset());
        }
    }

    @Override
    public void argmax(int outer, int size, int inner, Ptr x, Ptr indices) {
        Checks.positive("argmax", "outer", outer, "size", size, "inner", inner);
        need(x, outer * size * inner, "argmax: x");
        need(indices, outer * inner, "argmax: indices");
        if (Checks.floating("argmax", x) == DType.FLOAT32) {
            CpuElementwise.argmax(outer, size, inner, f(x), x.offset(), i32(indices), indices.offset());
        } else {
            RefElementwise.argmax(outer, size, inner, d(x), x.offset(), i32(indices), indices.offset());
        }
    }

    @Override
    public void log2Histogram(int n, Ptr x, int minExponent, int maxExponent, Ptr counts) {
        Checks.log2Histogram(n, x, minExponent, maxExponent, counts);
        if (x.dtype() == DType.FLOAT32) {
            CpuHistogram.log2Histogram(n, f(x), x.offset(), minExponent, maxExponent, i32(counts), counts.offset());
        } else {
            CpuHistogram.log2Histogram(n, d(x), x.offset(), minExponent, maxExponent, i32(counts), counts.offset());
        }
    }

    // ------------------------------------------------------------------------------------------------
    // GEMM
    // ------------------------------------------------------------------------------------------------

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, Ptr a, int lda, Ptr b, int ldb,
                     double beta, Ptr c, int ldc, int batch, int strideA, int strideB, int strideC) {
        Checks.gemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, batch, strideA, strideB, strideC);
        boolean single = Checks.floating("gemm", a, b, c) == DType.FLOAT32;
        GemmKernel u = gemm.take();
        if (u != null) {
            u.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, batch, strideA, strideB, strideC);
            return;
        }
        for (int i = 0; i < batch; i++) {
            int ao = a.offset() + i * strideA, bo = b.offset() + i * strideB, co = c.offset() + i * strideC;
            if (single) {
                Sgemm.sgemm(transA, transB, m, n, k, (float) alpha, f(a), ao, lda, f(b), bo, ldb, (float) beta, f(c), co, ldc);
            } else {
                RefGemm.gemm(transA, transB, m, n, k, alpha, d(a), ao, lda, d(b), bo, ldb, beta, d(c), co, ldc);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Convolution and pooling
    // ------------------------------------------------------------------------------------------------

    @Override
    public void conv2dForward(Conv2dGeometry g, Ptr x, Ptr w, Ptr y) {
        Checks.conv2d("conv2dForward", g, x, w, y);
        DType t = Checks.floating("conv2dForward", x, w, y);
        Conv2dKernel u = conv2d.take();
        if (u != null) {
            u.forward(g, x, w, y);
        } else if (t == DType.FLOAT32) {
            CpuConv.forward(g, f(x), x.offset(), f(w), w.offset(), f(y), y.offset());
        } else {
            RefConv.forward(g, d(x), x.offset(), d(w), w.offset(), d(y), y.offset());
        }
    }

    @Override
    public void conv2dBackwardData(Conv2dGeometry g, Ptr dy, Ptr w, Ptr dx) {
        Checks.conv2d("conv2dBackwardData", g, dx, w, dy);
        DType t = Checks.floating("conv2dBackwardData", dy, w, dx);
        Conv2dKernel u = conv2d.take();
        if (u != null) {
            u.backwardData(g, dy, w, dx);
        } else if (t == DType.FLOAT32) {
            CpuConv.backwardData(g, f(dy), dy.offset(), f(w), w.offset(), f(dx), dx.offset());
        } else {
            RefConv.backwardData(g, d(dy), dy.offset(), d(w), w.offset(), d(dx), dx.offset());
        }
    }

    @Override
    public void conv2dBackwardFilter(Conv2dGeometry g, Ptr x, Ptr dy, Ptr dw) {
        Checks.conv2d("conv2dBackwardFilter", g, x, dw, dy);
        DType t = Checks.floating("conv2dBackwardFilter", x, dy, dw);
        Conv2dKernel u = conv2d.take();
        if (u != null) {
            u.backwardFilter(g, x, dy, dw);
        } else if (t == DType.FLOAT32) {
            CpuConv.backwardFilter(g, f(x), x.offset(), f(dy), dy.offset(), f(dw), dw.offset());
        } else {
            RefConv.backwardFilter(g, d(x), x.offset(), d(dy), dy.offset(), d(dw), dw.offset());
        }
    }

    @Override
    public void maxPool2dForward(Pool2dGeometry g, Ptr x, Ptr y) {
        Checks.pool2d("maxPool2dForward", g, x, y);
        DType t = Checks.floating("maxPool2dForward", x, y);
        Pool2dKernel u = pool2d.take();
        if (u != null) u.maxForward(g, x, y);
        else if (t == DType.FLOAT32) CpuPool.maxForward(g, f(x), x.offset(), f(y), y.offset());
        else RefPool.maxForward(g, d(x), x.offset(), d(y), y.offset());
    }

    @Override
    public void maxPool2dBackward(Pool2dGeometry g, Ptr x, Ptr y, Ptr dy, Ptr dx) {
        Checks.pool2d("maxPool2dBackward", g, x, y);
        Checks.pool2d("maxPool2dBackward", g, dx, dy);
        DType t = Checks.floating("maxPool2dBackward", x, y, dy, dx);
        Pool2dKernel u = pool2d.take();
        if (u != null) {
            u.maxBackward(g, x, y, dy, dx);
        } else if (t == DType.FLOAT32) {
            CpuPool.maxBackward(g, f(x), x.offset(), f(y), y.offset(), f(dy), dy.offset(), f(dx), dx.offset());
        } else {
            RefPool.maxBackward(g, d(x), x.offset(), d(y), y.offset(), d(dy), dy.offset(), d(dx), dx.offset());
        }
    }

    @Override
    public void avgPool2dForward(Pool2dGeometry g, boolean countIncludePad, Ptr x, Ptr y) {
        Checks.pool2d("avgPool2dForward", g, x, y);
        DType t = Checks.floating("avgPool2dForward", x, y);
        Pool2dKernel u = pool2d.take();
        if (u != null) {
            u.avgForward(g, countIncludePad, x, y);
        } else if (t == DType.FLOAT32) {
            CpuPool.avgForward(g, countIncludePad, f(x), x.offset(), f(y), y.offset());
        } else {
            RefPool.avgForward(g, countIncludePad, d(x), x.offset(), d(y), y.offset());
        }
    }

    @Override
    public void avgPool2dBackward(Pool2dGeometry g, boolean countIncludePad, Ptr dy, Ptr dx) {
        Checks.pool2d("avgPool2dBackward", g, dx, dy);
        DType t = Checks.floating("avgPool2dBackward", dy, dx);
        Pool2dKernel u = pool2d.take();
        if (u != null) {
            u.avgBackward(g, countIncludePad, dy, dx);
        } else if (t == DType.FLOAT32) {
            CpuPool.avgBackward(g, countIncludePad, f(dy), dy.offset(), f(dx), dx.offset());
        } else {
            RefPool.avgBackward(g, countIncludePad, d(dy), dy.offset(), d(dx), dx.offset());
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Batch norm
    // ------------------------------------------------------------------------------------------------

    @Override
    public void batchNormForwardTraining(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta, double eps, double momentum,
                                         Ptr rm, Ptr rv, Ptr y, Ptr sm, Ptr si, Ptr z, boolean relu) {
        String op = "batchNormForwardTraining";
        Checks.batchNormForwardTraining(n, c, hw, x, gamma, beta, rm, rv, y, sm, si, z);
        DType t = Checks.floating(op, x, gamma, beta, y, sm, si, z);
        BatchNormKernel u = batchnorm.take();
        if (u != null) {
            u.forwardTraining(n, c, hw, x, gamma, beta, eps, momentum, rm, rv, y, sm, si);
            BatchNormEpilogue.forward(this, n * c * hw, y, z, relu);
        } else if (t == DType.FLOAT32) {
            CpuBatchNorm.forwardTraining(n, c, hw, f(x), x.offset(), f(gamma), gamma.offset(), f(beta), beta.offset(), eps, momentum,
                    rm == null ? null : f(rm), rm == null ? 0 : rm.offset(), rv == null ? null : f(rv), rv == null ? 0 : rv.offset(),
                    f(y), y.offset(), f(sm), sm.offset(), f(si), si.offset(), z == null ? null : f(z), z == null ? 0 : z.offset(), relu);
        } else {
            RefBatchNorm.forwardTraining(n, c, hw, d(x), x.offset(), d(gamma), gamma.offset(), d(beta), beta.offset(), eps, momentum,
                    rm == null ? null : d(rm), rm == null ? 0 : rm.offset(), rv == null ? null : d(rv), rv == null ? 0 : rv.offset(),
                    d(y), y.offset(), d(sm), sm.offset(), d(si), si.offset());
            RefBatchNorm.epilogue(n * c * hw, d(y), y.offset(), z == null ? null : d(z), z == null ? 0 : z.offset(), relu);
        }
    }

    @Override
    public void batchNormForwardInference(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta, Ptr rm, Ptr rv, double eps, Ptr y,
                                          Ptr z, boolean relu) {
        String op = "batchNormForwardInference";
        Checks.batchNormForwardInference(n, c, hw, x, gamma, beta, rm, rv, y, z);
        DType t = Checks.floating(op, x, gamma, beta, rm, rv, y, z);
        BatchNormKernel u = batchnorm.take();
        if (u != null) {
            u.forwardInference(n, c, hw, x, gamma, beta, rm, rv, eps, y);
            BatchNormEpilogue.forward(this, n * c * hw, y, z, relu);
        } else if (t == DType.FLOAT32) {
            CpuBatchNorm.forwardInference(n, c, hw, f(x), x.offset(), f(gamma), gamma.offset(), f(beta), beta.offset(),
                    f(rm), rm.offset(), f(rv), rv.offset(), eps, f(y), y.offset(), z == null ? null : f(z), z == null ? 0 : z.offset(), relu);
        } else {
            RefBatchNorm.forwardInference(n, c, hw, d(x), x.offset(), d(gamma), gamma.offset(), d(beta), beta.offset(),
                    d(rm), rm.offset(), d(rv), rv.offset(), eps, d(y), y.offset());
            RefBatchNorm.epilogue(n * c * hw, d(y), y.offset(), z == null ? null : d(z), z == null ? 0 : z.offset(), relu);
        }
    }

    @Override
    public void batchNormBackward(int n, int c, int hw, Ptr x, Ptr dy, Ptr gamma, Ptr sm, Ptr si, Ptr dx, Ptr dgamma, Ptr dbeta,
                                  Ptr y, boolean relu, Ptr dz) {
        String op = "batchNormBackward";
        Checks.batchNormBackward(n, c, hw, x, dy, gamma, sm, si, dx, dgamma, dbeta, y, relu, dz);
        DType t = Checks.floating(op, x, dy, gamma, sm, si, dx, dgamma, dbeta, relu ? y : null, dz);
        BatchNormKernel u = batchnorm.take();
        int size = n * c * hw;
        if (u != null) {
            try (Buffer scratch = BatchNormEpilogue.needsScratch(relu, dz) ? allocate(t, size) : null) {
                Ptr g = BatchNormEpilogue.gradient(this, size, dy, y, relu, dz, scratch);
                u.backward(n, c, hw, x, g, gamma, sm, si, dx, dgamma, dbeta);
            }
        } else if (t == DType.FLOAT32) {
            CpuBatchNorm.backward(n, c, hw, f(x), x.offset(), f(dy), dy.offset(), f(gamma), gamma.offset(), f(sm), sm.offset(),
                    f(si), si.offset(), f(dx), dx.offset(), f(dgamma), dgamma.offset(), f(dbeta), dbeta.offset(),
                    relu ? f(y) : null, relu ? y.offset() : 0, relu, dz == null ? null : f(dz), dz == null ? 0 : dz.offset());
        } else {
            double[] g = RefBatchNorm.epilogueGradient(size, d(dy), dy.offset(), relu ? d(y) : null, relu ? y.offset() : 0, relu);
            RefBatchNorm.backward(n, c, hw, d(x), x.offset(), g, 0, d(gamma), gamma.offset(), d(sm), sm.offset(),
                    d(si), si.offset(), d(dx), dx.offset(), d(dgamma), dgamma.offset(), d(dbeta), dbeta.offset());
            if (dz != null) System.arraycopy(g, 0, d(dz), dz.offset(), size);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Small primitives: FLOAT32 widens to the reference (see class comment); the LSTM's are CpuLstm's
    // ------------------------------------------------------------------------------------------------

    /** Elements of an LSTM cell call (rows times hidden) per thread, at least. */
    private static final int CELL_GRAIN = 4096;

    /** The operand as doubles: the FLOAT64 array itself, or a widened copy of a FLOAT32 range. */
    private double[] wide(Ptr p, int n) {
        if (p.dtype() == DType.FLOAT64) return d(p);
        float[] a = f(p);
        double[] w = new double[n];
        for (int i = 0; i < n; i++) w[i] = a[p.offset() + i];
        return w;
    }

    /** Offset to use with {@link #wide}'s result. */
    private static int wideOffset(Ptr p) {
        return p.dtype() == DType.FLOAT64 ? p.offset() : 0;
    }

    /** Writes back a {@link #wide} result of a FLOAT32 operand. */
    private void narrow(double[] w, Ptr p, int n) {
        if (p.dtype() == DType.FLOAT64) return;
        float[] a = f(p);
        for (int i = 0; i < n; i++) a[p.offset() + i] = (float) w[i];
    }

    @Override
    public void softmaxCrossEntropyForward(int n, int classes, Ptr logits, Ptr labels, double smoothing, Ptr loss, Ptr probs) {
        String op = "softmaxCrossEntropyForward";
        Checks.softmaxCrossEntropyForward(n, classes, logits, labels, smoothing, loss, probs);
        Checks.floating(op, logits, loss, probs);
        SoftmaxCrossEntropyKernel u = softmaxCrossEntropy.take();
        if (u != null) {
            u.forward(n, classes, logits, labels, smoothing, loss, probs);
            return;
        }
        if (logits.dtype() == DType.FLOAT32) {
            CpuLoss.forward(n, classes, f(logits), logits.offset(), i32(labels), labels.offset(), smoothing, f(loss), loss.offset(),
                    f(probs), probs.offset());
            return;
        }
        double[] z = wide(logits, n * classes), l = wide(loss, n), p = wide(probs, n * classes);
        RefLoss.softmaxCrossEntropyForward(n, classes, z, wideOffset(logits), i32(labels), labels.offset(), smoothing,
                l, wideOffset(loss), p, wideOffset(probs));
        narrow(l, loss, n);
        narrow(p, probs, n * classes);
    }

    @Override
    public void softmaxCrossEntropyBackward(int n, int classes, Ptr probs, Ptr labels, double smoothing, Ptr dLoss, Ptr dLogits) {
        String op = "softmaxCrossEntropyBackward";
        Checks.softmaxCrossEntropyBackward(n, classes, probs, labels, smoothing, dLoss, dLogits);
        Checks.floating(op, probs, dLoss, dLogits);
        SoftmaxCrossEntropyKernel u = softmaxCrossEntropy.take();
        if (u != null) {
            u.backward(n, classes, probs, labels, smoothing, dLoss, dLogits);
            return;
        }
        if (probs.dtype() == DType.FLOAT32) {
            CpuLoss.backward(n, classes, f(probs), probs.offset(), i32(labels), labels.offset(), smoothing, f(dLoss), dLoss.offset(),
                    f(dLogits), dLogits.offset());
            return;
        }
        double[] p = wide(probs, n * classes), dl = wide(dLoss, n), dz = wide(dLogits, n * classes);
        RefLoss.softmaxCrossEntropyBackward(n, classes, p, wideOffset(probs), i32(labels), labels.offset(), smoothing,
                dl, wideOffset(dLoss), dz, wideOffset(dLogits));
        narrow(dz, dLogits, n * classes);
    }

    @Override
    public void dropout(int n, double p, long seed, long counter, Ptr x, Ptr y) {
        need(x, n, "dropout: x");
        need(y, n, "dropout: y");
        int threshold = Philox.threshold(p);
        if (Checks.floating("dropout", x, y) == DType.FLOAT32) {
            float[] xa = f(x), ya = f(y);
            int xo = x.offset(), yo = y.offset();
            float scale = (float) (1.0 / (1.0 - p));
            // split over the mask's 64-bit words, so that no two threads write one
            int words = (n + 63) >>> 6;
            long[] mask = dropoutMasks.get(seed, counter, n, threshold);
            if (mask != null) {
                Parallel.forRange(words, 64, (w0, w1) -> CpuDropout.replay(mask, scale, xa, xo, ya, yo, w0 << 6, Math.min(n, w1 << 6)));
                return;
            }
            long[] record = dropoutMasks.recorder(n);
            Parallel.forRange(words, 64, (w0, w1) -> CpuDropout.apply(seed, counter, threshold, scale, xa, xo, ya, yo, w0 << 6, Math.min(n, w1 << 6), record));
            if (record != null) dropoutMasks.put(seed, counter, n, threshold, record);
        } else {
            RefRandom.dropout(n, p, seed, counter, d(x), x.offset(), d(y), y.offset());
        }
    }

    @Override
    public void embeddingForward(int n, int dim, int vocab, Ptr indices, Ptr table, Ptr out) {
        String op = "embeddingForward";
        Checks.embeddingForward(n, dim, vocab, indices, table, out);
        Checks.floating(op, table, out);
        EmbeddingKernel u = embedding.take();
        if (u != null) {
            u.forward(n, dim, vocab, indices, table, out);
            return;
        }
        if (table.dtype() == DType.FLOAT32 && out.dtype() == DType.FLOAT32) {
            // a row copy, the reference's values exactly (no widening); every index checked before out is touched
            int[] ix = i32(indices);
            int io = indices.offset(), to = table.offset(), oo = out.offset();
            for (int i = 0; i < n; i++) Checks.embeddingIndex(ix[io + i], i, vocab);
            float[] t = f(table), o = f(out);
            for (int i = 0; i < n; i++) System.arraycopy(t, to + ix[io + i] * dim, o, oo + i * dim, dim);
            return;
        }
        double[] t = wide(table, vocab * dim), o = wide(out, n * dim);
        RefEmbedding.forward(n, dim, vocab, i32(indices), indices.offset(), t, wideOffset(table), o, wideOffset(out));
        narrow(o, out, n * dim);
    }

    @Override
    public void embeddingBackward(int n, int dim, int vocab, Ptr indices, Ptr dOut, Ptr dTable) {
        String op = "embeddingBackward";
        Checks.embeddingBackward(n, dim, vocab, indices, dOut, dTable);
        Checks.floating(op, dOut, dTable);
        EmbeddingKernel u = embedding.take();
        if (u != null) {
            u.backward(n, dim, vocab, indices, dOut, dTable);
            return;
        }
        double[] t = wide(dTable, vocab * dim);
        if (dOut.dtype() == DType.FLOAT32) {
            // the reference's sums in its order, in double, reading dOut's floats in place (no widened copy of dOut)
            int[] ix = i32(indices);
            int io = indices.offset(), go = dOut.offset(), to = wideOffset(dTable);
            for (int i = 0; i < n; i++) Checks.embeddingIndex(ix[io + i], i, vocab);
            float[] g = f(dOut);
            for (int i = 0; i < n; i++) {
                int tr = to + ix[io + i] * dim, gr = go + i * dim;
                for (int j = 0; j < dim; j++) t[tr + j] += g[gr + j];
            }
        } else {
            RefEmbedding.backward(n, dim, vocab, i32(indices), indices.offset(), d(dOut), dOut.offset(), t, wideOffset(dTable));
        }
        narrow(t, dTable, vocab * dim);
    }

    @Override
    public void lstmCellForward(int n, int hidden, Ptr gates, Ptr cPrev, Ptr act, Ptr h, Ptr c) {
        String op = "lstmCellForward";
        Checks.lstmCellForward(n, hidden, gates, cPrev, act, h, c);
        int nh = n * hidden;
        if (Checks.floating(op, gates, cPrev, act, h, c) == DType.FLOAT32) {
            float[] ga = f(gates), ca = f(cPrev), aa = f(act), ha = f(h), cc = f(c);
            int go = gates.offset(), cpo = cPrev.offset(), ao = act.offset(), ho = h.offset(), co = c.offset();
            Parallel.forRange(n, Math.max(1, CELL_GRAIN / hidden), (b0, b1) -> CpuLstm.cellForward(b1 - b0, hidden, ga,
                    go + b0 * 4 * hidden, null, aa, ao + b0 * 4 * hidden, ca, cpo + b0 * hidden, ha, ho + b0 * hidden, cc, co + b0 * hidden));
            return;
        }
        double[] gw = wide(gates, 4 * nh), cp = wide(cPrev, nh), aw = wide(act, 4 * nh), hw = wide(h, nh), cw = wide(c, nh);
        RefLstm.forward(n, hidden, gw, wideOffset(gates), cp, wideOffset(cPrev), aw, wideOffset(act), hw, wideOffset(h), cw, wideOffset(c));
        narrow(aw, act, 4 * nh);
        narrow(hw, h, nh);
        narrow(cw, c, nh);
    }

    @Override
    public void lstmCellBackward(int n, int hidden, Ptr act, Ptr cPrev, Ptr c, Ptr dh, Ptr dc, Ptr dGates, Ptr dcPrev) {
        String op = "lstmCellBackward";
        Checks.lstmCellBackward(n, hidden, act, cPrev, c, dh, dc, dGates, dcPrev);
        int nh = n * hidden;
        if (Checks.floating(op, act, cPrev, c, dh, dGates, dcPrev) == DType.FLOAT32) {
            float[] aa = f(act), ca = f(cPrev), cc = f(c), dha = f(dh), dca = dc == null ? null : f(dc), dga = f(dGates), dcpa = f(dcPrev);
            int ao = act.offset(), cpo = cPrev.offset(), co = c.offset(), dho = dh.offset(), dco = dc == null ? 0 : dc.offset();
            int dgo = dGates.offset(), dcpo = dcPrev.offset();
            Parallel.forRange(n, Math.max(1, CELL_GRAIN / hidden), (b0, b1) -> CpuLstm.cellBackward(b1 - b0, hidden, aa,
                    ao + b0 * 4 * hidden, ca, cpo + b0 * hidden, cc, co + b0 * hidden, dha, dho + b0 * hidden, null, 0, dca,
                    dco + b0 * hidden, dga, dgo + b0 * 4 * hidden, dcpa, dcpo + b0 * hidden));
            return;
        }
        double[] aw = wide(act, 4 * nh), cp = wide(cPrev, nh), cw = wide(c, nh), dhw = wide(dh, nh);
        double[] dcw = dc == null ? null : wide(dc, nh), dg = wide(dGates, 4 * nh), dcp = wide(dcPrev, nh);
        RefLstm.backward(n, hidden, aw, wideOffset(act), cp, wideOffset(cPrev), cw, wideOffset(c), dhw, wideOffset(dh),
                dcw, dc == null ? 0 : wideOffset(dc), dg, wideOffset(dGates), dcp, wideOffset(dcPrev));
        narrow(dg, dGates, 4 * nh);
        narrow(dcp, dcPrev, nh);
    }

    @Override
    public int lstmReserveSize(LstmGeometry g) {
        return lstm.user() != null ? lstm.user().reserveSize(g) : g.stepReserveSize();
    }

    /**
     * FLOAT32: {@link CpuLstm} (the input projection as one GEMM, then each chunk of batch rows through all steps on
     * its own thread, the recurrent GEMM and the cell fused per step); FLOAT64: {@link LstmSteps} over the reference.
     */
    @Override
    public void lstmSequenceForward(LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr bIh, Ptr bHh,
                                    Ptr y, Ptr hT, Ptr cT, Ptr reserve) {
        DType t = Checks.lstmSequenceForward("lstmSequenceForward", g, x, h0, c0, wIh, wHh, bIh, bHh, y, hT, cT, reserve, lstmReserveSize(g));
        LstmKernel u = lstm.take();
        if (u != null) u.sequenceForward(g, x, h0, c0, wIh, wHh, bIh, bHh, y, hT, cT, reserve);
        else if (t == DType.FLOAT32) lstmSequenceForward32(g, x, h0, c0, wIh, wHh, bIh, bHh, y, hT, cT, reserve);
        else LstmSteps.forward(this, g, x, h0, c0, wIh, wHh, bIh, bHh, y, hT, cT, reserve);
    }

    private void lstmSequenceForward32(LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr bIh, Ptr bHh,
                                       Ptr y, Ptr hT, Ptr cT, Ptr reserve) {
        int g4 = 4 * g.hidden(), nh = g.stateSize(), last = (g.t() - 1) * nh, cells = g.t() * g.n() * g4;
        float[] bias = null;
        if (bIh != null || bHh != null) {
            bias = new float[g4];
            for (int r = 0; r < g4; r++) bias[r] = (bIh == null ? 0f : f(bIh)[bIh.offset() + r]) + (bHh == null ? 0f : f(bHh)[bHh.offset() + r]);
        }
        try (Buffer wP = allocate(DType.FLOAT32, CpuLstm.packedSize(g));
             Buffer scratch = reserve == null ? allocate(DType.FLOAT32, g.stepReserveSize()) : null) {
            Ptr res = reserve != null ? reserve : scratch.ptr();
            float[] ra = f(res);
            CpuLstm.forward(g, f(x), x.offset(), h0 == null ? null : f(h0), h0 == null ? 0 : h0.offset(), c0 == null ? null : f(c0),
                    c0 == null ? 0 : c0.offset(), f(wIh), wIh.offset(), f(wHh), wHh.offset(), bias, f(y), y.offset(), ra, res.offset(),
                    f(wP.ptr()), CpuLstm.PARALLEL);
            System.arraycopy(f(y), y.offset() + last, f(hT), hT.offset(), nh);
            System.arraycopy(ra, res.offset() + cells + last, f(cT), cT.offset(), nh);
        }
    }

    @Override
    public void lstmSequenceBackward(LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr y, Ptr reserve,
                                     Ptr dy, Ptr dhT, Ptr dcT, Ptr dx, Ptr dh0, Ptr dc0, Ptr dwIh, Ptr dwHh, Ptr db) {
        DType t = Checks.lstmSequenceBackward("lstmSequenceBackward", g, x, h0, c0, wIh, wHh, y, reserve, lstmReserveSize(g), dy, dhT, dcT,
                dx, dh0, dc0, dwIh, dwHh, db);
        LstmKernel u = lstm.take();
        if (u != null) u.sequenceBackward(g, x, h0, c0, wIh, wHh, y, reserve, dy, dhT, dcT, dx, dh0, dc0, dwIh, dwHh, db);
        else if (t == DType.FLOAT32) lstmSequenceBackward32(g, x, h0, c0, wIh, wHh, y, reserve, dy, dhT, dcT, dx, dh0, dc0, dwIh, dwHh, db);
        else LstmSteps.backward(this, g, x, h0, c0, wIh, wHh, y, reserve, dy, dhT, dcT, dx, dh0, dc0, dwIh, dwHh, db);
    }

    private void lstmSequenceBackward32(LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr y, Ptr reserve,
                                        Ptr dy, Ptr dhT, Ptr dcT, Ptr dx, Ptr dh0, Ptr dc0, Ptr dwIh, Ptr dwHh, Ptr db) {
        try (Buffer dGates = allocate(DType.FLOAT32, g.t() * g.n() * 4 * g.hidden());
             Buffer dhRec = allocate(DType.FLOAT32, g.stateSize()); Buffer dc = allocate(DType.FLOAT32, g.stateSize());
             Buffer wP = allocate(DType.FLOAT32, CpuLstm.packedSize(g))) {
            CpuLstm.backward(g, f(x), x.offset(), orNull(h0), offset(h0), orNull(c0), offset(c0), f(wIh), wIh.offset(),
                    f(wHh), wHh.offset(), f(y), y.offset(), f(reserve), reserve.offset(), f(dy), dy.offset(),
                    orNull(dhT), offset(dhT), orNull(dcT), offset(dcT), orNull(dx), offset(dx), orNull(dh0), offset(dh0),
                    orNull(dc0), offset(dc0), f(dwIh), dwIh.offset(), f(dwHh), dwHh.offset(), f(db), db.offset(),
                    f(dGates.ptr()), f(dhRec.ptr()), f(dc.ptr()), f(wP.ptr()), CpuLstm.PARALLEL);
        }
    }

    /** The FLOAT32 array of an optional operand, or null. */
    private float[] orNull(Ptr p) {
        return p == null ? null : f(p);
    }

    private static int offset(Ptr p) {
        return p == null ? 0 : p.offset();
    }

    // ------------------------------------------------------------------------------------------------
    // Fused programs
    // ------------------------------------------------------------------------------------------------

    /**
     * Runs the kernel's {@link FusedKernel#runHost} over [0, n) on all cores, or that of the Java kernel chosen for
     * {@code fused.NAME} (NOTE [kernel-choices]).
     */
    @Override
    public void fused(FusedKernel kernel, int n, Ptr[] operands, double[] scalars) {
        FusedKernel chosen = fusedSlot(kernel.name()).take();
        FusedKernel run = chosen != null ? chosen : kernel;
        Object[] arrays = new Object[operands.length];
        int[] offsets = new int[operands.length];
        for (int j = 0; j < operands.length; j++) {
            need(operands[j], n, kernel.name() + ": operand " + j);
            arrays[j] = own(operands[j]).array();
            offsets[j] = operands[j].offset();
        }
        FusedKernel.HostOperands host = new FusedKernel.HostOperands() {
            @Override
            public float[] f32(int j) {
                if (arrays[j] instanceof float[] a) return a;
                throw new IllegalArgumentException(kernel.name() + ": operand " + j + " is " + operands[j].dtype() + ", not FLOAT32");
            }

            @Override
            public double[] f64(int j) {
                if (arrays[j] instanceof double[] a) return a;
                throw new IllegalArgumentException(kernel.name() + ": operand " + j + " is " + operands[j].dtype() + ", not FLOAT64");
            }

            @Override
            public int offset(int j) {
                return offsets[j];
            }
        };
        Parallel.forRange(n, 8192, (from, to) -> run.runHost(host, scalars, from, to));
    }

    /** The dispatch of fused kernel {@code name}: an override of {@code fused.NAME} if there is one. */
    private Slot<FusedKernel> fusedSlot(String name) {
        return fused.computeIfAbsent(name, k -> {
            for (KernelChoices.Choice c : choices.overrides()) {
                if (c.op().equals(KernelChoices.fusedOp(k)) && c.java() != null) return slot(c.op(), FusedKernel.class);
            }
            return new Slot<>(null, calls.counter(KernelChoices.fusedOp(k) + "=host"));
        });
    }

    @Override
    public String toString() {
        return name();
    }
}
