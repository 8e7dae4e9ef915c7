package optlab.kernels.cuda;

import static optlab.kernels.cuda.GpuFixtures.gpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
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

    /**
     * Batch norm's epilogue (Backend's NOTE [bn-epilogue]) around a user kernel: the example is the own kernels' bodies
     * without it, so the backend's elementwise add, ReLU and mask around the example give the own fused kernels' bits,
     * forward (training and inference) and backward (dx, dgamma, dbeta, dz).
     */
    @Test
    void theBackendRunsBatchNormsEpilogueAroundAUserKernel() {
        int n = 3, c = 4, hw = 37, size = n * c * hw;
        Random r = new Random(5);
        float[] x = new float[size], z = new float[size], dy = new float[size], gamma = new float[c], beta = new float[c];
        for (int i = 0; i < size; i++) {
            x[i] = (float) r.nextGaussian();
            z[i] = (float) r.nextGaussian();
            dy[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < c; i++) {
            gamma[i] = 0.5f + r.nextFloat();
            beta[i] = (float) r.nextGaussian();
        }
        float[][] own = fusedBatchNorm(gpu(""), n, c, hw, x, z, dy, gamma, beta);
        float[][] user = fusedBatchNorm(gpu(example("batchnorm", "")), n, c, hw, x, z, dy, gamma, beta);
        String[] names = {"y", "inference y", "dx", "dgamma", "dbeta", "dz"};
        for (int i = 0; i < names.length; i++) assertArrayEquals(own[i], user[i], names[i]);
    }

    /** relu(bn(x) + z) forward (training, inference) and its backward on {@code be}: {y, inference y, dx, dgamma, dbeta, dz}. */
    private static float[][] fusedBatchNorm(CudaBackend be, int n, int c, int hw, float[] x, float[] z, float[] dy, float[] gamma, float[] beta) {
        int size = n * c * hw;
        try (Buffer xb = up(be, x); Buffer zb = up(be, z); Buffer dyb = up(be, dy); Buffer gb = up(be, gamma); Buffer bb = up(be, beta);
             Buffer y = be.allocate(DType.FLOAT32, size); Buffer yi = be.allocate(DType.FLOAT32, size); Buffer sm = be.allocate(DType.FLOAT32, c);
             Buffer si = be.allocate(DType.FLOAT32, c); Buffer dx = be.allocate(DType.FLOAT32, size); Buffer dg = be.allocate(DType.FLOAT32, c);
             Buffer db = be.allocate(DType.FLOAT32, c); Buffer dz = be.allocate(DType.FLOAT32, size)) {
            be.batchNormForwardTraining(n, c, hw, xb.ptr(), gb.ptr(), bb.ptr(), 1e-5, 0.1, null, null, y.ptr(), sm.ptr(), si.ptr(), zb.ptr(), true);
            be.batchNormForwardInference(n, c, hw, xb.ptr(), gb.ptr(), bb.ptr(), sm.ptr(), si.ptr(), 1e-5, yi.ptr(), zb.ptr(), true);
            be.batchNormBackward(n, c, hw, xb.ptr(), dyb.ptr(), gb.ptr(), sm.ptr(), si.ptr(), dx.ptr(), dg.ptr(), db.ptr(), y.ptr(), true, dz.ptr());
            return new float[][] {down(be, y, size), down(be, yi, size), down(be, dx, size), down(be, dg, c), down(be, db, c), down(be, dz, size)};
        }
    }

    private static Buffer up(CudaBackend be, float[] a) {
        Buffer b = be.allocate(DType.FLOAT32, a.length);
        be.write(b.ptr(), a, 0, a.length);
        return b;
    }

    private static float[] down(CudaBackend be, Buffer b, int n) {
        float[] a = new float[n];
        be.read(b.ptr(), a, 0, n);
        return a;
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
