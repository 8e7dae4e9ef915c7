package optlab.autograd.functions;

import optlab.autograd.Function;
import optlab.autograd.Variable;
import optlab.tensor.NeuralOps;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/**
 * Softmax cross-entropy of logits (n, classes) against INT32 labels (n), with PyTorch's label smoothing
 * and reduction. Per sample: loss_i = -sum_j q_ij log softmax(z_i)_j; dz_ij = dLoss_i (p_ij - q_ij),
 * where dLoss_i = dy / n for MEAN, dy for SUM, dy_i for NONE.
 */
public final class CrossEntropy extends Function {
    /** How per-sample losses are combined, as PyTorch's {@code reduction} argument. */
    public enum Reduction { MEAN, SUM, NONE }

    private Tensor probs, labels;
    private double smoothing;
    private Reduction reduction;

    public static Variable apply(Variable logits, Tensor labels, double smoothing, Reduction reduction) {
        checkGradientKernel("softmax_cross_entropy", logits);
        CrossEntropy f = new CrossEntropy();
        NeuralOps.CrossEntropyOutput out = NeuralOps.softmaxCrossEntropy(logits.data(), labels, smoothing);
        f.probs = out.probs();
        f.labels = labels;
        f.smoothing = smoothing;
        f.reduction = reduction;
        Tensor y = switch (reduction) {
            case NONE -> out.loss();
            case SUM -> reduceAndClose(out.loss(), false);
            case MEAN -> reduceAndClose(out.loss(), true);
        };
        return f.output(y, logits);
    }

    private static Tensor reduceAndClose(Tensor loss, boolean mean) {
        try (loss) {
            return mean ? loss.mean() : loss.sum();
        }
    }

    @Override
    protected Tensor[] backward(Tensor dy) {
        int n = probs.size(0);
        Tensor dLoss = switch (reduction) {
            case NONE -> dy.contiguous();
            case SUM -> dy.reshape(1).expand(Shape.of(n)).copy();
            case MEAN -> {
                try (Tensor s = dy.reshape(1).expand(Shape.of(n))) {
                    yield s.mul(1.0 / n);
                }
            }
        };
        try (dLoss) {
            return new Tensor[] {NeuralOps.softmaxCrossEntropyBackward(probs, labels, smoothing, dLoss)};
        }
    }
}
