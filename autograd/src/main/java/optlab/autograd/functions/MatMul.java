package optlab.autograd.functions;

import optlab.autograd.Function;
import optlab.autograd.Variable;
import optlab.tensor.Tensor;

/**
 * y = a . b (2-D, or batched 3-D). da = dy . b^T, db = a^T . dy. In 2-D the transposes are views that
 * GEMM reads directly.
 */
public final class MatMul extends Function {
    private Tensor a, b;

    public static Variable apply(Variable a, Variable b) {
        MatMul f = new MatMul();
        f.a = a.data();
        f.b = b.data();
        return f.output(a.data().matmul(b.data()), a, b);
    }

    @Override
    protected Tensor[] backward(Tensor dy) {
        Tensor da = null, db = null;
        if (a.dim() == 2) {
            if (needsInputGrad(0)) try (Tensor bt = b.t()) { da = dy.matmul(bt); }
            if (needsInputGrad(1)) try (Tensor at = a.t()) { db = at.matmul(dy); }
        } else {
            if (needsInputGrad(0)) try (Tensor bt = b.transpose(1, 2)) { da = dy.matmul(bt); }
            if (needsInputGrad(1)) try (Tensor at = a.transpose(1, 2)) { db = at.matmul(dy); }
        }
        return new Tensor[] {da, db};
    }
}
