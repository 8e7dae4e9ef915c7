package optlab.kernels.reference;

import optlab.kernels.Backend;
import optlab.kernels.Buffer;
import optlab.kernels.DType;

/**
 * A buffer of the {@link ReferenceBackend}: a {@code double[]} for FLOAT32 and FLOAT64 (a FLOAT32 buffer holds only
 * values that are exactly floats, NOTE [float32-as-double] in {@link ReferenceBackend}), an {@code int[]} for INT32.
 * No allocator cache: closing drops the array for the garbage collector.
 */
final class ReferenceBuffer implements Buffer {
    private final ReferenceBackend backend;
    private final DType dtype;
    private final int length;
    private Object storage; // double[] or int[]; null once freed

    ReferenceBuffer(ReferenceBackend backend, DType dtype, int length, Object storage) {
        this.backend = backend;
        this.dtype = dtype;
        this.length = length;
        this.storage = storage;
    }

    /** Bytes of heap the storage of a buffer of {@code dtype} and {@code length} holds: 8 per element but INT32's 4. */
    static long storageBytes(DType dtype, int length) {
        return (long) length * (dtype == DType.INT32 ? Integer.BYTES : Double.BYTES);
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
        return storage == null;
    }

    /** The array; throws if the buffer was freed. */
    synchronized Object storage() {
        if (storage == null) throw new IllegalStateException("use of a freed " + dtype + " buffer of " + length + " elements");
        return storage;
    }

    @Override
    public void close() {
        boolean wasLive;
        synchronized (this) {
            wasLive = storage != null;
            storage = null;
        }
        if (wasLive) backend.released(storageBytes(dtype, length));
    }

    @Override
    public String toString() {
        return "ReferenceBuffer(" + dtype + "[" + length + "]" + (isClosed() ? ", freed" : "") + ")";
    }
}
