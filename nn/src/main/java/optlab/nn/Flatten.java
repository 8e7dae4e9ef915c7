package optlab.nn;

import optlab.autograd.Variable;

/** (n, d1, d2, ...) to (n, d1*d2*...), as {@code torch.nn.Flatten()}. */
public final class Flatten extends Module {
    @Override
    public Variable forward(Variable x) {
        return x.dim() <= 2 ? x : x.flatten(1, -1);
    }
}
