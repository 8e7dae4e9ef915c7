package optlab.autograd.functions;

import java.util.Locale;
import optlab.autograd.Function;
import optlab.autograd.Variable;
import optlab.kernels.Device;
import optlab.kernels.FusedKernel;
import optlab.kernels.KernelRegistry;
import optlab.kernels.Ptr;
import optlab.kernels.UnaryOp;
import optlab.tensor.Tensor;

/**
 * y = k(x; alpha), where k is a user's compiled kernel that the {@link KernelRegistry} runs for a unary
 * op ({@code unary.relu=user:FILE:FUNCTION...}) on x's device; dx = k_backward(x, y, dy; alpha).
 *
 * <p>NOTE [user-kernel-gradients], the autograd side. A user kernel may compute something other than
 * the built-in op (elementwise.cu's example puts a leaky ReLU in place of relu), so its gradient is the
 * user's named backward kernel, never the built-in derivative. Every {@link Function} whose forward is
 * one unary op ({@code Elementwise.Exp}, {@code Log}, {@code Sqrt}, {@code Relu}, {@code Tanh},
 * {@code Sigmoid}, {@code Pow}, {@code Affine}) calls {@link #apply} first:
 * <ul>
 *   <li>the op runs a built-in kernel on x's device (always on the CPU; on CUDA unless overridden):
 *       {@code apply} returns null and the function runs as usual;</li>
 *   <li>a user kernel, and the graph needs the gradient ({@link Function#recordsGraph}: grad mode on and
 *       x requires a gradient): {@link KernelRegistry#checkGradient} refuses a kernel declared
 *       {@code :forward-only} before anything runs, naming the op, the kernel and its file; one that names
 *       its backward is recorded as this function, whose backward launches that kernel through
 *       {@code Backend#fused} with operands (x, y, dy, dx) and the scalar alpha (the ABI of
 *       {@link KernelRegistry#userKernelAbi});</li>
 *   <li>a user kernel and no gradient needed (a no-grad scope, or x a constant): it runs, and the result
 *       is a constant.</li>
 * </ul>
 * The choice is the process-wide registry's ({@link KernelRegistry#global()}), the one the device's
 * backend dispatches by, and it is read once per forward, so forward and backward agree.
 */
public final class UserUnary extends Function {
    private UnaryOp op;
    private double alpha;
    private KernelRegistry.UserKernel kernel;
    private Tensor x, y;

    /** The registry's name of a unary op: {@code unary.relu}. */
    public static String registryOp(UnaryOp op) {
        return "unary." + op.name().toLowerCase(Locale.ROOT);
    }

    /** The user kernel the global registry runs for {@code op} on {@code device}, or null when a built-in one runs. */
    public static KernelRegistry.UserKernel userKernel(UnaryOp op, Device device) {
        KernelRegistry.Choice c = KernelRegistry.global().choice(registryOp(op), device);
        return c.isUser() ? c.user() : null;
    }

    /**
     * Runs {@code op} through the user kernel the registry chose for x's device, refusing a forward-only
     * one when the graph needs its gradient; returns null (and runs nothing) when no user kernel is chosen.
     *
     * @throws IllegalStateException for a forward-only user kernel in a graph that needs its gradient
     */
    public static Variable apply(UnaryOp op, double alpha, Variable x) {
        KernelRegistry.UserKernel k = admit(op, x.data().device(), recordsGraph(x));
        if (k == null) return null;
        UserUnary f = new UserUnary();
        f.op = op;
        f.alpha = alpha;
        f.kernel = k;
        f.x = x.data();
        f.y = x.data().unary(op, alpha); // the device's backend launches the user's kernel
        return f.output(f.y, x);
    }

    /**
     * The decision of {@link #apply} before anything runs: the user kernel for {@code op} on {@code device}
     * (null for a built-in one), refused when {@code needsGradient} and it is forward-only.
     */
    static KernelRegistry.UserKernel admit(UnaryOp op, Device device, boolean needsGradient) {
        KernelRegistry.UserKernel k = userKernel(op, device);
        if (k != null && needsGradient) KernelRegistry.global().checkGradient(registryOp(op), device);
        return k;
    }

    @Override
    public String name() {
        return "UserUnaryBackward(" + registryOp(op) + "=" + kernel.function() + ")";
    }

    @Override
    protected Tensor[] backward(Tensor dy) {
        try (Tensor xc = x.contiguous(); Tensor dyc = dy.contiguous()) {
            Tensor dx = Tensor.empty(x.shape(), x.dtype(), x.device());
            x.backend().fused(backwardKernel(), x.numel(), new Ptr[] {xc.ptr(), y.ptr(), dyc.ptr(), dx.ptr()}, new double[] {alpha});
            return new Tensor[] {dx};
        }
    }

    /** The user's backward as a fused kernel (CUDA only: user kernels are compiled files). */
    private FusedKernel backwardKernel() {
        String opName = registryOp(op), fn = kernel.backwardFunction(), module = kernel.module();
        if (fn == null) throw new IllegalStateException(opName + ": user kernel " + kernel.function() + " has no backward"); // checkGradient refused it
        return new FusedKernel() {
            @Override
            public String name() {
                return opName + " backward (user kernel " + fn + ")"; // not a registry name: no fused.* override applies
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
