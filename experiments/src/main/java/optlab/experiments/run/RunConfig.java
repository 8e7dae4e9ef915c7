package optlab.experiments.run;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Every choice of a training run, by one flat set of names: the same name is a key of a config file (JSON or YAML,
 * {@code weight_decay}), a flag of {@code bin/optlab train} ({@code --weight-decay}, made from this record by
 * {@link #optionName}), and a hyperparameter a sweep varies. Every field is nullable: a config file or the command line
 * gives some, a workload's defaults others ({@code Workload#defaults}), and {@link RunSpec#resolve} fills in the rest
 * and checks everything, so a resolved config names every choice that ran.
 *
 * <p>Layering (later wins): the workload's defaults, then the config file ({@code --config FILE}), then the flags:
 * {@code defaults.overriddenBy(file).overriddenBy(flags)}. A key this record does not know is refused, naming it.
 *
 * <p>The {@code one_minus_*} fields are Choi et al.'s log-scale search dimensions: {@code one_minus_beta1 = 0.1}
 * means {@code beta1 = 0.9}; giving both spellings of one hyperparameter is refused.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record RunConfig(
        @Help("workload to train (bin/optlab workloads lists them)") String workload,

        // ---- data
        @Help("directory of the workload's data files (default: the workload's)") String dataDir,
        @Help("text corpus of a language-model workload, any UTF-8 file (default: the KJV text)") String corpus,
        @Help("fraction of the training set held out for validation, in [0, 1)") Double validFraction,
        @Help("seed of the validation split (kept apart from --seed so that every trial sees the same split)") Long splitSeed,
        @Help("training examples (images, or characters of text) evaluated for the training loss at each eval") Integer trainEvalSize,
        @Help("training-set augmentation on or off (CIFAR: random crop with 4-pixel padding and horizontal flip)") Boolean augment,
        @Help("drop the last partial batch of an epoch") Boolean dropLast,
        @Help("sequence length of a language-model batch (tokens per row)") Integer seqLength,
        @Help("side of the synthetic square images of imagenet_resnet50 (224 as ImageNet)") Integer imageSize,
        @Help("images in the synthetic stand-in training set of imagenet_resnet50") Integer syntheticImages,

        // ---- budget and cadence
        @Help("examples per training step") Integer batchSize,
        @Help("training steps (give this or --epochs)") Long steps,
        @Help("passes over the training set (give this or --steps)") Integer epochs,
        @Help("evaluate every N epochs (0: only at the end)") Integer evalEveryEpochs,
        @Help("evaluate every N steps (0: by epochs instead)") Long evalEverySteps,
        @Help("write a training record to metrics.jsonl every N steps") Long logEverySteps,
        @Help("examples per evaluation batch") Integer evalBatchSize,
        @Help("write a checkpoint every N steps (and at the end; 0: only at the end)") Long checkpointEvery,
        @Help("record update, gradient and weight histograms (powers of two) at step 1 and every N steps after (0: off)") Long histogramEverySteps,
        @Help("record them at the first step of every Nth epoch (0: off)") Integer histogramEveryEpochs,

        // ---- optimizer (optlab.optim.Presets and OptimizerConfig: what each means)
        @Help("optimizer preset: choi.sgd, choi.momentum, choi.nesterov, choi.rmsprop, choi.adam, choi.nadam, pytorch.adam, "
                + "pytorch.adamw, zhuang.adam_l2, zhuang.adamw, zhuang.adamprox") String optimizer,
        @Help("base learning rate alpha") Double lr,
        @Help("momentum gamma (momentum, nesterov, rmsprop)") Double momentum,
        @Help("1 - momentum (Choi et al.'s log-scale search dimension)") Double oneMinusMomentum,
        @Help("RMSProp's accumulator decay rho") Double rho,
        @Help("1 - rho") Double oneMinusRho,
        @Help("Adam's beta1") Double beta1,
        @Help("1 - beta1") Double oneMinusBeta1,
        @Help("Adam's beta2") Double beta2,
        @Help("1 - beta2") Double oneMinusBeta2,
        @Help("epsilon of RMSProp, Adam and NAdam") Double eps,
        @Help("weight decay lambda") Double weightDecay,
        @Help("none, l2, decoupled or proximal") String weightDecayMode,
        @Help("per-step decay of decoupled/proximal weight decay: lambda_eta_t (the papers') or lambda_lr (PyTorch's AdamW)")
        String decayConvention,
        @Help("inside_sqrt, outside_corrected or outside_uncorrected") String epsPlacement,
        @Help("Adam's bias correction on or off") Boolean biasCorrection,
        @Help("RMSProp's initial accumulator v0") Double initialAccumulator,
        @Help("optimizer state precision: float32 or float64") String statePrecision,
        @Help("a step whose gradient holds NaN or infinity: skip, throw or unchecked") String nonFiniteGradients,

        // ---- schedule of the learning rate (optlab.optim.Schedule)
        @Help("constant, step, cosine or linear_decay") String schedule,
        @Help("step or epoch: what a step or cosine schedule counts") String scheduleUnit,
        @Help("cosine: its length in schedule units (default: the whole run)") Long scheduleLength,
        @Help("cosine: the final multiplier eta") Double finalFraction,
        @Help("step: decay every N schedule units") Integer stepEvery,
        @Help("step: the multiplier at each decay") Double stepFactor,
        @Help("linear_decay: decay steps = total steps x this (init2winit's name)") Double decayStepsFactor,
        @Help("linear_decay: the final learning rate as a fraction of lr") Double endFactor,
        @Help("linear_decay: the power of the polynomial decay (1 is linear)") Double power,
        @Help("linear warmup steps in front of the schedule (0: none)") Long warmupSteps,

        // ---- loss
        @Help("multiply the training loss by this factor (Zhuang et al.'s x10, x100 scale-freeness check)") Double lossMultiplier,
        @Help("label smoothing of the cross-entropy, in [0, 1)") Double labelSmoothing,
        @Help("L2 regularization added to the loss, l2/2 * ||w||^2 over weights (not biases), as DeepOBS's") Double l2Regularization,
        @Help("a run diverges when its training loss is not finite or exceeds this factor times "
                + "max(its first loss, the chance-level loss)") Double divergenceFactor,

        // ---- randomness
        @Help("seed of everything random; --init-seed, --data-seed and --dropout-seed override it per purpose") Long seed,
        @Help("seed of the initial weights") Long initSeed,
        @Help("seed of the data order and augmentation") Long dataSeed,
        @Help("seed of the dropout masks") Long dropoutSeed,

        // ---- where and how it runs
        @Help("cpu, cuda, cuda:N, or reference (the double reference of every primitive: slow, for comparisons)") String device,
        @Help("kernel choices, e.g. gemm=own_tf32,conv2d=cudnn or conv2d=java:JAR:CLASS (docs/KERNELS.md)") String kernels,
        @Help("model dtype: float32, or float64 end to end on the CPU (weights, gradients, optimizer)") String dtype,
        @Help("start from this initialization (bin/optlab init, or a PyTorch safetensors state_dict)") String init,
        @Help("allow a checkpoint or initialization holding NaN or infinity") Boolean allowNonFinite) {

    /** A record component's help text (the flag's description). */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.RECORD_COMPONENT)
    public @interface Help {
        String value();
    }

    /** Reads and writes configs: snake_case, nulls left out, unknown keys refused. */
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()).enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** Nothing set. */
    public static final RunConfig EMPTY = fromMap(Map.of());

    /** The config keys, in declaration order (the order of {@code bin/optlab train --help} and of config.json). */
    public static List<String> keys() {
        List<String> out = new ArrayList<>();
        for (RecordComponent c : RunConfig.class.getRecordComponents()) out.add(snake(c.getName()));
        return out;
    }

    /** The components, for building the command line from this record. */
    public static RecordComponent[] components() {
        return RunConfig.class.getRecordComponents();
    }

    /** A component's config key: {@code weight_decay}. */
    public static String key(RecordComponent c) {
        return snake(c.getName());
    }

    /** A component's flag: {@code --weight-decay}. */
    public static String flag(RecordComponent c) {
        return optionName(c.getName());
    }

    /** {@code weightDecay} as a key: {@code weight_decay}. */
    static String snake(String camel) {
        return PropertyNamingStrategies.SnakeCaseStrategy.INSTANCE.translate(camel);
    }

    /** {@code weightDecay} as a flag: {@code --weight-decay}. */
    static String optionName(String camel) {
        return "--" + snake(camel).replace('_', '-');
    }

    /**
     * This config with every field that {@code over} sets replaced by over's value (the merge of layered configs).
     */
    public RunConfig overriddenBy(RunConfig over) {
        Map<String, Object> mine = toMap(), theirs = over.toMap();
        mine.putAll(theirs);
        return fromMap(mine);
    }

    /** The set fields, by key, in declaration order. */
    public Map<String, Object> toMap() {
        Map<String, Object> out = new LinkedHashMap<>();
        for (RecordComponent c : components()) {
            try {
                Object v = c.getAccessor().invoke(this);
                if (v != null) out.put(snake(c.getName()), v);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        return out;
    }

    /**
     * A config from keys and values (as a config file holds them: numbers, strings, booleans); an unknown key or a
     * value of the wrong type is refused, naming both.
     */
    public static RunConfig fromMap(Map<String, ?> values) {
        return read(JSON.valueToTree(values), "config");
    }

    /** The resolved config recorded in a run directory's config.json (its {@code config} object). */
    public static RunConfig recorded(Path configJson) {
        try {
            JsonNode root = JSON.readTree(Files.readString(configJson));
            return read(root.path("config"), configJson.toString());
        } catch (IOException e) {
            throw new IllegalArgumentException(configJson + ": unreadable (" + firstLine(e.getMessage()) + ")");
        }
    }

    /** Reads a JSON ({@code .json}) or YAML ({@code .yaml}, {@code .yml}) config file. */
    public static RunConfig read(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean yaml = name.endsWith(".yaml") || name.endsWith(".yml");
        if (!yaml && !name.endsWith(".json")) {
            throw new IllegalArgumentException("config file " + file + ": expected a .json, .yaml or .yml file");
        }
        JsonNode tree;
        try {
            tree = (yaml ? YAML : JSON).readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("config file " + file + ": file not found");
        } catch (IOException e) {
            throw new IllegalArgumentException("config file " + file + ": " + firstLine(e.getMessage()));
        }
        if (tree == null || tree.isMissingNode() || tree.isNull()) return EMPTY;
        if (!tree.isObject()) throw new IllegalArgumentException("config file " + file + ": expected a map of keys to values");
        return read(tree, "config file " + file);
    }

    private static RunConfig read(JsonNode tree, String what) {
        try {
            return JSON.treeToValue(tree, RunConfig.class);
        } catch (UnrecognizedPropertyException e) {
            throw new IllegalArgumentException(what + ": unknown key '" + e.getPropertyName() + "' (keys: " + String.join(", ", keys()) + ")");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            String field = e instanceof com.fasterxml.jackson.databind.JsonMappingException m && !m.getPath().isEmpty()
                    ? m.getPath().get(0).getFieldName() : null;
            throw new IllegalArgumentException(what + ": " + (field == null ? "" : "bad value for '" + field + "': ") + firstLine(e.getOriginalMessage()));
        }
    }

    private static String firstLine(String s) {
        if (s == null) return "unreadable";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** As pretty JSON (set fields only). */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
