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
 * against what it is loaded into: missing, extra and mis-shaped tensors are all reported, by name),
 * every value is read into memory and checked (no NaN or infinity unless {@link LoadOptions} allows them;
 * the caller's check of the integers) before the first target is written. A failed load throws
 * {@link CheckpointException} and changes nothing. {@link #loadInitialization} is the lenient variant
 * for initializations shared with PyTorch.
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
     * How strictly a load treats a file's values (its names, dtypes and shapes are always checked):
     * <ul>
     *   <li>{@code allowNonFinite}: false (the default) refuses a file whose floating tensors hold a NaN
     *       or an infinity, naming each such tensor and its first bad flat index; true loads them (a
     *       diverged run saved for inspection);</li>
     *   <li>{@code integers}: a check of the loaded integers (step counts, generator counters), run
     *       after everything is read and before any target is written, so its refusal changes nothing;
     *       null for none.</li>
     * </ul>
     * For example, {@code LoadOptions.STRICT.withIntegers(IntegerCheck.nonNegative(List.of("optimizer.step")))}.
     */
    public record LoadOptions(boolean allowNonFinite, IntegerCheck integers) {
        /** Non-finite values refused, no integer check: what {@link #load(Path, Map, Collection)} does. */
        public static final LoadOptions STRICT = new LoadOptions(false, null);

        /** These options, with non-finite values allowed or not. */
        public LoadOptions withAllowNonFinite(boolean allow) {
            return new LoadOptions(allow, integers);
        }

        /** These options, with {@code check} as the integer check. */
        public LoadOptions withIntegers(IntegerCheck check) {
            return new LoadOptions(allowNonFinite, check);
        }
    }

    /** A check of the integers a load read, by name; see {@link LoadOptions}. */
    @FunctionalInterface
    public interface IntegerCheck {
        /**
         * The problems with {@code integers} (every integer the load read, by name): integer name to
         * what is wrong with it, e.g. {@code "optimizer.step" -> "must be >= 0"}; empty when they are fine.
         */
        Map<String, String> problems(Map<String, Long> integers);

        /** Each of {@code names} (when the load read it) must be >= 0. */
        static IntegerCheck nonNegative(Collection<String> names) {
            List<String> copy = List.copyOf(names);
            return integers -> {
                Map<String, String> out = new LinkedHashMap<>();
                for (String n : copy) {
                    Long v = integers.get(n);
                    if (v != null && v < 0) out.put(n, "must be >= 0");
                }
                return out;
            };
        }

        /** This check's problems, then {@code other}'s (the first problem per name wins). */
        default IntegerCheck and(IntegerCheck other) {
            return integers -> {
                Map<String, String> out = new LinkedHashMap<>(problems(integers));
                other.problems(integers).forEach(out::putIfAbsent);
                return out;
            };
        }
    }

    /**
     * Loads a file that must hold exactly the tensors of {@code targets} (same names, dtypes and
     * shapes) and the integers {@code integerNames}, with {@link LoadOptions#STRICT} options (a NaN or an
     * infinity is refused): see {@link #load(Path, Map, Collection, LoadOptions)}.
     */
    public static Loaded load(Path path, Map<String, Tensor> targets, Collection<String> integerNames) throws IOException {
        return load(path, targets, integerNames, LoadOptions.STRICT);
    }

    /**
     * Loads a file that must hold exactly the tensors of {@code targets} (same names, dtypes and
     * shapes) and the integers {@code integerNames}: copies each tensor's values into its target and
     * returns the integers and the metadata. In order: validates every name, dtype and shape; reads every
     * value; refuses non-finite values unless {@code options.allowNonFinite()}; runs
     * {@code options.integers()}; only then writes the targets. On failure throws
     * {@link CheckpointException} naming each missing, extra, mismatched, non-finite or refused entry, and
     * no target has changed.
     */
    public static Loaded load(Path path, Map<String, Tensor> targets, Collection<String> integerNames, LoadOptions options)
            throws IOException {
        return load(path, targets, integerNames, options, false, new ArrayList<>());
    }

    /**
     * The one load. {@code lenient} (an initialization, see {@link #loadInitialization}): tensors the
     * targets lack are ignored and their names added to {@code ignored}, and F32 data may load into a
     * FLOAT64 target (widened exactly).
     */
    private static Loaded load(Path path, Map<String, Tensor> targets, Collection<String> integerNames, LoadOptions options,
                               boolean lenient, List<String> ignored) throws IOException {
        java.util.Objects.requireNonNull(options, "options");
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
                if (expected.contains(i.name())) continue;
                if (lenient) {
                    ignored.add(i.name());
                } else {
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
                boolean widens = lenient && i.dtype() == SafeTensors.Dtype.F32 && want == SafeTensors.Dtype.F64;
                if ((i.dtype() != want && !widens) || !Arrays.equals(i.shape(), wantShape)) {
                    String hint = lenient && i.dtype() == SafeTensors.Dtype.F64 && want == SafeTensors.Dtype.F32
                            ? " (F64 is not rounded into a FLOAT32 model: convert the model with to(DType.FLOAT64) first)" : "";
                    problems.add("tensor '" + n + "' is " + i.describe() + " in the file but " + want + " " + Arrays.toString(wantShape)
                            + " here" + hint);
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

            if (!options.allowNonFinite()) {
                for (var e : values.entrySet()) {
                    int bad = firstNonFinite(e.getValue());
                    if (bad < 0) continue;
                    double v = e.getValue() instanceof float[] f ? f[bad] : ((double[]) e.getValue())[bad];
                    problems.add("tensor '" + e.getKey() + "' holds " + v + " at flat index " + bad + " (" + inFile.get(e.getKey()).describe()
                            + "); non-finite values are refused unless LoadOptions.allowNonFinite");
                    names.add(e.getKey());
                }
            }
            if (options.integers() != null) {
                for (var e : options.integers().problems(Collections.unmodifiableMap(ints)).entrySet()) {
                    Long v = ints.get(e.getKey());
                    problems.add("integer '" + e.getKey() + "'" + (v == null ? "" : " is " + v) + ": " + e.getValue());
                    names.add(e.getKey());
                }
            }
            if (!problems.isEmpty()) throw new CheckpointException(file, problems, names);

            for (var e : targets.entrySet()) {
                Tensor target = e.getValue();
                int[] shape = target.shape().toArray();
                try (Tensor host = switch (values.get(e.getKey())) {
                    case float[] f -> Tensor.of(f, shape);
                    case double[] d -> Tensor.of(d, shape);
                    case int[] i -> Tensor.ofInts(i, shape);
                    default -> throw new AssertionError();
                }; Tensor src = host.to(target.device())) { // a model on a GPU loads through one host-to-device copy
                    target.copyFrom(src); // converts F32 into a FLOAT64 target (lenient loads only): exact
                }
            }
            return new Loaded(Collections.unmodifiableMap(ints), r.metadata());
        }
    }

    /** The first index of a NaN or an infinity in a float[] or double[], -1 if none (or for int[]). */
    private static int firstNonFinite(Object values) {
        if (values instanceof float[] f) {
            for (int i = 0; i < f.length; i++) if (!Float.isFinite(f[i])) return i;
        } else if (values instanceof double[] d) {
            for (int i = 0; i < d.length; i++) if (!Double.isFinite(d[i])) return i;
        }
        return -1;
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

    /** Loads a file written by {@link #saveModel} into {@code model} (all or nothing, strict); returns its metadata. */
    public static Map<String, String> loadModel(Path path, Module model) throws IOException {
        return load(path, model.namedState(), List.of()).metadata();
    }

    /** {@link #loadModel(Path, Module)} with {@code options} (a model file has no integers to check). */
    public static Map<String, String> loadModel(Path path, Module model, LoadOptions options) throws IOException {
        return load(path, model.namedState(), List.of(), options).metadata();
    }

    /**
     * Loads a shared initialization into {@code model}: a safetensors file of the same architecture's
     * state written by OptLab ({@link #saveModel}) or by PyTorch ({@code safetensors.torch.save_file(
     * model.state_dict(), path)}). Lenient where the two differ, strict elsewhere:
     * <ul>
     *   <li>tensors in the file that the model lacks are accepted and returned by name, in file order:
     *       PyTorch's BatchNorm saves {@code num_batches_tracked} (I64 []), which OptLab does not keep, and
     *       any other extra entry is treated alike; the caller reports them (one warning naming them);</li>
     *   <li>a tensor of the model missing from the file, or of another shape, is refused, all of them
     *       listed by name;</li>
     *   <li>F32 data loads into a FLOAT64 model, widened exactly (an initialization drawn in float32 and
     *       a model converted with {@code to(DType.FLOAT64)}); F64 data into a FLOAT32 model is refused
     *       rather than rounded, since a shared initialization exists to give every run the same
     *       weights: convert the model to FLOAT64, or save the initialization in F32;</li>
     *   <li>a NaN or an infinity is refused, naming the tensor and its first bad index.</li>
     * </ul>
     * All or nothing, as {@link #load}: when this throws ({@link CheckpointException}), the model is
     * unchanged.
     *
     * @return the names of the file's tensors that were ignored (empty when the file matched exactly)
     */
    public static List<String> loadInitialization(Path path, Module model) throws IOException {
        return loadInitialization(path, model, false);
    }

    /** {@link #loadInitialization(Path, Module)}, accepting NaN and infinity when {@code allowNonFinite}. */
    public static List<String> loadInitialization(Path path, Module model, boolean allowNonFinite) throws IOException {
        List<String> ignored = new ArrayList<>();
        load(path, model.namedState(), List.of(), LoadOptions.STRICT.withAllowNonFinite(allowNonFinite), true, ignored);
        return List.copyOf(ignored);
    }
}
