package optlab.kernels.family;

import optlab.kernels.DType;
import optlab.kernels.Ptr;

/**
 * The arrays behind CPU pointers, for a user's Java kernel (NOTE [kernel-choices]): {@code f32(p)[p.offset() + i]} is
 * element i of the operand. Throws, naming the operand's dtype, for a pointer of another dtype or another backend.
 */
public final class HostArrays {
    private HostArrays() {}

    public static float[] f32(Ptr p) {
        return (float[]) array(p, DType.FLOAT32);
    }

    public static double[] f64(Ptr p) {
        return (double[]) array(p, DType.FLOAT64);
    }

    public static int[] i32(Ptr p) {
        return (int[]) array(p, DType.INT32);
    }

    private static Object array(Ptr p, DType t) {
        if (!(p.buffer() instanceof HostBuffer b)) throw new IllegalArgumentException("not a CPU buffer: " + p.buffer());
        if (b.dtype() != t) throw new IllegalArgumentException("expected a " + t + " buffer, got " + b.dtype());
        return b.array();
    }
}
