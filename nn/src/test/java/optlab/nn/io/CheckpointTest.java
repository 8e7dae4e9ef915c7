package optlab.nn.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.autograd.Variable;
import optlab.nn.Module;
import optlab.nn.models.CifarResNet;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
    @TempDir
    Path dir;

    /** Every parameter and buffer value of a model, by name. */
    private static Map<String, float[]> snapshot(Module m) {
        Map<String, float[]> s = new LinkedHashMap<>();
        for (var e : m.namedState().entrySet()) s.put(e.getKey(), e.getValue().toFloatArray());
        return s;
    }

    private static void assertSameState(Map<String, float[]> expected, Module m) {
        Map<String, float[]> actual = snapshot(m);
        assertEquals(expected.keySet(), actual.keySet());
        for (var e : expected.entrySet()) assertArrayEquals(e.getValue(), actual.get(e.getKey()), e.getKey());
    }

    /** A ResNet whose BN running statistics are not at their initial values. */
    private static CifarResNet trainedALittle(long seed) {
        CifarResNet m = new CifarResNet(20, true, 10, new Generator(seed));
        try (Scope s = Scope.open()) {
            m.forward(new Variable(Tensor.randn(new Generator(seed + 1), 2, 3, 8, 8)));
        }
        return m;
    }

    @Test
    void aModelRoundTripsBitForBitIncludingRunningStatistics() throws IOException {
        CifarResNet a = trainedALittle(1);
        Path f = dir.resolve("a.safetensors");
        Checkpoint.saveModel(f, a, Map.of("note", "test"));
        CifarResNet b = new CifarResNet(20, true, 10, new Generator(2));
        Map<String, String> meta = Checkpoint.loadModel(f, b);
        assertSameState(snapshot(a), b);
        assertEquals("test", meta.get("note"));
        assertEquals("CifarResNet", meta.get("model"));
        assertTrue(b.bn1.runningVar().toFloatArray()[0] != 1f, "running statistics were saved and loaded");
    }

    @Test
    void tensorsAndIntegersTogether() throws IOException {
        Tensor state = Tensor.of(new double[] {1, 2, 3}, 3);
        Path f = dir.resolve("c.safetensors");
        Checkpoint.save(f, new Checkpoint.Contents().tensor("opt.v", state).integer("step", 123_456_789_012L).metadata("k", "v"));
        Tensor into = Tensor.zeros(optlab.tensor.Shape.of(3), optlab.kernels.DType.FLOAT64, optlab.kernels.Device.CPU);
        Checkpoint.Loaded l = Checkpoint.load(f, Map.of("opt.v", into), List.of("step"));
        assertArrayEquals(new double[] {1, 2, 3}, into.toDoubleArray());
        assertEquals(123_456_789_012L, l.integer("step"));
        assertEquals("v", l.metadata().get("k"));
    }

    /** Missing, extra and mis-shaped tensors are all reported by name, and the model is left as it was. */
    @Test
    void aMismatchedCheckpointIsRefusedWithEveryNameAndChangesNothing() throws IOException {
        Path f = dir.resolve("resnet20.safetensors");
        Checkpoint.saveModel(f, trainedALittle(1), Map.of());

        // a deeper model: the file lacks its blocks 3 and 4 of every stage
        CifarResNet deeper = new CifarResNet(32, true, 10, new Generator(5));
        Map<String, float[]> before = snapshot(deeper);
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.loadModel(f, deeper));
        assertTrue(e.names().contains("layer1.3.conv1.weight") && e.names().contains("layer3.4.bn2.running_var"), e.names().toString());
        assertTrue(e.getMessage().contains("missing tensor 'layer1.3.conv1.weight' (expected F32 [16, 16, 3, 3])"), e.getMessage());
        assertSameState(before, deeper);

        // other classes: a mis-shaped linear layer
        CifarResNet cifar100 = new CifarResNet(20, true, 100, new Generator(5));
        before = snapshot(cifar100);
        e = assertThrows(CheckpointException.class, () -> Checkpoint.loadModel(f, cifar100));
        assertEquals(List.of("linear.weight", "linear.bias"), e.names());
        assertTrue(e.getMessage().contains("tensor 'linear.weight' is F32 [10, 64] in the file but F32 [100, 64] here"), e.getMessage());
        assertSameState(before, cifar100);

        // without BN: every BN entry of the file is unexpected
        CifarResNet noBn = new CifarResNet(20, false, 10, new Generator(5));
        before = snapshot(noBn);
        e = assertThrows(CheckpointException.class, () -> Checkpoint.loadModel(f, noBn));
        assertTrue(e.getMessage().contains("unexpected tensor 'bn1.running_mean' (F32 [16])"), e.getMessage());
        assertEquals(19 * 4, e.names().size()); // 19 BN layers x (weight, bias, running_mean, running_var)
        assertSameState(before, noBn);
    }

    @Test
    void aTruncatedFileIsRefusedNamingTheTensorsCutOffAndChangesNothing() throws IOException {
        Path f = dir.resolve("full.safetensors");
        Checkpoint.saveModel(f, trainedALittle(1), Map.of());
        byte[] all = Files.readAllBytes(f);
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length - 100)); // the linear layer (650 floats) is at the end
        CifarResNet m = new CifarResNet(20, true, 10, new Generator(5));
        Map<String, float[]> before = snapshot(m);
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.loadModel(cut, m));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("'linear.bias'"), e.getMessage());
        assertTrue(e.names().contains("linear.bias"));
        assertSameState(before, m);
        // cut inside the header
        Files.write(cut, java.util.Arrays.copyOf(all, 100));
        e = assertThrows(CheckpointException.class, () -> Checkpoint.loadModel(cut, m));
        assertTrue(e.getMessage().contains("truncated: the header length says"), e.getMessage());
        assertSameState(before, m);
    }

    @Test
    void savingIsAtomicAndOverwrites() throws IOException {
        Path f = dir.resolve("m.safetensors");
        CifarResNet a = trainedALittle(1), b = trainedALittle(2);
        Checkpoint.saveModel(f, a, Map.of());
        Checkpoint.saveModel(f, b, Map.of());
        CifarResNet c = new CifarResNet(20, true, 10, new Generator(9));
        Checkpoint.loadModel(f, c);
        assertSameState(snapshot(b), c);
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "temporary files left behind");
        }
    }

    /**
     * Zhuang et al.: one initialization per architecture, saved once (bin/optlab init) and loaded by every run of the
     * grid, whatever that run's own seed.
     */
    @Test
    void oneSavedInitializationPerArchitecture() throws IOException {
        Path init = dir.resolve("cifar10_ResNet20_BN_init.safetensors");
        CifarResNet first = new CifarResNet(20, true, 10, new Generator(11));
        Checkpoint.saveModel(init, first, java.util.Map.of("purpose", "initialization"));
        List<CifarResNet> later = new ArrayList<>();
        for (long seed : new long[] {12, 13}) {
            CifarResNet m = new CifarResNet(20, true, 10, new Generator(seed));
            assertEquals(List.of(), Checkpoint.loadInitialization(init, m));
            later.add(m);
        }
        for (CifarResNet m : later) assertSameState(snapshot(first), m);
    }
}
