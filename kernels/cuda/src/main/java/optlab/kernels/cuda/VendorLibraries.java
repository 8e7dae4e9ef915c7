package optlab.kernels.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.KernelChoices;
import optlab.kernels.LstmGeometry;
import optlab.kernels.Pool2dGeometry;

/**
 * The optional vendor libraries behind the registry's {@code cublas}, {@code cublas_tf32} and
 * {@code cudnn} variants. Each loads on first use, once per process; when it cannot, asking for its
 * variant throws with every attempt and why it failed (NOTE [loud-cuda]). The engine's own kernels
 * never depend on these.
 *
 * <p>NOTE [vendor-ffm]: JCublas 12.6.0 needs libcublas.so.12 and JCudnn 11.7.0 (the newest on Maven
 * Central) needs libcudnn.so.8, importing symbols versioned {@code libcudnn.so.8} and the v6/v7 RNN API
 * that cuDNN 9 removed; a cuDNN 9 / CUDA 13 machine (ours: PyTorch's cu130 wheels) has neither, and no
 * symlink can satisfy versioned symbols. So each adapter tries the JCuda binding first, reports why it
 * failed, then binds the library that is there (libcublas.so.13 or .12, libcudnn.so.9) directly with
 * Java's foreign-function API: a handful of C functions with plain integer and pointer arguments,
 * which the JCuda bindings would otherwise wrap.
 */
public final class VendorLibraries {
    private VendorLibraries() {}

    /** FLOAT32 GEMM on device addresses (row-major, as Backend#gemm). */
    interface Blas {
        void sgemm(CudaBackend be, boolean tf32, boolean ta, boolean tb, int m, int n, int k, float alpha, long a, int lda, long sa,
                   long b, int ldb, long sb, float beta, long c, int ldc, long sc, int batch);

        String description();
    }

    /**
     * The cuDNN variants on device addresses (FLOAT32, as the Backend primitives they stand for; 0 is a null
     * pointer where the primitive allows one): convolutions, pooling, batch norm, the LSTM layer. Implemented by
     * {@link Cudnn9}.
     */
    interface Dnn {
        void convForward(CudaBackend be, Conv2dGeometry g, long x, long w, long y);

        void convBackwardData(CudaBackend be, Conv2dGeometry g, long dy, long w, long dx);

        void convBackwardFilter(CudaBackend be, Conv2dGeometry g, long x, long dy, long dw);

        void poolForward(CudaBackend be, Pool2dGeometry g, CudnnArgs.PoolKind kind, long x, long y);

        /** x and y are read by max pooling only (the averages' backward has neither: Backend#avgPool2dBackward). */
        void poolBackward(CudaBackend be, Pool2dGeometry g, CudnnArgs.PoolKind kind, long x, long y, long dy, long dx);

        void bnForwardTraining(CudaBackend be, int n, int c, int hw, long x, long gamma, long beta, double eps, double momentum,
                               long runningMean, long runningVar, long y, long saveMean, long saveInvStd);

        void bnForwardInference(CudaBackend be, int n, int c, int hw, long x, long gamma, long beta, long runningMean, long runningVar,
                                double eps, long y);

        void bnBackward(CudaBackend be, int n, int c, int hw, long x, long dy, long gamma, long saveMean, long saveInvStd, long dx,
                        long dgamma, long dbeta);

        int lstmReserveSize(CudaBackend be, LstmGeometry g);

        void lstmForward(CudaBackend be, LstmGeometry g, long x, long h0, long c0, long wIh, long wHh, long bIh, long bHh, long y,
                         long hT, long cT, long reserve);

        void lstmBackward(CudaBackend be, LstmGeometry g, long x, long h0, long c0, long wIh, long wHh, long y, long reserve, long dy,
                          long dhT, long dcT, long dx, long dh0, long dc0, long dwIh, long dwHh, long db);

        String description();
    }

    private static Blas blas;
    private static Dnn dnn;
    private static List<String> blasTried, dnnTried;

    /** cuBLAS, loading it on first use; throws listing what was tried when it cannot be loaded. */
    static synchronized Blas cublas() {
        if (blas == null && blasTried == null) loadBlas();
        if (blas == null) {
            throw new IllegalStateException("gemm: the kernel choices name a cuBLAS variant, but cuBLAS could not be loaded:\n  "
                    + String.join("\n  ", blasTried) + "\nChoose gemm=own_tiled_fp32 (the default) or install cuBLAS.");
        }
        return blas;
    }

