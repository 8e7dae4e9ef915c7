package optlab.autograd.functions;

import optlab.autograd.Function;
import optlab.autograd.Variable;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/** Sum and mean over dimensions; the backward spreads dy back over the reduced dimensions. */
public final class Reduce {
    private Reduce() {}

    /** dy (with the reduced dimensions restored as size 1) broadcast to the input's shape, times scale. */
    static Tensor spread(Tensor dy, Shape input, int[] dims, double scale) {
        int[] kept = input.toArray();
        for (int d : dims) kept[input.axis(d)] = 1;
        try (Tensor v = dy.reshape(kept); Tensor e = v.expand(input)) {
            return scale == 1 ? e.copy() : e.mul(scale);
        }
    }

    /** y = sum of x over dims; dx = dy broadcast back. */
    public static final class Sum extends Function {
        private Shape input;
        private int[] dims;

        public static Variable apply(Variable x, int[] dims, boolean keepDim) {
            Sum f = new Sum();
            f.input = x.shape();
            f.dims = dims.clone();
            return f.output(x.data().sum(dims, keepDim), x);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            return new Tensor[] {spread(dy, input, dims, 1)};
        }
    }

    /** y = mean of x over dims (count m); dx = dy / m broadcast back. */
    public static final class Mean extends Function {
        private Shape input;
        private int[] dims;

        public static Variable apply(Variable x, int[] dims, boolean keepDim) {
            Mean f = new Mean();
            f.input = x.shape();
            f.dims = dims.clone();
            return f.output(x.data().mean(dims, keepDim), x);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            long count = 1;
            boolean[] seen = new boolean[input.rank()];
            for (int d : dims) {
                int a = input.axis(d);
                if (!seen[a]) count *= input.get(a);
                seen[a] = true;
            }
            return new Tensor[] {spread(dy, input, dims, 1.0 / count)};
        }
    }
}
