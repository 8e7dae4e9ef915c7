package optlab.autograd.functions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import optlab.autograd.Grad;
import optlab.autograd.Variable;
import optlab.kernels.Backend;
import optlab.kernels.Backends;
import optlab.kernels.Device;
import optlab.kernels.KernelChoices;
import optlab.kernels.Ptr;
import optlab.kernels.UnaryOp;
import optlab.kernels.family.HostArrays;
import optlab.kernels.family.UnaryKernel;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * NOTE [user-kernel-gradients] on the CPU, with Java user kernels: a kernel that computes something other than the
 * built-in op (a leaky ReLU in relu's place) runs forward and its own backward, never the built-in derivative; a
 * forward-only one runs under no-grad and is refused, before anything runs, in a graph that needs its gradient; every
 * call is counted for the kernel that served it. The compiled (CUDA) counterpart is {@code optlab.autograd.CudaAutogradTest}.
 */
class UserUnaryTest {
    private Backend cpu;

    /** y = x > 0 ? x : 0.01 x, and its derivative: not relu's, so a built-in backward would be caught. */
    public static final class LeakyRelu implements UnaryKernel {
        @Override
        public void forward(UnaryOp op, double alpha, int n, Ptr x, Ptr y) {
            float[] xa = HostArrays.f32(x), ya = HostArrays.f32(y);
            for (int i = 0; i < n; i++) {
                float v = xa[x.offset() + i];
                ya[y.offset() + i] = v > 0 ? v : 0.01f * v;
            }
        }

        @Override
        public void backward(UnaryOp op, double alpha, int n, Ptr x, Ptr y, Ptr dy, Ptr dx) {
            float[] xa = HostArrays.f32(x), dya = HostArrays.f32(dy), dxa = HostArrays.f32(dx);
            for (int i = 0; i < n; i++) dxa[dx.offset() + i] = dya[dy.offset() + i] * (xa[x.offset() + i] > 0 ? 1f : 0.01f);
        }
    }

    /** exp, forward only. */
    public static final class ForwardOnlyExp implements UnaryKernel {
        @Override
        public void forward(UnaryOp op, double alpha, int n, Ptr x, Ptr y) {
            float[] xa = HostArrays.f32(x), ya = HostArrays.f32(y);
            for (int i = 0; i < n; i++) ya[y.offset() + i] = (float) Math.exp(xa[x.offset() + i]);
        }

        @Override
        public void backward(UnaryOp op, double alpha, int n, Ptr x, Ptr y, Ptr dy, Ptr dx) {
            throw new AssertionError("a forward-only kernel's backward must never be called");
        }
    }

    @BeforeEach
    void openWithUserKernels() {
        cpu = Backends.open(Device.CPU, KernelChoices.parse("unary.relu=java:" + LeakyRelu.class.getName()
                + "; unary.exp=java:" + ForwardOnlyExp.class.getName() + ":forward-only"));
    }

    @AfterEach
    void restore() {
        Backends.open(Device.CPU, KernelChoices.defaults());
    }

    @Test
    void aJavaKernelRunsForwardAndItsOwnBackwardAndIsCounted() {
        try (Scope s = Scope.open()) {
            Variable x = new Variable(Tensor.of(new float[] {2, -1, -3}, 3), true);
            assertEquals(cpu, x.data().backend(), "tensors made after the open use the opened backend");
            Variable y = x.relu();
            assertTrue(y.gradFn().name().startsWith("UserUnaryBackward(unary.relu=java:"), y.gradFn().name());
            y.sum().backward();
            assertArrayEquals(new float[] {2, -0.01f, -0.03f}, y.data().toFloatArray(), 1e-7f);
            assertArrayEquals(new float[] {1, 0.01f, 0.01f}, x.grad().toFloatArray(), 0f);
            assertEquals(2L, cpu.kernelCalls().snapshot().get("unary.relu=java:" + LeakyRelu.class.getName()), "forward and backward");
        }
    }

    @Test
    void aForwardOnlyKernelIsRefusedWhereTheGraphNeedsItsGradientAndRunsWhereNot() {
        try (Scope s = Scope.open()) {
            Variable x = new Variable(Tensor.of(new float[] {0, 1}, 2), true);
            var e = assertThrows(IllegalStateException.class, x::exp);
            assertTrue(e.getMessage().startsWith("op unary.exp on cpu runs user kernel java:" + ForwardOnlyExp.class.getName()), e.getMessage());
            assertTrue(e.getMessage().contains("declared forward-only (command line)") && e.getMessage().contains("no-grad"), e.getMessage());
            assertNull(cpu.kernelCalls().snapshot().get("unary.exp=java:" + ForwardOnlyExp.class.getName() + ":forward-only"),
                    "refused before anything ran");
            try (var g = Grad.disabled()) {
                assertArrayEquals(new float[] {1, (float) Math.E}, x.exp().data().toFloatArray(), 1e-6f);
            }
            Variable constant = new Variable(Tensor.of(new float[] {0}, 1), false);
            assertEquals(1f, constant.exp().data().toFloatArray()[0]);
            assertEquals(Map.of("unary.exp=java:" + ForwardOnlyExp.class.getName() + ":forward-only", 2L), cpu.kernelCalls().snapshot());
        }
    }

    @Test
    void opsLeftAtTheirBuiltInKernelRunTheBuiltInDerivative() {
        try (Scope s = Scope.open()) {
            Variable x = new Variable(Tensor.of(new float[] {0, 1, -2}, 3), true);
            Variable y = x.tanh();
            assertEquals("TanhBackward", y.gradFn().name());
            assertNull(UserUnary.userKernel(UnaryOp.TANH, x.data()));
            assertEquals("unary.pow_scalar", KernelChoices.unaryOp(UnaryOp.POW_SCALAR));
        }
    }
}
