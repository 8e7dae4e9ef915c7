package optlab.kernels.cuda;

import static optlab.kernels.cuda.GpuFixtures.gpu;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import optlab.kernels.Buffer;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.Pool2dGeometry;
import optlab.kernels.testkit.Conformance;
import optlab.kernels.testkit.GpuTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 14's compiled user kernels on CUDA, one per op family: each of user_examples.cu's kernels (and elementwise.cu's
 * binary_f32 for binary ops), bound from a fatbin file by its ABI's function prefix, passes the conformance kit, also
 * forward-only and at odd block sizes; a file the driver refuses throws naming the file and the driver's error; a
 * function the file lacks is named. The model side (a training step with each of them) is nn's CudaUserKernelsTest.
 */
@GpuTest
class CudaUserKernelsTest {
    @TempDir
    Path dir;

    @BeforeEach
    void requireGpu() {
        GpuFixtures.requireGpu();
    }

    /** The example kernel of each family, as a spec, with {@code options} appended. */
    static String example(String op, String options) {
        if (op.startsWith("binary.")) return op + "=user:" + GpuFixtures.fatbinFile("elementwise") + ":binary_f32" + options;
        Map<String, String> prefixes = Map.of("conv2d", "example_conv", "pool2d", "example_pool", "batchnorm", "example_bn",
                "softmax_cross_entropy", "example_sce", "embedding", "example_embedding", "lstm", "example_lstm");
        return op + "=user:" + GpuFixtures.fatbinFile("user_examples") + ":" + prefixes.get(op) + options;
    }

    private static void conforms(String spec) {
        Conformance.Result r = Conformance.check(spec, Device.cuda(0), 11);
        assertTrue(r.passed(), spec + ":\n" + String.join("\n", r.lines()));
        assertTrue(r.checks() > 0, spec);
    }

    @ParameterizedTest
    @ValueSource(strings = {"conv2d", "pool2d", "batchnorm", "softmax_cross_entropy", "embedding", "lstm", "binary.add", "binary.div",
        "binary.max", "binary.sigmoid_backward"})
    void theExampleKernelOfEachFamilyPassesTheConformanceKit(String op) {
        conforms(example(op, ""));
    }

    @ParameterizedTest
    @ValueSource(strings = {"conv2d", "pool2d", "batchnorm", "softmax_cross_entropy", "embedding", "lstm"})
    void forwardOnlyAndAnOddBlockSize(String op) {
        conforms(example(op, ":forward-only:block=37"));
        conforms(example(op, ":block=32"));
    }

    @Test
    void aFileTheDriverRefusesIsNamedWithTheDriversErrorWhenTheBackendOpens() throws IOException {
        Path garbage = Files.writeString(dir.resolve("garbage.ptx"), "this is not PTX\n");
        var e = assertThrows(IllegalArgumentException.class, () -> gpu("pool2d=user:" + garbage + ":my_pool"));
        assertTrue(e.getMessage().startsWith("pool2d=user:") && e.getMessage().contains("file:" + garbage.toAbsolutePath())
                && e.getMessage().contains("CUDA_ERROR_INVALID_"), e.getMessage());
    }

    @Test
    void aFunctionTheFileLacksIsNamedWhenTheBackendOpens() {
        // the own pool.fatbin has maxpool_fwd_f32, not the ABI's PREFIX_max_forward
        var e = assertThrows(IllegalArgumentException.class, () -> gpu("pool2d=user:" + GpuFixtures.fatbinFile("pool") + ":maxpool"));
        assertTrue(e.getMessage().contains("has no function 'maxpool_max_forward'"), e.getMessage());
    }

    @Test
    void aUserLossKernelReportsABadLabelThroughTheFlag() {
        CudaBackend be = gpu(example("softmax_cross_entropy", ""));
        try (Buffer z = be.allocate(DType.FLOAT32, 6); Buffer labels = be.allocate(DType.INT32, 2); Buffer loss = be.allocate(DType.FLOAT32, 2);
             Buffer p = be.allocate(DType.FLOAT32, 6)) {
            be.fill(z.ptr(), 6, 0);
            be.write(labels.ptr(), new int[] {1, 7}, 0, 2);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> be.softmaxCrossEntropyForward(2, 3, z.ptr(), labels.ptr(), 0, loss.ptr(), p.ptr()));
            assertTrue(e.getMessage().contains("label 7 at position 1"), e.getMessage());
        }
    }
}
