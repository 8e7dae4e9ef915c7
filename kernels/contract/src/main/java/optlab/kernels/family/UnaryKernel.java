package optlab.kernels.family;

import optlab.kernels.Ptr;
import optlab.kernels.UnaryOp;

/**
 * Op {@code unary.NAME}: {@link optlab.kernels.Backend#unary} for one {@link UnaryOp}. A user kernel may compute
 * something other than the built-in op, so its gradient is its own {@link #backward}, never the built-in
 * derivative (NOTE [user-kernel-gradients]); a forward-only kernel may throw from it.
 */
public interface UnaryKernel {
    /** y[0:n] = f(x[0:n]; alpha); y may be x. */
    void forward(UnaryOp op, double alpha, int n, Ptr x, Ptr y);

    /** dx[0:n] = dy * f'(x; alpha), given x, the forward's y and dy. */
    void backward(UnaryOp op, double alpha, int n, Ptr x, Ptr y, Ptr dy, Ptr dx);
}