    /**
     * cuDNN for {@code op} (conv2d, pool2d, batchnorm, lstm), loading it on first use; when it cannot be loaded, throws
     * naming the op, every place and binding tried and why each failed, and the op's default variant.
     */
    static synchronized Dnn cudnn(String op) {
        if (dnn == null && dnnTried == null) loadDnn();
        if (dnn == null) {
            throw new IllegalStateException(op + ": the kernel choices name cudnn, but cuDNN could not be loaded:\n  "
                    + String.join("\n  ", dnnTried) + "\nChoose " + op + "=" + KernelChoices.defaults().choice(op, KernelChoices.Target.CUDA)
                    .variant() + " (the default), or put libcudnn.so.9 on LD_LIBRARY_PATH (pip's nvidia-cudnn-cu13 wheel has it in "
                    + "site-packages/nvidia/cudnn/lib).");
        }
        return dnn;
    }

    /** One line per library: what loaded (and its version) or every attempt and why it failed. Never throws. */
    public static synchronized List<String> report() {
        List<String> lines = new ArrayList<>();
        try {
            cublas();
        } catch (RuntimeException | LinkageError e) {
            // reported below
        }
        try {
            cudnn("conv2d");
        } catch (RuntimeException | LinkageError e) {
            // reported below
        }
        lines.add("cuBLAS: " + (blas != null ? blas.description() : "NOT loaded"));
        for (String t : blasTried) lines.add("  " + t);
        lines.add("cuDNN: " + (dnn != null ? dnn.description() : "NOT loaded"));
        for (String t : dnnTried) lines.add("  " + t);
        return lines;
    }

