package optlab.experiments.run;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.experiments.data.FashionMnist;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.KernelChoices;
import optlab.nn.Module;
import optlab.optim.NonFinitePolicy;
import optlab.optim.Numerics.DecayConvention;
import optlab.optim.Numerics.EpsPlacement;
import optlab.optim.Numerics.StatePrecision;
import optlab.optim.Numerics.WeightDecayMode;
import optlab.optim.OptimizerConfig;
import optlab.optim.Presets;
import optlab.optim.Schedule;
import optlab.tensor.Generator;

/**
 * A run's config resolved against its workload: every field that applies is set and checked, so the resolved
 * {@link RunConfig} (recorded in the run directory's config.json) names every choice that ran. What depends on the data
 * (steps per epoch, hence the total steps and the schedule) is derived later by {@link #totalSteps} and
 * {@link #optimizer}.
 *
 * <p>Defaults that no workload sets (where each comes from is said beside it):
 * <pre>
 *   seed 0; init_seed, data_seed, dropout_seed = seed; split_seed 0 (the same split for every trial of a sweep)
 *   log_every_steps 50; checkpoint_every 500; eval_batch_size 1000 (a language model: its batch_size)
 *   train_eval_size 10,000 images (DeepOBS's train_eval set), or the test part's length in characters (DeepOBS's tolstoi)
 *   schedule constant; loss_multiplier 1; label_smoothing 0; l2_regularization 0; divergence_factor 100
 *   device cpu; dtype float32; data_dir per data: Debian's Fashion-MNIST, $OPTLAB_DATA/&lt;official CIFAR directory&gt;;
 *   corpus $OPTLAB_DATA/kjv.txt (OPTLAB_DATA defaults to the repository's data/ folder)
 * </pre>
 */
public record RunSpec(Workload workload, RunConfig config) {

    /** Where the data lives unless {@code --data-dir} says otherwise: {@code -Doptlab.data}, else {@code data}. */
    public static Path dataRoot() {
        return Path.of(System.getProperty("optlab.data", "data"));
    }

    /** Pairs of keys of which a layer may give one: giving one in a later layer clears the other from earlier ones. */
    static final List<List<String>> EXCLUSIVE = List.of(
            List.of("steps", "epochs"),
            List.of("eval_every_epochs", "eval_every_steps"),
            List.of("histogram_every_steps", "histogram_every_epochs"),
            List.of("momentum", "one_minus_momentum"),
            List.of("rho", "one_minus_rho"),
            List.of("beta1", "one_minus_beta1"),
            List.of("beta2", "one_minus_beta2"));

