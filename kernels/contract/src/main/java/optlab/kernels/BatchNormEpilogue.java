package optlab.kernels;

/**
 * Batch norm's epilogue (Backend's NOTE [bn-epilogue]) run as separate elementwise primitives, around a batch-norm
 * kernel that does not fuse it: the cuDNN choice and a user's swapped {@code batchnorm} kernel, whose family
 * ({@link optlab.kernels.family.BatchNormKernel}) is the plain batch norm. The bits are those of the fused kernels:
 * the same float add, ReLU and mask.
 */
public final class BatchNormEpilogue {
    private BatchNormEpilogue() {}

    /** In place on batch norm's output y (size values): {@code y = act(y + z)}; nothing when z is null and not relu. */
    public static void forward(Backend b, int size, Ptr y, Ptr z, boolean relu) {
        int[] shape = {size}, unit = {1};
        if (z != null) b.binary(BinaryOp.ADD, shape, y, unit, y, unit, z, unit);
        if (relu) b.unary(UnaryOp.RELU, 0, size, y, y);
    }

    /** Whether {@link #gradient} needs a scratch buffer: a ReLU's mask with no dz to hold it. */
    public static boolean needsScratch(boolean relu, Ptr dz) {
        return relu && dz == null;
    }

    /**
     * The gradient g that reaches batch norm's output: dy itself when there is no ReLU (copied into dz when given),
     * else {@code g = y > 0 ? dy : 0}, written into dz, or into {@code scratch} (size values, see {@link #needsScratch};
     * the caller frees it after batch norm's backward) when dz is null.
     */
    public static Ptr gradient(Backend b, int size, Ptr dy, Ptr y, boolean relu, Ptr dz, Buffer scratch) {
        int[] shape = {size}, unit = {1};
        if (!relu) {
            if (dz != null) b.copy(shape, dz, unit, dy, unit);
            return dy;
        }
        Ptr g = dz != null ? dz : scratch.ptr();
        b.binary(BinaryOp.RELU_BACKWARD, shape, g, unit, dy, unit, y, unit);
        return g;
    }
}
