package optlab.autograd;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import optlab.autograd.functions.Elementwise;
import optlab.autograd.functions.Indexing;
import optlab.autograd.functions.MatMul;
import optlab.autograd.functions.Reduce;
import optlab.kernels.DType;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/**
 * A tensor in the autograd graph: its value ({@link #data()}), whether it requires a gradient, the
 * {@link Function} that produced it (null for a leaf), and, for leaves, the accumulated gradient.
 *
 * <p>NOTE [variable]: OptLab keeps values ({@code Tensor}, module tensor) and differentiation
 * ({@code Variable}, this module) apart, as PyTorch did before 0.4: the tensor layer stays a plain
 * array library that kernels and optimizers use directly, and every differentiable op is visible as a
 * {@link Function} class here. Ops on variables record the graph; ops on their {@code data()} do not.
 */
public class Variable {
    private Tensor data;
    private final Function gradFn;
    private final boolean requiresGrad;
    private Tensor grad;
    private String name;

    /** A constant (requires no gradient). */
    public Variable(Tensor data) {
        this(data, false);
    }

    /** A leaf; with requiresGrad, backward() accumulates its gradient into {@link #grad()}. */
    public Variable(Tensor data, boolean requiresGrad) {
        if (requiresGrad && !data.dtype().isFloating()) {
            throw new IllegalArgumentException("only floating tensors can require gradients, got " + data.dtype());
        }
        this.data = data;
        this.gradFn = null;
        this.requiresGrad = requiresGrad;
    }

    Variable(Tensor data, Function gradFn) {
        this.data = data;
        this.gradFn = gradFn;
        this.requiresGrad = true;
    }

    public Tensor data() {
        return data;
    }

    /**
     * Points this leaf at a new tensor of the same shape and dtype (its values move with it): how the
     * flat parameter arena makes every parameter a view of one buffer. Returns the previous tensor.
     */
    protected final Tensor rebindLeaf(Tensor newData) {
        if (gradFn != null) throw new IllegalStateException("rebind: " + describe() + " is not a leaf");
        if (!newData.shape().equals(data.shape()) || newData.dtype() != data.dtype()) {
            throw new IllegalArgumentException("rebind: " + newData.dtype() + " " + newData.shape() + " does not match "
                    + data.dtype() + " " + describe());
        }
        Tensor old = data;
        data = newData;
        return old;
    }

    /**
     * Points this leaf at a tensor of the same shape in another floating dtype (its values converted by
     * the caller): how {@code Module.to(DType)} widens or narrows a parameter while keeping the object.
     * Returns the previous tensor. The gradient, if any, is the caller's to convert ({@link #setGrad}).
     */
    protected final Tensor retypeLeaf(Tensor newData) {
        if (gradFn != null) throw new IllegalStateException("retype: " + describe() + " is not a leaf");
        if (!newData.shape().equals(data.shape()) || !newData.dtype().isFloating()) {
            throw new IllegalArgumentException("retype: " + newData.dtype() + " " + newData.shape() + " does not fit "
                    + describe() + " (same shape, a floating dtype)");
        }
        Tensor old = data;
        data = newData;
        return old;
    }

    /** The accumulated gradient of a leaf (null before the first backward). */
    public Tensor grad() {
        return grad;
    }

