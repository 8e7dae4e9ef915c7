package optlab.kernels.family;

import optlab.kernels.Conv2dGeometry;
import optlab.kernels.Ptr;

/**
 * Op {@code conv2d}: {@link optlab.kernels.Backend#conv2dForward}, {@link optlab.kernels.Backend#conv2dBackwardData}
 * and {@link optlab.kernels.Backend#conv2dBackwardFilter}. A kernel declared {@code :forward-only} may throw from
 * the backward methods; it is refused in any graph that needs its gradient.
 */
public interface Conv2dKernel {
    void forward(Conv2dGeometry g, Ptr x, Ptr w, Ptr y);

    void backwardData(Conv2dGeometry g, Ptr dy, Ptr w, Ptr dx);

    void backwardFilter(Conv2dGeometry g, Ptr x, Ptr dy, Ptr dw);
}
