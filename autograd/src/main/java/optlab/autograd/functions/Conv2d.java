package optlab.autograd.functions;

import optlab.autograd.Function;
import optlab.autograd.Variable;
import optlab.tensor.NeuralOps;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/**
 * y = conv2d(x, w) + b: x (n, c, h, w), w (k, c, r, s), b (k) or absent, y (n, k, p, q).
 * dx = conv2dBackwardData(dy, w), dw = conv2dBackwardFilter(x, dy), db = sum of dy over n, p, q.
 */
public final class Conv2d extends Function {
    private Tensor x, w;
    private int stride, padding;

    public static Variable apply(Variable x, Variable w, Variable b, int stride, int padding) {
        checkGradientKernel("conv2d", x, w, b);
        Conv2d f = new Conv2d();
        f.x = x.data();
        f.w = w.data();
        f.stride = stride;
        f.padding = padding;
        Tensor y = NeuralOps.conv2d(x.data(), w.data(), stride, padding);
        if (b == null) return f.output(y, x, w);
        if (!b.shape().equals(Shape.of(w.size(0)))) {
            throw new IllegalArgumentException("conv2d: bias " + b.shape() + " does not match " + w.size(0) + " output channels of weight " + w.shape());
        }
        try (Tensor b4 = b.data().view(1, w.size(0), 1, 1)) {
            y.addInPlace(b4);
        }
        return f.output(y, x, w, b);
    }

    @Override
    protected Tensor[] backward(Tensor dy) {
        Tensor[] g = new Tensor[inputCount()];
        if (needsInputGrad(0)) g[0] = NeuralOps.conv2dBackwardData(dy, w, x.shape(), stride, padding);
        if (needsInputGrad(1)) g[1] = NeuralOps.conv2dBackwardFilter(x, dy, w.shape(), stride, padding);
        if (g.length == 3 && needsInputGrad(2)) g[2] = dy.sum(new int[] {0, 2, 3}, false);
        return g;
    }
}