    /**
     * Sets the gradient buffer backward() accumulates into: the flat parameter arena gives every
     * parameter a view of one gradient buffer this way. The tensor must have this variable's shape.
     */
    public void setGrad(Tensor g) {
        if (g != null && !g.shape().equals(data.shape())) {
            throw new IllegalArgumentException("setGrad: gradient shape " + g.shape() + " does not match " + describe());
        }
        grad = g;
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    public boolean isLeaf() {
        return gradFn == null;
    }

    public Function gradFn() {
        return gradFn;
    }

    public Shape shape() {
        return data.shape();
    }

    public int size(int d) {
        return data.size(d);
    }

    public int dim() {
        return data.dim();
    }

    public DType dtype() {
        return data.dtype();
    }

    /** An optional name used in error messages (parameters get their dotted names). */
    public Variable named(String n) {
        name = n;
        return this;
    }

    public String name() {
        return name;
    }

    String describe() {
        return (name == null ? "variable" : "'" + name + "'") + " of shape " + shape();
    }

    /** The value of a one-element variable. */
    public double item() {
        return data.item();
    }

    /** The same value, cut from the graph. */
    public Variable detach() {
        return new Variable(data);
    }

    // ------------------------------------------------------------------------------------------------
    // Differentiable ops (each one a Function in optlab.autograd.functions)
    // ------------------------------------------------------------------------------------------------

    public Variable add(Variable o) { return Elementwise.Add.apply(this, o); }

    public Variable sub(Variable o) { return Elementwise.Sub.apply(this, o); }

    public Variable mul(Variable o) { return Elementwise.Mul.apply(this, o); }

    public Variable div(Variable o) { return Elementwise.Div.apply(this, o); }

    /** this * scale + shift */
    public Variable affine(double scale, double shift) { return Elementwise.Affine.apply(this, scale, shift); }

    public Variable add(double s) { return affine(1, s); }

    public Variable mul(double s) { return affine(s, 0); }

    public Variable neg() { return affine(-1, 0); }

    public Variable pow(double exponent) { return Elementwise.Pow.apply(this, exponent); }

    public Variable square() { return pow(2); }

    public Variable exp() { return Elementwise.Exp.apply(this); }

    public Variable log() { return Elementwise.Log.apply(this); }

    public Variable sqrt() { return Elementwise.Sqrt.apply(this); }

    public Variable relu() { return Elementwise.Relu.apply(this); }

    public Variable tanh() { return Elementwise.Tanh.apply(this); }

    public Variable sigmoid() { return Elementwise.Sigmoid.apply(this); }

    public Variable matmul(Variable o) { return MatMul.apply(this, o); }

    public Variable sum() { return Reduce.Sum.apply(this, allDims(), false); }

    public Variable sum(int[] dims, boolean keepDim) { return Reduce.Sum.apply(this, dims, keepDim); }

    public Variable mean() { return Reduce.Mean.apply(this, allDims(), false); }

    public Variable mean(int[] dims, boolean keepDim) { return Reduce.Mean.apply(this, dims, keepDim); }

    public Variable reshape(int... shape) { return Indexing.Reshape.apply(this, shape); }

    public Variable flatten(int start, int end) {
        return Indexing.Reshape.apply(this, data.shape().rank() == 0 ? new int[] {1} : flattenedShape(start, end));
    }

    public Variable permute(int... order) { return Indexing.Permute.apply(this, order); }

    public Variable transpose(int d0, int d1) {
        int[] order = new int[dim()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        int a = shape().axis(d0), b = shape().axis(d1);
        order[a] = b;
        order[b] = a;
        return permute(order);
    }

    public Variable t() { return transpose(0, 1); }

    /** {@code this[..., start:end:step, ...]} along dim (a view in the forward). */
    public Variable slice(int dim, int start, int end, int step) { return Indexing.Slice.apply(this, dim, start, end, step); }

    public Variable narrow(int dim, int start, int length) { return slice(dim, start, start + length, 1); }

    /** Dimension dim removed at index. */
    public Variable select(int dim, int index) {
        int a = shape().axis(dim);
        int i = index < 0 ? index + size(a) : index;
        int[] s = shape().toArray();
        int[] out = new int[s.length - 1];
        for (int d = 0, k = 0; d < s.length; d++) if (d != a) out[k++] = s[d];
        return narrow(a, i, 1).reshape(out);
    }

    /** Concatenation along dim. */
    public static Variable cat(int dim, Variable... parts) { return Indexing.Cat.apply(dim, parts); }

    private int[] allDims() {
        int[] d = new int[dim()];
        for (int i = 0; i < d.length; i++) d[i] = i;
        return d;
    }

    private int[] flattenedShape(int start, int end) {
        int a = shape().axis(start), b = shape().axis(end);
        int[] s = shape().toArray();
        int[] out = new int[s.length - (b - a)];
        int k = 0, merged = 1;
        for (int i = 0; i < s.length; i++) {
            if (i < a || i > b) out[k++] = s[i];
            else {
                merged *= s[i];
                if (i == b) out[k++] = merged;
            }
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------------
    // Backward
    // ------------------------------------------------------------------------------------------------

    /** backward() of a one-element output: the gradient of the output with respect to itself is 1. */
    public void backward() {
        if (data.numel() != 1) {
            throw new IllegalStateException("backward: the gradient can be implicitly created only for a one-element output, not "
                    + describe() + "; pass a gradient");
        }
        try (Tensor one = data.fullLike(1)) {
            backward(one);
        }
    }

    /**
     * Accumulates d(output . gradient)/d(leaf) into every leaf that requires a gradient. The walk
     * visits functions in reverse topological order, so each one's gradient is complete (summed over
     * all its uses) before its backward runs. Intermediate gradients are freed as soon as they are used.
     */
    public void backward(Tensor gradient) {
        if (!requiresGrad) throw new IllegalStateException("backward: " + describe() + " does not require a gradient");
        if (!gradient.shape().equals(shape())) {
            throw new IllegalArgumentException("backward: gradient of shape " + gradient.shape() + " for " + describe());
        }
        if (gradFn == null) {
            accumulateLeaf(this, gradient.contiguous());
            return;
        }
        Map<Function, Tensor> grads = new IdentityHashMap<>();
        grads.put(gradFn, gradient.contiguous()); // a view: closing it leaves the caller's tensor alone
        for (Function f : topologicalOrder(gradFn)) {
            Tensor g = grads.remove(f);
            if (g == null) continue;
            Tensor[] inputGrads;
            try (g) {
                inputGrads = f.backward(g);
            }
            Variable[] inputs = f.inputs();
            if (inputGrads.length != inputs.length) {
                throw new IllegalStateException(f.name() + " returned " + inputGrads.length + " gradients for " + inputs.length + " inputs");
            }
            for (int i = 0; i < inputs.length; i++) {
                Tensor gi = inputGrads[i];
                Variable in = inputs[i];
                if (gi == null) continue;
                if (!in.requiresGrad()) {
                    gi.close();
                    continue;
                }
                if (!gi.shape().equals(in.shape())) {
                    throw new IllegalStateException(f.name() + " returned a gradient of shape " + gi.shape() + " for input " + i
                            + ", a " + in.describe());
                }
                if (in.gradFn == null) {
                    accumulateLeaf(in, gi);
                } else {
                    Tensor prev = grads.get(in.gradFn);
                    if (prev == null) {
                        grads.put(in.gradFn, gi);
                    } else {
                        // out of place: prev and gi may be views sharing a buffer with other pending gradients
                        grads.put(in.gradFn, prev.add(gi));
                        prev.close();
                        gi.close();
                    }
                }
            }
        }
    }

    /** leaf.grad += g (a leaf's first gradient is copied, since g may share a buffer with others). */
    private static void accumulateLeaf(Variable leaf, Tensor g) {
        try (g) {
            if (leaf.grad == null) leaf.grad = Scope.escape(g.copy());
            else leaf.grad.addInPlace(g);
        }
    }

    /** Functions reachable from root, each after every function that consumes its output. */
    private static List<Function> topologicalOrder(Function root) {
        List<Function> postOrder = new ArrayList<>();
        Map<Function, Boolean> visited = new IdentityHashMap<>();
        Deque<Object[]> stack = new ArrayDeque<>(); // {function, next input index}
        stack.push(new Object[] {root, 0});
        visited.put(root, true);
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Function f = (Function) top[0];
            int i = (Integer) top[1];
            Variable[] in = f.inputs();
            if (i < in.length) {
                top[1] = i + 1;
                Function child = in[i].gradFn;
                if (child != null && visited.put(child, true) == null) stack.push(new Object[] {child, 0});
            } else {
                stack.pop();
                postOrder.add(f);
            }
        }
        java.util.Collections.reverse(postOrder);
        return postOrder;
    }

    @Override
    public String toString() {
        return "Variable(" + data + (requiresGrad ? ", requiresGrad" : "") + (gradFn != null ? ", gradFn=" + gradFn.name() : "") + ")";
    }
}
