package optlab.kernels.family;

import optlab.kernels.Pool2dGeometry;
import optlab.kernels.Ptr;

/**
 * Op {@code pool2d}: max and average pooling, forward and backward ({@link optlab.kernels.Backend#maxPool2dForward}
 * and the three that follow it). A forward-only kernel may throw from the backward methods.
 */
public interface Pool2dKernel {
    void maxForward(Pool2dGeometry g, Ptr x, Ptr y);

    void maxBackward(Pool2dGeometry g, Ptr x, Ptr y, Ptr dy, Ptr dx);

    void avgForward(Pool2dGeometry g, boolean countIncludePad, Ptr x, Ptr y);

    void avgBackward(Pool2dGeometry g, boolean countIncludePad, Ptr dy, Ptr dx);
}
