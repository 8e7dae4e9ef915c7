package optlab.kernels.vendor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * cuBLAS for the {@code cublas} and {@code cublas_tf32} variants of gemm: through JCublas where libcublas.so.12 is
 * installed, else bound directly with Java's FFM API (NOTE [vendor-ffm] in package optlab.kernels.vendor).
 */
public final class Cublas {
    private Cublas() {}

    /**
     * Loads cuBLAS for {@code ctx}'s device, JCublas first, then the FFM binding; returns null where neither loads, having
     * added one line per attempt to {@code tried}.
     */
    public static Blas load(VendorContext ctx, List<String> tried) {
        try {
            Blas b = new JCublasBlas(ctx);
            tried.add("JCublas 12.6.0 (libJCublas2 -> libcublas.so.12): loaded");
            return b;
        } catch (LinkageError | RuntimeException e) {
            tried.add("JCublas 12.6.0 (libJCublas2 -> libcublas.so.12): " + NativeLibrary.summarize(e));
        }
        NativeLibrary lib = NativeLibrary.open(List.of("libcublas.so.13", "libcublas.so.12"),
                NativeLibrary.searchDirectories("cublas", "cu13"), tried);
        if (lib == null) return null;
        try {
            Blas b = new FfmBlas(lib, ctx);
            tried.add("FFM binding of " + lib.where() + ": loaded");
            return b;
        } catch (Throwable e) {
            tried.add("FFM binding of " + lib.where() + ": " + NativeLibrary.summarize(e));
            return null;
        }
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

        JCublasBlas(VendorContext ctx) {
            jcuda.jcublas.JCublas2.setExceptionsEnabled(true);
            jcuda.jcublas.JCublas2.initialize(); // loads libJCublas2, which needs libcublas.so.12
            VendorContext be = ctx;
            int[] v = new int[1];
            jcuda.jcublas.JCublas2.cublasGetVersion(handle(be), v);
            version = Integer.toString(v[0]);
        }

        private synchronized jcuda.jcublas.cublasHandle handle(VendorContext be) {
            be.enterDevice();
            return handles.computeIfAbsent(be.deviceIndex(), i -> {
                jcuda.jcublas.cublasHandle h = new jcuda.jcublas.cublasHandle();
                jcuda.jcublas.JCublas2.cublasCreate(h);
                jcuda.jcublas.JCublas2.cublasSetStream(h, new jcuda.runtime.cudaStream_t(be.stream()));
                return h;
            });
        }

        @Override
        public void sgemm(VendorContext be, boolean tf32, boolean ta, boolean tb, int m, int n, int k, float alpha, long a, int lda,
                          long sa, long b, int ldb, long sb, float beta, long c, int ldc, long sc, int batch) {
            jcuda.jcublas.cublasHandle h = handle(be);
            jcuda.jcublas.JCublas2.cublasSetMathMode(h, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
            jcuda.jcublas.JCublas2.cublasSgemmStridedBatched(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, jcuda.Pointer.to(new float[] {alpha}),
                    pointer(b), ldb, sb, pointer(a), lda, sa, jcuda.Pointer.to(new float[] {beta}),
                    pointer(c), ldc, sc, batch);
        }

        @Override
        public String description() {
            return "JCublas 12.6.0 on libcublas.so.12, cuBLAS version " + version;
        }
    }

    // ------------------------------------------------------------------------------------------------
    // cuBLAS through FFM (libcublas.so.13 or .12)
    // ------------------------------------------------------------------------------------------------

    /** A JCuda pointer at a raw device address (Pointer's address constructor is protected). */
    private static final class RawPointer extends jcuda.Pointer {
        RawPointer(long address) {
            super(address);
        }
    }

    private static jcuda.Pointer pointer(long address) {
        return new RawPointer(address);
    }

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

        FfmBlas(NativeLibrary lib, VendorContext ctx) throws Throwable {
            this.lib = lib;
            create = fn("cublasCreate_v2");
            setStream = fn("cublasSetStream_v2");
            setMathMode = fn("cublasSetMathMode");
            getVersion = fn("cublasGetVersion_v2");
            // (handle, transa, transb, m, n, k, *alpha, A, lda, strideA, B, ldb, strideB, *beta, C, ldc, strideC, batch)
            sgemm = fn("cublasSgemmStridedBatched");
            VendorContext be = ctx;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment v = arena.allocate(I);
                check("cublasGetVersion_v2", (int) getVersion.invokeExact(handle(be), v));
                version = v.get(I, 0);
            }
        }

        private static void check(String what, int status) {
            if (status != 0) throw new IllegalStateException("cuBLAS: " + cublasFailure(what, status));
        }

        private synchronized MemorySegment handle(VendorContext be) throws Throwable {
            be.enterDevice();
            MemorySegment h = handles.get(be.deviceIndex());
            if (h == null) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment out = arena.allocate(P);
                    check("cublasCreate_v2", (int) create.invokeExact(out));
                    h = out.get(P, 0);
                }
                check("cublasSetStream_v2", (int) setStream.invokeExact(h, at(be.streamAddress())));
                handles.put(be.deviceIndex(), h);
            }
            return h;
        }

        @Override
        public void sgemm(VendorContext be, boolean tf32, boolean ta, boolean tb, int m, int n, int k, float alpha, long a, int lda,
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
