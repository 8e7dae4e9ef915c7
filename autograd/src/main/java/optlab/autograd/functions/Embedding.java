package optlab.autograd.functions;

import optlab.autograd.Function;
import optlab.autograd.Variable;
import optlab.tensor.NeuralOps;
import optlab.tensor.Tensor;

/** out = table[indices] (rows of table (vocab, dim)); dTable sums the rows of dOut per index. */
public final class Embedding extends Function {
    private Tensor indices;
    private int vocab;

    public static Variable apply(Tensor indices, Variable table) {
        checkGradientKernel("embedding", table);
        Embedding f = new Embedding();
        f.indices = indices;
        f.vocab = table.size(0);
        return f.output(NeuralOps.embedding(indices, table.data()), table);
    }

    @Override
    protected Tensor[] backward(Tensor dy) {
        return new Tensor[] {NeuralOps.embeddingBackward(indices, dy, vocab)};
    }
}
