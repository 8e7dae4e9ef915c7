package optlab.kernels.cuda;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import jcuda.Pointer;
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
import optlab.kernels.Strides;
import optlab.kernels.UnaryOp;
import optlab.kernels.random.Philox;
import optlab.kernels.reference.RefBatchNorm;
import optlab.kernels.reference.RefEmbedding;
import optlab.kernels.reference.RefLoss;
import optlab.kernels.vendor.PoolKind;
import optlab.kernels.vendor.VendorContext;

/**
 * The CUDA backend: every primitive of the {@link Backend} contract as the engine's own kernels
 * ({@code src/main/cuda/*.cu}, compiled ahead of time, NOTE [fatbins]), on one device's primary context
 * and one stream (NOTE [one-stream]), with device memory from a caching allocator (NOTE [size-classes],
 * NOTE [oom]).
 *
 * <p>Dtypes: FLOAT32 everywhere. FLOAT64 is supported by fill, copy, random fills, unary, binary,
 * reduce, argmax, log2Histogram, dropout and gemm (a plain kernel), enough to move and inspect double tensors; the NN
 * primitives (convolution, pooling, batch norm, losses, embedding, LSTM) refuse it, naming the primitive:
 * the double-precision gradient checks run on the CPU backend's reference. INT32 holds labels and indices.
 *
 * <p>Kernel choices (every op family's variant, compiled user kernels, fused-kernel overrides) come from a
 * {@link KernelChoices} value this backend was opened with (NOTE [kernel-choices]), and every call is counted for
 * the variant that served it ({@link #kernelCalls()}); the vendor variants (cuBLAS, cuDNN) load on first use
 * and fail loudly with what was tried ({@link VendorLibraries}). A compiled user kernel gets the arguments
 * {@link KernelChoices#abi} gives for its family, after the same argument checks as the own kernels; its file is
 * loaded on first use, and one that the driver refuses throws naming the file and the driver's error. The engine's own kernels never depend
 * on them.
 *
 * <p>Host transfers are synchronous; everything else is queued on the stream and a failure surfaces at
 * the next transfer or {@link #synchronize()} (NOTE [debug-launches] for finding which kernel failed).
 * Index and label checks (softmax cross-entropy, embedding forward) read one int back after their kernel, and the
 * embedding backward reads its indices before its kernel (to group them), so those primitives synchronize.
 */
public final class CudaBackend implements Backend, VendorContext {
    private static final Map<Integer, CudaBackend> INSTANCES = new HashMap<>();
    /** The largest coalesced rank of a strided copy or binary op (Strided2/Strided3 in common.cuh). */
    static final int MAX_RANK = 8;

    final CudaDevice dev;
    final LaunchConfig launch;
    private final KernelChoices choices;
    private final KernelCalls calls;
    /** Each op's choice and its call counter, looked up once (NOTE [kernel-choices]). */
    private final Map<String, KernelChoices.Choice> choiceOf = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> callsOf = new ConcurrentHashMap<>();
    private final CudaBackend canonical;  // the instance buffers report as their backend
    private final CudaConv conv;

    private CudaBackend(CudaDevice dev, LaunchConfig launch, KernelChoices choices, KernelCalls calls, CudaBackend canonical) {
        choices.requireRunnableOn(KernelChoices.Target.CUDA);
        this.dev = dev;
        this.launch = launch;
        this.choices = choices;
        this.calls = calls == null ? new KernelCalls() : calls;
        this.canonical = canonical == null ? this : canonical;
        this.conv = new CudaConv(this);
        loadUserKernels();
    }

    /**
     * Loads every compiled user kernel of the choices and looks up each function its family needs
     * ({@link KernelChoices#compiledFunctions}), so that a file the driver refuses, or one that lacks a function, fails
     * here, when the backend is opened, naming the file, the function and the driver's error; not at the op's first call
     * in the middle of a run.
     */
    private void loadUserKernels() {
        for (KernelChoices.Choice c : choices.overrides()) {
            if (c.user() == null) continue;
            for (String f : KernelChoices.compiledFunctions(c.op(), c.user())) {
                try {
                    dev.function(c.user().module(), f);
                } catch (IllegalStateException e) {
                    throw new IllegalArgumentException(c.op() + "=" + c.variant() + ": " + e.getMessage(), e);
                }
            }
        }
    }

    /** The backend of device 0. */
    public static CudaBackend get() {
        return get(0);
    }

    /**
     * The backend of device {@code index}, created on first use. Throws {@link IllegalStateException}
     * listing every step tried ({@link Cuda#probe()}) when CUDA cannot be used.
     */
    public static synchronized CudaBackend get(int index) {
        CudaBackend b = INSTANCES.get(index);
        if (b == null) {
            Cuda.require();
            CudaDevice dev = new CudaDevice(index);
            b = new CudaBackend(dev, LaunchConfig.defaults(dev.info.multiprocessors()), KernelChoices.defaults(), null, null);
            INSTANCES.put(index, b);
        }
        return b;
    }

    /**
     * A view of this backend (same device, memory, stream, choices and call counts) that launches with
     * {@code config}.
     */
    public CudaBackend withLaunch(LaunchConfig config) {
        return new CudaBackend(dev, Objects.requireNonNull(config), choices, calls, canonical);
    }

    /**
     * This device's backend with {@code choices} (same memory and stream; its own call counts): what
     * {@link optlab.kernels.Backends#open} makes. Buffers it allocates report it as their backend, so tensors made
     * with it keep its choices. Refuses a choice CUDA cannot run (a Java kernel, a CPU variant).
     */
    public CudaBackend withChoices(KernelChoices choices) {
        if (choices.equals(this.choices)) return this;
        return new CudaBackend(dev, launch, choices, null, null);
    }

    @Override
    public KernelChoices kernels() {
        return choices;
    }

    @Override
    public KernelCalls kernelCalls() {
        return calls;
    }

    public LaunchConfig launchConfig() {
        return launch;
    }

    KernelChoices.Choice choice(String op) {
        return choiceOf.computeIfAbsent(op, o -> choices.choice(o, KernelChoices.Target.CUDA));
    }

    /** The choice for {@code op}, counting one call for it. */
    KernelChoices.Choice counted(String op) {
        KernelChoices.Choice c = choice(op);
        callsOf.computeIfAbsent(op, o -> calls.counter(c)).increment();
        return c;
    }

    /** The device's description (name, compute capability, memory, SMs). */
    public Cuda.DeviceInfo deviceInfo() {
        return dev.info;
    }

    @Override
    public String name() {
        return "cuda:" + dev.index + " (" + dev.info.name() + ", cc " + dev.info.computeCapability() + ")";
    }

    @Override
    public Device device() {
        return Device.cuda(dev.index);
    }

    @Override
    public String toString() {
        return name();
    }

    // ------------------------------------------------------------------------------------------------
    // Buffers, pointers, launches
    // ------------------------------------------------------------------------------------------------

    private CudaBuffer own(Ptr p) {
        if (!(p.buffer() instanceof CudaBuffer b) || b.device != dev) {
            throw new IllegalArgumentException(name() + " got a buffer of another backend: " + p.buffer());
        }
        return b;
    }

