package optlab.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import optlab.kernels.Backends;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.KernelChoices;
import optlab.kernels.cuda.Cuda;
import optlab.kernels.testkit.GpuTest;
import optlab.tensor.Generator;
import optlab.tensor.NeuralOps;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Autograd on a CUDA device: user kernels for unary ops run with their own backward, a forward-only one is
 * refused where the graph needs its gradient (NOTE [user-kernel-gradients]), and operands on different devices
 * are refused naming both (NOTE [device-placement]). The user kernels are elementwise.cu's worked examples
 * ({@code leaky_relu_user_f32} and its backward), bound from a copy of the engine's own fatbin.
 *
 * <p>GPU-tagged ({@link GpuTest}): skipped
 * with the probe's reasons where no GPU is usable.
 */
@GpuTest
class CudaAutogradTest {
    static final Device GPU = Device.cuda(0);
    @TempDir
    static Path dir;
    static Path fatbin;

    @BeforeAll
    static void requireGpu() throws IOException {
        assumeTrue(Cuda.probe().usable(), () -> Cuda.probe().toString());
        fatbin = dir.resolve("elementwise.fatbin");
        try (InputStream in = Cuda.class.getResourceAsStream(Cuda.resource("elementwise"))) {
            Files.write(fatbin, in.readAllBytes());
        }
    }

    @AfterEach
    void restore() {
        Backends.open(GPU, KernelChoices.defaults());
    }

    /** Opens the GPU's backend with {@code spec}: tensors made after this use it (NOTE [kernel-choices]). */
    private static void use(String spec) {
        Backends.open(GPU, KernelChoices.defaults().with(spec, "CudaAutogradTest"));
    }

    private static float leaky(float x) {
        return x > 0 ? x : 0.01f * x;
    }

    private static float[] randn(int n, long seed) {
        try (Tensor t = Tensor.randn(new Generator(seed), n)) {
            return t.toFloatArray();
        }
    }

    @Test
    void aUserUnaryKernelRunsInTheGraphWithItsOwnBackward() {
        use("unary.relu=user:" + fatbin + ":leaky_relu_user_f32:backward=leaky_relu_user_bwd_f32");
        float[] xs = randn(1027, 1), w = randn(1027, 2);
        try (Scope s = Scope.open()) {
            Variable x = new Variable(Tensor.of(xs, 1027).to(GPU), true);
            Variable y = x.relu();
            assertEquals("UserUnaryBackward(unary.relu=user:" + fatbin + ":leaky_relu_user_f32:backward=leaky_relu_user_bwd_f32)",
                    y.gradFn().name());
            y.mul(new Variable(Tensor.of(w, 1027).to(GPU))).sum().backward(); // d/dx sum(w * leaky(x)) = w * leaky'(x)
            float[] ey = new float[xs.length], eg = new float[xs.length];
            for (int i = 0; i < xs.length; i++) {
                ey[i] = leaky(xs[i]);
                eg[i] = xs[i] > 0 ? w[i] : 0.01f * w[i];
            }
            assertArrayEquals(ey, y.data().toFloatArray());
            assertArrayEquals(eg, x.grad().toFloatArray());
            // the CPU is not affected: its backend was not opened with these choices
            Variable xc = new Variable(Tensor.of(xs, 1027), true);
            assertEquals("ReluBackward", xc.relu().gradFn().name());
        }
    }

