package optlab.autograd;

import java.util.SplittableRandom;
import optlab.kernels.DType;
import optlab.kernels.Tolerance;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;

/**
 * Checks a function's analytic gradients against central differences in double precision.
 *
 * <p>With a fixed random projection R of the output, L(x) = sum(f(x) * R). For every element x_j of
 * every floating input, the numeric derivative {@code (L(x + h e_j) - L(x - h e_j)) / 2h} (h = 1e-6)
 * must match the analytic dL/dx_j from backward() within {@link Tolerance#GRADCHECK}. Inputs must be
 * FLOAT64; INT32 inputs (labels, indices) are passed through undifferentiated. Small inputs please:
 * the cost is two forward passes per element.
 */
public final class GradCheck {
    private GradCheck() {}

    /** The function under test, from variables to one output variable. */
    @FunctionalInterface
    public interface Fn {
        Variable apply(Variable[] inputs);
    }

    public static final double STEP = 1e-6;

    /** Throws an {@link AssertionError} naming the input, the element and both derivatives on a mismatch. */
    public static void check(String what, Fn f, Tensor... inputs) {
        check(what, Tolerance.GRADCHECK, f, inputs);
    }

    public static void check(String what, Tolerance tol, Fn f, Tensor... inputs) {
        try (Scope scope = Scope.open()) {
            Variable[] vars = new Variable[inputs.length];
            for (int i = 0; i < inputs.length; i++) {
                boolean differentiable = inputs[i].dtype().isFloating();
                if (differentiable && inputs[i].dtype() != DType.FLOAT64) {
                    throw new IllegalArgumentException("gradcheck: input " + i + " is " + inputs[i].dtype() + "; use FLOAT64");
                }
                vars[i] = new Variable(inputs[i], differentiable);
            }
            Variable out = f.apply(vars);
            Tensor r = projection(out.data());
            out.backward(r);
            for (int i = 0; i < inputs.length; i++) {
                if (!vars[i].requiresGrad()) continue;
                if (vars[i].grad() == null) throw new AssertionError(what + ": input " + i + " received no gradient");
                double[] analytic = vars[i].grad().toDoubleArray();
                vars[i].grad().close();
                double[] numeric = numericGradient(f, inputs, i, r);
                tol.assertClose(what + ": d/d(input " + i + ")", analytic, numeric);
            }
        }
    }

    private static Tensor projection(Tensor like) {
        SplittableRandom rng = new SplittableRandom(12345);
        double[] r = new double[like.numel()];
        for (int i = 0; i < r.length; i++) r[i] = rng.nextDouble(-1, 1);
        return Tensor.of(r, like.shape().toArray());
    }

    private static double[] numericGradient(Fn f, Tensor[] inputs, int which, Tensor r) {
        Tensor x = inputs[which];
        if (!x.isContiguous()) throw new IllegalArgumentException("gradcheck: inputs must be contiguous");
        double[] values = x.toDoubleArray();
        double[] grad = new double[values.length];
        for (int j = 0; j < values.length; j++) {
            double saved = values[j];
            set(x, j, saved + STEP);
            double plus = loss(f, inputs, r);
            set(x, j, saved - STEP);
            double minus = loss(f, inputs, r);
            set(x, j, saved);
            grad[j] = (plus - minus) / (2 * STEP);
        }
        return grad;
    }

    private static void set(Tensor x, int j, double v) {
        x.backend().write(x.ptr().plus(j), new double[] {v}, 0, 1);
    }

    private static double loss(Fn f, Tensor[] inputs, Tensor r) {
        try (Scope s = Scope.open(); Grad.Mode off = Grad.disabled()) {
            Variable[] vars = new Variable[inputs.length];
            for (int i = 0; i < inputs.length; i++) vars[i] = new Variable(inputs[i]);
            Tensor out = f.apply(vars).data();
            try (Tensor prod = out.mul(r); Tensor sum = prod.sum()) {
                return sum.item();
            }
        }
    }
}