    /** Whether cuBLAS loads (for tests and benchmarks that compare against it). */
    public static synchronized boolean cublasAvailable() {
        try {
            cublas();
            return true;
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    public static synchronized boolean cudnnAvailable() {
        try {
            cudnn("conv2d");
            return true;
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    private static void loadBlas() {
        blasTried = new ArrayList<>();
        if (!Cuda.probe().usable()) {
            blasTried.add("no usable GPU: " + Cuda.probe().steps().get(Cuda.probe().steps().size() - 1));
            return;
        }
        try {
            blas = new JCublasBlas();
            blasTried.add("JCublas 12.6.0 (libJCublas2 -> libcublas.so.12): loaded");
            return;
        } catch (LinkageError | RuntimeException e) {
            blasTried.add("JCublas 12.6.0 (libJCublas2 -> libcublas.so.12): " + summarize(e));
        }
        List<String> tried = new ArrayList<>();
        NativeLibrary lib = NativeLibrary.open(List.of("libcublas.so.13", "libcublas.so.12"),
                NativeLibrary.searchDirectories("cublas", "cu13"), tried);
        if (lib == null) {
            blasTried.addAll(tried);
            return;
        }
        try {
            blas = new FfmBlas(lib);
            blasTried.add("FFM binding of " + lib.where() + ": loaded");
        } catch (Throwable e) {
            blasTried.add("FFM binding of " + lib.where() + ": " + summarize(e));
        }
    }

    private static void loadDnn() {
        dnnTried = new ArrayList<>();
        try {
            long v = jcuda.jcudnn.JCudnn.cudnnGetVersion();
            dnnTried.add("JCudnn 11.7.0 loaded and reports cuDNN " + v + ", but the cudnn variants use the cuDNN 9 FFM binding");
        } catch (LinkageError | RuntimeException e) {
            dnnTried.add("JCudnn 11.7.0 (libJCudnn -> libcudnn.so.8, symbols versioned libcudnn.so.8): " + summarize(e)
                    + (String.valueOf(e.getMessage()).contains("JCudnn-12") ? " [JCuda's loader names the natives after the core jcuda "
                    + "version (12.6.0), but jcudnn-natives 11.7.0 holds libJCudnn-11.7.0; and that library would need libcudnn.so.8]" : ""));
        }
        if (!Cuda.probe().usable()) {
            dnnTried.add("no usable GPU: " + Cuda.probe().steps().get(Cuda.probe().steps().size() - 1));
            return;
        }
        List<String> tried = new ArrayList<>();
        NativeLibrary lib = NativeLibrary.open(List.of("libcudnn.so.9"), NativeLibrary.searchDirectories("cudnn"), tried);
        if (lib == null) {
            dnnTried.addAll(tried);
            return;
        }
        try {
            dnn = new Cudnn9(lib);
            dnnTried.add("FFM binding of " + lib.where() + ": loaded");
        } catch (Throwable e) {
            dnnTried.add("FFM binding of " + lib.where() + ": " + summarize(e));
        }
    }

    /**
     * One line for a failed load: JCuda's UnsatisfiedLinkErrors carry whole nested stack traces in their
     * message; keep the lines that say why (a missing library, a missing resource, a symbol or version).
     */
    static String summarize(Throwable e) {
        String m = String.valueOf(e.getMessage());
        List<String> why = new ArrayList<>();
        for (String line : m.split("\n")) {
            String t = line.strip();
            if ((t.contains("cannot open shared object file") || t.contains("No resource found") || t.contains("version `")
                    || t.contains("undefined symbol") || t.contains("wrong ELF")) && !why.contains(t)) why.add(t);
        }
        String first = m.lines().findFirst().orElse("").strip();
        return e.getClass().getSimpleName() + ": " + (why.isEmpty() ? first : first + ": " + String.join("; ", why));
    }

    // ------------------------------------------------------------------------------------------------
    // cuBLAS through JCublas (libcublas.so.12)
    // ------------------------------------------------------------------------------------------------

    /**
     * Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS gets B first, the
     * transposes as given, and m and n swapped (the standard trick; no data moves).
     */
    private static final class JCublasBlas implements Blas {
        private final Map<Integer, jcuda.jcublas.cublasHandle> handles = new HashMap<>();
        private final String version;

        JCublasBlas() {
            jcuda.jcublas.JCublas2.setExceptionsEnabled(true);
            jcuda.jcublas.JCublas2.initialize(); // loads libJCublas2, which needs libcublas.so.12
            CudaBackend be = CudaBackend.get();
            int[] v = new int[1];
            jcuda.jcublas.JCublas2.cublasGetVersion(handle(be), v);
            version = Integer.toString(v[0]);
        }

        private synchronized jcuda.jcublas.cublasHandle handle(CudaBackend be) {
            be.dev.enter();
            return handles.computeIfAbsent(be.dev.index, i -> {
                jcuda.jcublas.cublasHandle h = new jcuda.jcublas.cublasHandle();
                jcuda.jcublas.JCublas2.cublasCreate(h);
                jcuda.jcublas.JCublas2.cublasSetStream(h, new jcuda.runtime.cudaStream_t(be.dev.stream));
                return h;
            });
        }

        @Override
        public void sgemm(CudaBackend be, boolean tf32, boolean ta, boolean tb, int m, int n, int k, float alpha, long a, int lda,
                          long sa, long b, int ldb, long sb, float beta, long c, int ldc, long sc, int batch) {
            jcuda.jcublas.cublasHandle h = handle(be);
            jcuda.jcublas.JCublas2.cublasSetMathMode(h, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
            jcuda.jcublas.JCublas2.cublasSgemmStridedBatched(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, jcuda.Pointer.to(new float[] {alpha}),
                    Handles.pointer(b), ldb, sb, Handles.pointer(a), lda, sa, jcuda.Pointer.to(new float[] {beta}),
                    Handles.pointer(c), ldc, sc, batch);
        }

        @Override
        public String description() {
            return "JCublas 12.6.0 on libcublas.so.12, cuBLAS version " + version;
        }
    }

    // ------------------------------------------------------------------------------------------------
    // cuBLAS through FFM (libcublas.so.13 or .12)
    // ------------------------------------------------------------------------------------------------

    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong J = ValueLayout.JAVA_LONG;
    private static final java.lang.foreign.AddressLayout P = ValueLayout.ADDRESS;

    private static MemorySegment at(long address) {
        return MemorySegment.ofAddress(address);
    }

    // cublas_api.h (cuBLAS 13.1.1, checked 2026-11-21; the same in cuBLAS 12): cublasOperation_t, cublasMath_t
    static final int CUBLAS_OP_N = 0, CUBLAS_OP_T = 1;
    static final int CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3;

    /**
     * Every cuBLAS function the FFM binding calls, with its C prototype as cublas_api.h declares it (the {@code _v2}
     * names are what cublas_v2.h's macros map cublasCreate, cublasSetStream and cublasGetVersion to; the library
     * exports both). Checked on 2026-11-21 against the headers and exports of cuBLAS 13.1.1 (the nvidia-cublas
     * 13.1.1.3 wheel: libcublas.so.13) and the exports of cuBLAS 12.6 (libcublas.so.12 of Maven Central's
     * org.bytedeco:cuda:12.6-9.5-1.5.11:linux-x86_64-redist jar); CudnnArgsTest parses each prototype against its
     * descriptor, CudnnLibraryTest looks each one up in a real libcublas when given one.
     */
    static final Map<String, Cudnn9.Signature> CUBLAS_SIGNATURES;

    static {
        Map<String, Cudnn9.Signature> m = new java.util.LinkedHashMap<>();
        for (Cudnn9.Signature s : List.of(
                new Cudnn9.Signature("cublasCreate_v2", FunctionDescriptor.of(I, P),
                        "cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)"),
                new Cudnn9.Signature("cublasSetStream_v2", FunctionDescriptor.of(I, P, P),
                        "cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId)"),
                new Cudnn9.Signature("cublasSetMathMode", FunctionDescriptor.of(I, P, I),
                        "cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode)"),
                new Cudnn9.Signature("cublasGetVersion_v2", FunctionDescriptor.of(I, P, P),
                        "cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version)"),
                new Cudnn9.Signature("cublasSgemmStridedBatched", FunctionDescriptor.of(I, P, I, I, I, I, I, P, P, I, J, P, I, J, P, P, I, J, I),
                        "cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda, long long int strideA, const float *B, int ldb, long long int strideB, const float *beta, float *C, int ldc, long long int strideC, int batchCount)"))) {
            m.put(s.name(), s);
        }
        CUBLAS_SIGNATURES = java.util.Collections.unmodifiableMap(m);
    }

    /** cublas_api.h's cublasStatus_t (cuBLAS 12 and 13). */
    static final Map<Integer, String> CUBLAS_STATUS = Map.of(0, "CUBLAS_STATUS_SUCCESS", 1, "CUBLAS_STATUS_NOT_INITIALIZED",
            3, "CUBLAS_STATUS_ALLOC_FAILED", 7, "CUBLAS_STATUS_INVALID_VALUE", 8, "CUBLAS_STATUS_ARCH_MISMATCH",
            11, "CUBLAS_STATUS_MAPPING_ERROR", 13, "CUBLAS_STATUS_EXECUTION_FAILED", 14, "CUBLAS_STATUS_INTERNAL_ERROR",
            15, "CUBLAS_STATUS_NOT_SUPPORTED", 16, "CUBLAS_STATUS_LICENSE_ERROR");

    /** "cublasX returned CUBLAS_STATUS_Y (code)". */
    static String cublasFailure(String function, int status) {
        return function + " returned " + CUBLAS_STATUS.getOrDefault(status, "unknown cublasStatus_t " + status) + " (" + status + ")";
    }

    private static final class FfmBlas implements Blas {
        private final NativeLibrary lib;
        private final MethodHandle create, setStream, setMathMode, getVersion, sgemm;
        private final Map<Integer, MemorySegment> handles = new HashMap<>();
        private final int version;

        private MethodHandle fn(String name) {
            return lib.function(name, CUBLAS_SIGNATURES.get(name).descriptor());
        }

        FfmBlas(NativeLibrary lib) throws Throwable {
            this.lib = lib;
            create = fn("cublasCreate_v2");
            setStream = fn("cublasSetStream_v2");
            setMathMode = fn("cublasSetMathMode");
            getVersion = fn("cublasGetVersion_v2");
            // (handle, transa, transb, m, n, k, *alpha, A, lda, strideA, B, ldb, strideB, *beta, C, ldc, strideC, batch)
            sgemm = fn("cublasSgemmStridedBatched");
            CudaBackend be = CudaBackend.get();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment v = arena.allocate(I);
                check("cublasGetVersion_v2", (int) getVersion.invokeExact(handle(be), v));
                version = v.get(I, 0);
            }
        }

        private static void check(String what, int status) {
            if (status != 0) throw new IllegalStateException("cuBLAS: " + cublasFailure(what, status));
        }

        private synchronized MemorySegment handle(CudaBackend be) throws Throwable {
            be.dev.enter();
            MemorySegment h = handles.get(be.dev.index);
            if (h == null) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment out = arena.allocate(P);
                    check("cublasCreate_v2", (int) create.invokeExact(out));
                    h = out.get(P, 0);
                }
                check("cublasSetStream_v2", (int) setStream.invokeExact(h, at(be.dev.stream.address())));
                handles.put(be.dev.index, h);
            }
            return h;
        }

        @Override
        public void sgemm(CudaBackend be, boolean tf32, boolean ta, boolean tb, int m, int n, int k, float alpha, long a, int lda,
                          long sa, long b, int ldb, long sb, float beta, long c, int ldc, long sc, int batch) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment h = handle(be);
                check("cublasSetMathMode", (int) setMathMode.invokeExact(h, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
                MemorySegment al = arena.allocateFrom(ValueLayout.JAVA_FLOAT, alpha), bt = arena.allocateFrom(ValueLayout.JAVA_FLOAT, beta);
                check("cublasSgemmStridedBatched", (int) sgemm.invokeExact(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, al, at(b), ldb, sb,
                        at(a), lda, sa, bt, at(c), ldc, sc, batch));
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable e) {
                throw new IllegalStateException("cuBLAS sgemm failed: " + e, e);
            }
        }

        @Override
        public String description() {
            return "FFM binding of " + lib.where() + ", cuBLAS version " + version;
        }
    }
}
