package optlab.autograd;

import optlab.tensor.Tensor;

/**
 * A differentiable operation: a node of the graph. Each subclass (in {@code optlab.autograd.functions})
 * computes its forward in a static {@code apply} method, saves what its backward needs in fields, and
 * implements {@link #backward} right below: the two sides of the math stay on one screen.
 *
 * <p>Rules for a backward: return one gradient per input, with the input's shape, or null where
 * {@link #needsInputGrad} is false; return new tensor objects (views are fine), never
 * {@code gradOutput} itself, because the engine closes gradOutput afterwards.
 */
public abstract class Function {
    private Variable[] inputs;

    /** The gradients with respect to each input, given the gradient with respect to the output. */
    protected abstract Tensor[] backward(Tensor gradOutput);

    /** A readable name for errors and graph dumps, like PyTorch's {@code AddBackward0}. */
    public String name() {
        return getClass().getSimpleName() + "Backward";
    }

    /** True when input i takes part in differentiation. */
    protected final boolean needsInputGrad(int i) {
        return inputs[i].requiresGrad();
    }

    /** Number of inputs recorded by {@link #output}. */
    protected final int inputCount() {
        return inputs.length;
    }

    Variable[] inputs() {
        return inputs;
    }

    /**
     * Wraps a forward result: it records this function as the result's grad_fn when grad mode is on
     * and some input requires a gradient; otherwise the result is a plain constant.
     */
    protected final Variable output(Tensor result, Variable... inputs) {
        if (recordsGraph(inputs)) {
            this.inputs = inputs;
            return new Variable(result, this);
        }
        return new Variable(result);
    }

    /**
     * Whether a function applied to {@code inputs} now is recorded in the graph: grad mode is on and
     * some input requires a gradient (what {@link #output} decides; a function asks it before its
     * forward when that matters, see NOTE [user-kernel-gradients] in {@code functions.UserUnary}).
     */
    protected static boolean recordsGraph(Variable... inputs) {
        if (!Grad.isEnabled()) return false;
        for (Variable v : inputs) if (v != null && v.requiresGrad()) return true;
        return false;
    }

    /**
     * NOTE [user-kernel-gradients]: before anything runs, refuses a user kernel declared forward-only for kernel-choice
     * op {@code op} ({@code conv2d}, {@code lstm}, ...) on the backend of the first input when this application will be
     * recorded in the graph. A function of a differentiable op family calls it first thing.
     */
    protected static void checkGradientKernel(String op, Variable... inputs) {
        if (!recordsGraph(inputs)) return;
        for (Variable v : inputs) {
            if (v != null) {
                v.data().backend().kernels().checkGradient(op, v.data().device());
                return;
            }
        }
    }
}
