package optlab.kernels;

/**
 * A compact, typed block of memory owned by one {@link Backend}: a Java array on the CPU, device
 * memory on a GPU. Code above the kernels module never sees what is inside; it passes buffers (as
 * {@link Ptr}s) to the backend's primitives.
 *
 * <p>NOTE [lifetimes]: buffers are freed explicitly ({@link #close()}), because the garbage collector
 * cannot return GPU memory on time. The tensor layer reference-counts buffers shared by views and frees
 * a training step's temporaries when its scope closes. Using a buffer after it is freed throws.
 */
public interface Buffer extends AutoCloseable {
    DType dtype();

    /** Number of elements. */
    int length();

    Backend backend();

    /** True once {@link #close()} has run. */
    boolean isClosed();

    /** A pointer to element {@code offset} of this buffer. */
    default Ptr ptr(int offset) {
        return new Ptr(this, offset);
    }

    default Ptr ptr() {
        return new Ptr(this, 0);
    }

    /** Returns the memory to the backend's allocator. Idempotent. */
    @Override
    void close();
}
