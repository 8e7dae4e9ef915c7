package optlab.kernels.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jcuda.CudaException;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

/**
 * The CUDA driver through JCuda: finding out whether a GPU can be used (and, when not, saying what was
 * tried and why each step failed), each device's primary context, and the engine's ahead-of-time
 * compiled kernels (NOTE [fatbins] in the parent pom), loaded from the class path with
 * {@code cuModuleLoadData}.
 *
 * <p>NOTE [loud-cuda]: {@link #probe()} never throws; it records one line per step (natives, driver, each
 * device, the kernel files, a trial module load). Everything that needs a GPU and cannot have one throws
 * with that whole list ({@link #require()}), so "no GPU", "no driver", "kernels built without nvcc" and
 * "a driver too old for the kernels" each read as what they are. The vendor libraries (cuDNN, cuBLAS)
 * are optional and probed separately ({@link VendorLibraries}).
 */
public final class Cuda {
    private Cuda() {}

    /**
     * The kernel files of this module ({@code src/main/cuda/<name>.cu}), each a fatbin resource: the op families, the
     * update rules' fused kernels ({@code optim_*}, launched through {@code optlab.optim.UpdateKernels}), and the
     * user-kernel examples.
     */
    public static final List<String> MODULES = List.of(
            "elementwise", "reduce", "gemm", "conv", "pool", "batchnorm", "loss", "random", "embedding", "lstm", "histogram",
            "optim_sgd", "optim_rmsprop", "optim_adam", "user_examples");

    /** The outcome of {@link #probe()}: usable or not, and one line per step tried. */
    public record Status(boolean usable, List<String> steps, List<DeviceInfo> devices, int driverVersion) {
        @Override
        public String toString() {
            return (usable ? "CUDA usable" : "CUDA unusable") + ":\n  " + String.join("\n  ", steps);
        }
    }

    /** What the driver says about one device. */
    public record DeviceInfo(int index, String name, int ccMajor, int ccMinor, long totalBytes, int multiprocessors) {
        public String computeCapability() {
            return ccMajor + "." + ccMinor;
        }

        @Override
        public String toString() {
            return String.format("cuda:%d %s, compute capability %s, %.1f GiB, %d SMs", index, name, computeCapability(),
                    totalBytes / 1073741824.0, multiprocessors);
        }
    }

    private static Status status;
    private static final Map<Integer, CUcontext> CONTEXTS = new HashMap<>();
    private static final Map<String, CUmodule> MODULE_CACHE = new HashMap<>();

    /** Tries the steps a GPU run needs, once per process; never throws. */
    public static synchronized Status probe() {
        if (status != null) return status;
        List<String> steps = new ArrayList<>();
        List<DeviceInfo> devices = new ArrayList<>();
        boolean ok = false;
        int driver = 0;
        try {
            JCudaDriver.setExceptionsEnabled(true);
            steps.add("JCuda driver natives (jcuda-natives 12.6.0, libJCudaDriver): loaded");
            cuInit(0);
            int[] version = new int[1];
            cuDriverGetVersion(version);
            driver = version[0];
            steps.add("cuInit: ok, the driver supports CUDA " + driver / 1000 + "." + (driver % 1000) / 10);
            int[] count = new int[1];
            cuDeviceGetCount(count);
            if (count[0] == 0) {
                steps.add("devices: none (cuDeviceGetCount = 0)");
            } else {
                for (int i = 0; i < count[0]; i++) devices.add(query(i));
                for (DeviceInfo d : devices) steps.add("device " + d);
                DeviceInfo d0 = devices.get(0);
                List<String> missing = new ArrayList<>();
                for (String m : MODULES) if (Cuda.class.getResource(resource(m)) == null) missing.add(m + ".fatbin");
                if (d0.ccMajor() < 8) {
                    steps.add("compute capability " + d0.computeCapability() + " is below 8.0: the kernels are built for "
                            + "sm_80, sm_90 and compute_90 PTX (bin/compile-cuda)");
                } else if (!missing.isEmpty()) {
                    steps.add("kernels: " + String.join(", ", missing) + " not on the class path under /optlab/cuda/ "
                            + "(this build ran without nvcc: see the [WARNING] compile-cuda line of the build)");
                } else {
                    steps.add("kernels: all " + MODULES.size() + " fatbins on the class path");
                    try {
                        function(0, "elementwise", "fill_f32");
                        steps.add("trial load of elementwise.fatbin on cuda:0: ok");
                        ok = true;
                    } catch (RuntimeException e) {
                        steps.add("trial load of elementwise.fatbin on cuda:0 failed: " + e.getMessage()
                                + (driver < 13000 ? " (the kernels were built by nvcc 13; this driver supports CUDA "
                                + driver / 1000 + "." + (driver % 1000) / 10 + ", which may be too old for them)" : ""));
                    }
                }
            }
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            steps.add("JCuda driver natives: failed to load (" + VendorLibraries.summarize(e)
                    + "); they need the NVIDIA driver's libcuda.so.1 on the library path (no driver installed, or not visible "
                    + "in this container)");
        } catch (RuntimeException e) {
            steps.add("CUDA driver call failed: " + e.getMessage()
                    + (String.valueOf(e.getMessage()).contains("CUDA_ERROR_NO_DEVICE") ? " (no GPU visible to this process)" : ""));
        }
        status = new Status(ok, List.copyOf(steps), List.copyOf(devices), driver);
        return status;
    }

