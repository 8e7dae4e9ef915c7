package optlab.kernels;

/**
 * A position inside a {@link Buffer}: what a C kernel would receive as {@code float* p}. Every
 * primitive of the {@link Backend} contract takes its arrays as {@code Ptr}s, so a tensor that is a
 * view into a larger buffer (a parameter inside the flat arena, say) is passed without a copy.
 *
 * @param buffer the buffer
 * @param offset element offset into it
 */
public record Ptr(Buffer buffer, int offset) {
    public Ptr {
        if (offset < 0 || offset > buffer.length()) {
            throw new IllegalArgumentException("offset " + offset + " outside buffer of length " + buffer.length());
        }
    }

    public DType dtype() {
        return buffer.dtype();
    }

    /** This pointer advanced by {@code elements}. */
    public Ptr plus(int elements) {
        return new Ptr(buffer, offset + elements);
    }

    /** Throws unless {@code elements} elements starting here lie inside the buffer. */
    public Ptr require(int elements, String what) {
        if (buffer.isClosed()) throw new IllegalStateException(what + ": buffer was already freed");
        if (elements < 0 || (long) offset + elements > buffer.length()) {
            throw new IllegalArgumentException(what + ": needs " + elements + " elements at offset " + offset
                    + " but the buffer holds " + buffer.length());
        }
        return this;
    }
}