    /**
     * Resolves layered configs (each later one overrides the earlier ones: a config file, then the flags) against the
     * workload they name. Every bad value is refused here, naming the key and the value, before anything runs.
     */
    public static RunSpec resolve(RunConfig... layers) {
        RunConfig user = RunConfig.EMPTY;
        for (RunConfig l : layers) {
            checkExclusive(l);
            user = merge(user, l);
        }
        if (user.workload() == null) throw new IllegalArgumentException("no workload given (--workload NAME; bin/optlab workloads lists them)");
        Workload w = Workloads.get(user.workload());
        RunConfig c = merge(w.defaults(), user);
        Map<String, Object> m = c.toMap();
        m.put("workload", w.name());
        boolean lm = w.isLanguageModel();

        // data
        Path dataDir = switch (w.data()) {
            case FASHION_MNIST -> Path.of(FashionMnist.DEFAULT_DIR);
            case CIFAR10 -> dataRoot().resolve("cifar-10-batches-bin");
            case CIFAR100 -> dataRoot().resolve("cifar-100-binary");
            case TEXT, IMAGENET_SYNTHETIC -> null;
        };
        if (dataDir != null) m.putIfAbsent("data_dir", dataDir.toString());
        else refuse(m, "data_dir", w.data() == Workload.Data.TEXT ? "a language model reads --corpus" : "the data are synthetic");
        if (lm) m.putIfAbsent("corpus", dataRoot().resolve("kjv.txt").toString());
        else refuse(m, "corpus", "it is not a language model");
        if (lm) m.putIfAbsent("seq_length", 50);
        else refuse(m, "seq_length", "it is not a language model");
        if (w.data() != Workload.Data.IMAGENET_SYNTHETIC) {
            refuse(m, "image_size", "only imagenet_resnet50's synthetic data have a settable size");
            refuse(m, "synthetic_images", "only imagenet_resnet50 trains on synthetic data");
        }
        if (lm) {
            refuse(m, "augment", "text is not augmented");
            refuse(m, "drop_last", "a language model's streams have whole batches only");
        }
        m.putIfAbsent("valid_fraction", 0.0);
        m.putIfAbsent("split_seed", 0L);

        // budget and cadence
        if (!m.containsKey("steps") && !m.containsKey("epochs")) m.put("epochs", 1);
        if (!m.containsKey("eval_every_steps")) m.putIfAbsent("eval_every_epochs", 1);
        m.putIfAbsent("log_every_steps", 50L);
        m.putIfAbsent("checkpoint_every", 500L);
        if (lm) {
            Object b = m.get("batch_size");
            if (m.containsKey("eval_batch_size") && !m.get("eval_batch_size").equals(b)) {
                throw new IllegalArgumentException("eval_batch_size " + m.get("eval_batch_size") + ": a language model evaluates "
                        + "with its batch_size (" + b + " streams)");
            }
            m.put("eval_batch_size", b);
        } else {
            m.putIfAbsent("eval_batch_size", 1000);
        }

        // one_minus_ spellings (Choi et al.'s search dimensions)
        oneMinus(m, "momentum");
        oneMinus(m, "rho");
        oneMinus(m, "beta1");
        oneMinus(m, "beta2");

        // loss, seeds, placement
        m.putIfAbsent("schedule", "constant");
        m.putIfAbsent("loss_multiplier", 1.0);
        m.putIfAbsent("label_smoothing", 0.0);
        m.putIfAbsent("l2_regularization", 0.0);
        m.putIfAbsent("divergence_factor", 100.0);
        m.putIfAbsent("seed", 0L);
        long seed = ((Number) m.get("seed")).longValue();
        m.putIfAbsent("init_seed", seed);
        m.putIfAbsent("data_seed", seed);
        m.putIfAbsent("dropout_seed", seed);
        m.putIfAbsent("device", "cpu");
        m.putIfAbsent("dtype", "float32");
        m.putIfAbsent("allow_non_finite", false);

        RunSpec spec = new RunSpec(w, RunConfig.fromMap(m));
        spec.check();
        return spec;
    }

    /** {@code merge(a, b)}: b over a, where giving one of an {@link #EXCLUSIVE} pair in b clears the other from a. */
    static RunConfig merge(RunConfig under, RunConfig over) {
        Map<String, Object> a = under.toMap(), b = over.toMap();
        for (List<String> pair : EXCLUSIVE) {
            if (b.containsKey(pair.get(0))) a.remove(pair.get(1));
            if (b.containsKey(pair.get(1))) a.remove(pair.get(0));
        }
        a.putAll(b);
        return RunConfig.fromMap(a);
    }

    private static void checkExclusive(RunConfig layer) {
        Map<String, Object> m = layer.toMap();
        for (List<String> pair : EXCLUSIVE) {
            if (m.containsKey(pair.get(0)) && m.containsKey(pair.get(1))) {
                throw new IllegalArgumentException("give " + pair.get(0) + " or " + pair.get(1) + ", not both (got " + pair.get(0) + " "
                        + m.get(pair.get(0)) + " and " + pair.get(1) + " " + m.get(pair.get(1)) + ")");
            }
        }
    }

    private static void refuse(Map<String, Object> m, String key, String why) {
        if (m.containsKey(key)) throw new IllegalArgumentException(key + " " + m.get(key) + " does not apply to this workload: " + why);
    }

