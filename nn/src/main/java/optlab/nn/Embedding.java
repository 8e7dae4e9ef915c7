package optlab.nn;

import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.kernels.DType;
import optlab.tensor.Generator;
import optlab.tensor.Tensor;

/**
 * A lookup table, as {@code torch.nn.Embedding}: {@code weight} is (vocab, dim), initialized N(0, 1)
 * like PyTorch's; indices are INT32 of any shape, the output has shape indices.shape + (dim).
 */
public final class Embedding extends Module {
    public final Parameter weight;
    private final int vocab, dim;

    public Embedding(int vocab, int dim, Generator g) {
        this.vocab = vocab;
        this.dim = dim;
        weight = register("weight", new Parameter(Init.normal(Tensor.empty(vocab, dim), 0, 1, g)));
    }

    /** x holds INT32 indices in [0, vocab). */
    @Override
    public Variable forward(Variable x) {
        return forward(x.data());
    }

    /** indices (INT32, any shape) to (indices.shape..., dim). */
    public Variable forward(Tensor indices) {
        if (indices.dtype() != DType.INT32) {
            throw new IllegalArgumentException("Embedding(" + vocab + ", " + dim + "): indices must be INT32, got " + indices.dtype());
        }
        return Functional.embedding(indices, weight);
    }

    @Override
    protected String describe() {
        return vocab + ", " + dim;
    }
}
