package optlab.kernels.cuda;

import java.util.ArrayList;
import java.util.List;
import optlab.kernels.KernelChoices;
import optlab.kernels.vendor.Blas;
import optlab.kernels.vendor.Cublas;
import optlab.kernels.vendor.Cudnn9;
import optlab.kernels.vendor.Dnn;
import optlab.kernels.vendor.NativeLibrary;

/**
 * The optional vendor libraries behind the kernel choices' {@code cublas}, {@code cublas_tf32} and {@code cudnn}
 * variants, bound in the vendor module ({@code optlab.kernels.vendor}, NOTE [vendor-ffm] there). Each loads on first
 * use, once per process; when it cannot, asking for its variant throws with every attempt and why it failed
 * (NOTE [loud-cuda]). The engine's own kernels never depend on these.
 */
public final class VendorLibraries {
    private VendorLibraries() {}

    private static Blas blas;
    private static Dnn dnn;
    private static List<String> blasTried, dnnTried;

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
        if (gpuUnusable(blasTried)) return;
        blas = Cublas.load(CudaBackend.get(), blasTried);
    }

    private static void loadDnn() {
        dnnTried = new ArrayList<>();
        dnn = Cudnn9.load(dnnTried, Cuda.probe().usable() ? null : lastProbeStep());
    }

    private static boolean gpuUnusable(List<String> tried) {
        if (Cuda.probe().usable()) return false;
        tried.add(lastProbeStep());
        return true;
    }

    private static String lastProbeStep() {
        return "no usable GPU: " + Cuda.probe().steps().get(Cuda.probe().steps().size() - 1);
    }

    static String summarize(Throwable e) {
        return NativeLibrary.summarize(e);
    }
}
