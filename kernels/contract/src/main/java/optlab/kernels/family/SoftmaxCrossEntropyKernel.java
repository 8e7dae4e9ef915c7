package optlab.kernels.family;

import optlab.kernels.Ptr;

/**
 * Op {@code softmax_cross_entropy}: {@link optlab.kernels.Backend#softmaxCrossEntropyForward} and
 * {@link optlab.kernels.Backend#softmaxCrossEntropyBackward}. Labels have been checked to lie in [0, classes).
 * A forward-only kernel may throw from {@link #backward}.
 */
public interface SoftmaxCrossEntropyKernel {
    void forward(int n, int classes, Ptr logits, Ptr labels, double smoothing, Ptr loss, Ptr probs);

    void backward(int n, int classes, Ptr probs, Ptr labels, double smoothing, Ptr dLoss, Ptr dLogits);
}