    /** Turns one_minus_X into X = 1 - value (after checking the value is in (0, 1]). */
    private static void oneMinus(Map<String, Object> m, String name) {
        Object v = m.remove("one_minus_" + name);
        if (v == null) return;
        double d = ((Number) v).doubleValue();
        if (!(d > 0 && d <= 1)) throw new IllegalArgumentException("one_minus_" + name + " must be in (0, 1], got " + d);
        m.put(name, 1 - d);
    }

    /** Checks every value that the optimizer and the data readers do not check themselves. */
    private void check() {
        RunConfig c = config;
        kernels();
        positive("batch_size", c.batchSize());
        if (c.steps() != null) positive("steps", c.steps());
        if (c.epochs() != null) positive("epochs", c.epochs());
        nonNegative("eval_every_epochs", c.evalEveryEpochs());
        nonNegative("eval_every_steps", c.evalEverySteps());
        positive("log_every_steps", c.logEverySteps());
        positive("eval_batch_size", c.evalBatchSize());
        nonNegative("checkpoint_every", c.checkpointEvery());
        nonNegative("histogram_every_steps", c.histogramEverySteps());
        nonNegative("histogram_every_epochs", c.histogramEveryEpochs());
        if (!(c.validFraction() >= 0 && c.validFraction() < 1)) {
            throw new IllegalArgumentException("valid_fraction must be in [0, 1), got " + c.validFraction());
        }
        if (c.trainEvalSize() != null) nonNegative("train_eval_size", c.trainEvalSize());
        if (c.seqLength() != null) positive("seq_length", c.seqLength());
        if (c.imageSize() != null && c.imageSize() < 32) throw new IllegalArgumentException("image_size must be >= 32, got " + c.imageSize());
        if (c.syntheticImages() != null) positive("synthetic_images", c.syntheticImages());
        if (!(c.lossMultiplier() > 0) || Double.isInfinite(c.lossMultiplier())) {
            throw new IllegalArgumentException("loss_multiplier must be positive and finite, got " + c.lossMultiplier());
        }
        if (!(c.labelSmoothing() >= 0 && c.labelSmoothing() < 1)) {
            throw new IllegalArgumentException("label_smoothing must be in [0, 1), got " + c.labelSmoothing());
        }
        if (!(c.l2Regularization() >= 0) || Double.isInfinite(c.l2Regularization())) {
            throw new IllegalArgumentException("l2_regularization must be >= 0 and finite, got " + c.l2Regularization());
        }
        if (!(c.divergenceFactor() > 1)) throw new IllegalArgumentException("divergence_factor must be > 1, got " + c.divergenceFactor());
        Device d = device();
        DType t = dtype();
        if (t == DType.FLOAT64 && !d.equals(Device.CPU)) {
            throw new IllegalArgumentException("dtype float64 runs on the CPU only (device " + d + ")");
        }
        // the optimizer's own checks (every hyperparameter's range, what applies to the rule) run here, before any data
        optimizer(1000, 100);
    }

    private static void positive(String key, Number v) {
        if (v.longValue() <= 0) throw new IllegalArgumentException(key + " must be positive, got " + v);
    }

    private static void nonNegative(String key, Number v) {
        if (v != null && v.longValue() < 0) throw new IllegalArgumentException(key + " must be >= 0, got " + v);
    }

    /** The device, parsed. */
    public Device device() {
        return Device.parse(config.device());
    }

    /**
     * The kernel choices of {@code kernels} (NOTE [kernel-choices]), checked against the device: a choice its backend
     * cannot run is refused here, before anything runs.
     */
    public KernelChoices kernels() {
        KernelChoices k = config.kernels() == null ? KernelChoices.defaults() : KernelChoices.parse(config.kernels());
        k.requireRunnableOn(KernelChoices.Target.of(device()));
        return k;
    }

    /** The model dtype, FLOAT32 or FLOAT64. */
    public DType dtype() {
        return switch (config.dtype()) {
            case "float32" -> DType.FLOAT32;
            case "float64" -> DType.FLOAT64;
            default -> throw new IllegalArgumentException("dtype must be float32 or float64, got '" + config.dtype() + "'");
        };
    }

