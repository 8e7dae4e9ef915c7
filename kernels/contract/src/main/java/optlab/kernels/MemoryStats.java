package optlab.kernels;

/**
 * A backend's allocator counters.
 *
 * @param liveBuffers buffers allocated and not yet freed
 * @param liveBytes   bytes in those buffers
 * @param peakBytes   the largest liveBytes seen
 * @param cachedBytes freed bytes the allocator keeps for reuse
 */
public record MemoryStats(long liveBuffers, long liveBytes, long peakBytes, long cachedBytes) {
    @Override
    public String toString() {
        return String.format("%d live buffers, %.1f MiB live, %.1f MiB peak, %.1f MiB cached",
                liveBuffers, liveBytes / 1048576.0, peakBytes / 1048576.0, cachedBytes / 1048576.0);
    }
}
