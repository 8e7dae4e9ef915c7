package optlab.kernels.family;

import optlab.kernels.BinaryOp;
import optlab.kernels.Ptr;

/**
 * Op {@code binary.NAME}: {@link optlab.kernels.Backend#binary} for one {@link BinaryOp}, each operand through its own
 * strides (0 broadcasts). It implements the op's own math (its gradient is built from binary ops), so it brings no
 * backward.
 */
public interface BinaryKernel {
    void apply(BinaryOp op, int[] shape, Ptr out, int[] outStrides, Ptr a, int[] aStrides, Ptr b, int[] bStrides);
}
