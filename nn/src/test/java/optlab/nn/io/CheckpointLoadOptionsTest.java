package optlab.nn.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.autograd.Variable;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.nn.Module;
import optlab.nn.models.CifarResNet;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Checkpoint.LoadOptions} (non-finite values, the caller's integer check) and
 * {@link Checkpoint#loadInitialization} (a shared initialization in OptLab's or PyTorch's layout).
 * Every refusal leaves the targets exactly as they were.
 */
class CheckpointLoadOptionsTest {
    @TempDir
    Path dir;

    /** Every parameter and buffer of a model, as doubles (exact for FLOAT32 and FLOAT64), by name. */
    private static Map<String, double[]> snapshot(Module m) {
        Map<String, double[]> s = new LinkedHashMap<>();
        for (var e : m.namedState().entrySet()) s.put(e.getKey(), e.getValue().toDoubleArray());
        return s;
    }

    private static void assertState(Map<String, double[]> expected, Module m) {
        Map<String, double[]> actual = snapshot(m);
        assertEquals(expected.keySet(), actual.keySet());
        for (var e : expected.entrySet()) assertArrayEquals(e.getValue(), actual.get(e.getKey()), e.getKey());
    }

    /** A CIFAR ResNet-8 whose BN running statistics are not at their initial values. */
    private static CifarResNet trainedALittle(long seed) {
        CifarResNet m = new CifarResNet(8, true, 10, new Generator(seed));
        try (Scope s = Scope.open()) {
            m.forward(new Variable(Tensor.randn(new Generator(seed + 1), 2, 3, 8, 8)));
        }
        return m;
    }

    /** The model's state as blobs, with {@code edit} applied to a copy of each float array (name, values). */
    private static Map<String, SafeTensors.Blob> blobs(Module m, java.util.function.BiConsumer<String, float[]> edit) {
        Map<String, SafeTensors.Blob> out = new LinkedHashMap<>();
        for (var e : m.namedState().entrySet()) {
            float[] v = e.getValue().toFloatArray();
            edit.accept(e.getKey(), v);
            int[] shape = e.getValue().shape().toArray();
            out.put(e.getKey(), new SafeTensors.Blob(SafeTensors.Dtype.F32, shape, o -> SafeTensors.writeFloats(o, v)));
        }
        return out;
    }

    /**
     * The layout of {@code safetensors.torch.save_file(model.state_dict())}: OptLab's names, plus each
     * BatchNorm's {@code num_batches_tracked} (I64, shape []) after its running_var, as PyTorch's
     * state_dict orders them.
     */
    private static Map<String, SafeTensors.Blob> pytorchLayout(Map<String, SafeTensors.Blob> state) {
        Map<String, SafeTensors.Blob> out = new LinkedHashMap<>();
        for (var e : state.entrySet()) {
            out.put(e.getKey(), e.getValue());
            if (e.getKey().endsWith(".running_var")) {
                String bn = e.getKey().substring(0, e.getKey().length() - ".running_var".length());
                out.put(bn + ".num_batches_tracked", SafeTensors.Blob.ofLongs(new long[] {2}));
            }
        }
        return out;
    }

    @Test
    void nonFiniteValuesAreRefusedByNameAndFirstIndexUnlessAllowed() throws IOException {
        CifarResNet source = trainedALittle(1);
        Path f = dir.resolve("nan.safetensors");
        SafeTensors.write(f, blobs(source, (name, v) -> {
            if (name.equals("layer2.0.conv1.weight")) {
                v[5] = Float.NaN;
                v[9] = Float.NaN;
            }
            if (name.equals("linear.bias")) v[2] = Float.NEGATIVE_INFINITY;
        }), Map.of());
        CifarResNet m = trainedALittle(7);
        Map<String, double[]> before = snapshot(m);
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.loadModel(f, m));
        assertEquals(List.of("layer2.0.conv1.weight", "linear.bias"), e.names());
        assertEquals(List.of("tensor 'layer2.0.conv1.weight' holds NaN at flat index 5 (F32 [32, 16, 3, 3]); non-finite values are "
                        + "refused unless LoadOptions.allowNonFinite",
                "tensor 'linear.bias' holds -Infinity at flat index 2 (F32 [10]); non-finite values are refused unless LoadOptions.allowNonFinite"),
                e.problems());
        assertState(before, m);
        // the same through load and through loadInitialization
        assertThrows(CheckpointException.class, () -> Checkpoint.load(f, m.namedState(), List.of()));
        assertEquals(e.names(), assertThrows(CheckpointException.class, () -> Checkpoint.loadInitialization(f, m)).names());
        assertState(before, m);

        // allowed: loaded as it is
        Checkpoint.loadModel(f, m, Checkpoint.LoadOptions.STRICT.withAllowNonFinite(true));
        assertTrue(Float.isNaN(m.namedState().get("layer2.0.conv1.weight").toFloatArray()[5]));
        assertEquals(Float.NEGATIVE_INFINITY, m.linear.bias.data().toFloatArray()[2]);
        assertArrayEquals(source.conv1.weight.data().toFloatArray(), m.conv1.weight.data().toFloatArray());
    }

    @Test
    void theIntegerCheckRunsBeforeAnyTargetIsWritten() throws IOException {
        Path f = dir.resolve("ints.safetensors");
        try (Tensor v = Tensor.of(new double[] {1, 2, 3}, 3)) {
            Checkpoint.save(f, new Checkpoint.Contents().tensor("opt.v", v).integer("step", -5).integer("epoch", 3).integer("seen", -1));
        }
        Tensor into = Scope.escape(Tensor.zeros(Shape.of(3), DType.FLOAT64, Device.CPU));
        Checkpoint.LoadOptions checked = Checkpoint.LoadOptions.STRICT.withIntegers(
                Checkpoint.IntegerCheck.nonNegative(List.of("step", "epoch", "absent"))
                        .and(ints -> ints.get("seen") < ints.get("epoch") ? Map.of("seen", "must be >= epoch (" + ints.get("epoch") + ")") : Map.of()));
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.load(f, Map.of("opt.v", into), List.of("step", "epoch", "seen"), checked));
        assertEquals(List.of("integer 'step' is -5: must be >= 0", "integer 'seen' is -1: must be >= epoch (3)"), e.problems());
        assertEquals(List.of("step", "seen"), e.names());
        assertArrayEquals(new double[] {0, 0, 0}, into.toDoubleArray(), "written before the integers were checked");
        // without a check the same file loads
        Checkpoint.Loaded l = Checkpoint.load(f, Map.of("opt.v", into), List.of("step", "epoch", "seen"));
        assertEquals(-5, l.integer("step"));
        assertArrayEquals(new double[] {1, 2, 3}, into.toDoubleArray());
        into.close();
    }

    /** A file in PyTorch's layout: num_batches_tracked (and any other extra entry) is ignored and reported. */
    @Test
    void anInitializationInPyTorchsLayoutLoadsAndNamesWhatItIgnored() throws IOException {
        CifarResNet source = trainedALittle(1);
        Map<String, SafeTensors.Blob> torch = pytorchLayout(blobs(source, (n, v) -> {}));
        torch.put("extra_note", SafeTensors.Blob.ofLongs(new long[] {1, 2}, 2));
        Path f = dir.resolve("pytorch_init.safetensors");
        SafeTensors.write(f, torch, Map.of("format", "pt"));

        CifarResNet m = new CifarResNet(8, true, 10, new Generator(9));
        List<String> ignored = Checkpoint.loadInitialization(f, m);
        assertEquals(List.of("bn1.num_batches_tracked", "layer1.0.bn1.num_batches_tracked", "layer1.0.bn2.num_batches_tracked",
                "layer2.0.bn1.num_batches_tracked", "layer2.0.bn2.num_batches_tracked", "layer3.0.bn1.num_batches_tracked",
                "layer3.0.bn2.num_batches_tracked", "extra_note"), ignored);
        assertState(snapshot(source), m);
        // the strict loader refuses the same file, naming the extras
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.loadModel(f, new CifarResNet(8, true, 10, new Generator(9))));
        assertTrue(e.names().contains("bn1.num_batches_tracked") && e.names().contains("extra_note"), e.names().toString());
        // an exact OptLab file: nothing ignored
        Path own = dir.resolve("own.safetensors");
        Checkpoint.saveModel(own, source, Map.of());
        assertEquals(List.of(), Checkpoint.loadInitialization(own, new CifarResNet(8, true, 10, new Generator(3))));
    }

    @Test
    void float32DataWidensExactlyIntoAFloat64Model() throws IOException {
        CifarResNet source = trainedALittle(1);
        Path f = dir.resolve("init.safetensors");
        SafeTensors.write(f, pytorchLayout(blobs(source, (n, v) -> {})), Map.of("format", "pt"));
        CifarResNet m = new CifarResNet(8, true, 10, new Generator(9));
        m.to(DType.FLOAT64);
        assertEquals(7, Checkpoint.loadInitialization(f, m).size());
        for (var e : m.namedState().entrySet()) assertEquals(DType.FLOAT64, e.getValue().dtype(), e.getKey());
        assertState(snapshot(source), m); // float -> double is exact: the doubles equal the floats
        // the strict loader wants the file's dtype to be the model's
        CifarResNet strict = new CifarResNet(8, true, 10, new Generator(9));
        strict.to(DType.FLOAT64);
        Path own = dir.resolve("own32.safetensors");
        Checkpoint.saveModel(own, source, Map.of());
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.loadModel(own, strict));
        assertTrue(e.getMessage().contains("tensor 'conv1.weight' is F32 [16, 3, 3, 3] in the file but F64 [16, 3, 3, 3] here"), e.getMessage());
    }

    @Test
    void float64DataIsNotRoundedIntoAFloat32Model() throws IOException {
        CifarResNet source = trainedALittle(1);
        source.to(DType.FLOAT64);
        Path f = dir.resolve("init64.safetensors");
        Checkpoint.saveModel(f, source, Map.of());
        CifarResNet m = new CifarResNet(8, true, 10, new Generator(9));
        Map<String, double[]> before = snapshot(m);
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.loadInitialization(f, m));
        assertEquals(m.namedState().size(), e.names().size());
        assertTrue(e.getMessage().contains("tensor 'conv1.weight' is F64 [16, 3, 3, 3] in the file but F32 [16, 3, 3, 3] here "
                + "(F64 is not rounded into a FLOAT32 model: convert the model with to(DType.FLOAT64) first)"), e.getMessage());
        assertState(before, m);
        // converted, it loads
        m.to(DType.FLOAT64);
        Checkpoint.loadInitialization(f, m);
        assertState(snapshot(source), m);
    }

    /** Missing and mis-shaped tensors are refused together, every one by name, and the model is unchanged. */
    @Test
    void missingAndMisShapedTensorsAreRefusedByName() throws IOException {
        Map<String, SafeTensors.Blob> torch = pytorchLayout(blobs(trainedALittle(1), (n, v) -> {}));
        torch.remove("bn1.running_mean");
        torch.remove("layer3.0.conv2.weight");
        Path f = dir.resolve("broken.safetensors");
        SafeTensors.write(f, torch, Map.of("format", "pt"));
        CifarResNet m = new CifarResNet(8, true, 100, new Generator(9)); // 100 classes: the linear layer is mis-shaped
        Map<String, double[]> before = snapshot(m);
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.loadInitialization(f, m));
        assertEquals(List.of("bn1.running_mean", "layer3.0.conv2.weight", "linear.weight", "linear.bias"), e.names());
        assertEquals("missing tensor 'bn1.running_mean' (expected F32 [16])", e.problems().get(0));
        assertEquals("tensor 'linear.weight' is F32 [10, 64] in the file but F32 [100, 64] here", e.problems().get(2));
        assertState(before, m);
        List<String> all = new ArrayList<>(e.names());
        assertTrue(e.getMessage().contains("4 problems"), e.getMessage() + " " + all);
    }
}