    /**
     * The workload's model as this run initializes it: built from {@code init_seed} in float32 on the CPU (the
     * initializers draw from Philox, identical everywhere), with its dropout generator from {@code dropout_seed}.
     * {@code classes} is the number of classes, or a language model's vocabulary size.
     */
    public Module newModel(int classes) {
        return workload.model().create(classes, new Generator(config.initSeed()), new Generator(config.dropoutSeed()).fork(DROPOUT_STREAM));
    }

    /**
     * The model's class count: the data's, or for a language model its corpus's vocabulary size (the corpus is read).
     */
    public int classes() {
        if (!workload.isLanguageModel()) return workload.data().classes();
        return optlab.experiments.data.CharCorpus.read(Path.of(config.corpus()), config.validFraction(), Tasks.TEXT_TEST_FRACTION).vocabSize();
    }

    /**
     * Writes this run's initial weights to {@code out} (atomically): Zhuang et al.'s shared initialization, which runs
     * load with {@code init}. Float32, whatever the run's dtype (a float64 run widens it exactly on load). Returns the
     * parameter count.
     */
    public long writeInitialization(Path out, Map<String, String> metadata) throws java.io.IOException {
        Module model = newModel(classes());
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("purpose", "initialization");
        meta.put("workload", workload.name());
        meta.put("init_seed", Long.toString(config.initSeed()));
        meta.putAll(metadata);
        optlab.nn.io.Checkpoint.saveModel(out, model, meta);
        return model.parameterCount();
    }

    /** The dropout generator's stream: kept apart from the initialization's when both use one seed. */
    static final long DROPOUT_STREAM = 0xD7;

    /** The run's length in steps, given the data's steps per epoch. */
    public long totalSteps(int stepsPerEpoch) {
        return config.steps() != null ? config.steps() : (long) config.epochs() * stepsPerEpoch;
    }

    /**
     * The optimizer's complete setting: the preset with every hyperparameter and numerical choice the config gives, and
     * the schedule over {@code totalSteps} steps of {@code stepsPerEpoch} each. A float64 model gets float64 optimizer
     * state unless the config says otherwise.
     */
    public OptimizerConfig optimizer(long totalSteps, int stepsPerEpoch) {
        RunConfig c = config;
        OptimizerConfig preset = Presets.get(c.optimizer());
        OptimizerConfig.Builder b = preset.toBuilder();
        if (c.lr() != null) b.lr(c.lr());
        if (c.momentum() != null) b.momentum(c.momentum());
        if (c.rho() != null) b.rho(c.rho());
        if (c.beta1() != null) b.beta1(c.beta1());
        if (c.beta2() != null) b.beta2(c.beta2());
        if (c.eps() != null) b.eps(c.eps());
        if (c.weightDecayMode() != null || c.decayConvention() != null) {
            WeightDecayMode mode = c.weightDecayMode() != null ? parse(WeightDecayMode.class, "weight_decay_mode", c.weightDecayMode())
                    : preset.numerics().weightDecayMode();
            DecayConvention conv = c.decayConvention() != null ? parse(DecayConvention.class, "decay_convention", c.decayConvention())
                    : mode == WeightDecayMode.DECOUPLED || mode == WeightDecayMode.PROXIMAL
                    ? (preset.numerics().decayConvention() != null ? preset.numerics().decayConvention() : DecayConvention.LAMBDA_ETA_T)
                    : null;
            b.weightDecayMode(mode, conv);
        }
        if (c.weightDecay() != null) {
            b.weightDecay(c.weightDecay());
            // a weight decay given to a preset without one (choi.*) acts as L2, as PyTorch's weight_decay argument does
            if (c.weightDecay() != 0 && c.weightDecayMode() == null && preset.numerics().weightDecayMode() == WeightDecayMode.NONE) {
                b.weightDecayMode(WeightDecayMode.L2, null);
            }
        }
        if (c.epsPlacement() != null) b.epsPlacement(parse(EpsPlacement.class, "eps_placement", c.epsPlacement()));
        if (c.biasCorrection() != null) b.biasCorrection(c.biasCorrection());
        if (c.initialAccumulator() != null) b.initialAccumulator(c.initialAccumulator());
        if (c.statePrecision() != null) b.statePrecision(parse(StatePrecision.class, "state_precision", c.statePrecision()));
        else if (dtype() == DType.FLOAT64 && preset.rule().hasState()) b.statePrecision(StatePrecision.FLOAT64);
        if (c.nonFiniteGradients() != null) b.nonFiniteGradients(parse(NonFinitePolicy.class, "non_finite_gradients", c.nonFiniteGradients()));
        b.schedule(schedule(totalSteps, stepsPerEpoch));
        b.preset(preset.preset());
        return b.build();
    }

