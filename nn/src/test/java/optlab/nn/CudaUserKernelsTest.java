package optlab.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import optlab.autograd.Grad;
import optlab.autograd.Variable;
import optlab.kernels.Backend;
import optlab.kernels.Backends;
import optlab.kernels.Device;
import optlab.kernels.KernelChoices;
import optlab.kernels.cuda.Cuda;
import optlab.kernels.testkit.GpuTest;
import optlab.tensor.Scope;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 14 on CUDA: for every op family a compiled user kernel (kernels' user_examples.cu, or elementwise.cu's
 * binary_f32 for binary ops, loaded from a fatbin file) runs in a model's training step on the GPU in place of the
 * built-in one: the same loss and gradients (to the bit where the example is the own kernel under the ABI's names;
 * within 1e-4 of their norms for the direct convolution and the one-block LSTM), and the backend's call counts show
 * that the user kernel served every call of its op and the built-in one none. The CPU version, with Java kernels, is
 * {@link UserKernelsTest}; the kernels' conformance on CUDA is kernels' CudaUserKernelsTest. GPU-tagged.
 */
@GpuTest
class CudaUserKernelsTest {
    static final Device GPU = Device.cuda(0);

    @TempDir
    static Path dir;
    static Path examples, elementwise;

    @BeforeAll
    static void requireGpu() throws IOException {
        assumeTrue(Cuda.probe().usable(), () -> Cuda.probe().toString());
        examples = fatbin("user_examples");
        elementwise = fatbin("elementwise");
    }

    private static Path fatbin(String module) throws IOException {
        Path f = dir.resolve(module + ".fatbin");
        try (InputStream in = Cuda.class.getResourceAsStream(Cuda.resource(module))) {
            Files.write(f, in.readAllBytes());
        }
        return f;
    }

    @AfterEach
    void restore() {
        Backends.open(GPU, KernelChoices.defaults());
    }

    private static String spec(String op, String function) {
        return op + "=user:" + (op.startsWith("binary.") ? elementwise : examples) + ":" + function;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "conv2d, example_conv, cnn, false",
        "pool2d, example_pool, cnn, true",
        "batchnorm, example_bn, cnn, true",
        "softmax_cross_entropy, example_sce, cnn, true",
        "binary.add, binary_f32, cnn, true",
        "lstm, example_lstm, lstm, false",
        "embedding, example_embedding, lstm, true",
    })
    void aCompiledKernelRunsInATrainingStepOnTheGpuAndMatchesTheBuiltInOne(String op, String function, String model, boolean same) {
        Supplier<Module> make = model.equals("cnn") ? () -> UserKernelsTest.cnn(GPU) : () -> UserKernelsTest.charLstm(GPU);
        Function<Module, Variable> loss = model.equals("cnn") ? UserKernelsTest::cnnLoss : UserKernelsTest::lstmLoss;

        Backend builtIn = Backends.open(GPU, KernelChoices.defaults());
        builtIn.kernelCalls().reset(); // the device's default backend is shared with the other tests
        Map<String, float[]> expected = UserKernelsTest.step(make, loss);
        String builtInVariant = KernelChoices.defaults().choice(op, KernelChoices.Target.CUDA).toString();
        long builtInCalls = builtIn.kernelCalls().snapshot().getOrDefault(builtInVariant, 0L);
        assertTrue(builtInCalls > 0, op + ": the model step must use the op (" + builtIn.kernelCalls().snapshot() + ")");

        Backend user = Backends.open(GPU, KernelChoices.parse(spec(op, function)));
        user.kernelCalls().reset();
        Map<String, float[]> actual = UserKernelsTest.step(make, loss);
        Map<String, Long> calls = user.kernelCalls().snapshot();
        String userVariant = spec(op, function);
        assertEquals(userVariant, user.kernels().choice(op, KernelChoices.Target.CUDA).toString());
        assertEquals(builtInCalls, calls.getOrDefault(userVariant, 0L), op + ": the user kernel serves every call the built-in one did: " + calls);
        assertTrue(!calls.containsKey(builtInVariant), op + ": the built-in kernel served no call: " + calls);

        if (!same) UserKernelsTest.assertClose(op, expected, actual);
        else for (String k : expected.keySet()) assertArrayEquals(expected.get(k), actual.get(k), op + ": " + k + " (the example is the own kernel)");
    }

    @Test
    void aForwardOnlyCompiledKernelIsRefusedInAGraphThatNeedsItsGradient() {
        Backends.open(GPU, KernelChoices.parse(spec("conv2d", "example_conv:forward-only")));
        try (Scope s = Scope.open()) {
            Module m = UserKernelsTest.cnn(GPU);
            var e = assertThrows(IllegalStateException.class, () -> UserKernelsTest.cnnLoss(m));
            assertTrue(e.getMessage().startsWith("op conv2d on cuda:0 runs user kernel user:" + examples + ":example_conv:forward-only"),
                    e.getMessage());
            try (var off = Grad.disabled()) {
                assertEquals(1, UserKernelsTest.cnnLoss(m).data().numel(), "under no-grad it runs");
            }
        }
    }
}
