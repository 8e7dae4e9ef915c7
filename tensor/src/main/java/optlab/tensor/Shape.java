package optlab.tensor;

import java.util.Arrays;

/** An immutable tensor shape, printed as PyTorch prints {@code torch.Size}: {@code [2, 3]}. */
public final class Shape {
    private final int[] dims;

    private Shape(int[] dims) {
        this.dims = dims;
    }

    /** A shape with these dimensions; each must be >= 0. */
    public static Shape of(int... dims) {
        for (int d : dims) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(dims));
        }
        Shape s = new Shape(dims.clone());
        s.numel(); // checks the element count fits an int
        return s;
    }

    public static final Shape SCALAR = new Shape(new int[0]);

    public int rank() {
        return dims.length;
    }

    /** Dimension {@code d}; negative d counts from the end, as in PyTorch. */
    public int get(int d) {
        return dims[axis(d)];
    }

    /** Normalizes a possibly negative axis; throws naming the axis and the shape if out of range. */
    public int axis(int d) {
        int a = d < 0 ? d + dims.length : d;
        if (a < 0 || a >= dims.length) {
            throw new IllegalArgumentException("dimension " + d + " out of range for shape " + this);
        }
        return a;
    }

    public int[] toArray() {
        return dims.clone();
    }

    public int numel() {
        long n = 1;
        for (int d : dims) n *= d;
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " has " + n + " elements, more than 2^31-1");
        }
        return (int) n;
    }

    /** The shape with dimension {@code d} replaced. */
    public Shape with(int d, int size) {
        int[] a = dims.clone();
        a[axis(d)] = size;
        return of(a);
    }

    /**
     * The broadcast of two shapes (NumPy rules: align trailing dimensions; sizes must be equal or 1).
     * {@code op} names the operation in the error.
     */
    public static Shape broadcast(String op, Shape a, Shape b) {
        int rank = Math.max(a.rank(), b.rank());
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i < rank - a.rank() ? 1 : a.dims[i - (rank - a.rank())];
            int db = i < rank - b.rank() ? 1 : b.dims[i - (rank - b.rank())];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + a + " and " + b + " are not broadcastable");
            }
            out[i] = da == 1 ? db : da;
        }
        return new Shape(out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
