package optlab.kernels;

/**
 * Element types a {@link Buffer} can hold.
 *
 * <p>FLOAT32 is the training type. FLOAT64 exists so that every backward can be gradient-checked in
 * double precision (and for optimizer state where a study needs it); on the CPU backend it runs the
 * plain reference implementations. INT32 holds labels and indices.
 */
public enum DType {
    FLOAT32(4), FLOAT64(8), INT32(4);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Size of one element in bytes. */
    public int bytes() {
        return bytes;
    }

    public boolean isFloating() {
        return this != INT32;
    }
}
