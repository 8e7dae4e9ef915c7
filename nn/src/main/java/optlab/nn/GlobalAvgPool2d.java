package optlab.nn;

import optlab.autograd.Functional;
import optlab.autograd.Variable;

/**
 * The mean over the spatial dimensions, (n, c, h, w) to (n, c): PyTorch's
 * {@code AdaptiveAvgPool2d(1)} followed by {@code flatten(1)}, and {@code F.avg_pool2d(x, x.size(3))}
 * for square inputs.
 */
public final class GlobalAvgPool2d extends Module {
    @Override
    public Variable forward(Variable x) {
        if (x.dim() != 4) throw new IllegalArgumentException("GlobalAvgPool2d: input must be (n, c, h, w), got shape " + x.shape());
        return Functional.globalAvgPool2d(x);
    }
}
