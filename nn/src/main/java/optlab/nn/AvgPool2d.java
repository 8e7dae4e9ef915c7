package optlab.nn;

import optlab.autograd.Functional;
import optlab.autograd.Variable;

/** Average pooling over square windows, as {@code torch.nn.AvgPool2d} (padding counted in the divisor by default). */
public final class AvgPool2d extends Module {
    private final int kernel, stride, padding;
    private final boolean countIncludePad;

    /** kernel x kernel windows with stride = kernel, no padding. */
    public AvgPool2d(int kernel) {
        this(kernel, kernel, 0, true);
    }

    public AvgPool2d(int kernel, int stride, int padding, boolean countIncludePad) {
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.countIncludePad = countIncludePad;
    }

    /** x is (n, c, h, w); y is (n, c, (h + 2 pad - k)/stride + 1, ...). */
    @Override
    public Variable forward(Variable x) {
        return Functional.avgPool2d(x, kernel, stride, padding, countIncludePad);
    }

    @Override
    protected String describe() {
        return "kernel_size=" + kernel + ", stride=" + stride + ", padding=" + padding;
    }
}
