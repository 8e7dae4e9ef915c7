package optlab.kernels.cpu;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import optlab.kernels.DType;
import optlab.kernels.MemoryStats;

/**
 * A caching allocator for host arrays: a freed array is kept, keyed by (dtype, length), and handed to
 * the next allocation of that exact size. A training loop allocates the same shapes every step, so
 * after the first step it allocates nothing and the garbage collector has nothing to do. The cache
 * holds at most {@code -Doptlab.cpu.cacheMiB} (default 2048) MiB.
 *
 * <p>NOTE [poison]: with {@code -Doptlab.poison=true} (set in every test run) each allocation is
 * filled with NaN (INT32: Integer.MIN_VALUE), so a kernel that reads an element it never wrote
 * produces NaN instead of a plausible zero.
 */
final class CpuAllocator {
    private static final boolean POISON = Boolean.getBoolean("optlab.poison");
    private final long cacheLimit = Long.getLong("optlab.cpu.cacheMiB", 2048) << 20;
    private final Map<Long, ArrayDeque<Object>> cache = new HashMap<>();
    private long liveBuffers, liveBytes, peakBytes, cachedBytes;

    Object acquire(DType dtype, int length) {
        if (length < 0) throw new IllegalArgumentException("allocate: length must be >= 0, got " + length);
        long bytes = (long) length * dtype.bytes();
        Object array = null;
        synchronized (this) {
            ArrayDeque<Object> q = cache.get(key(dtype, length));
            if (q != null && !q.isEmpty()) {
                array = q.pop();
                cachedBytes -= bytes;
            }
            liveBuffers++;
            liveBytes += bytes;
            peakBytes = Math.max(peakBytes, liveBytes);
        }
        if (array == null) {
            try {
                array = switch (dtype) {
                    case FLOAT32 -> new float[length];
                    case FLOAT64 -> new double[length];
                    case INT32 -> new int[length];
                };
            } catch (OutOfMemoryError e) {
                synchronized (this) {
                    liveBuffers--;
                    liveBytes -= bytes;
                }
                trim();
                throw new OutOfMemoryError("cpu: cannot allocate " + dtype + "[" + length + "] (" + (bytes >> 20)
                        + " MiB); live " + (liveBytes >> 20) + " MiB, max heap " + (Runtime.getRuntime().maxMemory() >> 20)
                        + " MiB (raise it with -Xmx)");
            }
            if (!POISON) return array;
        }
        if (POISON) {
            switch (array) {
                case float[] f -> Arrays.fill(f, Float.NaN);
                case double[] d -> Arrays.fill(d, Double.NaN);
                case int[] i -> Arrays.fill(i, Integer.MIN_VALUE);
                default -> throw new AssertionError(array);
            }
        }
        return array;
    }

    synchronized void release(DType dtype, int length, Object array) {
        long bytes = (long) length * dtype.bytes();
        liveBuffers--;
        liveBytes -= bytes;
        if (cachedBytes + bytes <= cacheLimit) {
            cache.computeIfAbsent(key(dtype, length), k -> new ArrayDeque<>()).push(array);
            cachedBytes += bytes;
        }
    }

    /** Drops every cached array (for the garbage collector to take). */
    synchronized void trim() {
        cache.clear();
        cachedBytes = 0;
    }

    synchronized MemoryStats stats() {
        return new MemoryStats(liveBuffers, liveBytes, peakBytes, cachedBytes);
    }

    private static long key(DType dtype, int length) {
        return ((long) dtype.ordinal() << 32) | length;
    }
}