    private static DeviceInfo query(int index) {
        CUdevice dev = new CUdevice();
        cuDeviceGet(dev, index);
        byte[] name = new byte[256];
        cuDeviceGetName(name, name.length, dev);
        String n = new String(name);
        int nul = n.indexOf('\0');
        if (nul >= 0) n = n.substring(0, nul);
        long[] total = new long[1];
        cuDeviceTotalMem(total, dev);
        return new DeviceInfo(index, n.trim(), attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR), total[0],
                attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT));
    }

    private static int attribute(CUdevice dev, int attribute) {
        int[] v = new int[1];
        cuDeviceGetAttribute(v, attribute, dev);
        return v[0];
    }

    /** Throws an {@link IllegalStateException} listing every step unless {@link #probe()} succeeded. */
    public static Status require() {
        Status s = probe();
        if (!s.usable()) throw new IllegalStateException("no usable GPU. " + s);
        return s;
    }

    /** The device's description; throws (with the probe's steps) for a device that does not exist. */
    public static DeviceInfo device(int index) {
        Status s = probe();
        if (index < 0 || index >= s.devices().size()) {
            throw new IllegalStateException("device cuda:" + index + " does not exist: " + s.devices().size()
                    + " CUDA device(s) visible. " + s);
        }
        return s.devices().get(index);
    }

    /** Makes device 0's primary context current on the calling thread. */
    public static void makeCurrent() {
        makeCurrent(0);
    }

    private static final ThreadLocal<Integer> CURRENT = new ThreadLocal<>();

    /** Makes device {@code index}'s context current unless this thread's last {@link #makeCurrent} chose it. */
    static void ensureCurrent(int index) {
        Integer c = CURRENT.get();
        if (c == null || c != index) makeCurrent(index);
    }

    /** Makes device {@code index}'s primary context current on the calling thread (retaining it once). */
    public static synchronized CUcontext makeCurrent(int index) {
        CUcontext ctx = CONTEXTS.get(index);
        if (ctx == null) {
            if (status != null && status.devices().size() <= index) device(index); // throws with the probe's steps
            CUdevice dev = new CUdevice();
            cuDeviceGet(dev, index);
            ctx = new CUcontext();
            cuDevicePrimaryCtxRetain(ctx, dev);
            CONTEXTS.put(index, ctx);
        }
        cuCtxSetCurrent(ctx);
        CURRENT.set(index);
        return ctx;
    }

    /** The class-path resource of a compiled kernel file {@code name.cu}. */
    public static String resource(String name) {
        return "/optlab/cuda/" + name + ".fatbin";
    }

    /** Function {@code function} of the compiled kernel file {@code module}.cu, on device 0. */
    public static CUfunction function(String module, String function) {
        return function(0, module, function);
    }

    /**
     * Function {@code function} of {@code module} on device {@code device}. {@code module} names a kernel
     * file of the class path ({@code <module>.cu}, compiled to {@link #resource}), or, with the prefix
     * {@code file:}, a PTX, cubin or fatbin file on disk (a user kernel from the {@code KernelChoices}).
     * Errors name the module, the function and the device.
     */
    public static synchronized CUfunction function(int device, String module, String function) {
        makeCurrent(device);
        String key = device + "|" + module;
        CUmodule m = MODULE_CACHE.get(key);
        if (m == null) {
            byte[] image = module.startsWith("file:") ? readFile(Path.of(module.substring(5))) : readResource(resource(module));
            m = new CUmodule();
            try {
                cuModuleLoadData(m, image);
            } catch (CudaException e) {
                throw new IllegalStateException("cannot load kernel module " + module + " on cuda:" + device + ": " + e.getMessage()
                        + explainLoadError(e.getMessage()), e);
            }
            MODULE_CACHE.put(key, m);
        }
        CUfunction f = new CUfunction();
        try {
            cuModuleGetFunction(f, m, function);
        } catch (CudaException e) {
            throw new IllegalStateException("kernel module " + module + " has no function '" + function + "' (" + e.getMessage()
                    + "); functions must be extern \"C\"", e);
        }
        return f;
    }

    private static String explainLoadError(String message) {
        if (message == null) return "";
        if (message.contains("UNSUPPORTED_PTX_VERSION")) {
            return " (the PTX is newer than this driver can JIT: update the driver, or build the kernels with an older nvcc)";
        }
        if (message.contains("NO_BINARY_FOR_GPU") || message.contains("INVALID_IMAGE")) {
            return " (no SASS for this GPU and no loadable PTX in the file)";
        }
        return "";
    }

    private static byte[] readResource(String path) {
        try (InputStream in = Cuda.class.getResourceAsStream(path)) {
            if (in == null) throw new IllegalStateException("kernel file " + path + " is not on the class path (built without nvcc?)");
            return terminated(in.readAllBytes());
        } catch (IOException e) {
            throw new IllegalStateException("cannot read kernel file " + path + ": " + e.getMessage(), e);
        }
    }

    private static byte[] readFile(Path file) {
        try {
            return terminated(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read user kernel file " + file + ": " + e.getMessage(), e);
        }
    }

    /** cuModuleLoadData reads PTX as a NUL-terminated string; a fatbin or cubin is sized by its header. */
    private static byte[] terminated(byte[] bytes) {
        return java.util.Arrays.copyOf(bytes, bytes.length + 1);
    }
}