    /** The device address of {@code p} (NOTE [raw-pointers]); 0 for null. */
    // ------------------------------------------------------------------------------------------------
    // For the vendor bindings (VendorContext)
    // ------------------------------------------------------------------------------------------------

    @Override
    public int deviceIndex() {
        return dev.index;
    }

    @Override
    public void enterDevice() {
        dev.enter();
    }

    @Override
    public jcuda.driver.CUstream stream() {
        return dev.stream;
    }

    @Override
    public long streamAddress() {
        return dev.stream.address();
    }

    @Override
    public long address(Ptr p) {
        return addr(p);
    }

    @Override
    public void copyDeviceToDevice(long dst, long src, long bytes) {
        dev.copyDeviceToDevice(dst, src, bytes);
    }

    long addr(Ptr p) {
        if (p == null) return 0L;
        CudaBuffer b = own(p);
        return b.address() + (long) p.offset() * b.dtype().bytes();
    }

    /** FLOAT32 operands only: the NN primitives (see the class comment). */
    private static void float32(String op, Ptr... ptrs) {
        for (Ptr p : ptrs) {
            if (p != null && p.dtype() != DType.FLOAT32) {
                throw new IllegalArgumentException(op + ": the CUDA backend runs this primitive in FLOAT32 only, got "
                        + p.dtype() + " (FLOAT64 runs on the CPU backend's reference)");
            }
        }
    }

    private static void need(Ptr p, int n, String what) {
        p.require(n, what);
    }

    static String suffix(DType t) {
        return switch (t) {
            case FLOAT32 -> "f32";
            case FLOAT64 -> "f64";
            case INT32 -> "i32";
        };
    }

    /** Blocks for a 1-D grid-stride launch over {@code work} items. */
    int blocks(long work) {
        return blocksFor(work, launch.block());
    }

    /** A kernel to launch: one of the engine's own (module, function, the backend's block size) or a user's. */
    private record Kernel(String module, String function, int block) {}

    /**
     * The kernel that serves {@code choice}: for a compiled user kernel its function {@code PREFIX_suffix} (its one
     * function when {@code suffix} is null) with its block option (KernelChoices' ABIs), else the own
     * {@code module.function}.
     */
    private Kernel kernel(KernelChoices.Choice choice, String module, String function, String suffix) {
        KernelChoices.UserKernel u = choice.user();
        if (u == null) return new Kernel(module, function, launch.block());
        return new Kernel(u.module(), suffix == null ? u.function() : u.function(suffix), u.intOption("block", launch.block()));
    }

    /** A 1-D grid-stride launch over {@code work} items (nothing when work is 0). */
    void launch1d(String module, String function, long work, KernelArgs args) {
        launch1d(new Kernel(module, function, launch.block()), work, args);
    }

    private void launch1d(Kernel k, long work, KernelArgs args) {
        if (work <= 0) return;
        dev.launch(k.module(), k.function(), blocksFor(work, k.block()), 1, 1, k.block(), 0, args);
    }

    /** A block-per-item launch (grid-stride over items) with {@code bytesPerThread} of dynamic shared memory. */
    private void launchPerBlock(String module, String function, long items, int bytesPerThread, KernelArgs args) {
        launchPerBlock(new Kernel(module, function, launch.block()), items, bytesPerThread, args);
    }

    private void launchPerBlock(Kernel k, long items, int bytesPerThread, KernelArgs args) {
        if (items <= 0) return;
        int grid = (int) Math.max(1, Math.min(items, launch.maxBlocks()));
        dev.launch(k.module(), k.function(), grid, 1, 1, k.block(), k.block() * bytesPerThread, args);
    }

    // ------------------------------------------------------------------------------------------------
    // Memory and host transfers
    // ------------------------------------------------------------------------------------------------

    private static final boolean POISON = Boolean.getBoolean("optlab.poison");

    @Override
    public Buffer allocate(DType dtype, int length) {
        Objects.requireNonNull(dtype);
        if (length < 0) throw new IllegalArgumentException("allocate: length must be >= 0, got " + length);
        if (length == 0) {
            dev.allocator.acquireEmpty();
            return new CudaBuffer(canonical, dev, dtype, 0, null);
        }
        dev.enter();
        long bytes = (long) length * dtype.bytes();
        CudaAllocator.Block block = dev.allocator.acquire(bytes, dtype + "[" + length + "]");
        if (POISON) dev.poison(block.address(), bytes, dtype == DType.INT32);
        return new CudaBuffer(canonical, dev, dtype, length, block);
    }

    @Override
    public MemoryStats memoryStats() {
        return dev.allocator.stats();
    }

    /** Returns the allocator's cached blocks to the driver (synchronizes first). */
    public void emptyCache() {
        dev.enter();
        dev.allocator.emptyCache();
    }

    /** Bytes this device's allocator holds from the driver: live buffers plus its cache. */
    public long reservedBytes() {
        return dev.allocator.reservedBytes();
    }

    @Override
    public void write(Ptr dst, float[] src, int srcOffset, int length) {
        Checks.dtype("write", dst, DType.FLOAT32);
        need(dst, length, "write");
        Objects.checkFromIndexSize(srcOffset, length, src.length);
        float[] a = srcOffset == 0 ? src : Arrays.copyOfRange(src, srcOffset, srcOffset + length);
        dev.copyToDevice(addr(dst), Pointer.to(a), (long) length * 4);
    }

    @Override
    public void write(Ptr dst, double[] src, int srcOffset, int length) {
        Checks.dtype("write", dst, DType.FLOAT64);
        need(dst, length, "write");
        Objects.checkFromIndexSize(srcOffset, length, src.length);
        double[] a = srcOffset == 0 ? src : Arrays.copyOfRange(src, srcOffset, srcOffset + length);
        dev.copyToDevice(addr(dst), Pointer.to(a), (long) length * 8);
    }

    @Override
    public void write(Ptr dst, int[] src, int srcOffset, int length) {
        Checks.dtype("write", dst, DType.INT32);
        need(dst, length, "write");
        Objects.checkFromIndexSize(srcOffset, length, src.length);
        int[] a = srcOffset == 0 ? src : Arrays.copyOfRange(src, srcOffset, srcOffset + length);
        dev.copyToDevice(addr(dst), Pointer.to(a), (long) length * 4);
    }

    @Override
    public void read(Ptr src, float[] dst, int dstOffset, int length) {
        need(src, length, "read");
        Objects.checkFromIndexSize(dstOffset, length, dst.length);
        switch (src.dtype()) {
            case FLOAT32 -> {
                float[] a = dstOffset == 0 ? dst : new float[length];
                dev.copyToHost(Pointer.to(a), addr(src), (long) length * 4, "read");
                if (a != dst) System.arraycopy(a, 0, dst, dstOffset, length);
            }
            case FLOAT64 -> {
                double[] a = new double[length];
                dev.copyToHost(Pointer.to(a), addr(src), (long) length * 8, "read");
                for (int i = 0; i < length; i++) dst[dstOffset + i] = (float) a[i];
            }
            case INT32 -> {
                int[] a = new int[length];
                dev.copyToHost(Pointer.to(a), addr(src), (long) length * 4, "read");
                for (int i = 0; i < length; i++) dst[dstOffset + i] = a[i];
            }
        }
    }

