package optlab.nn;

import optlab.autograd.Variable;

/** y = max(x, 0). */
public final class ReLU extends Module {
    @Override
    public Variable forward(Variable x) {
        return x.relu();
    }
}
