package optlab.kernels.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

/**
 * The CUDA driver through JCuda: finding out whether a GPU can be used (and, when not, saying what was
 * tried and why each step failed), the device's primary context, and the engine's ahead-of-time
 * compiled kernels (NOTE [fatbins] in the parent pom), loaded from the class path with
 * {@code cuModuleLoadData}.
 */
public final class Cuda {
    private Cuda() {}

    /** The outcome of {@link #probe()}: usable or not, and one line per step tried. */
    public record Status(boolean usable, List<String> steps) {
        @Override
        public String toString() {
            return (usable ? "CUDA usable" : "CUDA unusable") + ":\n  " + String.join("\n  ", steps);
        }
    }

    private static Status status;
    private static CUcontext context;
    private static final Map<String, CUmodule> MODULES = new HashMap<>();

    /** Tries the steps a GPU run needs, once per process; never throws. */
    public static synchronized Status probe() {
        if (status != null) return status;
        List<String> steps = new ArrayList<>();
        boolean ok = false;
        try {
            JCudaDriver.setExceptionsEnabled(true);
            steps.add("JCuda driver natives (jcuda-natives 12.6.0): loaded");
            cuInit(0);
            int[] version = new int[1];
            cuDriverGetVersion(version);
            steps.add("cuInit: ok, driver API version " + version[0] / 1000 + "." + (version[0] % 1000) / 10);
            int[] count = new int[1];
            cuDeviceGetCount(count);
            if (count[0] == 0) {
                steps.add("devices: none");
            } else {
                CUdevice dev = new CUdevice();
                cuDeviceGet(dev, 0);
                byte[] name = new byte[256];
                cuDeviceGetName(name, name.length, dev);
                int[] major = new int[1], minor = new int[1];
                cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
                cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
                String cc = major[0] + "." + minor[0];
                steps.add("devices: " + count[0] + "; cuda:0 is " + new String(name).trim().replace("\0", "") + ", compute capability " + cc);
                if (major[0] < 8) {
                    steps.add("compute capability " + cc + " is below 8.0: the kernels are built for sm_80, sm_90 and compute_90 PTX");
                } else if (Cuda.class.getResource(resource("elementwise")) == null) {
                    steps.add("kernels: " + resource("elementwise") + " is not on the class path (this build ran without nvcc)");
                } else {
                    steps.add("kernels: fatbins present");
                    ok = true;
                }
            }
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            steps.add("JCuda driver natives: failed to load (" + e.getMessage()
                    + "); they need the NVIDIA driver's libcuda.so.1 on the library path");
        } catch (RuntimeException e) {
            steps.add("CUDA driver call failed: " + e.getMessage());
        }
        status = new Status(ok, List.copyOf(steps));
        return status;
    }

    /** Throws an {@link IllegalStateException} listing every step unless {@link #probe()} succeeded. */
    public static Status require() {
        Status s = probe();
        if (!s.usable()) throw new IllegalStateException("no usable GPU. " + s);
        return s;
    }

    /** Makes device 0's primary context current on the calling thread. */
    public static synchronized void makeCurrent() {
        require();
        if (context == null) {
            CUdevice dev = new CUdevice();
            cuDeviceGet(dev, 0);
            context = new CUcontext();
            cuDevicePrimaryCtxRetain(context, dev);
        }
        cuCtxSetCurrent(context);
    }

    /** The class-path resource of a compiled kernel file {@code name.cu}. */
    public static String resource(String name) {
        return "/optlab/cuda/" + name + ".fatbin";
    }

    /** Function {@code function} of the compiled kernel file {@code module}.cu. */
    public static synchronized CUfunction function(String module, String function) {
        makeCurrent();
        CUmodule m = MODULES.get(module);
        if (m == null) {
            m = new CUmodule();
            cuModuleLoadData(m, readResource(resource(module)));
            MODULES.put(module, m);
        }
        CUfunction f = new CUfunction();
        cuModuleGetFunction(f, m, function);
        return f;
    }

    private static byte[] readResource(String path) {
        try (InputStream in = Cuda.class.getResourceAsStream(path)) {
            if (in == null) throw new IllegalStateException("kernel file " + path + " is not on the class path (built without nvcc?)");
            byte[] bytes = in.readAllBytes();
            // cuModuleLoadData reads PTX as a NUL-terminated string; a fatbin is binary and sized by its header
            byte[] terminated = java.util.Arrays.copyOf(bytes, bytes.length + 1);
            return terminated;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read kernel file " + path + ": " + e.getMessage(), e);
        }
    }
}
