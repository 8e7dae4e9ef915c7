package optlab.nn;

import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.tensor.Generator;
import optlab.tensor.Tensor;

/** 2-D convolution with square kernel, stride and padding; weight (out, in, k, k); PyTorch's default init. */
public final class Conv2d extends Module {
    public final Parameter weight;
    public final Parameter bias;
    private final int in, out, kernel, stride, padding;

    public Conv2d(int in, int out, int kernel, int stride, int padding, boolean bias, Generator g) {
        this.in = in;
        this.out = out;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        int fanIn = in * kernel * kernel;
        weight = register("weight", new Parameter(Init.pytorchDefault(Tensor.empty(out, in, kernel, kernel), fanIn, g)));
        this.bias = bias ? register("bias", new Parameter(Init.pytorchDefault(Tensor.empty(out), fanIn, g))) : null;
    }

    @Override
    public Variable forward(Variable x) {
        if (x.dim() != 4 || x.size(1) != in) {
            throw new IllegalArgumentException("Conv2d(" + in + " -> " + out + "): input of shape " + x.shape()
                    + " (expected (n, " + in + ", h, w))");
        }
        return Functional.conv2d(x, weight, bias, stride, padding);
    }

    @Override
    protected String describe() {
        return in + ", " + out + ", kernel_size=" + kernel + ", stride=" + stride + ", padding=" + padding + ", bias=" + (bias != null);
    }
}
