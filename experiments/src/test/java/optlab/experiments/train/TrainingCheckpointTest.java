package optlab.experiments.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.nn.Dropout;
import optlab.nn.Lstm;
import optlab.nn.Module;
import optlab.nn.ParameterArena;
import optlab.nn.io.CheckpointException;
import optlab.nn.io.SafeTensors;
import optlab.nn.models.CharLstm;
import optlab.nn.models.CifarResNet;
import optlab.optim.Adam;
import optlab.optim.Optimizer;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exact resume (issue 3): train k steps, save, load into fresh objects, train k more; the parameters
 * (and the BN statistics, the optimizer state and every generator) equal an uninterrupted 2k-step run
 * bit for bit. Every source of state is exercised: BN running statistics (ResNet-20), Adam's moments
 * and step count, the dropout generator and the carried LSTM state (the character LSTM), and a data
 * generator that draws each batch.
 */
class TrainingCheckpointTest {
    private static final int K = 3;

    @TempDir
    Path dir;

    /** One run's objects. */
    private static final class Run implements AutoCloseable {
        final Module model;
        final ParameterArena arena;
        final Adam adam;
        Generator data;
        Lstm.State state; // the language model's carried state, null for the ResNet

        Run(Module model, long dataSeed) {
            this.model = model;
            this.arena = ParameterArena.pack(model);
            this.adam = new Adam(arena, 1e-3);
            this.data = new Generator(dataSeed);
            if (model instanceof CharLstm lm) state = lm.zeroState(4).escape();
        }

        void steps(int n) {
            for (int i = 0; i < n; i++) {
                try (Scope s = Scope.open()) {
                    Variable loss;
                    if (model instanceof CharLstm lm) {
                        float[] u = Tensor.rand(data, 4, 6).toFloatArray();
                        int[] tok = new int[u.length];
                        for (int j = 0; j < u.length; j++) tok[j] = (int) (u[j] * lm.vocab());
                        Tensor tokens = Tensor.ofInts(tok, 4, 6);
                        CharLstm.Output out = lm.forward(tokens, state);
                        loss = CharLstm.loss(out.logits(), tokens);
                        state.close();
                        state = out.state().escape();
                    } else {
                        Tensor x = Tensor.randn(data, 4, 3, 16, 16);
                        loss = Functional.crossEntropy(model.forward(new Variable(x)), Tensor.ofInts(new int[] {1, 5, 2, 9}, 4));
                    }
                    adam.zeroGrad();
                    loss.backward();
                    adam.step();
                }
            }
        }

        Map<String, Tensor> extra() {
            return state == null ? Map.of() : Map.of("lstm.h", state.h(), "lstm.c", state.c());
        }

        void save(Path p) throws IOException {
            TrainingCheckpoint.save(p, model, arena, adam, Map.of("data", data), extra(), 1, adam.stepCount());
        }

        TrainingCheckpoint.Restored load(Path p) throws IOException {
            TrainingCheckpoint.Restored r = TrainingCheckpoint.load(p, model, arena, adam, List.of("data"), extra());
            data = r.generator("data");
            return r;
        }

        /** Everything that must match: parameters, buffers, optimizer state, generator states, carried state. */
        Map<String, Object> fingerprint() {
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("arena", arena.values().toFloatArray());
            for (var e : model.namedBuffers().entrySet()) f.put(e.getKey(), e.getValue().toFloatArray());
            for (var e : adam.stateTensors().entrySet()) f.put("adam." + e.getKey(), e.getValue().toFloatArray());
            f.put("adam.step", new long[] {adam.stepCount()});
            f.put("data", new long[] {data.seed(), data.counter()});
            Generator d = Dropout.generatorOf(model);
            if (d != null) f.put("dropout", new long[] {d.seed(), d.counter()});
            if (state != null) {
                f.put("h", state.h().toFloatArray());
                f.put("c", state.c().toFloatArray());
            }
            return f;
        }

        @Override
        public void close() {
            if (state != null) state.close();
            adam.close();
            arena.close();
        }
    }

