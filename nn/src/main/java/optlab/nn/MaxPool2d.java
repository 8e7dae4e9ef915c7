package optlab.nn;

import optlab.autograd.Functional;
import optlab.autograd.Variable;

/** Max pooling over square windows. */
public final class MaxPool2d extends Module {
    private final int kernel, stride, padding;

    public MaxPool2d(int kernel, int stride, int padding) {
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
    }

    @Override
    public Variable forward(Variable x) {
        return Functional.maxPool2d(x, kernel, stride, padding);
    }

    @Override
    protected String describe() {
        return "kernel_size=" + kernel + ", stride=" + stride + ", padding=" + padding;
    }
}
