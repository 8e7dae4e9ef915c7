package optlab.nn.models;

import optlab.autograd.Variable;
import optlab.nn.Conv2d;
import optlab.nn.Flatten;
import optlab.nn.Init;
import optlab.nn.Linear;
import optlab.nn.MaxPool2d;
import optlab.nn.Module;
import optlab.nn.Parameter;
import optlab.nn.ReLU;
import optlab.nn.Sequential;
import optlab.tensor.Generator;

/**
 * DeepOBS's fmnist_2c2d, the Fashion-MNIST network of Choi et al. (PAPERS.md section 2):
 * <pre>
 *   x (n, 1, 28, 28)
 *   conv 5x5, 32, same   + ReLU   -> (n, 32, 28, 28)      832 parameters
 *   max pool 2x2 / 2              -> (n, 32, 14, 14)
 *   conv 5x5, 64, same   + ReLU   -> (n, 64, 14, 14)   51,264
 *   max pool 2x2 / 2              -> (n, 64, 7, 7)
 *   flatten                       -> (n, 3136)
 *   dense 1024           + ReLU   -> (n, 1024)      3,212,288
 *   dense 10                      -> (n, 10)           10,250     total 3,274,634
 * </pre>
 * Initialization as DeepOBS: weights truncated normal with std 0.05, biases 0.05.
 */
public final class SimpleCnn extends Module {
    private final Sequential net;

    public SimpleCnn(Generator g) {
        net = register("net", new Sequential(
                new Conv2d(1, 32, 5, 1, 2, true, g), new ReLU(), new MaxPool2d(2, 2, 0),
                new Conv2d(32, 64, 5, 1, 2, true, g), new ReLU(), new MaxPool2d(2, 2, 0),
                new Flatten(),
                new Linear(64 * 7 * 7, 1024, true, g), new ReLU(),
                new Linear(1024, 10, true, g)));
        for (var e : namedParameters().entrySet()) {
            Parameter p = e.getValue();
            if (e.getKey().endsWith(".weight")) Init.truncatedNormal(p.data(), 0, 0.05, g);
            else Init.constant(p.data(), 0.05);
        }
    }

    @Override
    public Variable forward(Variable x) {
        if (x.dim() != 4 || x.size(1) != 1 || x.size(2) != 28 || x.size(3) != 28) {
            throw new IllegalArgumentException("SimpleCnn: expects images of shape (n, 1, 28, 28), got " + x.shape());
        }
        return net.forward(x);
    }
}
