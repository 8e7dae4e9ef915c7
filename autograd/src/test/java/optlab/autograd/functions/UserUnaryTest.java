package optlab.autograd.functions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import optlab.autograd.Variable;
import optlab.kernels.Device;
import optlab.kernels.KernelRegistry;
import optlab.kernels.UnaryOp;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NOTE [user-kernel-gradients] on the CPU: the decision {@link UserUnary#apply} takes before anything runs, for a
 * CUDA device (the registry is plain data, so no GPU is needed to ask it), and that the CPU's ops are never
 * affected (user kernels run on CUDA only). The dispatch itself, forward and backward on a device, is in
 * {@code optlab.autograd.CudaAutogradTest} (GPU-tagged).
 */
class UserUnaryTest {
    @TempDir
    Path dir;
    private KernelRegistry saved;

    @BeforeEach
    void installUserKernels() throws IOException {
        saved = KernelRegistry.global();
        Path ptx = dir.resolve("k.ptx");
        Files.writeString(ptx, "// never loaded: these tests ask the registry only\n");
        KernelRegistry.setGlobal(KernelRegistry.defaults().with("unary.exp=user:" + ptx + ":my_exp:forward-only;"
                + "unary.relu=user:" + ptx + ":my_relu:backward=my_relu_bwd", "UserUnaryTest"));
    }

    @AfterEach
    void restore() {
        KernelRegistry.setGlobal(saved);
    }

    @Test
    void aForwardOnlyUserKernelIsRefusedWhereTheGraphNeedsItsGradient() {
        Device gpu = Device.cuda(0);
        var e = assertThrows(IllegalStateException.class, () -> UserUnary.admit(UnaryOp.EXP, gpu, true));
        assertTrue(e.getMessage().startsWith("op unary.exp on cuda:0 runs user kernel my_exp from " + dir.resolve("k.ptx")), e.getMessage());
        assertTrue(e.getMessage().contains("declared forward-only (UserUnaryTest)") && e.getMessage().contains("no-grad"), e.getMessage());
        // no gradient needed (a no-grad scope, or a constant input): the kernel runs
        assertEquals("my_exp", UserUnary.admit(UnaryOp.EXP, gpu, false).function());
        // a kernel that names its backward is admitted, and brings it
        assertEquals("my_relu_bwd", UserUnary.admit(UnaryOp.RELU, gpu, true).backwardFunction());
        // ops left at their built-in kernel: nothing to take over
        assertNull(UserUnary.admit(UnaryOp.TANH, gpu, true));
        assertEquals("unary.pow_scalar", UserUnary.registryOp(UnaryOp.POW_SCALAR));
    }

    @Test
    void theCpuRunsItsOwnKernelsWhateverTheRegistrySaysForCuda() {
        assertNull(UserUnary.admit(UnaryOp.EXP, Device.CPU, true));
        try (Scope s = Scope.open()) {
            Variable x = new Variable(Tensor.of(new float[] {0, 1, -2}, 3), true);
            Variable y = x.exp();
            assertEquals("ExpBackward", y.gradFn().name());
            y.sum().backward();
            float[] e = {1, (float) Math.E, (float) Math.exp(-2)};
            assertArrayEquals(e, y.data().toFloatArray(), 1e-6f);
            assertArrayEquals(e, x.grad().toFloatArray(), 1e-6f);
            assertEquals("ReluBackward", x.relu().gradFn().name());
        }
    }
}
