package optlab.autograd;

import optlab.autograd.functions.BatchNorm;
import optlab.autograd.functions.Conv2d;
import optlab.autograd.functions.CrossEntropy;
import optlab.autograd.functions.Dropout;
import optlab.autograd.functions.Embedding;
import optlab.autograd.functions.Linear;
import optlab.autograd.functions.LstmCell;
import optlab.autograd.functions.LstmSequence;
import optlab.autograd.functions.Pool;
import optlab.tensor.Generator;
import optlab.tensor.Tensor;

/**
 * The neural-network functions on variables, as {@code torch.nn.functional}: the layers of the nn
 * module call these, and so can user code. Each delegates to one {@link Function} class in
 * {@code optlab.autograd.functions}, where its backward is.
 */
public final class Functional {
    private Functional() {}

    /** y = x . W^T + b; x (n, in), W (out, in), b (out) or null. */
    public static Variable linear(Variable x, Variable w, Variable b) {
        return Linear.apply(x, w, b);
    }

    /** 2-D convolution, square stride and padding; b may be null. */
    public static Variable conv2d(Variable x, Variable w, Variable b, int stride, int padding) {
        return Conv2d.apply(x, w, b, stride, padding);
    }

    public static Variable maxPool2d(Variable x, int kernel, int stride, int padding) {
        return Pool.MaxPool2d.apply(x, kernel, stride, padding);
    }

    public static Variable avgPool2d(Variable x, int kernel, int stride, int padding, boolean countIncludePad) {
        return Pool.AvgPool2d.apply(x, kernel, stride, padding, countIncludePad);
    }

    /** Mean over the spatial dimensions: (n, c, h, w) to (n, c). */
    public static Variable globalAvgPool2d(Variable x) {
        return x.mean(new int[] {2, 3}, false);
    }

    public static Variable relu(Variable x) {
        return x.relu();
    }

    /**
     * Batch norm; in training it normalizes with batch statistics and updates the running statistics in
     * place (PyTorch's momentum convention), in inference it uses them.
     */
    public static Variable batchNorm(Variable x, Variable gamma, Variable beta, Tensor runningMean, Tensor runningVar,
                                     boolean training, double momentum, double eps) {
        return BatchNorm.apply(x, gamma, beta, runningMean, runningVar, training, momentum, eps);
    }

    /**
     * {@code act(batchNorm(x) + z)} as one fused op (Backend's NOTE [bn-epilogue]): z of x's shape or null (no add), act
     * = ReLU when relu. The same bits as batch norm, {@code add} and {@code relu} run one after another.
     */
    public static Variable batchNorm(Variable x, Variable gamma, Variable beta, Tensor runningMean, Tensor runningVar,
                                     boolean training, double momentum, double eps, Variable z, boolean relu) {
        return BatchNorm.apply(x, gamma, beta, runningMean, runningVar, training, momentum, eps, z, relu);
    }

    /** Mean softmax cross-entropy of logits (n, classes) against INT32 labels (n). */
    public static Variable crossEntropy(Variable logits, Tensor labels) {
        return CrossEntropy.apply(logits, labels, 0.0, CrossEntropy.Reduction.MEAN);
    }

    public static Variable crossEntropy(Variable logits, Tensor labels, double labelSmoothing, CrossEntropy.Reduction reduction) {
        return CrossEntropy.apply(logits, labels, labelSmoothing, reduction);
    }

    /**
     * Inverted dropout: in training, zeroes each element with probability p (mask from {@code gen}) and
     * scales the rest by 1/(1-p); outside training, the identity.
     */
    public static Variable dropout(Variable x, double p, boolean training, Generator gen) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("dropout: p must be in [0, 1), got " + p);
        if (!training || p == 0) return x;
        return Dropout.apply(x, p, gen.seed(), gen.take(x.data().numel()));
    }

    /** Rows of table (vocab, dim) picked by INT32 indices: output shape indices.shape + (dim). */
    public static Variable embedding(Tensor indices, Variable table) {
        return Embedding.apply(indices, table);
    }

    /** One LSTM step from gate pre-activations (n, 4h) and cell state (n, h): returns hc (2, n, h). */
    public static Variable lstmCell(Variable gates, Variable cPrev) {
        return LstmCell.apply(gates, cPrev);
    }

    /**
     * One LSTM layer over a sequence, one graph node: x (t, n, in); h0, c0 (n, h) or null for zeros; wIh (4h, in),
     * wHh (4h, h), biases (4h) or null. Returns yc (t + 1, n, h): the h of every step, then the final c (the final h
     * is yc[t - 1]). The backend's {@code lstm} kernel choice runs it (see {@link LstmSequence}).
     */
    public static Variable lstmSequence(Variable x, Variable h0, Variable c0, Variable wIh, Variable wHh, Variable bIh,
                                        Variable bHh) {
        return LstmSequence.apply(x, h0, c0, wIh, wHh, bIh, bHh);
    }
}
