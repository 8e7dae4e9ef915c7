package optlab.kernels.cuda;

import optlab.kernels.Backend;
import optlab.kernels.Buffer;
import optlab.kernels.DType;

/** Device memory of one {@link CudaDevice}, from its caching allocator. A zero-length buffer holds no block. */
final class CudaBuffer implements Buffer {
    private final CudaBackend backend;
    final CudaDevice device;
    private final DType dtype;
    private final int length;
    private CudaAllocator.Block block;
    private boolean closed;

    CudaBuffer(CudaBackend backend, CudaDevice device, DType dtype, int length, CudaAllocator.Block block) {
        this.backend = backend;
        this.device = device;
        this.dtype = dtype;
        this.length = length;
        this.block = block;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public synchronized boolean isClosed() {
        return closed;
    }

    /** The device address of element 0; throws if the buffer was freed. */
    synchronized long address() {
        if (closed) throw new IllegalStateException("use of a freed " + dtype + " buffer of " + length + " elements on " + device);
        return block == null ? 0L : block.address();
    }

    @Override
    public void close() {
        CudaAllocator.Block b;
        synchronized (this) {
            if (closed) return;
            closed = true;
            b = block;
            block = null;
        }
        if (b != null) device.allocator.release(b, (long) length * dtype.bytes());
        else device.allocator.releaseEmpty();
    }

    @Override
    public String toString() {
        return "CudaBuffer(" + device + ", " + dtype + "[" + length + "]" + (isClosed() ? ", freed" : "") + ")";
    }
}
