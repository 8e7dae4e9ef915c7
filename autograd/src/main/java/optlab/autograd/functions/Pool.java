package optlab.autograd.functions;

import optlab.autograd.Function;
import optlab.autograd.Variable;
import optlab.tensor.NeuralOps;
import optlab.tensor.Tensor;

/** Max and average pooling over square windows of NCHW input. */
public final class Pool {
    private Pool() {}

    /** y = max over each window; dx routes each window's dy to its (first) maximum. */
    public static final class MaxPool2d extends Function {
        private Tensor x, y;
        private int kernel, stride, padding;

        public static Variable apply(Variable x, int kernel, int stride, int padding) {
            checkGradientKernel("pool2d", x);
            MaxPool2d f = new MaxPool2d();
            f.x = x.data();
            f.kernel = kernel;
            f.stride = stride;
            f.padding = padding;
            f.y = NeuralOps.maxPool2d(x.data(), kernel, stride, padding);
            return f.output(f.y, x);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            return new Tensor[] {NeuralOps.maxPool2dBackward(x, y, dy, kernel, stride, padding)};
        }
    }

    /** y = mean over each window; dx spreads dy / divisor over the window. */
    public static final class AvgPool2d extends Function {
        private optlab.tensor.Shape input;
        private int kernel, stride, padding;
        private boolean countIncludePad;

        public static Variable apply(Variable x, int kernel, int stride, int padding, boolean countIncludePad) {
            checkGradientKernel("pool2d", x);
            AvgPool2d f = new AvgPool2d();
            f.input = x.shape();
            f.kernel = kernel;
            f.stride = stride;
            f.padding = padding;
            f.countIncludePad = countIncludePad;
            return f.output(NeuralOps.avgPool2d(x.data(), kernel, stride, padding, countIncludePad), x);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            return new Tensor[] {NeuralOps.avgPool2dBackward(dy, input, kernel, stride, padding, countIncludePad)};
        }
    }
}