    @Override
    public void read(Ptr src, double[] dst, int dstOffset, int length) {
        need(src, length, "read");
        Objects.checkFromIndexSize(dstOffset, length, dst.length);
        switch (src.dtype()) {
            case FLOAT64 -> {
                double[] a = dstOffset == 0 ? dst : new double[length];
                dev.copyToHost(Pointer.to(a), addr(src), (long) length * 8, "read");
                if (a != dst) System.arraycopy(a, 0, dst, dstOffset, length);
            }
            case FLOAT32 -> {
                float[] a = new float[length];
                dev.copyToHost(Pointer.to(a), addr(src), (long) length * 4, "read");
                for (int i = 0; i < length; i++) dst[dstOffset + i] = a[i];
            }
            case INT32 -> {
                int[] a = new int[length];
                dev.copyToHost(Pointer.to(a), addr(src), (long) length * 4, "read");
                for (int i = 0; i < length; i++) dst[dstOffset + i] = a[i];
            }
        }
    }

    @Override
    public void read(Ptr src, int[] dst, int dstOffset, int length) {
        Checks.dtype("read", src, DType.INT32);
        need(src, length, "read");
        Objects.checkFromIndexSize(dstOffset, length, dst.length);
        int[] a = dstOffset == 0 ? dst : new int[length];
        dev.copyToHost(Pointer.to(a), addr(src), (long) length * 4, "read");
        if (a != dst) System.arraycopy(a, 0, dst, dstOffset, length);
    }

    @Override
    public void synchronize() {
        dev.synchronize("synchronize");
    }

    // ------------------------------------------------------------------------------------------------
    // Lab hooks for benchmarks (GpuBenchmark): timing on this backend's stream, and the copy ceiling
    // ------------------------------------------------------------------------------------------------

    /**
     * Mean milliseconds per run of {@code work} (which queues work on this backend), over {@code iterations}
     * runs after {@code warmup} runs, measured with CUDA events on the backend's stream.
     */
    public double timeMillis(Runnable work, int warmup, int iterations) {
        return dev.timeMillis(work, warmup, iterations);
    }

    /**
     * dst[0:n] = src[0:n] with the driver's cuMemcpyDtoDAsync on the stream (same dtype): the bandwidth
     * ceiling that the copy and fused kernels are measured against.
     */
    public void copyDeviceToDevice(Ptr dst, Ptr src, int n) {
        if (dst.dtype() != src.dtype()) throw new IllegalArgumentException("copyDeviceToDevice: " + dst.dtype() + " != " + src.dtype());
        need(dst, n, "copyDeviceToDevice: dst");
        need(src, n, "copyDeviceToDevice: src");
        dev.copyDeviceToDevice(addr(dst), addr(src), (long) n * dst.dtype().bytes());
    }

    // ------------------------------------------------------------------------------------------------
    // Fill, random, copy
    // ------------------------------------------------------------------------------------------------

    @Override
    public void fill(Ptr dst, int n, double value) {
        need(dst, n, "fill");
        KernelArgs a = new KernelArgs().p(addr(dst)).i(n);
        switch (dst.dtype()) {
            case FLOAT32 -> a.f((float) value);
            case FLOAT64 -> a.d(value);
            case INT32 -> {
                if (value != (int) value) throw new IllegalArgumentException("fill: " + value + " is not an INT32 value");
                a.i((int) value);
            }
        }
        launch1d("elementwise", "fill_" + suffix(dst.dtype()), n, a);
    }

    @Override
    public void fillRandom(Ptr dst, int n, RandomDistribution dist, double a, double b, long seed, long counter) {
        Checks.fillRandom(dst, n, dist, a, b);
        DType t = Checks.floating("fillRandom", dst);
        int code = switch (dist) {
            case UNIFORM -> 0;
            case NORMAL -> 1;
            case TRUNCATED_NORMAL -> 2;
        };
        launch1d("random", "fill_random_" + suffix(t), n,
                new KernelArgs().i(n).p(addr(dst)).i(code).d(a).d(b).l(seed).l(counter));
    }

    @Override
    public void copy(int[] shape, Ptr dst, int[] dstStrides, Ptr src, int[] srcStrides) {
        Checks.copy(shape, dst, dstStrides, src, srcStrides);
        int[][] c = Strides.coalesce(shape, dstStrides, srcStrides);
        int n = Strides.numel(c[0]);
        if (n == 0) return;
        launch1d("elementwise", "copy_" + suffix(dst.dtype()) + "_" + suffix(src.dtype()), n,
                new KernelArgs().i(n).p(addr(dst)).p(addr(src)).struct(strided("copy", c)));
    }

    /**
     * Packs a coalesced iteration ({@code {shape, strides_0, strides_1, ...}}) as the struct Strided2 or
     * Strided3 of common.cuh: rank, then each array padded to {@link #MAX_RANK}.
     */
    static int[] strided(String op, int[][] coalesced) {
        int rank = coalesced[0].length;
        if (rank > MAX_RANK) {
            throw new IllegalArgumentException(op + ": " + rank + " dimensions remain after coalescing " + Arrays.toString(coalesced[0])
                    + "; the CUDA kernels take at most " + MAX_RANK);
        }
        int[] words = new int[1 + MAX_RANK * coalesced.length];
        words[0] = rank;
        for (int j = 0; j < coalesced.length; j++) System.arraycopy(coalesced[j], 0, words, 1 + j * MAX_RANK, rank);
        return words;
    }

    // ------------------------------------------------------------------------------------------------
    // Elementwise and reductions
    // ------------------------------------------------------------------------------------------------

    /** The op codes of elementwise.cu (an exhaustive switch: a new UnaryOp does not compile until it has one). */
    static int unaryCode(UnaryOp op) {
        return switch (op) {
            case NEG -> 0;
            case EXP -> 1;
            case LOG -> 2;
            case SQRT -> 3;
            case ABS -> 4;
            case SQUARE -> 5;
            case RECIPROCAL -> 6;
            case RELU -> 7;
            case TANH -> 8;
            case SIGMOID -> 9;
            case ADD_SCALAR -> 10;
            case MUL_SCALAR -> 11;
            case RSUB_SCALAR -> 12;
            case POW_SCALAR -> 13;
        };
    }

    static int binaryCode(BinaryOp op) {
        return switch (op) {
            case ADD -> 0;
            case SUB -> 1;
            case MUL -> 2;
            case DIV -> 3;
            case MAX -> 4;
            case MIN -> 5;
            case RELU_BACKWARD -> 6;
            case TANH_BACKWARD -> 7;
            case SIGMOID_BACKWARD -> 8;
        };
    }

    static int reduceCode(ReduceOp op) {
        return switch (op) {
            case SUM -> 0;
            case MEAN -> 1;
            case MAX -> 2;
        };
    }

