package optlab.kernels.cuda;

/**
 * Device memory ran out: says how much was asked for and how much the device had free. The backend
 * stays usable: free buffers (close tensors, end scopes) and allocate again.
 */
public final class CudaOutOfMemoryError extends OutOfMemoryError {
    private final long requestedBytes, freeBytes, totalBytes;

    CudaOutOfMemoryError(String message, long requestedBytes, long freeBytes, long totalBytes) {
        super(message);
        this.requestedBytes = requestedBytes;
        this.freeBytes = freeBytes;
        this.totalBytes = totalBytes;
    }

    public long requestedBytes() {
        return requestedBytes;
    }

    /** Free device memory as cuMemGetInfo reported it after the allocator emptied its cache. */
    public long freeBytes() {
        return freeBytes;
    }

    public long totalBytes() {
        return totalBytes;
    }
}
