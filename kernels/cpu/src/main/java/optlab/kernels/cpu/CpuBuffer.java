package optlab.kernels.cpu;

import optlab.kernels.Backend;
import optlab.kernels.DType;
import optlab.kernels.family.HostBuffer;

/** A CPU buffer: a Java array ({@code float[]}, {@code double[]} or {@code int[]}) from {@link CpuAllocator}. */
final class CpuBuffer implements HostBuffer {
    private final CpuBackend backend;
    private final DType dtype;
    private final int length;
    private Object array;

    CpuBuffer(CpuBackend backend, DType dtype, int length, Object array) {
        this.backend = backend;
        this.dtype = dtype;
        this.length = length;
        this.array = array;
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
        return array == null;
    }

    @Override
    public Object array() {
        Object a = array;
        if (a == null) throw new IllegalStateException("use of a freed " + dtype + " buffer of " + length + " elements");
        return a;
    }

    @Override
    public void close() {
        Object a;
        synchronized (this) {
            a = array;
            array = null;
        }
        if (a != null) backend.allocator().release(dtype, length, a);
    }

    @Override
    public String toString() {
        return "CpuBuffer(" + dtype + "[" + length + "]" + (array == null ? ", freed" : "") + ")";
    }
}
