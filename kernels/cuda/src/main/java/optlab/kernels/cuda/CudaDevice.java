package optlab.kernels.cuda;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuFuncGetAttribute;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD16Async;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import java.util.concurrent.ConcurrentHashMap;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUstream_flags;

/**
 * The state of one GPU shared by every {@link CudaBackend} view of it: the primary context, the stream
 * every kernel runs on, the caching allocator, the loaded functions, and the launch path with its
 * checks.
 *
 * <p>NOTE [one-stream]: all work of a device goes to one blocking stream, in program order. That makes
 * stream-ordered memory reuse safe (NOTE [stream-ordered-reuse]) and keeps results deterministic;
 * host-to-device copies are synchronous. A second stream (say, to overlap the data loader's copies) would
 * need events between the streams and is not used yet.
 *
 * <p>NOTE [debug-launches]: with {@code -Doptlab.cuda.debug=true} every launch is followed by a stream
 * synchronization, so a failing kernel is reported by name with its launch configuration. Without it,
 * an asynchronous failure surfaces at the next synchronization, whose message names the last kernel
 * launched and suggests the debug flag.
 */
final class CudaDevice {
    static final boolean DEBUG = Boolean.getBoolean("optlab.cuda.debug");
    /** INT_MAX: an index check's "no bad position" value (common.cuh report_bad_index). */
    static final int NO_BAD_INDEX = Integer.MAX_VALUE;

    final int index;
    final Cuda.DeviceInfo info;
    final Handles.Stream stream;
    final CudaAllocator allocator;
    /** A loaded kernel and the most threads a block of it may have (0: the driver did not say). */
    private record Kernel(CUfunction function, int maxThreads) {}

    private final ConcurrentHashMap<String, Kernel> kernels = new ConcurrentHashMap<>();
    private final CudaAllocator.Block flag;
    private volatile String lastLaunch = "(none)";

    CudaDevice(int index) {
        this.index = index;
        this.info = Cuda.device(index);
        enter();
        stream = new Handles.Stream();
        cuStreamCreate(stream, CUstream_flags.CU_STREAM_DEFAULT);
        allocator = new CudaAllocator(toString(), () -> synchronize("emptyCache"));
        flag = allocator.reserve(4, "the index-check flag");
    }

    /** Makes this device's context current on the calling thread (cheap when it already is). */
    void enter() {
        Cuda.ensureCurrent(index);
    }

    CUfunction function(String module, String name) {
        return kernel(module, name).function();
    }

    private Kernel kernel(String module, String name) {
        return kernels.computeIfAbsent(module + "|" + name, key -> {
            CUfunction f = Cuda.function(index, module, name);
            int[] v = new int[1];
            try {
                cuFuncGetAttribute(v, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f);
            } catch (CudaException e) {
                throw new IllegalStateException(this + ": the block limit of kernel " + module + "." + name + " could not be read: "
                        + e.getMessage(), e);
            }
            return new Kernel(f, v[0]);
        });
    }

    /**
     * The most threads a block of {@code module.name} may have on this device (the driver's
     * CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK: 1024, or fewer when the kernel's registers per thread times the block
     * would exceed the SM's register file); 0 if the driver did not say.
     */
    int maxThreadsPerBlock(String module, String name) {
        return kernel(module, name).maxThreads();
    }

    /**
     * Launches {@code module.name} on this device's stream; NOTE [debug-launches]. A block larger than the kernel
     * can take is refused before the launch, naming the kernel, its limit and how to choose a smaller block.
     */
    void launch(String module, String name, int gx, int gy, int gz, int block, int sharedBytes, KernelArgs args) {
        enter();
        Kernel k = kernel(module, name);
        CUfunction f = k.function();
        String what = module + "." + name + "<<<(" + gx + "," + gy + "," + gz + "), " + block
                + (sharedBytes > 0 ? ", " + sharedBytes + " B shared" : "") + ">>>";
        int max = k.maxThreads();
        if (max > 0 && block > max) {
            throw new IllegalArgumentException(this + ": " + what + ": this kernel takes at most " + max + " threads per block "
                    + "(its registers per thread limit it; nvcc -Xptxas -v shows them), asked for " + block
                    + "; choose a smaller block (-Doptlab.cuda.block=N, or :block=N on a user kernel; the engine's fixed-block "
                    + "kernels, the tiled GEMMs, must fit at their block: if one does not, that is a bug to report)");
        }
        try {
            cuLaunchKernel(f, gx, gy, gz, block, 1, 1, sharedBytes, stream, args.pointer(), null);
        } catch (CudaException e) {
            throw new IllegalStateException(this + ": launch of " + what + " failed: " + e.getMessage(), e);
        }
        lastLaunch = what;
        if (DEBUG) {
            try {
                cuStreamSynchronize(stream);
            } catch (CudaException e) {
                throw new IllegalStateException(this + ": kernel " + what + " failed: " + e.getMessage()
                        + " (-Doptlab.cuda.debug=true checks every launch)", e);
            }
        }
    }

