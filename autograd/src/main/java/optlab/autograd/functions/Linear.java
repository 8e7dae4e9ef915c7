package optlab.autograd.functions;

import optlab.autograd.Function;
import optlab.autograd.Variable;
import optlab.tensor.Tensor;

/**
 * y = x . W^T + b, with x (n, in), W (out, in) as PyTorch stores it, b (out) or absent.
 * <pre>
 *   dx = dy . W        (n, out) x (out, in)     GEMM NN
 *   dW = dy^T . x      (out, n) x (n, in)       GEMM TN
 *   db = sum_n dy
 * </pre>
 */
public final class Linear extends Function {
    private Tensor x, w;

    public static Variable apply(Variable x, Variable w, Variable b) {
        if (x.dim() != 2 || w.dim() != 2 || x.size(1) != w.size(1)) {
            throw new IllegalArgumentException("linear: input " + x.shape() + " and weight " + w.shape()
                    + " do not fit (expected (n, in) and (out, in))");
        }
        if (b != null && (b.dim() != 1 || b.size(0) != w.size(0))) {
            throw new IllegalArgumentException("linear: bias " + b.shape() + " does not match weight " + w.shape());
        }
        Linear f = new Linear();
        f.x = x.data();
        f.w = w.data();
        Tensor y = Tensor.empty(optlab.tensor.Shape.of(x.size(0), w.size(0)), x.dtype(), x.data().device());
        try (Tensor wt = w.data().t()) {
            Tensor.gemmInto(x.data(), wt, y, 0.0);
        }
        if (b != null) y.addInPlace(b.data());
        return b == null ? f.output(y, x, w) : f.output(y, x, w, b);
    }

    @Override
    protected Tensor[] backward(Tensor dy) {
        Tensor[] g = new Tensor[needsBias() ? 3 : 2];
        if (needsInputGrad(0)) g[0] = dy.matmul(w);
        if (needsInputGrad(1)) try (Tensor dyt = dy.t()) { g[1] = dyt.matmul(x); }
        if (g.length == 3 && needsInputGrad(2)) g[2] = dy.sum(0, false);
        return g;
    }

    private boolean needsBias() {
        return inputCount() == 3;
    }
}
