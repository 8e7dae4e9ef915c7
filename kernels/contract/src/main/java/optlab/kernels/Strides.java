package optlab.kernels;

import java.util.Arrays;

/** Helpers for the strided primitives ({@link Backend#copy}, {@link Backend#binary}). */
public final class Strides {
    private Strides() {}

    /** Row-major strides of a compact array of {@code shape}. */
    public static int[] contiguous(int[] shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            s[d] = acc;
            acc *= shape[d];
        }
        return s;
    }

    /** Product of the dimensions (1 for rank 0). */
    public static int numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than 2^31-1 elements");
        return (int) n;
    }

    /**
     * The same iteration with as few dimensions as possible: drops dimensions of size 1 and merges
     * neighbours that every operand steps through contiguously ({@code stride[d] == stride[d+1] * shape[d+1]}).
     * Returns {@code {shape', strides'_0, strides'_1, ...}}; always at least rank 1.
     */
    public static int[][] coalesce(int[] shape, int[]... strides) {
        int k = strides.length;
        for (int[] s : strides) {
            if (s.length != shape.length) {
                throw new IllegalArgumentException("strides " + Arrays.toString(s) + " do not match shape " + Arrays.toString(shape));
            }
        }
        int[] outShape = new int[Math.max(1, shape.length)];
        int[][] outStrides = new int[k][outShape.length];
        int r = 0;
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == 0) return empty(k);
            if (shape[d] == 1) continue;
            boolean merge = r > 0;
            for (int j = 0; j < k && merge; j++) merge = outStrides[j][r - 1] == strides[j][d] * shape[d];
            if (merge) {
                outShape[r - 1] *= shape[d];
                for (int j = 0; j < k; j++) outStrides[j][r - 1] = strides[j][d];
            } else {
                outShape[r] = shape[d];
                for (int j = 0; j < k; j++) outStrides[j][r] = strides[j][d];
                r++;
            }
        }
        if (r == 0) { // a single element
            outShape[0] = 1;
            r = 1;
        }
        int[][] result = new int[k + 1][];
        result[0] = Arrays.copyOf(outShape, r);
        for (int j = 0; j < k; j++) result[j + 1] = Arrays.copyOf(outStrides[j], r);
        return result;
    }

    private static int[][] empty(int k) {
        int[][] result = new int[k + 1][];
        result[0] = new int[] {0};
        for (int j = 0; j < k; j++) result[j + 1] = new int[] {0};
        return result;
    }
}
