package optlab.kernels.cuda;

import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;
import jcuda.CudaException;
import optlab.kernels.MemoryStats;

/**
 * The caching allocator of one device: freed blocks are kept on free lists by size class and handed to
 * the next allocation of the same class, so a training loop that allocates the same shapes every step
 * calls {@code cuMemAlloc} only in its first step (cudaMalloc and cudaFree synchronize the device and
 * cost tens of microseconds each).
 *
 * <p>NOTE [size-classes]: a request of b bytes gets a block of {@link #sizeClass}(b) bytes: at least 512,
 * and above that, for 2^h < b <= 2^(h+1), b rounded up to a multiple of 2^(h-2): four classes per power of
 * two (1 MiB + 1 byte gets 1.25 MiB), so the waste is under 25% and nearby sizes share a list.
 *
 * <p>NOTE [stream-ordered-reuse]: the backend runs everything on one stream, so a block freed while
 * kernels that read it are still queued can be handed out again at once: any kernel that writes it
 * through its new owner is queued behind them. Host copies go through the legacy default stream, which
 * waits for the backend's (blocking) stream. Only returning memory to the driver ({@link #emptyCache})
 * synchronizes first.
 *
 * <p>NOTE [oom]: when {@code cuMemAlloc} fails with CUDA_ERROR_OUT_OF_MEMORY, the allocator synchronizes,
 * frees every cached block and retries once; if that fails too it throws a {@link CudaOutOfMemoryError}
 * that says how much was asked for, how much the device has free (cuMemGetInfo), and what this process
 * holds. Nothing is left half-done, so the engine keeps working once the caller frees memory.
 * {@code -Doptlab.cuda.maxMiB=N} caps what the allocator takes from the device (tests use it to provoke
 * the error without filling a real GPU).
 */
final class CudaAllocator {
    /** A block of device memory. */
    record Block(Handles.DeviceMemory memory, long bytes) {
        long address() {
            return memory.address();
        }
    }

    private final String device;
    private final Runnable synchronize;
    private final long limitBytes = Long.getLong("optlab.cuda.maxMiB", 0L) << 20;
    private final Map<Long, ArrayDeque<Block>> free = new TreeMap<>();
    private long liveBuffers, liveBytes, peakBytes, cachedBytes, reservedBytes;

    CudaAllocator(String device, Runnable synchronize) {
        this.device = device;
        this.synchronize = synchronize;
    }

    /** NOTE [size-classes]. */
    static long sizeClass(long bytes) {
        if (bytes <= 512) return 512;
        int high = 63 - Long.numberOfLeadingZeros(bytes - 1); // bytes lies in (2^high, 2^(high+1)]
        long step = 1L << Math.max(9, high - 2);               // four classes per power of two
        return (bytes + step - 1) / step * step;
    }

    /** A block of at least {@code bytes} bytes (bytes > 0); {@code what} names the request in errors. */
    synchronized Block acquire(long bytes, String what) {
        long cls = sizeClass(bytes);
        ArrayDeque<Block> q = free.get(cls);
        Block b = q == null ? null : q.poll();
        if (b != null) {
            cachedBytes -= cls;
        } else {
            b = tryAllocate(cls);
            if (b == null) {
                long hadCached = cachedBytes;
                emptyCache();
                b = tryAllocate(cls);
                if (b == null) throw outOfMemory(bytes, cls, what, hadCached);
            }
            reservedBytes += cls;
        }
        liveBuffers++;
        liveBytes += bytes;
        peakBytes = Math.max(peakBytes, liveBytes);
        return b;
    }

    private Block tryAllocate(long cls) {
        if (limitBytes > 0 && reservedBytes + cls > limitBytes) return null;
        Handles.DeviceMemory m = new Handles.DeviceMemory();
        try {
            cuMemAlloc(m, cls);
        } catch (CudaException e) {
            if (String.valueOf(e.getMessage()).contains("OUT_OF_MEMORY")) return null;
            throw new IllegalStateException(device + ": cuMemAlloc(" + cls + " bytes) failed: " + e.getMessage(), e);
        }
        return new Block(m, cls);
    }

    private CudaOutOfMemoryError outOfMemory(long bytes, long cls, String what, long hadCached) {
        long[] freeB = new long[1], totalB = new long[1];
        String info;
        try {
            cuMemGetInfo(freeB, totalB);
            info = String.format("the device has %s free of %s (cuMemGetInfo)", mib(freeB[0]), mib(totalB[0]));
        } catch (CudaException e) {
            info = "cuMemGetInfo failed too: " + e.getMessage();
        }
        String cap = limitBytes > 0 ? String.format("; this process is capped at %s by -Doptlab.cuda.maxMiB", mib(limitBytes)) : "";
        return new CudaOutOfMemoryError(String.format(
                "%s out of memory: asked for %s (%s, a block of %s); %s; this backend holds %s in %d live buffers "
                        + "and returned its cache of %s to the driver before retrying%s. Free buffers (close tensors, end "
                        + "scopes) or use a smaller batch; the backend stays usable.",
                device, mib(bytes), what, mib(cls), info, mib(liveBytes), liveBuffers, mib(hadCached), cap),
                bytes, freeB[0], totalB[0]);
    }

    private static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }

    /** A block for the backend's own use for the device's lifetime: not counted as a live buffer. */
    synchronized Block reserve(long bytes, String what) {
        long cls = sizeClass(bytes);
        Block b = tryAllocate(cls);
        if (b == null) throw outOfMemory(bytes, cls, what, cachedBytes);
        reservedBytes += cls;
        return b;
    }

    /** Counts a zero-length buffer, which holds no block. */
    synchronized void acquireEmpty() {
        liveBuffers++;
    }

    synchronized void releaseEmpty() {
        liveBuffers--;
    }

    /** Returns a block to its free list (no CUDA call: safe from any thread, e.g. a Cleaner). */
    synchronized void release(Block b, long bytes) {
        liveBuffers--;
        liveBytes -= bytes;
        free.computeIfAbsent(b.bytes(), k -> new ArrayDeque<>()).push(b);
        cachedBytes += b.bytes();
    }

    /** Synchronizes the stream, then returns every cached block to the driver. */
    synchronized void emptyCache() {
        if (cachedBytes == 0) return;
        synchronize.run();
        for (ArrayDeque<Block> q : free.values()) {
            for (Block b : q) {
                cuMemFree(b.memory());
                reservedBytes -= b.bytes();
            }
        }
        free.clear();
        cachedBytes = 0;
    }

    synchronized MemoryStats stats() {
        return new MemoryStats(liveBuffers, liveBytes, peakBytes, cachedBytes);
    }

    /** Bytes taken from the driver (live blocks plus the cache). */
    synchronized long reservedBytes() {
        return reservedBytes;
    }
}
