package optlab.autograd.functions;

import optlab.autograd.Function;
import optlab.autograd.Variable;
import optlab.tensor.NeuralOps;
import optlab.tensor.Tensor;

/**
 * y = x * mask / (1 - p), the mask drawn from Philox positions [counter, counter + numel) under seed.
 * Linear in x with a fixed mask, so dx is the same operation applied to dy: the mask is regenerated,
 * never stored.
 */
public final class Dropout extends Function {
    private double p;
    private long seed, counter;

    public static Variable apply(Variable x, double p, long seed, long counter) {
        Dropout f = new Dropout();
        f.p = p;
        f.seed = seed;
        f.counter = counter;
        return f.output(NeuralOps.dropout(x.data(), p, seed, counter), x);
    }

    @Override
    protected Tensor[] backward(Tensor dy) {
        return new Tensor[] {NeuralOps.dropout(dy, p, seed, counter)};
    }
}
