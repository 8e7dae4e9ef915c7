package optlab.experiments.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import optlab.kernels.Backend;
import optlab.kernels.BinaryOp;
import optlab.kernels.Buffer;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.FusedKernel;
import optlab.kernels.KernelCalls;
import optlab.kernels.KernelChoices;
import optlab.kernels.LstmGeometry;
import optlab.kernels.MemoryStats;
import optlab.kernels.Pool2dGeometry;
import optlab.kernels.Ptr;
import optlab.kernels.RandomDistribution;
import optlab.kernels.ReduceOp;
import optlab.kernels.UnaryOp;

/**
 * A timing decorator of a {@link Backend} ({@code bin/bench --profile}, {@link StepProfiler}): every primitive is
 * passed to the wrapped backend and its wall time (after a {@link Backend#synchronize()}, so a GPU's too) added to
 * its op family under the current {@link Phase}. Buffers it allocates are wrappers whose {@link Buffer#backend()}
 * is this decorator, so every operation on a tensor made while it is installed ({@code Backends.install}) comes
 * back through it; it unwraps them before the wrapped backend sees them. Allocations and frees are families of
 * their own ({@code allocate}, {@code free}).
 *
 * <p>Nothing of this is on the path when it is not installed: a training run never sees it (the cost of profiling
 * is one wrapper per buffer, one {@link Ptr} per operand and two clock reads per call, all of it counted in the
 * step's "other" time, never in a family's). Calls that a kernel makes inside the wrapped backend (the LSTM's
 * GEMMs, say) are part of their caller's family.
 */
final class ProfilingBackend implements Backend {
    /** The part of a training step a call belongs to; the step's driver says when each starts. */
    enum Phase {
        /** The forward pass, the loss and reading it back. */
        FORWARD,
        /** Zeroing the gradients and the backward walk. */
        BACKWARD,
        /** The optimizer's step. */
        UPDATE,
        /** Closing the step's scope: its temporaries are freed. */
        CLEANUP;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Calls and nanoseconds of one family in one phase. */
    static final class Tally {
        long calls;
        long nanos;
    }

    private final Backend inner;
    private final String[] unaryFamily = new String[UnaryOp.values().length];
    private final String[] binaryFamily = new String[BinaryOp.values().length];
    private final String[] reduceFamily = new String[ReduceOp.values().length];
    /** Per phase, per family (in order of first call). Guarded by this. */
    private final Map<String, Tally>[] tallies;
    private final long[] phaseNanos = new long[Phase.values().length];
    private Phase phase = Phase.FORWARD;
    private long phaseStart = -1;

    @SuppressWarnings("unchecked")
    ProfilingBackend(Backend inner) {
        this.inner = inner;
        for (UnaryOp u : UnaryOp.values()) unaryFamily[u.ordinal()] = KernelChoices.unaryOp(u);
        for (BinaryOp b : BinaryOp.values()) binaryFamily[b.ordinal()] = KernelChoices.binaryOp(b);
        for (ReduceOp r : ReduceOp.values()) reduceFamily[r.ordinal()] = "reduce." + r.name().toLowerCase(Locale.ROOT);
        tallies = new Map[Phase.values().length];
        for (int i = 0; i < tallies.length; i++) tallies[i] = new LinkedHashMap<>();
    }

    Backend inner() {
        return inner;
    }

    // ------------------------------------------------------------------------------------------------
    // Phases and the tallies
    // ------------------------------------------------------------------------------------------------

    /** Starts {@code p} now, ending the running phase (its wall time counted) if the clock runs. */
    synchronized void phase(Phase p) {
        long now = System.nanoTime();
        if (phaseStart >= 0) phaseNanos[phase.ordinal()] += now - phaseStart;
        phase = p;
        phaseStart = now;
    }

    /** Ends the running phase and stops the phase clock (calls until the next {@link #phase} still count). */
    synchronized void stop() {
        if (phaseStart >= 0) phaseNanos[phase.ordinal()] += System.nanoTime() - phaseStart;
        phaseStart = -1;
    }

    /** Forgets every tally and phase time (after the warm-up steps). */
    synchronized void reset() {
        for (Map<String, Tally> m : tallies) m.clear();
        java.util.Arrays.fill(phaseNanos, 0);
    }

    /** Wall nanoseconds spent in {@code p} since the last reset. */
    synchronized long phaseNanos(Phase p) {
        return phaseNanos[p.ordinal()];
    }