    @Override
    public void unary(UnaryOp op, double alpha, int n, Ptr x, Ptr y) {
        need(x, n, "unary " + op + ": x");
        need(y, n, "unary " + op + ": y");
        DType t = Checks.floating("unary " + op, x, y);
        KernelChoices.Choice c = counted(KernelChoices.unaryOp(op));
        if (c.isUser()) {
            float32("unary " + op + " (user kernel " + c.user().function() + ")", x, y);
            if (n == 0) return;
            int block = c.user().intOption("block", launch.block());
            dev.launch(c.user().module(), c.user().function(), blocksFor(n, block), 1, 1, block, 0,
                    new KernelArgs().i(n).p(addr(x)).p(addr(y)).d(alpha));
            return;
        }
        launch1d("elementwise", "unary_" + suffix(t), n, new KernelArgs().i(unaryCode(op)).i(n).p(addr(x)).p(addr(y)).d(alpha));
    }

    private int blocksFor(long work, int block) {
        return (int) Math.max(1, Math.min((work + block - 1) / block, launch.maxBlocks()));
    }

    @Override
    public void binary(BinaryOp op, int[] shape, Ptr out, int[] os, Ptr a, int[] as, Ptr b, int[] bs) {
        String what = "binary " + op;
        Checks.binary(op, shape, out, os, a, as, b, bs);
        DType t = Checks.floating(what, out, a, b);
        KernelChoices.Choice choice = counted(KernelChoices.binaryOp(op));
        if (choice.user() != null) float32(what + " (user kernel " + choice.user().function() + ")", out, a, b);
        int[][] c = Strides.coalesce(shape, os, as, bs);
        int n = Strides.numel(c[0]);
        if (n == 0) return;
        launch1d(kernel(choice, "elementwise", "binary_" + suffix(t), null), n,
                new KernelArgs().i(binaryCode(op)).i(n).p(addr(out)).p(addr(a)).p(addr(b)).struct(strided(what, c)));
    }

    /** Whether reduce/argmax use the block-per-output kernel (see reduce.cu). */
    private boolean reduceByRows(int outer, int inner) {
        return switch (launch.reduce()) {
            case ROWS -> true;
            case COLS -> false;
            case AUTO -> inner == 1 || (long) outer * inner <= 4L * dev.info.multiprocessors();
        };
    }

    @Override
    public void reduce(ReduceOp op, int outer, int size, int inner, Ptr x, Ptr y) {
        Checks.positive("reduce", "outer", outer, "size", size, "inner", inner);
        need(x, outer * size * inner, "reduce: x");
        need(y, outer * inner, "reduce: y");
        DType t = Checks.floating("reduce", x, y);
        KernelArgs a = new KernelArgs().i(reduceCode(op)).i(outer).i(size).i(inner).p(addr(x)).p(addr(y));
        if (reduceByRows(outer, inner)) launchPerBlock("reduce", "reduce_rows_" + suffix(t), (long) outer * inner, 8, a);
        else launch1d("reduce", "reduce_cols_" + suffix(t), (long) outer * inner, a);
    }

    @Override
    public void argmax(int outer, int size, int inner, Ptr x, Ptr indices) {
        Checks.positive("argmax", "outer", outer, "size", size, "inner", inner);
        need(x, outer * size * inner, "argmax: x");
        need(indices, outer * inner, "argmax: indices");
        DType t = Checks.floating("argmax", x);
        Checks.dtype("argmax", indices, DType.INT32);
        KernelArgs a = new KernelArgs().i(outer).i(size).i(inner).p(addr(x)).p(addr(indices));
        if (reduceByRows(outer, inner)) launchPerBlock("reduce", "argmax_rows_" + suffix(t), (long) outer * inner, t.bytes() + 4, a);
        else launch1d("reduce", "argmax_cols_" + suffix(t), (long) outer * inner, a);
    }

    /** Bytes of dynamic shared memory a block may take without opting in: the limit of log2Histogram's per-block counts. */
    static final int MAX_SHARED_BYTES = 48 * 1024;

    /** histogram.cu: per-block counts in shared memory, one global atomicAdd per nonzero slot and block. */
    @Override
    public void log2Histogram(int n, Ptr x, int minExponent, int maxExponent, Ptr counts) {
        int slots = Checks.log2Histogram(n, x, minExponent, maxExponent, counts);
        long shared = (long) slots * 4;
        if (shared > MAX_SHARED_BYTES) { // unreachable within Checks' range (at most 2202 slots): a guard for the kernel
            throw new IllegalArgumentException("log2Histogram: " + slots + " slots need " + shared + " bytes of shared memory per block, more than "
                    + MAX_SHARED_BYTES);
        }
        if (n == 0) return;
        dev.launch("histogram", "log2_histogram_" + suffix(x.dtype()), blocks(n), 1, 1, launch.block(), (int) shared,
                new KernelArgs().i(n).p(addr(x)).i(minExponent).i(maxExponent).p(addr(counts)));
    }

