package optlab.nn.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import optlab.nn.Module;
import optlab.tensor.Tensor;

/**
 * Checkpoints as safetensors files ({@link SafeTensors}): named tensors plus named 64-bit integers
 * (step counters, generator states) plus string metadata, written atomically. A model's state goes in
 * under its PyTorch-style names ({@link Module#namedState()}: {@code layer1.0.conv1.weight},
 * {@code bn1.running_mean}), so the file reads in Python as a state_dict:
 * <pre>{@code
 *   from safetensors.torch import load_file
 *   model.load_state_dict({k: v for k, v in load_file("ckpt.safetensors").items() if k in model.state_dict()})
 * }</pre>
 * Loading is all or nothing: the whole file is validated (format, then every name, dtype and shape
 * against what it is loaded into: missing, extra and mis-shaped tensors are all reported, by name) and
 * every value is read into memory before the first target is written. A failed load throws
 * {@link CheckpointException} and changes nothing.
 *
 * <p>The training glue (model + optimizer state + step counters + generators) is
 * {@code optlab.experiments.train.TrainingCheckpoint}; this class knows nothing of optimizers.
 */
public final class Checkpoint {
    private Checkpoint() {}

    /** What a file holds, by name: tensors (their values are read when the file is written), integers, metadata. */
    public static final class Contents {
        private final Map<String, Tensor> tensors = new LinkedHashMap<>();
        private final Map<String, Long> integers = new LinkedHashMap<>();
        private final Map<String, String> metadata = new LinkedHashMap<>();

        /** Adds every parameter and buffer of {@code model} under its dotted name (PyTorch's state_dict order). */
        public Contents model(Module model) {
            for (var e : model.namedState().entrySet()) tensor(e.getKey(), e.getValue());
            return this;
        }

        public Contents tensor(String name, Tensor t) {
            checkNew(name);
            tensors.put(name, t);
            return this;
        }

        /** A 64-bit integer, stored as an I64 tensor of shape []. */
        public Contents integer(String name, long value) {
            checkNew(name);
            integers.put(name, value);
            return this;
        }

        public Contents metadata(String key, String value) {
            metadata.put(key, value);
            return this;
        }

        private void checkNew(String name) {
            if (name.isEmpty() || name.equals("__metadata__")) throw new IllegalArgumentException("bad checkpoint name '" + name + "'");
            if (tensors.containsKey(name) || integers.containsKey(name)) {
                throw new IllegalArgumentException("checkpoint name '" + name + "' used twice");
            }
        }

        public Map<String, Tensor> tensors() {
            return Collections.unmodifiableMap(tensors);
        }

        public Map<String, Long> integers() {
            return Collections.unmodifiableMap(integers);
        }

        public Map<String, String> metadata() {
            return Collections.unmodifiableMap(metadata);
        }
    }

    /** Writes {@code c} to {@code path} atomically: tensors in insertion order, then the integers. */
    public static void save(Path path, Contents c) throws IOException {
        Map<String, SafeTensors.Blob> blobs = new LinkedHashMap<>();
        for (var e : c.tensors.entrySet()) blobs.put(e.getKey(), SafeTensors.Blob.of(e.getValue()));
        for (var e : c.integers.entrySet()) blobs.put(e.getKey(), SafeTensors.Blob.ofLongs(new long[] {e.getValue()}));
        SafeTensors.write(path, blobs, c.metadata);
    }

    /** The integers and metadata of a loaded file (its tensors were copied into the targets). */
    public record Loaded(Map<String, Long> integers, Map<String, String> metadata) {
        public long integer(String name) {
            Long v = integers.get(name);
            if (v == null) throw new IllegalArgumentException("no integer '" + name + "' was loaded");
            return v;
        }
    }

