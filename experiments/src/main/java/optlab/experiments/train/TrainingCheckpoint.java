package optlab.experiments.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.nn.Dropout;
import optlab.nn.Module;
import optlab.nn.ParameterArena;
import optlab.nn.io.Checkpoint;
import optlab.nn.io.CheckpointException;
import optlab.optim.Optimizer;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;

/**
 * A whole training state in one safetensors checkpoint ({@link Checkpoint}), so that a run resumes
 * exactly: train k steps, save, load into fresh objects, train k more, and the weights equal those of
 * an uninterrupted run of 2k steps bit for bit (on the CPU, with the same thread count).
 * <pre>
 *   name                                      type          what
 *   conv1.weight, bn1.running_mean, ...        F32 (shape)   the model's parameters and buffers (PyTorch's state_dict names)
 *   optimizer.&lt;parameter&gt;.&lt;state&gt;             F32/F64       each optimizer state buffer, cut per parameter
 *                                                            (PyTorch's optimizer.state[p]["exp_avg"], ...)
 *   optimizer.step                             I64 []        {@link Optimizer#stepCount()}
 *   generator.&lt;name&gt;.seed, .counter            I64 []        each generator's state; "model.dropout" is the model's
 *                                                            dropout generator ({@link Dropout#generatorOf}), saved
 *                                                            and restored automatically
 *   train.epoch, train.step                    I64 []        where the loop was
 *   extra.&lt;name&gt;                               (any)         the caller's tensors (a language model's carried state)
 * </pre>
 * Metadata: {@code format} = {@value #FORMAT}, {@code model} and {@code optimizer} (class names).
 * Loading validates the whole file against the objects it is loaded into, and its values (no NaN or
 * infinity unless allowed; step counts, epoch and generator counters >= 0), before changing anything
 * (see {@link Checkpoint#load(Path, Map, Collection, Checkpoint.LoadOptions)}); a mismatch throws a
 * {@link CheckpointException} naming every entry at fault.
 */
public final class TrainingCheckpoint {
    private TrainingCheckpoint() {}

    public static final String FORMAT = "optlab-training-1";

    /** The generator name under which the model's dropout generator is saved. */
    public static final String MODEL_DROPOUT = "model.dropout";

    /** What a load restored besides the tensors: fresh generators at the saved states, and the loop position. */
    public record Restored(Map<String, Generator> generators, long epoch, long step, Map<String, String> metadata) {
        public Generator generator(String name) {
            Generator g = generators.get(name);
            if (g == null) throw new IllegalArgumentException("no generator '" + name + "' was restored (have " + generators.keySet() + ")");
            return g;
        }
    }

    /**
     * Writes the training state to {@code path}, atomically. {@code generators} are the caller's
     * (data order, augmentation, ...); {@code extra} tensors are saved as {@code extra.<name>}.
     */
    public static void save(Path path, Module model, ParameterArena arena, Optimizer optimizer, Map<String, Generator> generators,
                            Map<String, Tensor> extra, long epoch, long step) throws IOException {
        try (Scope views = Scope.open()) { // frees the per-parameter views of the optimizer state
            Checkpoint.Contents c = new Checkpoint.Contents().model(model);
            for (var e : optimizerTensors(arena, optimizer).entrySet()) c.tensor(e.getKey(), e.getValue());
            for (var e : extra.entrySet()) c.tensor("extra." + e.getKey(), e.getValue());
            c.integer("optimizer.step", optimizer.stepCount());
            for (var e : allGenerators(model, generators).entrySet()) {
                c.integer("generator." + e.getKey() + ".seed", e.getValue().seed());
                c.integer("generator." + e.getKey() + ".counter", e.getValue().counter());
            }
            c.integer("train.epoch", epoch).integer("train.step", step);
            c.metadata("format", FORMAT).metadata("model", model.getClass().getName()).metadata("optimizer", optimizer.getClass().getName());
            Checkpoint.save(path, c);
        }
    }

    /**
     * Loads a file written by {@link #save} into these objects, refusing NaN and infinities: see
     * {@link #load(Path, Module, ParameterArena, Optimizer, Collection, Map, boolean)}.
     */
    public static Restored load(Path path, Module model, ParameterArena arena, Optimizer optimizer, Collection<String> generatorNames,
                                Map<String, Tensor> extra) throws IOException {
        return load(path, model, arena, optimizer, generatorNames, extra, false);
    }