    /** A copy of the tallies of {@code p}, family to (calls, nanoseconds), in order of first call. */
    synchronized Map<String, long[]> tallies(Phase p) {
        Map<String, long[]> out = new LinkedHashMap<>();
        tallies[p.ordinal()].forEach((k, t) -> out.put(k, new long[] {t.calls, t.nanos}));
        return out;
    }

    private synchronized void record(String family, long nanos) {
        Tally t = tallies[phase.ordinal()].computeIfAbsent(family, k -> new Tally());
        t.calls++;
        t.nanos += nanos;
    }

    private void time(String family, Runnable call) {
        long t0 = System.nanoTime();
        try {
            call.run();
            inner.synchronize();
        } finally {
            record(family, System.nanoTime() - t0);
        }
    }

    private <T> T time(String family, Supplier<T> call) {
        long t0 = System.nanoTime();
        try {
            T r = call.get();
            inner.synchronize();
            return r;
        } finally {
            record(family, System.nanoTime() - t0);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Wrapped buffers
    // ------------------------------------------------------------------------------------------------

    /** A buffer of the wrapped backend that reports this decorator as its backend; its close counts as "free". */
    private final class ProfiledBuffer implements Buffer {
        final Buffer buffer;

        ProfiledBuffer(Buffer buffer) {
            this.buffer = buffer;
        }

        @Override
        public DType dtype() {
            return buffer.dtype();
        }

        @Override
        public int length() {
            return buffer.length();
        }

        @Override
        public Backend backend() {
            return ProfilingBackend.this;
        }

        @Override
        public boolean isClosed() {
            return buffer.isClosed();
        }

        @Override
        public void close() {
            if (buffer.isClosed()) return;
            time("free", buffer::close);
        }

        @Override
        public String toString() {
            return "profiled " + buffer;
        }
    }

    /** The wrapped backend's pointer for {@code p} (null stays null; a buffer made before installing passes as is). */
    private static Ptr in(Ptr p) {
        if (p != null && p.buffer() instanceof ProfilingBackend.ProfiledBuffer b) return new Ptr(b.buffer, p.offset());
        return p;
    }

    // ------------------------------------------------------------------------------------------------
    // The contract, passed through
    // ------------------------------------------------------------------------------------------------

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public Device device() {
        return inner.device();
    }

    @Override
    public KernelChoices kernels() {
        return inner.kernels();
    }

    @Override
    public KernelCalls kernelCalls() {
        return inner.kernelCalls();
    }

    @Override
    public Buffer allocate(DType dtype, int length) {
        return new ProfiledBuffer(time("allocate", () -> inner.allocate(dtype, length)));
    }

    @Override
    public MemoryStats memoryStats() {
        return inner.memoryStats();
    }

    @Override
    public void write(Ptr dst, float[] src, int srcOffset, int length) {
        time("host_transfer", () -> inner.write(in(dst), src, srcOffset, length));
    }

    @Override
    public void write(Ptr dst, double[] src, int srcOffset, int length) {
        time("host_transfer", () -> inner.write(in(dst), src, srcOffset, length));
    }

    @Override
    public void write(Ptr dst, int[] src, int srcOffset, int length) {
        time("host_transfer", () -> inner.write(in(dst), src, srcOffset, length));
    }

    @Override
    public void read(Ptr src, float[] dst, int dstOffset, int length) {
        time("host_transfer", () -> inner.read(in(src), dst, dstOffset, length));
    }

    @Override
    public void read(Ptr src, double[] dst, int dstOffset, int length) {
        time("host_transfer", () -> inner.read(in(src), dst, dstOffset, length));
    }

    @Override
    public void read(Ptr src, int[] dst, int dstOffset, int length) {
        time("host_transfer", () -> inner.read(in(src), dst, dstOffset, length));
    }

    @Override
    public void synchronize() {
        inner.synchronize();
    }

    @Override
    public void fill(Ptr dst, int n, double value) {
        time("fill", () -> inner.fill(in(dst), n, value));
    }

    @Override
    public void fillRandom(Ptr dst, int n, RandomDistribution dist, double a, double b, long seed, long counter) {
        time("fill_random", () -> inner.fillRandom(in(dst), n, dist, a, b, seed, counter));
    }

    @Override
    public void copy(int[] shape, Ptr dst, int[] dstStrides, Ptr src, int[] srcStrides) {
        time("copy", () -> inner.copy(shape, in(dst), dstStrides, in(src), srcStrides));
    }

    @Override
    public void unary(UnaryOp op, double alpha, int n, Ptr x, Ptr y) {
        time(unaryFamily[op.ordinal()], () -> inner.unary(op, alpha, n, in(x), in(y)));
    }

    @Override
    public void binary(BinaryOp op, int[] shape, Ptr out, int[] outStrides, Ptr a, int[] aStrides, Ptr b, int[] bStrides) {
        time(binaryFamily[op.ordinal()], () -> inner.binary(op, shape, in(out), outStrides, in(a), aStrides, in(b), bStrides));
    }

    @Override
    public void reduce(ReduceOp op, int outer, int size, int inner, Ptr x, Ptr y) {
        time(reduceFamily[op.ordinal()], () -> this.inner.reduce(op, outer, size, inner, in(x), in(y)));
    }

    @Override
    public void argmax(int outer, int size, int inner, Ptr x, Ptr indices) {
        time("argmax", () -> this.inner.argmax(outer, size, inner, in(x), in(indices)));
    }

    @Override
    public void log2Histogram(int n, Ptr x, int minExponent, int maxExponent, Ptr counts) {
        time("log2_histogram", () -> inner.log2Histogram(n, in(x), minExponent, maxExponent, in(counts)));
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, Ptr a, int lda, Ptr b, int ldb, double beta,
                     Ptr c, int ldc, int batch, int strideA, int strideB, int strideC) {
        time("gemm", () -> inner.gemm(transA, transB, m, n, k, alpha, in(a), lda, in(b), ldb, beta, in(c), ldc, batch, strideA, strideB,
                strideC));
    }

    @Override
    public void conv2dForward(Conv2dGeometry g, Ptr x, Ptr w, Ptr y) {
        time("conv2d.forward", () -> inner.conv2dForward(g, in(x), in(w), in(y)));
    }

    @Override
    public void conv2dBackwardData(Conv2dGeometry g, Ptr dy, Ptr w, Ptr dx) {
        time("conv2d.backward_data", () -> inner.conv2dBackwardData(g, in(dy), in(w), in(dx)));
    }

    @Override
    public void conv2dBackwardFilter(Conv2dGeometry g, Ptr x, Ptr dy, Ptr dw) {
        time("conv2d.backward_filter", () -> inner.conv2dBackwardFilter(g, in(x), in(dy), in(dw)));
    }

    @Override
    public void maxPool2dForward(Pool2dGeometry g, Ptr x, Ptr y) {
        time("pool2d.max_forward", () -> inner.maxPool2dForward(g, in(x), in(y)));
    }

    @Override
    public void maxPool2dBackward(Pool2dGeometry g, Ptr x, Ptr y, Ptr dy, Ptr dx) {
        time("pool2d.max_backward", () -> inner.maxPool2dBackward(g, in(x), in(y), in(dy), in(dx)));
    }

    @Override
    public void avgPool2dForward(Pool2dGeometry g, boolean countIncludePad, Ptr x, Ptr y) {
        time("pool2d.avg_forward", () -> inner.avgPool2dForward(g, countIncludePad, in(x), in(y)));
    }

    @Override
    public void avgPool2dBackward(Pool2dGeometry g, boolean countIncludePad, Ptr dy, Ptr dx) {
        time("pool2d.avg_backward", () -> inner.avgPool2dBackward(g, countIncludePad, in(dy), in(dx)));
    }

    /** "" for the plain batch norm, else the epilogue it fuses: "_relu", "_add", "_add_relu". */
    private static String epilogue(boolean add, boolean relu) {
        return (add ? "_add" : "") + (relu ? "_relu" : "");
    }

    @Override
    public void batchNormForwardTraining(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta, double eps, double momentum,
                                         Ptr runningMean, Ptr runningVar, Ptr y, Ptr saveMean, Ptr saveInvStd, Ptr z, boolean relu) {
        time("batchnorm.forward" + epilogue(z != null, relu), () -> inner.batchNormForwardTraining(n, c, hw, in(x), in(gamma), in(beta),
                eps, momentum, in(runningMean), in(runningVar), in(y), in(saveMean), in(saveInvStd), in(z), relu));
    }

    @Override
    public void batchNormForwardInference(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta, Ptr runningMean, Ptr runningVar, double eps,
                                          Ptr y, Ptr z, boolean relu) {
        time("batchnorm.forward_inference" + epilogue(z != null, relu), () -> inner.batchNormForwardInference(n, c, hw, in(x), in(gamma),
                in(beta), in(runningMean), in(runningVar), eps, in(y), in(z), relu));
    }

    @Override
    public void batchNormBackward(int n, int c, int hw, Ptr x, Ptr dy, Ptr gamma, Ptr saveMean, Ptr saveInvStd, Ptr dx, Ptr dgamma,
                                  Ptr dbeta, Ptr y, boolean relu, Ptr dz) {
        time("batchnorm.backward" + epilogue(dz != null, relu), () -> inner.batchNormBackward(n, c, hw, in(x), in(dy), in(gamma),
                in(saveMean), in(saveInvStd), in(dx), in(dgamma), in(dbeta), in(y), relu, in(dz)));
    }

    @Override
    public void softmaxCrossEntropyForward(int n, int classes, Ptr logits, Ptr labels, double smoothing, Ptr loss, Ptr probs) {
        time("softmax_cross_entropy.forward", () -> inner.softmaxCrossEntropyForward(n, classes, in(logits), in(labels), smoothing,
                in(loss), in(probs)));
    }

    @Override
    public void softmaxCrossEntropyBackward(int n, int classes, Ptr probs, Ptr labels, double smoothing, Ptr dLoss, Ptr dLogits) {
        time("softmax_cross_entropy.backward", () -> inner.softmaxCrossEntropyBackward(n, classes, in(probs), in(labels), smoothing,
                in(dLoss), in(dLogits)));
    }

    @Override
    public void dropout(int n, double p, long seed, long counter, Ptr x, Ptr y) {
        time("dropout", () -> inner.dropout(n, p, seed, counter, in(x), in(y)));
    }

    @Override
    public void embeddingForward(int n, int dim, int vocab, Ptr indices, Ptr table, Ptr out) {
        time("embedding.forward", () -> inner.embeddingForward(n, dim, vocab, in(indices), in(table), in(out)));
    }

    @Override
    public void embeddingBackward(int n, int dim, int vocab, Ptr indices, Ptr dOut, Ptr dTable) {
        time("embedding.backward", () -> inner.embeddingBackward(n, dim, vocab, in(indices), in(dOut), in(dTable)));
    }

    @Override
    public void lstmCellForward(int n, int hidden, Ptr gates, Ptr cPrev, Ptr act, Ptr h, Ptr c) {
        time("lstm_cell.forward", () -> inner.lstmCellForward(n, hidden, in(gates), in(cPrev), in(act), in(h), in(c)));
    }

    @Override
    public void lstmCellBackward(int n, int hidden, Ptr act, Ptr cPrev, Ptr c, Ptr dh, Ptr dc, Ptr dGates, Ptr dcPrev) {
        time("lstm_cell.backward", () -> inner.lstmCellBackward(n, hidden, in(act), in(cPrev), in(c), in(dh), in(dc), in(dGates),
                in(dcPrev)));
    }

    @Override
    public int lstmReserveSize(LstmGeometry g) {
        return inner.lstmReserveSize(g);
    }

    @Override
    public void lstmSequenceForward(LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr bIh, Ptr bHh, Ptr y, Ptr hT, Ptr cT,
                                    Ptr reserve) {
        time("lstm.forward", () -> inner.lstmSequenceForward(g, in(x), in(h0), in(c0), in(wIh), in(wHh), in(bIh), in(bHh), in(y), in(hT),
                in(cT), in(reserve)));
    }

    @Override
    public void lstmSequenceBackward(LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr y, Ptr reserve, Ptr dy, Ptr dhT,
                                     Ptr dcT, Ptr dx, Ptr dh0, Ptr dc0, Ptr dwIh, Ptr dwHh, Ptr db) {
        time("lstm.backward", () -> inner.lstmSequenceBackward(g, in(x), in(h0), in(c0), in(wIh), in(wHh), in(y), in(reserve), in(dy),
                in(dhT), in(dcT), in(dx), in(dh0), in(dc0), in(dwIh), in(dwHh), in(db)));
    }

    @Override
    public void fused(FusedKernel kernel, int n, Ptr[] operands, double[] scalars) {
        Ptr[] unwrapped = new Ptr[operands.length];
        for (int i = 0; i < operands.length; i++) unwrapped[i] = in(operands[i]);
        time("fused." + kernel.name(), () -> inner.fused(kernel, n, unwrapped, scalars));
    }

    @Override
    public String toString() {
        return "profiled " + inner;
    }
}
