package optlab.autograd.functions;

import optlab.autograd.Function;
import optlab.autograd.Variable;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/** Reshapes, permutations, slices and concatenation: views in the forward, their adjoints in the backward. */
public final class Indexing {
    private Indexing() {}

    /** y = x with a new shape (same elements, row-major); dx = dy reshaped back. */
    public static final class Reshape extends Function {
        private Shape input;

        public static Variable apply(Variable x, int... shape) {
            Reshape f = new Reshape();
            f.input = x.shape();
            return f.output(x.data().reshape(shape), x);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            return new Tensor[] {dy.reshape(input.toArray())};
        }
    }

    /** y = x with dimensions reordered; dx = dy with the inverse order. */
    public static final class Permute extends Function {
        private int[] inverse;

        public static Variable apply(Variable x, int... order) {
            Permute f = new Permute();
            Tensor y = x.data().permute(order);
            f.inverse = new int[order.length];
            for (int i = 0; i < order.length; i++) f.inverse[x.shape().axis(order[i])] = i;
            return f.output(y, x);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            return new Tensor[] {dy.permute(inverse)};
        }
    }

    /** y = x[..., start:end:step, ...] along dim; dx = zeros with dy written into that slice. */
    public static final class Slice extends Function {
        private Shape input;
        private int dim, start, end, step;

        public static Variable apply(Variable x, int dim, int start, int end, int step) {
            Slice f = new Slice();
            f.input = x.shape();
            f.dim = dim;
            f.start = start;
            f.end = end;
            f.step = step;
            return f.output(x.data().slice(dim, start, end, step), x);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            Tensor dx = Tensor.zeros(input, dy.dtype(), dy.device());
            try (Tensor window = dx.slice(dim, start, end, step)) {
                window.copyFrom(dy);
            }
            return new Tensor[] {dx};
        }
    }

    /** y = the parts concatenated along dim; each part's gradient is its slice of dy. */
    public static final class Cat extends Function {
        private int dim;
        private int[] sizes;

        public static Variable apply(int dim, Variable... parts) {
            Cat f = new Cat();
            Tensor[] data = new Tensor[parts.length];
            f.sizes = new int[parts.length];
            for (int i = 0; i < parts.length; i++) {
                data[i] = parts[i].data();
                f.sizes[i] = parts[i].size(dim);
            }
            f.dim = dim;
            return f.output(Tensor.cat(dim, data), parts);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            Tensor[] grads = new Tensor[sizes.length];
            for (int i = 0, at = 0; i < sizes.length; at += sizes[i], i++) {
                if (needsInputGrad(i)) grads[i] = dy.narrow(dim, at, sizes[i]);
            }
            return grads;
        }
    }
}