    @Test
    void aForwardOnlyUserKernelIsRefusedWhereTheGraphNeedsItsGradientAndRunsElsewhere() {
        use("unary.exp=user:" + fatbin + ":leaky_relu_user_f32:forward-only");
        float[] xs = randn(100, 3);
        try (Scope s = Scope.open()) {
            Variable x = new Variable(Tensor.of(xs, 100).to(GPU), true);
            long live = Backends.of(GPU).memoryStats().liveBuffers();
            var e = assertThrows(IllegalStateException.class, x::exp);
            assertTrue(e.getMessage().startsWith("op unary.exp on cuda:0 runs user kernel user:" + fatbin + ":leaky_relu_user_f32"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("forward-only"), e.getMessage());
            assertEquals(live, Backends.of(GPU).memoryStats().liveBuffers(), "refused before the forward allocated anything");
            float[] ey = new float[xs.length];
            for (int i = 0; i < xs.length; i++) ey[i] = leaky(xs[i]);
            try (Grad.Mode off = Grad.disabled()) {
                Variable y = x.exp(); // no graph: allowed
                assertTrue(y.isLeaf() && !y.requiresGrad());
                assertArrayEquals(ey, y.data().toFloatArray());
            }
            Variable c = new Variable(x.data()); // a constant: allowed, even next to a graph that needs gradients
            Variable w = new Variable(Tensor.full(Shape.of(100), 2, DType.FLOAT32, GPU), true);
            c.exp().mul(w).sum().backward();
            assertArrayEquals(ey, w.grad().toFloatArray());
        }
    }

    @Test
    void affineAndPowHandTheirUnaryOpsToUserKernels() {
        // leaky_relu_user_f32 ignores alpha: bound to mul_scalar it shows exactly which part of an affine map it ran
        use("unary.mul_scalar=user:" + fatbin + ":leaky_relu_user_f32:backward=leaky_relu_user_bwd_f32;"
                + "unary.square=user:" + fatbin + ":leaky_relu_user_f32:backward=leaky_relu_user_bwd_f32");
        float[] xs = randn(33, 4);
        try (Scope s = Scope.open()) {
            Variable x = new Variable(Tensor.of(xs, 33).to(GPU), true);
            float[] ey = new float[33], eg = new float[33], shifted = new float[33];
            for (int i = 0; i < 33; i++) {
                ey[i] = leaky(xs[i]) + 2;
                eg[i] = xs[i] > 0 ? 1 : 0.01f;
                shifted[i] = xs[i] + 2;
            }
            Variable y = x.affine(3, 2); // mul_scalar (user) then add_scalar (built in)
            assertArrayEquals(ey, y.data().toFloatArray());
            y.sum().backward();
            assertArrayEquals(eg, x.grad().toFloatArray());
            assertArrayEquals(shifted, x.add(2).data().toFloatArray()); // scale 1: no multiply runs
            assertEquals("UserUnaryBackward(unary.square=user:" + fatbin + ":leaky_relu_user_f32:backward=leaky_relu_user_bwd_f32)",
                    x.square().gradFn().name());
            assertEquals("PowBackward", x.pow(3).gradFn().name());
        }
    }

    @Test
    void operandsOnDifferentDevicesAreRefusedNamingBoth() {
        try (Scope s = Scope.open()) {
            Tensor g = Tensor.zeros(Shape.of(2, 3, 4, 4), DType.FLOAT32, GPU), c = Tensor.zeros(2, 3, 4, 4);
            var e = assertThrows(IllegalArgumentException.class, () -> g.add(c));
            assertEquals("add: tensors on different devices, cuda:0 and cpu", e.getMessage());
            Tensor w = Tensor.zeros(5, 3, 3, 3);
            e = assertThrows(IllegalArgumentException.class, () -> NeuralOps.conv2d(g, w, 1, 1));
            assertTrue(e.getMessage().startsWith("conv2d: tensors on different devices, input [2, 3, 4, 4] on cuda:0 and weight [5, 3, 3, 3] on cpu"),
                    e.getMessage());
            Tensor gamma = Tensor.full(Shape.of(3), 1, DType.FLOAT32, GPU);
            Tensor rm = Tensor.zeros(3);
            e = assertThrows(IllegalArgumentException.class, () -> NeuralOps.batchNormTraining(g, gamma, gamma, rm, rm, 0.1, 1e-5));
            assertTrue(e.getMessage().contains("input [2, 3, 4, 4] on cuda:0 and running_mean [3] on cpu"), e.getMessage());
            Tensor logits = Tensor.zeros(Shape.of(2, 10), DType.FLOAT32, GPU), labels = Tensor.ofInts(new int[] {1, 2}, 2);
            e = assertThrows(IllegalArgumentException.class, () -> Functional.crossEntropy(new Variable(logits), labels));
            assertTrue(e.getMessage().contains("logits [2, 10] on cuda:0 and labels [2] on cpu"), e.getMessage());
            Variable x = new Variable(Tensor.zeros(Shape.of(2, 4), DType.FLOAT32, GPU)), lw = new Variable(Tensor.zeros(3, 4), true);
            e = assertThrows(IllegalArgumentException.class, () -> Functional.linear(x, lw, null));
            assertTrue(e.getMessage().contains("cuda:0") && e.getMessage().contains("cpu"), e.getMessage());
        }
    }
}
