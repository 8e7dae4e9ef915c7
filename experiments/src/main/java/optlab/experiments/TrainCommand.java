package optlab.experiments;

import java.io.PrintStream;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import optlab.experiments.run.RunConfig;
import optlab.experiments.run.RunDirectory;
import optlab.experiments.run.RunSpec;
import optlab.experiments.run.Trainer;
import optlab.experiments.train.Progress;
import optlab.kernels.Backends;
import optlab.kernels.Backend;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code bin/optlab train}: one training run of a workload into a run directory (see {@link Trainer} and
 * {@link RunDirectory}). Every key of {@link RunConfig} is a flag of the same name ({@code weight_decay} is
 * {@code --weight-decay}), added to this command from the record itself ({@link RunConfigOptions}), so that a config
 * file and the flags cannot drift apart. Layering: the workload's defaults, then {@code --config FILE}, then the flags.
 *
 * <p>Exit status: 0 finished (or already ended), 3 diverged, 1 failed (result.json says why), 2 bad input (nothing ran).
 */
@Command(name = "train", mixinStandardHelpOptions = true, versionProvider = Version.class, sortOptions = false,
        modelTransformer = TrainCommand.RunConfigOptions.class,
        description = {"Train a workload into a run directory; rerunning the same command continues it from its last checkpoint.",
                "Every option is also a key of a JSON or YAML config file (--weight-decay is weight_decay)."})
public final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", order = -3, description = "a JSON or YAML config file; flags override it")
    Path config;

    @Option(names = "--run-dir", paramLabel = "DIR", order = -2,
            description = "the run directory (default: runs/<workload>/<date-time>); an existing one is continued")
    Path runDir;

    @Option(names = "--resume", order = -1,
            description = "continue the run in --run-dir with its recorded config (other options must match it)")
    boolean resume;

    /** Exit status of a diverged run. */
    public static final int DIVERGED = 3;

    @Override
    public Integer call() {
        PrintStream out = System.out;
        RunConfig flags = RunConfig.fromMap(flagValues(spec));
        List<RunConfig> layers = new ArrayList<>();
        if (resume) {
            if (runDir == null) throw new IllegalArgumentException("--resume needs --run-dir DIR");
            layers.add(recordedConfig(runDir));
        }
        if (config != null) layers.add(RunConfig.read(config));
        layers.add(flags);
        RunSpec run = RunSpec.resolve(layers.toArray(RunConfig[]::new));
        Path dir = runDir != null ? runDir
                : Path.of("runs", run.workload().name(), LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        try (RunDirectory rd = RunDirectory.open(dir)) {
            return train(run, rd, out);
        } catch (OutOfMemoryError e) {
            // before the training loop (which records its own): the model, its state or the data did not fit
            optlab.kernels.cpu.CpuBackend.get().emptyCache();
            throw new Trainer.RunFailedException("out of memory before training began (batch_size " + run.config().batchSize() + ", Java heap "
                    + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB): raise the heap, e.g. OPTLAB_HEAP=-Xmx16g bin/optlab train ...", e);
        }
    }

    private int train(RunSpec run, RunDirectory rd, PrintStream out) {
        Backend backend;
        try {
            backend = Backends.open(run.device(), run.kernels());
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException("--device " + run.device() + " cannot be used: " + e.getMessage(), e);
        }
        out.println(Version.line());
        out.println("workload " + run.workload().name() + " (" + run.workload().paper() + "): " + run.workload().summary());
        if (run.workload().notes() != null) out.println("note: " + run.workload().notes());
        out.println("config: " + run.config().toJson().replaceAll("\\s*\\n\\s*", " "));
        out.println("run directory: " + rd.path());
        out.println(backend.kernelSummary());
        List<String> cmd = new ArrayList<>(List.of("bin/optlab", "train"));
        cmd.addAll(spec.commandLine().getParseResult().originalArgs());
        Trainer.Outcome o = Trainer.run(run, rd, new Trainer.Invocation(cmd, Version.record()), out, Progress.Factory.bars());
        return switch (o.status()) {
            case "finished" -> 0;
            case "diverged" -> DIVERGED;
            default -> 1;
        };
    }

    /** The config recorded in {@code dir}/config.json, as the first layer of a resumed run. */
    private static RunConfig recordedConfig(Path dir) {
        Path f = dir.resolve("config.json");
        if (!java.nio.file.Files.exists(f)) throw new IllegalArgumentException("--resume: " + dir + " holds no config.json (no run was started there)");
        return RunConfig.recorded(f);
    }

    /** The values of the RunConfig flags given on the command line, by config key. */
    static Map<String, Object> flagValues(CommandSpec spec) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (OptionSpec o : spec.options()) {
            Object key = o.userObject();
            if (key instanceof String k && o.getValue() != null) m.put(k, o.getValue());
        }
        return m;
    }

    /**
     * Adds one option per {@link RunConfig} component: {@code --weight-decay} for {@code weightDecay}, typed as the
     * component, described by its {@code @Help}; the option's user object is the config key.
     */
    public static final class RunConfigOptions implements CommandLine.IModelTransformer {
        @Override
        public CommandSpec transform(CommandSpec spec) {
            int order = 0;
            for (RecordComponent rc : RunConfig.components()) {
                String key = RunConfig.key(rc);
                OptionSpec.Builder b = OptionSpec.builder(RunConfig.flag(rc)).type(rc.getType()).userObject(key).order(order++)
                        .description(rc.getAnnotation(RunConfig.Help.class).value() + " [" + key + "]")
                        .paramLabel(paramLabel(rc.getType()));
                if (rc.getType() == Boolean.class) b.arity("0..1");
                spec.addOption(b.build());
            }
            return spec;
        }

        private static String paramLabel(Class<?> t) {
            if (t == Double.class) return "X";
            if (t == Long.class || t == Integer.class) return "N";
            if (t == Boolean.class) return "true|false";
            return "VALUE";
        }
    }
}