    /**
     * Loads a file that must hold exactly the tensors of {@code targets} (same names, dtypes and
     * shapes) and the integers {@code integerNames}: copies each tensor's values into its target and
     * returns the integers and the metadata. Validates everything and reads every value before writing
     * any target; on failure throws {@link CheckpointException} naming each missing, extra or mismatched
     * entry, and no target has changed.
     */
    public static Loaded load(Path path, Map<String, Tensor> targets, Collection<String> integerNames) throws IOException {
        if (!Files.exists(path)) throw new java.nio.file.NoSuchFileException(path.toString(), null, "checkpoint not found");
        try (SafeTensors.Reader r = SafeTensors.open(path)) {
            String file = r.file();
            Map<String, SafeTensors.Info> inFile = r.tensors();
            List<String> problems = new ArrayList<>(), names = new ArrayList<>();
            Set<String> expected = new LinkedHashSet<>(targets.keySet());
            for (String n : integerNames) {
                if (!expected.add(n)) throw new IllegalArgumentException("'" + n + "' is both a tensor and an integer target");
            }
            for (String n : expected) {
                if (!inFile.containsKey(n)) {
                    Tensor t = targets.get(n);
                    problems.add("missing tensor '" + n + "' (expected " + (t == null ? "I64 []" : describe(t)) + ")");
                    names.add(n);
                }
            }
            for (SafeTensors.Info i : inFile.values()) {
                if (!expected.contains(i.name())) {
                    problems.add("unexpected tensor '" + i.name() + "' (" + i.describe() + ")");
                    names.add(i.name());
                }
            }
            for (String n : expected) {
                SafeTensors.Info i = inFile.get(n);
                if (i == null) continue;
                Tensor t = targets.get(n);
                SafeTensors.Dtype want = t == null ? SafeTensors.Dtype.I64 : SafeTensors.Dtype.of(t.dtype());
                int[] wantShape = t == null ? new int[0] : t.shape().toArray();
                if (i.dtype() != want || !Arrays.equals(i.shape(), wantShape)) {
                    problems.add("tensor '" + n + "' is " + i.describe() + " in the file but " + want + " " + Arrays.toString(wantShape) + " here");
                    names.add(n);
                }
            }
            if (!problems.isEmpty()) throw new CheckpointException(file, problems, names);

            // read every value before touching any target: an I/O error now leaves memory as it was
            Map<String, Object> values = new LinkedHashMap<>();
            for (String n : targets.keySet()) {
                values.put(n, switch (inFile.get(n).dtype()) {
                    case F32 -> r.floats(n);
                    case F64 -> r.doubles(n);
                    case I32 -> r.ints(n);
                    case I64 -> throw new AssertionError();
                });
            }
            Map<String, Long> ints = new LinkedHashMap<>();
            for (String n : integerNames) ints.put(n, r.longs(n)[0]);

            for (var e : targets.entrySet()) {
                Tensor target = e.getValue();
                int[] shape = target.shape().toArray();
                try (Tensor host = switch (values.get(e.getKey())) {
                    case float[] f -> Tensor.of(f, shape);
                    case double[] d -> Tensor.of(d, shape);
                    case int[] i -> Tensor.ofInts(i, shape);
                    default -> throw new AssertionError();
                }; Tensor src = host.to(target.device())) { // a model on a GPU loads through one host-to-device copy
                    target.copyFrom(src);
                }
            }
            return new Loaded(Collections.unmodifiableMap(ints), r.metadata());
        }
    }

    private static String describe(Tensor t) {
        return SafeTensors.Dtype.of(t.dtype()) + " " + Arrays.toString(t.shape().toArray());
    }

    // ------------------------------------------------------------------------------------------------
    // A model alone
    // ------------------------------------------------------------------------------------------------

    /** Saves a model's parameters and buffers (its state_dict) with {@code metadata}. */
    public static void saveModel(Path path, Module model, Map<String, String> metadata) throws IOException {
        Contents c = new Contents().model(model);
        c.metadata("format", "optlab-model");
        c.metadata("model", model.getClass().getSimpleName());
        metadata.forEach(c::metadata);
        save(path, c);
    }

    /** Loads a file written by {@link #saveModel} into {@code model} (all or nothing); returns its metadata. */
    public static Map<String, String> loadModel(Path path, Module model) throws IOException {
        return load(path, model.namedState(), List.of()).metadata();
    }

    /**
     * Zhuang et al.'s protocol: one saved initialization per architecture, reused by every run. If
     * {@code path} exists, its state is loaded into {@code model} (which must be the same architecture)
     * and this returns true; otherwise the model's fresh initialization is saved there and this returns
     * false.
     */
    public static boolean loadOrSaveInitialization(Path path, Module model) throws IOException {
        if (Files.exists(path)) {
            loadModel(path, model);
            return true;
        }
        saveModel(path, model, Map.of("purpose", "initialization"));
        return false;
    }
}
