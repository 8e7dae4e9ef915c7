package optlab.kernels.family;

import optlab.kernels.Ptr;

/**
 * Op {@code batchnorm}: {@link optlab.kernels.Backend#batchNormForwardTraining},
 * {@link optlab.kernels.Backend#batchNormForwardInference} and {@link optlab.kernels.Backend#batchNormBackward}.
 * A forward-only kernel may throw from {@link #backward}. The kernel computes the plain batch norm: the backend runs
 * the primitives' epilogue (add, ReLU and the backward's mask; Backend's NOTE [bn-epilogue]) around it.
 */
public interface BatchNormKernel {
    void forwardTraining(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta, double eps, double momentum, Ptr runningMean,
                         Ptr runningVar, Ptr y, Ptr saveMean, Ptr saveInvStd);

    void forwardInference(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta, Ptr runningMean, Ptr runningVar, double eps, Ptr y);

    void backward(int n, int c, int hw, Ptr x, Ptr dy, Ptr gamma, Ptr saveMean, Ptr saveInvStd, Ptr dx, Ptr dgamma, Ptr dbeta);
}