    /** The learning-rate schedule the config describes, over a run of {@code totalSteps} steps. */
    public Schedule schedule(long totalSteps, int stepsPerEpoch) {
        RunConfig c = config;
        String kind = c.schedule();
        Schedule.Unit unit = c.scheduleUnit() == null ? Schedule.Unit.EPOCH : parse(Schedule.Unit.class, "schedule_unit", c.scheduleUnit());
        Map<String, Object> given = new LinkedHashMap<>(c.toMap());
        Schedule s = switch (kind) {
            case "constant" -> {
                only(kind, given, "warmup_steps");
                yield Schedule.constant();
            }
            case "step" -> {
                only(kind, given, "schedule_unit", "step_every", "step_factor", "warmup_steps");
                if (c.stepEvery() == null) throw new IllegalArgumentException("schedule step needs step_every (in schedule units)");
                yield Schedule.stepDecay(unit, stepsPerEpoch, c.stepEvery(), c.stepFactor() == null ? 0.1 : c.stepFactor());
            }
            case "cosine" -> {
                only(kind, given, "schedule_unit", "schedule_length", "final_fraction", "warmup_steps");
                long whole = unit == Schedule.Unit.STEP ? totalSteps : Math.max(1, (totalSteps + stepsPerEpoch - 1) / stepsPerEpoch);
                yield Schedule.cosine(unit, stepsPerEpoch, c.scheduleLength() == null ? whole : c.scheduleLength(),
                        c.finalFraction() == null ? 0 : c.finalFraction());
            }
            case "linear_decay" -> {
                only(kind, given, "decay_steps_factor", "end_factor", "power", "warmup_steps");
                yield Schedule.polynomialDecay(totalSteps, c.decayStepsFactor() == null ? 1.0 : c.decayStepsFactor(),
                        c.endFactor() == null ? 0.0 : c.endFactor(), c.power() == null ? 1.0 : c.power());
            }
            default -> throw new IllegalArgumentException("schedule must be constant, step, cosine or linear_decay, got '" + kind + "'");
        };
        return c.warmupSteps() == null || c.warmupSteps() == 0 ? s : Schedule.warmup(c.warmupSteps(), s);
    }

    /** Refuses the schedule keys that do not belong to {@code kind}. */
    private static void only(String kind, Map<String, Object> given, String... allowed) {
        List<String> all = List.of("schedule_unit", "schedule_length", "final_fraction", "step_every", "step_factor", "decay_steps_factor",
                "end_factor", "power", "warmup_steps");
        for (String k : all) {
            if (given.containsKey(k) && !List.of(allowed).contains(k)) {
                throw new IllegalArgumentException(k + " " + given.get(k) + " does not apply to schedule " + kind);
            }
        }
    }

    /** An enum constant by its JSON name ({@code decoupled}, {@code lambda_eta_t}), refusing others with the valid names. */
    static <E extends Enum<E>> E parse(Class<E> type, String key, String value) {
        List<String> names = new java.util.ArrayList<>();
        for (E e : type.getEnumConstants()) {
            String json = e.name().toLowerCase(java.util.Locale.ROOT);
            names.add(json);
            if (json.equals(value)) return e;
        }
        throw new IllegalArgumentException(key + " must be one of " + String.join(", ", names) + ", got '" + value + "'");
    }
}
