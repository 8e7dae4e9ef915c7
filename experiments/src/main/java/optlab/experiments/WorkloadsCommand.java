package optlab.experiments;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import optlab.experiments.run.RunConfig;
import optlab.experiments.run.Workload;
import optlab.experiments.run.Workloads;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code bin/optlab workloads [NAME]}: the registry as a table, or one workload's defaults with their sources. */
@Command(name = "workloads", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "List the workloads and their defaults; with a NAME, that workload's defaults and where each came from.")
public final class WorkloadsCommand implements Callable<Integer> {
    @Parameters(arity = "0..1", paramLabel = "NAME", description = "a workload to describe in full")
    String name;

    @Override
    public Integer call() {
        if (name != null) {
            describe(Workloads.get(name));
            return 0;
        }
        System.out.printf("%-26s %-5s %-7s %-8s %-14s %-5s %s%n", "workload", "batch", "budget", "augment", "optimizer", "lr", "data and model");
        for (Workload w : Workloads.all()) {
            RunConfig d = w.defaults();
            System.out.printf("%-26s %-5d %-7s %-8s %-14s %-5s %s%n", w.name(), d.batchSize(), d.epochs() + " ep",
                    d.augment() == null ? "-" : d.augment() ? "yes" : "no", d.optimizer(), d.lr(), w.summary());
        }
        System.out.println();
        System.out.println("bin/optlab workloads NAME shows a workload's defaults and their sources; docs/WORKLOADS.md explains them.");
        return 0;
    }

    private static void describe(Workload w) {
        System.out.println(w.name() + " (" + w.paper() + ")");
        System.out.println("  " + w.summary());
        if (w.notes() != null) System.out.println("  note: " + w.notes());
        System.out.println("  defaults (each a flag --key-name or a config key):");
        Map<String, String> sources = new TreeMap<>(w.sources());
        for (var e : w.defaults().toMap().entrySet()) {
            String src = sources.remove(e.getKey());
            System.out.printf("    %-20s %-14s %s%n", e.getKey(), e.getValue(), src == null ? "" : src);
        }
        for (var e : sources.entrySet()) System.out.printf("    %-20s %s%n", e.getKey(), e.getValue());
    }
}
