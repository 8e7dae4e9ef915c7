package optlab.kernels;

/** Argument checks shared by the contract's value types; every message names the op and the value. */
public final class Checks {
    private Checks() {}

    /** Throws unless every value in {@code nameValuePairs} ({@code "n", 4, "c", 3, ...}) is positive. */
    public static void positive(String op, Object... nameValuePairs) {
        for (int i = 0; i < nameValuePairs.length; i += 2) {
            int v = (Integer) nameValuePairs[i + 1];
            if (v <= 0) {
                throw new IllegalArgumentException(op + ": " + nameValuePairs[i] + " must be positive, got " + v);
            }
        }
    }

    /** Throws unless {@code n >= 0}. */
    public static int nonNegative(String op, String name, int n) {
        if (n < 0) throw new IllegalArgumentException(op + ": " + name + " must be >= 0, got " + n);
        return n;
    }

    /** Throws unless all pointers hold {@code dtype}. */
    public static DType sameDType(String op, Ptr... ptrs) {
        DType d = ptrs[0].dtype();
        for (Ptr p : ptrs) {
            if (p.dtype() != d) {
                throw new IllegalArgumentException(op + ": mixed dtypes " + d + " and " + p.dtype());
            }
        }
        return d;
    }
}
