package optlab.nn;

import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.tensor.Generator;
import optlab.tensor.Tensor;

/** y = x W^T + b with W (out, in); PyTorch's default initialization unless the caller re-initializes. */
public final class Linear extends Module {
    public final Parameter weight;
    public final Parameter bias;
    private final int in, out;

    public Linear(int in, int out, boolean bias, Generator g) {
        this.in = in;
        this.out = out;
        weight = register("weight", new Parameter(Init.pytorchDefault(Tensor.empty(out, in), in, g)));
        this.bias = bias ? register("bias", new Parameter(Init.pytorchDefault(Tensor.empty(out), in, g))) : null;
    }

    @Override
    public Variable forward(Variable x) {
        if (x.dim() != 2 || x.size(1) != in) {
            throw new IllegalArgumentException("Linear(" + in + " -> " + out + "): input of shape " + x.shape()
                    + " (expected (n, " + in + "))");
        }
        return Functional.linear(x, weight, bias);
    }

    @Override
    protected String describe() {
        return "in_features=" + in + ", out_features=" + out + ", bias=" + (bias != null);
    }
}