    /** Waits for the stream; an earlier asynchronous failure is reported here, naming the last launch. */
    void synchronize(String where) {
        enter();
        try {
            cuStreamSynchronize(stream);
        } catch (CudaException e) {
            throw new IllegalStateException(this + ": " + where + ": a kernel queued earlier failed: " + e.getMessage()
                    + "; the last launch was " + lastLaunch + (DEBUG ? "" : " (run with -Doptlab.cuda.debug=true to check every launch)"), e);
        }
    }

    void copyToDevice(long dst, Pointer src, long bytes) {
        if (bytes == 0) return;
        enter();
        try {
            cuMemcpyHtoD(Handles.at(dst), src, bytes);
        } catch (CudaException e) {
            throw new IllegalStateException(this + ": host-to-device copy of " + bytes + " bytes failed: " + e.getMessage()
                    + "; the last launch was " + lastLaunch, e);
        }
    }

    void copyToHost(Pointer dst, long src, long bytes, String where) {
        if (bytes == 0) return;
        synchronize(where);
        try {
            cuMemcpyDtoH(dst, Handles.at(src), bytes);
        } catch (CudaException e) {
            throw new IllegalStateException(this + ": " + where + ": device-to-host copy of " + bytes + " bytes failed: "
                    + e.getMessage(), e);
        }
    }

    void copyDeviceToDevice(long dst, long src, long bytes) {
        if (bytes == 0) return;
        enter();
        cuMemcpyDtoDAsync(Handles.at(dst), Handles.at(src), bytes, stream);
    }

    /** Mean milliseconds per run of {@code work} over {@code iterations} runs after {@code warmup}, by CUDA events. */
    double timeMillis(Runnable work, int warmup, int iterations) {
        enter();
        for (int i = 0; i < warmup; i++) work.run();
        CUevent start = new CUevent(), stop = new CUevent();
        cuEventCreate(start, 0);
        cuEventCreate(stop, 0);
        try {
            cuEventRecord(start, stream);
            for (int i = 0; i < iterations; i++) work.run();
            cuEventRecord(stop, stream);
            cuEventSynchronize(stop);
            synchronize("timeMillis");
            float[] ms = new float[1];
            cuEventElapsedTime(ms, start, stop);
            return ms[0] / Math.max(1, iterations);
        } finally {
            cuEventDestroy(start);
            cuEventDestroy(stop);
        }
    }

    /** NOTE [poison]: fills fresh memory with NaN (0x7FF8 repeated is a NaN as float and as double) or INT_MIN. */
    void poison(long address, long bytes, boolean ints) {
        enter();
        if (ints) cuMemsetD32Async(Handles.at(address), 0x80000000, bytes / 4, stream);
        else cuMemsetD16Async(Handles.at(address), (short) 0x7FF8, bytes / 2, stream);
    }

    /** Resets the index-check flag (before a launch that checks labels or indices) and returns its address. */
    long resetFlag() {
        enter();
        cuMemsetD32Async(Handles.at(flag.address()), NO_BAD_INDEX, 1, stream);
        return flag.address();
    }

    /** The first bad position recorded since {@link #resetFlag}, or {@link #NO_BAD_INDEX}. */
    int readFlag(String where) {
        int[] v = new int[1];
        copyToHost(Pointer.to(v), flag.address(), 4, where);
        return v[0];
    }

    @Override
    public String toString() {
        return "cuda:" + index;
    }
}