    // ------------------------------------------------------------------------------------------------
    // GEMM
    // ------------------------------------------------------------------------------------------------

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, Ptr a, int lda, Ptr b, int ldb,
                     double beta, Ptr c, int ldc, int batch, int strideA, int strideB, int strideC) {
        Checks.gemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, batch, strideA, strideB, strideC);
        DType t = Checks.floating("gemm", a, b, c);
        if (m == 0 || n == 0) return;
        if (t == DType.FLOAT64) {
            long work = (long) m * n * batch;
            launch1d("gemm", "gemm_naive_f64", work, new KernelArgs().i(transA ? 1 : 0).i(transB ? 1 : 0).i(m).i(n).i(k).d(alpha)
                    .p(addr(a)).i(lda).l(strideA).p(addr(b)).i(ldb).l(strideB).d(beta).p(addr(c)).i(ldc).l(strideC).i(batch));
            return;
        }
        sgemm(transA, transB, m, n, k, (float) alpha, addr(a), lda, strideA, addr(b), ldb, strideB, (float) beta,
                addr(c), ldc, strideC, batch);
    }

    /**
     * FLOAT32 GEMM on raw device addresses, with the chosen variant (also used by the convolutions):
     * the contract's semantics, arguments already checked. Strides are in elements.
     */
    void sgemm(boolean ta, boolean tb, int m, int n, int k, float alpha, long a, int lda, long sa, long b, int ldb, long sb,
               float beta, long c, int ldc, long sc, int batch) {
        if (m == 0 || n == 0) return;
        KernelChoices.Choice choice = counted("gemm");
        KernelArgs args = new KernelArgs().i(ta ? 1 : 0).i(tb ? 1 : 0).i(m).i(n).i(k).f(alpha)
                .p(a).i(lda).l(sa).p(b).i(ldb).l(sb).f(beta).p(c).i(ldc).l(sc).i(batch);
        switch (choice.variant()) {
            case "own_naive" -> launch1d("gemm", "gemm_naive_f32", (long) m * n * batch, args);
            case "own_tiled_fp32", "own_tiled_fp32_v2" -> {
                // 128x128 tiles when they fill the GPU at least once, else 64x64 tiles (more blocks); or as forced
                long big = (long) ceil(m, 128) * ceil(n, 128) * batch;
                boolean large = switch (launch.gemmTiles()) {
                    case LARGE -> true;
                    case SMALL -> false;
                    case AUTO -> big >= dev.info.multiprocessors();
                };
                if (!large) tiled("gemm_tiled64_f32", 64, 64, 256, m, n, batch, args);
                else if (choice.variant().equals("own_tiled_fp32")) tiled("gemm_tiled128_f32", 128, 128, 256, m, n, batch, args);
                else tiled(tiled128v2(ta, tb, beta), 128, 128, 256, m, n, batch, args);
            }
            case "own_tf32" -> tiled("gemm_tf32_f32", 64, 64, 128, m, n, batch, args);
            case "cublas", "cublas_tf32" -> VendorLibraries.cublas().sgemm(this, choice.variant().equals("cublas_tf32"),
                    ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
            case "user" -> {
                KernelChoices.UserKernel u = choice.user();
                if (u.options().containsKey("tileM")) {
                    int block = u.intOption("block", 256);
                    int gx = ceil(n, u.intOption("tileN", 1)), gy = ceil(m, u.intOption("tileM", 1));
                    dev.launch(u.module(), u.function(), gx, Math.min(gy, 65535), Math.min(batch, 65535), block, 0, args);
                } else {
                    int block = u.intOption("block", launch.block());
                    dev.launch(u.module(), u.function(), blocksFor((long) m * n * batch, block), 1, 1, block, 0, args);
                }
            }
            default -> throw new IllegalStateException("gemm: the kernel choices chose '" + choice.variant()
                    + "', which this CUDA backend does not know");
        }
    }

    /**
     * gemm.cu's two-blocks-per-SM 128x128 kernel for a transpose case and beta (one kernel each, so that none
     * branches on them: gemm_tiled128v2_{nn,nt,tn,tt}[_beta0]_f32).
     */
    static String tiled128v2(boolean ta, boolean tb, float beta) {
        return "gemm_tiled128v2_" + (ta ? "t" : "n") + (tb ? "t" : "n") + (beta == 0 ? "_beta0" : "") + "_f32";
    }

    /** Launches a tiled GEMM kernel: x over n-tiles, y over m-tiles, z over batches (each grid-stride). */
    private void tiled(String function, int bm, int bn, int threads, int m, int n, int batch, KernelArgs args) {
        int gx = ceil(n, bn), gy = Math.min(ceil(m, bm), 65535), gz = Math.min(batch, 65535);
        if (launch.gemmGrid() > 0) {
            gx = Math.min(gx, launch.gemmGrid());
            gy = Math.min(gy, launch.gemmGrid());
            gz = Math.min(gz, launch.gemmGrid());
        }
        dev.launch("gemm", function, gx, gy, gz, threads, 0, args);
    }

    static int ceil(long a, long b) {
        return (int) ((a + b - 1) / b);
    }

    // ------------------------------------------------------------------------------------------------
    // Convolution and pooling
    // ------------------------------------------------------------------------------------------------

    private static void convSizes(Conv2dGeometry g, Ptr x, Ptr w, Ptr y, String op) {
        Checks.conv2d(op, g, x, w, y);
        float32(op, x, w, y);
    }

    /**
     * Runs the user's conv2d function PREFIX_{@code suffix} with (geometry, in0, in1, out) over {@code work} outputs if
     * {@code c} is a compiled kernel (KernelChoices' ABI); false when it is a built-in variant.
     */
    private boolean userConv(KernelChoices.Choice c, Conv2dGeometry g, String suffix, long work, long in0, long in1, long out) {
        if (c.user() == null) return false;
        launch1d(kernel(c, null, null, suffix), work, new KernelArgs().struct(CudaConv.geometry(g)).p(in0).p(in1).p(out));
        return true;
    }

    @Override
    public void conv2dForward(Conv2dGeometry g, Ptr x, Ptr w, Ptr y) {
        convSizes(g, x, w, y, "conv2dForward");
        KernelChoices.Choice c = counted("conv2d");
        if (userConv(c, g, "forward", g.outputSize(), addr(x), addr(w), addr(y))) return;
        if (isCudnn(c)) VendorLibraries.cudnn("conv2d").convForward(this, g, addr(x), addr(w), addr(y));
        else conv.forward(g, addr(x), addr(w), addr(y));
    }

    @Override
    public void conv2dBackwardData(Conv2dGeometry g, Ptr dy, Ptr w, Ptr dx) {
        convSizes(g, dx, w, dy, "conv2dBackwardData");
        KernelChoices.Choice c = counted("conv2d");
        if (userConv(c, g, "backward_data", g.inputSize(), addr(dy), addr(w), addr(dx))) return;
        if (isCudnn(c)) VendorLibraries.cudnn("conv2d").convBackwardData(this, g, addr(dy), addr(w), addr(dx));
        else conv.backwardData(g, addr(dy), addr(w), addr(dx));
    }

    @Override
    public void conv2dBackwardFilter(Conv2dGeometry g, Ptr x, Ptr dy, Ptr dw) {
        convSizes(g, x, dw, dy, "conv2dBackwardFilter");
        KernelChoices.Choice c = counted("conv2d");
        if (userConv(c, g, "backward_filter", g.filterSize(), addr(x), addr(dy), addr(dw))) return;
        if (isCudnn(c)) VendorLibraries.cudnn("conv2d").convBackwardFilter(this, g, addr(x), addr(dy), addr(dw));
        else conv.backwardFilter(g, addr(x), addr(dy), addr(dw));
    }

    private static void poolSizes(Pool2dGeometry g, Ptr x, Ptr y, String op) {
        Checks.pool2d(op, g, x, y);
        float32(op, x, y);
    }

    /** Pool2dGeometry as the struct PoolGeom of pool.cu. */
    private static int[] poolGeometry(Pool2dGeometry g) {
        return new int[] {g.n(), g.c(), g.h(), g.w(), g.kh(), g.kw(), g.strideH(), g.strideW(), g.padH(), g.padW(), g.p(), g.q()};
    }

    private static boolean isCudnn(KernelChoices.Choice choice) {
        return choice.variant().equals("cudnn");
    }

    @Override
    public void maxPool2dForward(Pool2dGeometry g, Ptr x, Ptr y) {
        poolSizes(g, x, y, "maxPool2dForward");
        KernelChoices.Choice choice = counted("pool2d");
        if (isCudnn(choice)) {
            VendorLibraries.cudnn("pool2d").poolForward(this, g, PoolKind.MAX, addr(x), addr(y));
            return;
        }
        launch1d(kernel(choice, "pool", "maxpool_fwd_f32", "max_forward"), g.outputSize(), new KernelArgs().struct(poolGeometry(g)).p(addr(x)).p(addr(y)));
    }

    @Override
    public void maxPool2dBackward(Pool2dGeometry g, Ptr x, Ptr y, Ptr dy, Ptr dx) {
        poolSizes(g, x, y, "maxPool2dBackward");
        poolSizes(g, dx, dy, "maxPool2dBackward");
        KernelChoices.Choice choice = counted("pool2d");
        if (isCudnn(choice)) {
            VendorLibraries.cudnn("pool2d").poolBackward(this, g, PoolKind.MAX, addr(x), addr(y), addr(dy), addr(dx));
            return;
        }
        launch1d(kernel(choice, "pool", "maxpool_bwd_f32", "max_backward"), g.inputSize(),
                new KernelArgs().struct(poolGeometry(g)).p(addr(x)).p(addr(y)).p(addr(dy)).p(addr(dx)));
    }

    private static PoolKind average(boolean countIncludePad) {
        return countIncludePad ? PoolKind.AVG_INCLUDE_PAD : PoolKind.AVG_EXCLUDE_PAD;
    }

    @Override
    public void avgPool2dForward(Pool2dGeometry g, boolean countIncludePad, Ptr x, Ptr y) {
        poolSizes(g, x, y, "avgPool2dForward");
        KernelChoices.Choice choice = counted("pool2d");
        if (isCudnn(choice)) {
            VendorLibraries.cudnn("pool2d").poolForward(this, g, average(countIncludePad), addr(x), addr(y));
            return;
        }
        launch1d(kernel(choice, "pool", "avgpool_fwd_f32", "avg_forward"), g.outputSize(),
                new KernelArgs().struct(poolGeometry(g)).i(countIncludePad ? 1 : 0).p(addr(x)).p(addr(y)));
    }

    @Override
    public void avgPool2dBackward(Pool2dGeometry g, boolean countIncludePad, Ptr dy, Ptr dx) {
        poolSizes(g, dx, dy, "avgPool2dBackward");
        KernelChoices.Choice choice = counted("pool2d");
        if (isCudnn(choice)) {
            VendorLibraries.cudnn("pool2d").poolBackward(this, g, average(countIncludePad), 0, 0, addr(dy), addr(dx));
            return;
        }
        launch1d(kernel(choice, "pool", "avgpool_bwd_f32", "avg_backward"), g.inputSize(),
                new KernelArgs().struct(poolGeometry(g)).i(countIncludePad ? 1 : 0).p(addr(dy)).p(addr(dx)));
    }

    // ------------------------------------------------------------------------------------------------
    // Batch norm
    // ------------------------------------------------------------------------------------------------

    // The own kernels fuse the epilogue (NOTE [bn-epilogue]); cuDNN and a user's kernel, whose ABI is the plain batch
    // norm, run it as elementwise kernels around them (BatchNormEpilogue).

    @Override
    public void batchNormForwardTraining(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta, double eps, double momentum,
                                         Ptr rm, Ptr rv, Ptr y, Ptr sm, Ptr si, Ptr z, boolean relu) {
        String op = "batchNormForwardTraining";
        Checks.batchNormForwardTraining(n, c, hw, x, gamma, beta, rm, rv, y, sm, si, z);
        float32(op, x, gamma, beta, rm, rv, y, sm, si, z);
        Checks.batchNormCount(n, hw);
        KernelChoices.Choice choice = counted("batchnorm");
        if (isCudnn(choice)) {
            VendorLibraries.cudnn("batchnorm").bnForwardTraining(this, n, c, hw, addr(x), addr(gamma), addr(beta), eps, momentum, addr(rm),
                    addr(rv), addr(y), addr(sm), addr(si));
            BatchNormEpilogue.forward(this, n * c * hw, y, z, relu);
            return;
        }
        KernelArgs args = new KernelArgs().i(n).i(c).i(hw).p(addr(x)).p(addr(gamma)).p(addr(beta))
                .d(eps).d(momentum).p(addr(rm)).p(addr(rv)).p(addr(y)).p(addr(sm)).p(addr(si));
        if (!choice.isUser()) args.p(addr(z)).i(relu ? 1 : 0);
        launchPerBlock(kernel(choice, "batchnorm", "bn_fwd_train_f32", "forward_training"), c, 8, args);
        if (choice.isUser()) BatchNormEpilogue.forward(this, n * c * hw, y, z, relu);
    }

    @Override
    public void batchNormForwardInference(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta, Ptr rm, Ptr rv, double eps, Ptr y,
                                          Ptr z, boolean relu) {
        String op = "batchNormForwardInference";
        Checks.batchNormForwardInference(n, c, hw, x, gamma, beta, rm, rv, y, z);
        float32(op, x, gamma, beta, rm, rv, y, z);
        KernelChoices.Choice choice = counted("batchnorm");
        if (isCudnn(choice)) {
            VendorLibraries.cudnn("batchnorm").bnForwardInference(this, n, c, hw, addr(x), addr(gamma), addr(beta), addr(rm), addr(rv), eps,
                    addr(y));
            BatchNormEpilogue.forward(this, n * c * hw, y, z, relu);
            return;
        }
        KernelArgs args = new KernelArgs().i(n).i(c).i(hw).p(addr(x)).p(addr(gamma)).p(addr(beta)).p(addr(rm)).p(addr(rv)).d(eps)
                .p(addr(y));
        if (!choice.isUser()) args.p(addr(z)).i(relu ? 1 : 0);
        launch1d(kernel(choice, "batchnorm", "bn_fwd_infer_f32", "forward_inference"), (long) n * c * hw, args);
        if (choice.isUser()) BatchNormEpilogue.forward(this, n * c * hw, y, z, relu);
    }

    @Override
    public void batchNormBackward(int n, int c, int hw, Ptr x, Ptr dy, Ptr gamma, Ptr sm, Ptr si, Ptr dx, Ptr dgamma, Ptr dbeta,
                                  Ptr y, boolean relu, Ptr dz) {
        String op = "batchNormBackward";
        Checks.batchNormBackward(n, c, hw, x, dy, gamma, sm, si, dx, dgamma, dbeta, y, relu, dz);
        float32(op, x, dy, gamma, sm, si, dx, dgamma, dbeta, relu ? y : null, dz);
        KernelChoices.Choice choice = counted("batchnorm");
        if (!isCudnn(choice) && !choice.isUser()) {
            launchPerBlock(kernel(choice, "batchnorm", "bn_bwd_f32", "backward"), c, 8, new KernelArgs().i(n).i(c).i(hw).p(addr(x))
                    .p(addr(dy)).p(addr(gamma)).p(addr(sm)).p(addr(si)).p(addr(dx)).p(addr(dgamma)).p(addr(dbeta))
                    .p(relu ? addr(y) : 0L).i(relu ? 1 : 0).p(addr(dz)));
            return;
        }
        int size = n * c * hw;
        try (Buffer scratch = BatchNormEpilogue.needsScratch(relu, dz) ? allocate(DType.FLOAT32, size) : null) {
            Ptr g = BatchNormEpilogue.gradient(this, size, dy, y, relu, dz, scratch);
            if (isCudnn(choice)) {
                VendorLibraries.cudnn("batchnorm").bnBackward(this, n, c, hw, addr(x), addr(g), addr(gamma), addr(sm), addr(si), addr(dx),
                        addr(dgamma), addr(dbeta));
            } else {
                launchPerBlock(kernel(choice, "batchnorm", "bn_bwd_f32", "backward"), c, 8, new KernelArgs().i(n).i(c).i(hw).p(addr(x))
                        .p(addr(g)).p(addr(gamma)).p(addr(sm)).p(addr(si)).p(addr(dx)).p(addr(dgamma)).p(addr(dbeta)));
            }
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Losses, dropout, embedding, LSTM
    // ------------------------------------------------------------------------------------------------

    /** After a launch that checked labels or indices: throws naming the first bad value, as the reference does. */
    private void throwIfBadIndex(String op, Ptr indices, int bound, boolean labels) {
        int pos = dev.readFlag(op);
        if (pos == CudaDevice.NO_BAD_INDEX) return;
        int[] v = new int[1];
        read(indices.plus(pos), v, 0, 1);
        if (labels) Checks.label(v[0], pos, bound);
        else Checks.embeddingIndex(v[0], pos, bound);
        throw new IllegalStateException(op + ": the kernel flagged position " + pos + " but its value " + v[0] + " is valid");
    }

    @Override
    public void softmaxCrossEntropyForward(int n, int classes, Ptr logits, Ptr labels, double smoothing, Ptr loss, Ptr probs) {
        String op = "softmaxCrossEntropyForward";
        Checks.softmaxCrossEntropyForward(n, classes, logits, labels, smoothing, loss, probs);
        float32(op, logits, loss, probs);
        KernelChoices.Choice choice = counted("softmax_cross_entropy");
        long flag = dev.resetFlag();
        launchPerBlock(kernel(choice, "loss", "sce_fwd_f32", "forward"), n, 8, new KernelArgs().i(n).i(classes).p(addr(logits)).p(addr(labels)).d(smoothing)
                .p(addr(loss)).p(addr(probs)).p(flag));
        throwIfBadIndex(op, labels, classes, true);
    }

    @Override
    public void softmaxCrossEntropyBackward(int n, int classes, Ptr probs, Ptr labels, double smoothing, Ptr dLoss, Ptr dLogits) {
        String op = "softmaxCrossEntropyBackward";
        Checks.softmaxCrossEntropyBackward(n, classes, probs, labels, smoothing, dLoss, dLogits);
        float32(op, probs, dLoss, dLogits);
        KernelChoices.Choice choice = counted("softmax_cross_entropy");
        long flag = dev.resetFlag();
        launch1d(kernel(choice, "loss", "sce_bwd_f32", "backward"), (long) n * classes, new KernelArgs().i(n).i(classes).p(addr(probs)).p(addr(labels))
                .d(smoothing).p(addr(dLoss)).p(addr(dLogits)).p(flag));
        throwIfBadIndex(op, labels, classes, true);
    }

    @Override
    public void dropout(int n, double p, long seed, long counter, Ptr x, Ptr y) {
        need(x, n, "dropout: x");
        need(y, n, "dropout: y");
        int threshold = Philox.threshold(p);
        DType t = Checks.floating("dropout", x, y);
        KernelArgs a = new KernelArgs().i(n).i(threshold);
        if (t == DType.FLOAT32) a.f((float) (1.0 / (1.0 - p)));
        else a.d(1.0 / (1.0 - p));
        launch1d("random", "dropout_" + suffix(t), n, a.l(seed).l(counter).p(addr(x)).p(addr(y)));
    }

    @Override
    public void embeddingForward(int n, int dim, int vocab, Ptr indices, Ptr table, Ptr out) {
        String op = "embeddingForward";
        Checks.embeddingForward(n, dim, vocab, indices, table, out);
        float32(op, table, out);
        KernelChoices.Choice choice = counted("embedding");
        long flag = dev.resetFlag();
        launch1d(kernel(choice, "embedding", "embedding_fwd_f32", "forward"), (long) n * dim,
                new KernelArgs().i(n).i(dim).i(vocab).p(addr(indices)).p(addr(table)).p(addr(out)).p(flag));
        throwIfBadIndex(op, indices, vocab, false);
    }

    /**
     * Deterministic, and bitwise the CPU backend's: the indices are read to the host, checked (naming the first bad one
     * and its position, as the reference does), and grouped by {@link #groupByIndex}; then one thread per (group,
     * column) adds its group's dOut rows in increasing position, in double (embedding.cu's header).
     */
    @Override
    public void embeddingBackward(int n, int dim, int vocab, Ptr indices, Ptr dOut, Ptr dTable) {
        String op = "embeddingBackward";
        Checks.embeddingBackward(n, dim, vocab, indices, dOut, dTable);
        float32(op, dOut, dTable);
        KernelChoices.Choice choice = counted("embedding");
        if (n == 0) return;
        int[] idx = new int[n]; // checked even when dim is 0, as the reference does
        read(indices, idx, 0, n);
        int[] packed = groupByIndex(idx, vocab);
        int groups = (packed.length - n - 1) / 2;
        try (Buffer b = allocate(DType.INT32, packed.length)) {
            write(b.ptr(), packed, 0, packed.length);
            long base = addr(b.ptr());
            launch1d(kernel(choice, "embedding", "embedding_bwd_grouped_f32", "backward"), (long) groups * dim, new KernelArgs().i(groups).i(dim)
                    .p(base).p(base + 4L * n).p(base + 4L * (n + groups)).p(addr(dOut)).p(addr(dTable)));
        }
    }

    /**
     * The positions 0..n-1 grouped by their index, for embedding_bwd_grouped_f32, packed in one array:
     * {@code order} (n positions, grouped by index in increasing index, each group in increasing position), then
     * {@code rows} (the G distinct indices), then {@code starts} (G + 1 offsets into order). Throws, as
     * {@link Checks#embeddingIndex} does, at the first index outside [0, vocab).
     */
    static int[] groupByIndex(int[] idx, int vocab) {
        int n = idx.length;
        long[] keys = new long[n];
        for (int i = 0; i < n; i++) keys[i] = (long) Checks.embeddingIndex(idx[i], i, vocab) << 32 | i;
        Arrays.sort(keys); // distinct keys: the sort orders by index, then by position
        int groups = 0;
        for (int k = 0; k < n; k++) if (k == 0 || keys[k] >>> 32 != keys[k - 1] >>> 32) groups++;
        int[] packed = new int[n + 2 * groups + 1];
        int g = 0;
        for (int k = 0; k < n; k++) {
            packed[k] = (int) keys[k];
            if (k == 0 || keys[k] >>> 32 != keys[k - 1] >>> 32) {
                packed[n + g] = (int) (keys[k] >>> 32);
                packed[n + groups + g] = k;
                g++;
            }
        }
        packed[n + 2 * groups] = n;
        return packed;
    }

    @Override
    public void lstmCellForward(int n, int hidden, Ptr gates, Ptr cPrev, Ptr act, Ptr h, Ptr c) {
        String op = "lstmCellForward";
        Checks.lstmCellForward(n, hidden, gates, cPrev, act, h, c);
        float32(op, gates, cPrev, act, h, c);
        int nh = n * hidden;
        launch1d("lstm", "lstm_fwd_f32", nh, new KernelArgs().i(n).i(hidden).p(addr(gates)).p(addr(cPrev)).p(addr(act))
                .p(addr(h)).p(addr(c)));
    }

    @Override
    public void lstmCellBackward(int n, int hidden, Ptr act, Ptr cPrev, Ptr c, Ptr dh, Ptr dc, Ptr dGates, Ptr dcPrev) {
        String op = "lstmCellBackward";
        Checks.lstmCellBackward(n, hidden, act, cPrev, c, dh, dc, dGates, dcPrev);
        float32(op, act, cPrev, c, dh, dc, dGates, dcPrev);
        int nh = n * hidden;
        launch1d("lstm", "lstm_bwd_f32", nh, new KernelArgs().i(n).i(hidden).p(addr(act)).p(addr(cPrev)).p(addr(c)).p(addr(dh))
                .p(addr(dc)).p(addr(dGates)).p(addr(dcPrev)));
    }

    /** NOTE [lstm-reserve]: the step reserve for own_steps, cuDNN's reserve space (in floats, rounded up) for cudnn. */
    @Override
    public int lstmReserveSize(LstmGeometry g) {
        return isCudnn(choice("lstm")) ? VendorLibraries.cudnn("lstm").lstmReserveSize(this, g) : g.stepReserveSize();
    }

    /** LstmGeometry as the struct LstmGeom of a user LSTM kernel (KernelChoices' ABI). */
    private static int[] lstmGeometry(LstmGeometry g) {
        return new int[] {g.t(), g.n(), g.input(), g.hidden()};
    }

    /** A user LSTM kernel's function PREFIX_{@code suffix}, launched as one block (KernelChoices' ABI). */
    private void userLstm(KernelChoices.Choice choice, String suffix, KernelArgs args) {
        Kernel k = kernel(choice, null, null, suffix);
        dev.launch(k.module(), k.function(), 1, 1, 1, k.block(), 0, args);
    }

    @Override
    public void lstmSequenceForward(LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr bIh, Ptr bHh,
                                    Ptr y, Ptr hT, Ptr cT, Ptr reserve) {
        String op = "lstmSequenceForward";
        KernelChoices.Choice choice = counted("lstm");
        Checks.lstmSequenceForward(op, g, x, h0, c0, wIh, wHh, bIh, bHh, y, hT, cT, reserve, reserve == null ? 0 : lstmReserveSize(g));
        float32(op, x, h0, c0, wIh, wHh, bIh, bHh, y, hT, cT, reserve);
        if (choice.user() != null) {
            try (Buffer scratch = reserve == null ? allocate(DType.FLOAT32, g.stepReserveSize()) : null) { // the ABI's reserve is never null
                userLstm(choice, "forward", new KernelArgs().struct(lstmGeometry(g)).p(addr(x)).p(addr(h0)).p(addr(c0)).p(addr(wIh))
                        .p(addr(wHh)).p(addr(bIh)).p(addr(bHh)).p(addr(y)).p(addr(hT)).p(addr(cT))
                        .p(reserve != null ? addr(reserve) : addr(scratch.ptr())));
            }
        } else if (isCudnn(choice)) {
            VendorLibraries.cudnn("lstm").lstmForward(this, g, addr(x), addr(h0), addr(c0), addr(wIh), addr(wHh), addr(bIh), addr(bHh),
                    addr(y), addr(hT), addr(cT), addr(reserve));
        } else {
            LstmSteps.forward(this, g, x, h0, c0, wIh, wHh, bIh, bHh, y, hT, cT, reserve);
        }
    }

    @Override
    public void lstmSequenceBackward(LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr y, Ptr reserve,
                                     Ptr dy, Ptr dhT, Ptr dcT, Ptr dx, Ptr dh0, Ptr dc0, Ptr dwIh, Ptr dwHh, Ptr db) {
        String op = "lstmSequenceBackward";
        KernelChoices.Choice choice = counted("lstm");
        Checks.lstmSequenceBackward(op, g, x, h0, c0, wIh, wHh, y, reserve, lstmReserveSize(g), dy, dhT, dcT, dx, dh0, dc0, dwIh, dwHh, db);
        float32(op, x, h0, c0, wIh, wHh, y, reserve, dy, dhT, dcT, dx, dh0, dc0, dwIh, dwHh, db);
        if (choice.user() != null) {
            userLstm(choice, "backward", new KernelArgs().struct(lstmGeometry(g)).p(addr(x)).p(addr(h0)).p(addr(c0)).p(addr(wIh))
                    .p(addr(wHh)).p(addr(y)).p(addr(reserve)).p(addr(dy)).p(addr(dhT)).p(addr(dcT)).p(addr(dx)).p(addr(dh0))
                    .p(addr(dc0)).p(addr(dwIh)).p(addr(dwHh)).p(addr(db)));
        } else if (isCudnn(choice)) {
            VendorLibraries.cudnn("lstm").lstmBackward(this, g, addr(x), addr(h0), addr(c0), addr(wIh), addr(wHh), addr(y), addr(reserve),
                    addr(dy), addr(dhT), addr(dcT), addr(dx), addr(dh0), addr(dc0), addr(dwIh), addr(dwHh), addr(db));
        } else {
            LstmSteps.backward(this, g, x, h0, c0, wIh, wHh, y, reserve, dy, dhT, dcT, dx, dh0, dc0, dwIh, dwHh, db);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Fused programs
    // ------------------------------------------------------------------------------------------------

    /**
     * Launches the kernel's CUDA function per the contract of {@link FusedKernel#cuda()}, or the user
     * kernel chosen for {@code fused.<name>} (which takes precedence). Refuses, naming the
     * kernel, when there is neither.
     */
    @Override
    public void fused(FusedKernel kernel, int n, Ptr[] operands, double[] scalars) {
        String name = kernel.name();
        Checks.nonNegative(name, "n", n);
        KernelChoices.Choice c = fusedChoice(name);
        String module, function;
        int block = launch.block();
        if (c != null && c.isUser()) {
            module = c.user().module();
            function = c.user().function();
            block = c.user().intOption("block", block);
        } else {
            FusedKernel.CudaFunction f = kernel.cuda();
            if (f == null) {
                throw new IllegalArgumentException("fused kernel '" + name + "' has no CUDA implementation (its cuda() returns null) "
                        + "and no user kernel is chosen for it; give it one (FusedKernel#cuda) or choose fused." + name
                        + "=user:FILE:FUNCTION (KernelChoices)");
            }
            module = f.module();
            function = f.function();
        }
        KernelArgs a = new KernelArgs().i(n);
        for (int j = 0; j < operands.length; j++) {
            need(operands[j], n, name + ": operand " + j);
            a.p(addr(operands[j]));
        }
        for (double s : scalars) a.d(s);
        callsOf.computeIfAbsent(KernelChoices.fusedOp(name), o -> calls.counter(c)).increment();
        if (n == 0) return;
        dev.launch(module, function, blocksFor(n, block), 1, 1, block, 0, a);
    }

    /**
     * The choice for fused kernel {@code name}: an override of {@code fused.NAME}, else its own function. A kernel
     * outside the catalogs (a test's, a user unary kernel's backward) can only run its own function.
     */
    private KernelChoices.Choice fusedChoice(String name) {
        String op = KernelChoices.fusedOp(name);
        return choiceOf.computeIfAbsent(op, o -> {
            for (KernelChoices.Choice c : choices.overrides()) if (c.op().equals(o)) return c;
            return new KernelChoices.Choice(o, KernelChoices.Target.CUDA, "own", null, null, "default");
        });
    }
}