    /**
     * Loads a file written by {@link #save} into these objects: the model's parameters and buffers, the
     * optimizer's state and step count, the model's dropout generator, and {@code extra} (whose
     * tensors must have the saved shapes). Returns fresh generators for {@code generatorNames} (the
     * caller installs them) and the loop position. Nothing is changed when it throws: the file is
     * validated whole, its values refused if one is NaN or infinite (unless {@code allowNonFinite}: a
     * diverged run saved for inspection), and {@code optimizer.step}, {@code train.epoch},
     * {@code train.step} and every generator counter must be >= 0, all before anything is written
     * ({@link Checkpoint.LoadOptions}).
     *
     * @throws CheckpointException naming every entry at fault
     */
    public static Restored load(Path path, Module model, ParameterArena arena, Optimizer optimizer, Collection<String> generatorNames,
                                Map<String, Tensor> extra, boolean allowNonFinite) throws IOException {
        Checkpoint.Loaded l;
        List<String> names = new ArrayList<>(generatorNames);
        try (Scope views = Scope.open()) { // frees the per-parameter views of the optimizer state
            Map<String, Tensor> targets = new LinkedHashMap<>(model.namedState());
            targets.putAll(optimizerTensors(arena, optimizer));
            for (var e : extra.entrySet()) targets.put("extra." + e.getKey(), e.getValue());
            List<String> integers = integerNames(model, names);
            List<String> counts = new ArrayList<>(List.of("optimizer.step", "train.epoch", "train.step"));
            for (String g : names) counts.add("generator." + g + ".counter");
            Checkpoint.LoadOptions options = new Checkpoint.LoadOptions(allowNonFinite, Checkpoint.IntegerCheck.nonNegative(counts));
            l = Checkpoint.load(path, targets, integers, options);
        }
        optimizer.restoreStepCount(l.integer("optimizer.step"));
        Map<String, Generator> gens = new LinkedHashMap<>();
        for (String g : names) {
            gens.put(g, new Generator(l.integer("generator." + g + ".seed"), l.integer("generator." + g + ".counter")));
        }
        Generator dropout = gens.remove(MODEL_DROPOUT);
        if (dropout != null) Dropout.setGenerator(model, dropout);
        return new Restored(Map.copyOf(gens), l.integer("train.epoch"), l.integer("train.step"), l.metadata());
    }

    /** The integer entries to expect; adds the model's dropout generator to {@code names} when it has one. */
    private static List<String> integerNames(Module model, List<String> names) {
        if (names.contains(MODEL_DROPOUT)) throw new IllegalArgumentException("generator name '" + MODEL_DROPOUT + "' is reserved");
        if (Dropout.generatorOf(model) != null) names.add(MODEL_DROPOUT);
        List<String> integers = new ArrayList<>(List.of("optimizer.step", "train.epoch", "train.step"));
        for (String g : names) {
            integers.add("generator." + g + ".seed");
            integers.add("generator." + g + ".counter");
        }
        return integers;
    }

    private static Map<String, Generator> allGenerators(Module model, Map<String, Generator> generators) {
        Map<String, Generator> all = new LinkedHashMap<>(generators);
        if (all.containsKey(MODEL_DROPOUT)) throw new IllegalArgumentException("generator name '" + MODEL_DROPOUT + "' is reserved");
        Generator d = Dropout.generatorOf(model);
        if (d != null) all.put(MODEL_DROPOUT, d);
        return all;
    }

    /**
     * The optimizer's state as checkpoint entries: a flat buffer the size of the arena is cut into one
     * view per parameter ({@code optimizer.<parameter>.<state>}, the parameter's shape); any other
     * state tensor is saved whole ({@code optimizer.<state>}).
     */
    static Map<String, Tensor> optimizerTensors(ParameterArena arena, Optimizer optimizer) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var s : optimizer.stateTensors().entrySet()) {
            Tensor flat = s.getValue();
            if (flat.dim() == 1 && flat.numel() == arena.size()) {
                for (ParameterArena.Entry e : arena.entries()) {
                    Tensor piece = flat.narrow(0, e.offset(), e.numel()); // views: the caller's scope frees them
                    out.put("optimizer." + e.name() + "." + s.getKey(), piece.view(e.parameter().shape().toArray()));
                }
            } else {
                out.put("optimizer." + s.getKey(), flat);
            }
        }
        return out;
    }
}
