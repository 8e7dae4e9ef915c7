package optlab.experiments;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import optlab.experiments.run.RunConfig;
import optlab.experiments.run.RunSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/optlab init --workload W --out FILE}: Zhuang et al.'s shared initialization, made once before any trial
 * (EXPERIMENTS.md: trials that each "load or create" it race). The model is built exactly as a run builds it from
 * {@code --init-seed} (default {@code --seed}, default 0) and saved as a safetensors state_dict ({@link Checkpoint#saveModel})
 * that {@code bin/optlab train --init FILE} loads, and that PyTorch reads. A language model's vocabulary comes from its
 * corpus, which is read for it.
 */
@Command(name = "init", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Write a workload's initial weights to a file that runs load with --init.")
public final class InitCommand implements Callable<Integer> {
    @Option(names = "--workload", required = true, description = "the workload (bin/optlab workloads)")
    String workload;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "the safetensors file to write (atomically)")
    Path out;

    @Option(names = "--seed", description = "seed of everything (default 0)")
    Long seed;

    @Option(names = "--init-seed", description = "seed of the initial weights (default: --seed)")
    Long initSeed;

    @Option(names = "--corpus", paramLabel = "FILE", description = "a language model's text (its vocabulary sizes the model)")
    String corpus;

    @Option(names = "--force", description = "overwrite an existing FILE")
    boolean force;

    @Override
    public Integer call() throws IOException {
        if (Files.exists(out) && !force) {
            throw new IllegalArgumentException(out + " exists: an initialization is made once and shared; pass --force to replace it");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("workload", workload);
        if (seed != null) m.put("seed", seed);
        if (initSeed != null) m.put("init_seed", initSeed);
        if (corpus != null) m.put("corpus", corpus);
        RunSpec spec = RunSpec.resolve(RunConfig.fromMap(m));
        long n = spec.writeInitialization(out, Map.of("optlab", Version.line()));
        System.out.printf("%s: %,d parameters from init seed %d written to %s%n", spec.workload().name(), n, spec.config().initSeed(), out);
        return 0;
    }
}
