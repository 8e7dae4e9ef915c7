package optlab.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import optlab.autograd.Variable;
import optlab.kernels.Device;
import optlab.kernels.cuda.Cuda;
import optlab.kernels.testkit.GpuTest;
import optlab.nn.io.Checkpoint;
import optlab.nn.models.CharLstm;
import optlab.nn.models.CifarResNet;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Models on a CUDA device (NOTE [device-placement]): {@link Module#to} moves parameters and buffers, the arena is
 * packed there, a forward and backward run there, an input left on the CPU is refused naming both devices, and a
 * checkpoint loads into a model on the device. GPU-tagged: skipped with the probe's reasons where no GPU is usable.
 */
@GpuTest
class CudaModuleTest {
    static final Device GPU = Device.cuda(0);

    @TempDir
    Path dir;

    @BeforeAll
    static void requireGpu() {
        assumeTrue(Cuda.probe().usable(), () -> Cuda.probe().toString());
    }

    private static Map<String, float[]> snapshot(Module m) {
        Map<String, float[]> s = new LinkedHashMap<>();
        for (var e : m.namedState().entrySet()) s.put(e.getKey(), e.getValue().toFloatArray());
        return s;
    }

    @Test
    void toMovesParametersAndBuffersAndTheArenaIsPackedThere() {
        CifarResNet m = new CifarResNet(8, true, 10, new Generator(3));
        Map<String, float[]> before = snapshot(m);
        Parameter w = m.conv1.weight;
        assertSame(m, m.to(GPU));
        assertSame(w, m.conv1.weight);
        assertEquals(GPU, m.device());
        for (var e : m.namedState().entrySet()) {
            assertEquals(GPU, e.getValue().device(), e.getKey());
            assertArrayEquals(before.get(e.getKey()), e.getValue().toFloatArray(), e.getKey());
        }
        try (ParameterArena arena = ParameterArena.pack(m)) {
            assertEquals(GPU, arena.values().device());
            assertEquals(GPU, arena.grads().device());
            try (Scope s = Scope.open()) {
                Tensor x = Tensor.randn(new Generator(4), 2, 3, 8, 8);
                var e = assertThrows(IllegalArgumentException.class, () -> m.forward(new Variable(x)));
                assertTrue(e.getMessage().startsWith("conv2d: tensors on different devices, input [2, 3, 8, 8] on cpu and weight [16, 3, 3, 3] on cuda:0"),
                        e.getMessage());
                m.forward(new Variable(x.to(GPU))).sum().backward();
                assertTrue(m.bn1.runningVar().toFloatArray()[0] != 1f, "the running statistics were updated on the device");
                float[] g = arena.grads().toFloatArray();
                double sq = 0;
                for (float v : g) sq += v * v;
                assertTrue(sq > 0 && Double.isFinite(sq), "the gradient reached the arena: " + sq);
            }
            var e = assertThrows(IllegalStateException.class, () -> m.to(Device.CPU));
            assertTrue(e.getMessage().startsWith("to(cpu): parameter conv1.weight is a view of a ParameterArena on cuda:0"), e.getMessage());
        }
    }

    @Test
    void aCheckpointLoadsIntoAModelOnTheDeviceAndSavesFromIt() throws IOException {
        CifarResNet a = new CifarResNet(8, true, 10, new Generator(5));
        Path f = dir.resolve("a.safetensors");
        Checkpoint.saveModel(f, a, Map.of());
        CifarResNet b = new CifarResNet(8, true, 10, new Generator(6));
        b.to(GPU);
        Checkpoint.loadModel(f, b);
        Map<String, float[]> want = snapshot(a), got = snapshot(b);
        for (String k : want.keySet()) assertArrayEquals(want.get(k), got.get(k), k);
        Path g = dir.resolve("b.safetensors");
        Checkpoint.saveModel(g, b, Map.of());
        CifarResNet c = new CifarResNet(8, true, 10, new Generator(7));
        Checkpoint.loadModel(g, c);
        got = snapshot(c);
        for (String k : want.keySet()) assertArrayEquals(want.get(k), got.get(k), k);
    }

    @Test
    void anLstmStartsFromZerosOnItsDevice() {
        CharLstm lm = new CharLstm(20, 8, 16, 1, 1.0, CharLstm.Layout.DEEPOBS, new Generator(8), new Generator(9));
        lm.to(GPU);
        try (var state = lm.zeroState(3)) {
            assertEquals(GPU, state.h().device());
            assertEquals(GPU, state.c().device());
        }
    }
}