    private static void assertBitEqual(Map<String, Object> expected, Map<String, Object> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        for (var e : expected.entrySet()) {
            Object a = actual.get(e.getKey());
            if (e.getValue() instanceof float[] x) {
                float[] y = (float[]) a;
                assertEquals(x.length, y.length, e.getKey());
                for (int i = 0; i < x.length; i++) {
                    if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) {
                        throw new AssertionError(e.getKey() + "[" + i + "]: " + x[i] + " after an uninterrupted run, " + y[i] + " after resuming");
                    }
                }
            } else {
                assertArrayEquals((long[]) e.getValue(), (long[]) a, e.getKey());
            }
        }
    }

    private void resumeIsExact(java.util.function.LongFunction<Module> make) throws IOException {
        Map<String, Object> uninterrupted;
        try (Run u = new Run(make.apply(1), 100)) {
            u.steps(2 * K);
            uninterrupted = u.fingerprint();
        }
        Path ckpt = dir.resolve("run.safetensors");
        Map<String, Object> atK;
        try (Run first = new Run(make.apply(1), 100)) {
            first.steps(K);
            first.save(ckpt);
            atK = first.fingerprint();
        }
        // fresh objects with a different initialization, data seed and dropout seed: the load must override all
        try (Run resumed = new Run(make.apply(2), 200)) {
            TrainingCheckpoint.Restored r = resumed.load(ckpt);
            assertEquals(K, r.step());
            assertEquals(1, r.epoch());
            assertBitEqual(atK, resumed.fingerprint());
            resumed.steps(K);
            assertBitEqual(uninterrupted, resumed.fingerprint());
        }
    }

    @Test
    void resNet20WithBatchNormResumesBitForBit() throws IOException {
        resumeIsExact(seed -> new CifarResNet(20, true, 10, new Generator(seed)));
    }

    @Test
    void charLstmWithDropoutAndCarriedStateResumesBitForBit() throws IOException {
        resumeIsExact(seed -> new CharLstm(13, 16, 16, 2, 0.8, CharLstm.Layout.DEEPOBS, new Generator(seed), new Generator(seed + 50)));
    }

    @Test
    void namesFollowPyTorch() throws IOException {
        Path ckpt = dir.resolve("names.safetensors");
        try (Run r = new Run(new CifarResNet(20, true, 10, new Generator(1)), 1)) {
            r.steps(1);
            r.save(ckpt);
        }
        try (optlab.nn.io.SafeTensors.Reader rd = optlab.nn.io.SafeTensors.open(ckpt)) {
            var names = rd.tensors().keySet();
            for (String n : List.of("conv1.weight", "bn1.running_var", "layer3.2.bn2.bias", "linear.weight",
                    "optimizer.layer1.0.conv1.weight.exp_avg", "optimizer.linear.bias.exp_avg_sq", "optimizer.step",
                    "generator.data.seed", "generator.data.counter", "train.epoch", "train.step")) {
                assertTrue(names.contains(n), n + " missing from " + names);
            }
            assertEquals(TrainingCheckpoint.FORMAT, rd.metadata().get("format"));
            assertArrayEquals(new long[] {1}, rd.longs("optimizer.step"));
        }
    }

    /** A checkpoint of another architecture is refused by name and the objects are left exactly as they were. */
    @Test
    void aFailedLoadChangesNothing() throws IOException {
        Path ckpt = dir.resolve("r20.safetensors");
        try (Run r = new Run(new CifarResNet(20, true, 10, new Generator(1)), 1)) {
            r.steps(1);
            r.save(ckpt);
        }
        try (Run other = new Run(new CifarResNet(20, true, 100, new Generator(3)), 7)) {
            other.steps(1);
            Map<String, Object> before = other.fingerprint();
            CheckpointException e = assertThrows(CheckpointException.class, () -> other.load(ckpt));
            assertTrue(e.names().containsAll(List.of("linear.weight", "linear.bias", "optimizer.linear.weight.exp_avg",
                    "optimizer.linear.bias.exp_avg_sq")), e.names().toString());
            assertBitEqual(before, other.fingerprint());
            assertNotEquals(0, other.adam.stepCount());
        }
    }

    /**
     * A copy of checkpoint {@code from} at {@code to} with some integers replaced and, if {@code floatName} is not
     * null, element {@code index} of that F32 tensor set to {@code value}: a file as a bug or a corrupted disk might leave.
     */
    private static void rewrite(Path from, Path to, Map<String, Long> integers, String floatName, int index, float value) throws IOException {
        Map<String, SafeTensors.Blob> blobs = new LinkedHashMap<>();
        List<Tensor> held = new java.util.ArrayList<>();
        Map<String, String> metadata;
        try (SafeTensors.Reader r = SafeTensors.open(from)) {
            metadata = r.metadata();
            for (SafeTensors.Info i : r.tensors().values()) {
                if (i.dtype() == SafeTensors.Dtype.I64) {
                    long[] v = r.longs(i.name());
                    if (integers.containsKey(i.name())) v[0] = integers.get(i.name());
                    blobs.put(i.name(), SafeTensors.Blob.ofLongs(v, i.shape()));
                } else if (i.name().equals(floatName)) {
                    float[] v = r.floats(i.name());
                    v[index] = value;
                    held.add(Tensor.of(v, i.shape()));
                    blobs.put(i.name(), SafeTensors.Blob.of(held.getLast()));
                } else {
                    held.add(r.tensor(i.name()));
                    blobs.put(i.name(), SafeTensors.Blob.of(held.getLast()));
                }
            }
        }
        SafeTensors.write(to, blobs, metadata); // the blobs' tensors are read here
        for (Tensor t : held) t.close();
    }

    /**
     * A step count of -5 (and a negative generator counter) in the file: refused by name before anything is written,
     * so the weights, the BN statistics, Adam's moments and step count and the generators are exactly as before.
     * (The load used to write the weights and moments, and only then refuse the step count.)
     */
    @Test
    void aNegativeStepCountIsRefusedBeforeWeightsOrMomentsAreWritten() throws IOException {
        Path ckpt = dir.resolve("r8.safetensors"), bad = dir.resolve("r8_bad.safetensors");
        try (Run r = new Run(new CifarResNet(8, true, 10, new Generator(1)), 1)) {
            r.steps(1);
            r.save(ckpt);
        }
        rewrite(ckpt, bad, Map.of("optimizer.step", -5L, "generator.data.counter", -1L), null, 0, 0);
        try (Run other = new Run(new CifarResNet(8, true, 10, new Generator(3)), 7)) {
            other.steps(2);
            Map<String, Object> before = other.fingerprint();
            CheckpointException e = assertThrows(CheckpointException.class, () -> other.load(bad));
            assertEquals(List.of("optimizer.step", "generator.data.counter"), e.names());
            assertEquals(List.of("integer 'optimizer.step' is -5: must be >= 0", "integer 'generator.data.counter' is -1: must be >= 0"),
                    e.problems());
            assertBitEqual(before, other.fingerprint());
            assertEquals(2, other.adam.stepCount());
            // the untouched file loads
            assertEquals(1, other.load(ckpt).step());
            assertEquals(1, other.adam.stepCount());
        }
    }

    /** A NaN weight in the file: refused, naming the tensor and index, unless the caller allows non-finite values. */
    @Test
    void aNanWeightIsRefusedUnlessAllowed() throws IOException {
        Path ckpt = dir.resolve("r8.safetensors"), bad = dir.resolve("r8_nan.safetensors");
        try (Run r = new Run(new CifarResNet(8, true, 10, new Generator(1)), 1)) {
            r.steps(1);
            r.save(ckpt);
        }
        rewrite(ckpt, bad, Map.of(), "layer2.0.conv1.weight", 3, Float.NaN);
        try (Run other = new Run(new CifarResNet(8, true, 10, new Generator(3)), 7)) {
            other.steps(1);
            Map<String, Object> before = other.fingerprint();
            CheckpointException e = assertThrows(CheckpointException.class, () -> other.load(bad));
            assertEquals(List.of("layer2.0.conv1.weight"), e.names());
            assertTrue(e.getMessage().contains("tensor 'layer2.0.conv1.weight' holds NaN at flat index 3"), e.getMessage());
            assertBitEqual(before, other.fingerprint());
            // allowed: loaded as saved, the NaN included
            TrainingCheckpoint.Restored r = TrainingCheckpoint.load(bad, other.model, other.arena, other.adam, List.of("data"), other.extra(), true);
            assertEquals(1, r.step());
            assertTrue(Float.isNaN(other.model.namedParameters().get("layer2.0.conv1.weight").data().toFloatArray()[3]));
            assertEquals(1, other.adam.stepCount());
        }
    }
}
