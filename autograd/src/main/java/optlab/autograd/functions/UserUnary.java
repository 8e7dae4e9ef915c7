package optlab.autograd.functions;

import optlab.autograd.Function;
import optlab.autograd.Variable;
import optlab.kernels.FusedKernel;
import optlab.kernels.KernelChoices;
import optlab.kernels.Ptr;
import optlab.kernels.UnaryOp;
import optlab.kernels.family.UnaryKernel;
import optlab.tensor.Tensor;

/**
 * y = k(x; alpha), where k is a user's kernel chosen for a unary op ({@code unary.relu=user:FILE:FUNCTION...} on CUDA,
 * {@code unary.relu=java:CLASS} on the CPU) in the kernel choices of x's backend; dx = k's backward(x, y, dy; alpha).
 *
 * <p>NOTE [user-kernel-gradients], the autograd side. A user kernel may compute something other than
 * the built-in op (elementwise.cu's example puts a leaky ReLU in place of relu), so its gradient is the
 * user's own backward, never the built-in derivative. Every {@link Function} whose forward is
 * one unary op ({@code Elementwise.Exp}, {@code Log}, {@code Sqrt}, {@code Relu}, {@code Tanh},
 * {@code Sigmoid}, {@code Pow}, {@code Affine}) calls {@link #apply} first:
 * <ul>
 *   <li>the op runs a built-in kernel on x's backend: {@code apply} returns null and the function runs as usual;</li>
 *   <li>a user kernel, and the graph needs the gradient ({@link Function#recordsGraph}: grad mode on and
 *       x requires a gradient): {@link KernelChoices#checkGradient} refuses a kernel declared
 *       {@code :forward-only} before anything runs, naming the op, the kernel and where it was chosen; one with a
 *       backward is recorded as this function, whose backward runs it: a compiled one through
 *       {@code Backend#fused} with operands (x, y, dy, dx) and the scalar alpha ({@link KernelChoices#abi}), a Java
 *       one through {@link UnaryKernel#backward} (counted in the backend's {@code kernelCalls});</li>
 *   <li>a user kernel and no gradient needed (a no-grad scope, or x a constant): it runs, and the result
 *       is a constant.</li>
 * </ul>
 * The choice is read from x's backend once per forward, so forward and backward agree (NOTE [kernel-choices]).
 */
public final class UserUnary extends Function {
    private UnaryOp op;
    private double alpha;
    private KernelChoices.Choice kernel;
    private Tensor x, y;

    /** The user kernel x's backend runs for {@code op}, or null when a built-in one runs. */
    public static KernelChoices.Choice userKernel(UnaryOp op, Tensor x) {
        KernelChoices.Choice c = x.backend().kernels().choice(KernelChoices.unaryOp(op), x.device());
        return c.isUser() ? c : null;
    }

    /**
     * Runs {@code op} through the user kernel chosen on x's backend, refusing a forward-only one when the graph
     * needs its gradient; returns null (and runs nothing) when no user kernel is chosen.
     *
     * @throws IllegalStateException for a forward-only user kernel in a graph that needs its gradient
     */
    public static Variable apply(UnaryOp op, double alpha, Variable x) {
        KernelChoices.Choice k = admit(op, x.data(), recordsGraph(x));
        if (k == null) return null;
        UserUnary f = new UserUnary();
        f.op = op;
        f.alpha = alpha;
        f.kernel = k;
        f.x = x.data();
        f.y = x.data().unary(op, alpha); // the backend runs the user's kernel
        return f.output(f.y, x);
    }

    /**
     * The decision of {@link #apply} before anything runs: the user kernel for {@code op} on x's backend (null for a
     * built-in one), refused when {@code needsGradient} and it is forward-only.
     */
    static KernelChoices.Choice admit(UnaryOp op, Tensor x, boolean needsGradient) {
        KernelChoices.Choice k = userKernel(op, x);
        if (k != null && needsGradient) x.backend().kernels().checkGradient(KernelChoices.unaryOp(op), x.device());
        return k;
    }

    @Override
    public String name() {
        return "UserUnaryBackward(" + kernel + ")";
    }

    @Override
    protected Tensor[] backward(Tensor dy) {
        try (Tensor xc = x.contiguous(); Tensor dyc = dy.contiguous()) {
            Tensor dx = Tensor.empty(x.shape(), x.dtype(), x.device());
            if (kernel.java() != null) {
                x.backend().kernelCalls().counter(kernel).increment();
                ((UnaryKernel) kernel.java().instance()).backward(op, alpha, x.numel(), xc.ptr(), y.ptr(), dyc.ptr(), dx.ptr());
            } else {
                x.backend().fused(compiledBackward(), x.numel(), new Ptr[] {xc.ptr(), y.ptr(), dyc.ptr(), dx.ptr()}, new double[] {alpha});
            }
            return new Tensor[] {dx};
        }
    }

    /** The compiled kernel's backward as a fused kernel (CUDA only: compiled kernels are GPU files). */
    private FusedKernel compiledBackward() {
        String opName = kernel.op(), fn = kernel.user().backwardFunction(), module = kernel.user().module();
        if (fn == null) throw new IllegalStateException(opName + ": user kernel " + kernel.user().function() + " has no backward"); // refused before
        return new FusedKernel() {
            @Override
            public String name() {
                return opName + " backward (user kernel " + fn + ")"; // no fused.* choice can name it
            }

            @Override
            public void runHost(HostOperands ops, double[] scalars, int from, int to) {
                throw new UnsupportedOperationException(name() + " runs on CUDA only");
            }

            @Override
            public CudaFunction cuda() {
                return new CudaFunction(module, fn);
            }
        };
    }
}
