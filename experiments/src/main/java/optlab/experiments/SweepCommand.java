package optlab.experiments;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import optlab.experiments.run.RunConfig;
import optlab.experiments.run.RunSpec;
import optlab.experiments.sweep.LocalRunner;
import optlab.experiments.sweep.Slurm;
import optlab.experiments.sweep.SweepDirectory;
import optlab.experiments.sweep.SweepDirectory.Status;
import optlab.experiments.sweep.SweepSpec;
import optlab.experiments.sweep.TrialRunner;
import optlab.experiments.sweep.TrialTable;
import optlab.experiments.sweep.TrialTable.Trial;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code bin/optlab sweep}: the papers' tuning protocols as sweeps (docs/SWEEPS.md):
 * <pre>
 *   sweep plan SPEC --dir DIR          the trial table, made once (and the shared initialization)
 *   sweep run DIR [--workers K]        every trial not done, K at a time, on this machine
 *   sweep submit DIR --slurm [...]     the same as a Slurm job array; resubmitting submits only what is not done
 *   sweep status DIR                   every trial's state, with counts
 *   sweep run-task DIR --trial ID      one trial (or --index I: one Slurm array task's trials), in this process
 * </pre>
 */
@Command(name = "sweep", mixinStandardHelpOptions = true, versionProvider = Version.class,
        subcommands = {SweepCommand.Plan.class, SweepCommand.Run.class, SweepCommand.Submit.class, SweepCommand.StatusCommand.class,
            SweepCommand.RunTask.class, CommandLine.HelpCommand.class},
        description = "Plan, run, submit and watch sweeps of training runs (grids and quasi-random searches).")
public final class SweepCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(System.out);
        return 0;
    }

    @Command(name = "plan", mixinStandardHelpOptions = true, versionProvider = Version.class,
            description = {"Write DIR's trial table from SPEC (JSON or YAML), and the shared initialization if the spec asks for one.",
                "Planning a grown spec into the same DIR keeps every existing row and appends the new ones."})
    static final class Plan implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "SPEC", description = "the sweep spec")
        Path specFile;

        @Option(names = "--dir", required = true, paramLabel = "DIR", description = "the sweep directory")
        Path dir;

        @Override
        public Integer call() throws IOException {
            SweepSpec spec = SweepSpec.read(specFile);
            SweepDirectory sweep = new SweepDirectory(dir);
            Path init = spec.sharedInitOrDefault() ? sweep.initFile().toAbsolutePath() : null;
            List<Trial> planned = TrialTable.plan(spec, init); // every trial resolved: a bad spec stops here
            List<Trial> recorded = Files.exists(TrialTable.file(dir)) ? TrialTable.read(dir) : List.of();
            List<Trial> rows = recorded.isEmpty() ? planned : TrialTable.extend(recorded, planned);
            if (init != null && !Files.exists(init)) {
                long n = RunSpec.resolve(RunConfig.fromMap(spec.base())).writeInitialization(init, Map.of("sweep", spec.name(), "optlab", Version.line()));
                System.out.printf("shared initialization: %,d parameters written to %s%n", n, init);
            }
            sweep.record(spec, rows, Version.record());
            System.out.printf("%s: %d trials (%d new) in %s%n", spec.name(), rows.size(), rows.size() - recorded.size(), dir);
            for (var e : spec.settingsPerSearch().entrySet()) {
                System.out.printf("  %-12s %d setting(s) x %d repeat(s)%n", e.getKey(), e.getValue(), spec.repeatsOrDefault());
            }
            int shown = 0;
            for (Trial t : rows) {
                if (shown++ == 8) {
                    System.out.printf("  ... (%s lists every trial)%n", TrialTable.file(dir));
                    break;
                }
                System.out.printf("  %-14s seed %-10d %s%n", t.id(), t.seed(), t.params());
            }
            return 0;
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true, versionProvider = Version.class,
            description = {"Run every trial of DIR that is not done, K at a time, each in its own JVM, on this machine.",
                "Rerunning skips finished and diverged trials, resumes interrupted ones, retries failed ones only with --retry-failed."})
    static final class Run implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DIR", description = "the sweep directory")
        Path dir;

        @Option(names = "--workers", defaultValue = "1", description = "trials at a time (default: ${DEFAULT-VALUE})")
        int workers;

        @Option(names = "--threads-per-worker", description = "CPU threads of each trial's JVM (default: the cores divided among the workers)")
        Integer threads;

        @Option(names = "--retry-failed", description = "rerun failed trials too")
        boolean retryFailed;

        @Override
        public Integer call() {
            if (workers < 1) throw new IllegalArgumentException("--workers must be >= 1, got " + workers);
            if (threads != null && threads < 1) throw new IllegalArgumentException("--threads-per-worker must be >= 1, got " + threads);
            SweepDirectory sweep = new SweepDirectory(dir);
            Map<Status, Integer> counts = LocalRunner.run(sweep, workers, threads == null ? LocalRunner.defaultThreads(workers) : threads,
                    retryFailed, System.out);
            return counts.get(Status.FAILED) > 0 || counts.get(Status.PENDING) + counts.get(Status.INTERRUPTED) > 0 ? 1 : 0;
        }
    }

    @Command(name = "run-task", mixinStandardHelpOptions = true, versionProvider = Version.class,
            description = "Run one trial (--trial ID), or the trials of one Slurm array task (--index I), in this process.")
    static final class RunTask implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DIR", description = "the sweep directory")
        Path dir;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Which which;

        static final class Which {
            @Option(names = "--trial", paramLabel = "ID", description = "a trial id")
            String trial;

            @Option(names = "--index", paramLabel = "I", description = "an array task index ($SLURM_ARRAY_TASK_ID) of --submission")
            Integer index;
        }

        @Option(names = "--submission", paramLabel = "N", description = "the Slurm submission whose task --index is (default: the latest)")
        Integer submission;

        @Option(names = "--retry-failed", description = "rerun a failed trial")
        boolean retryFailed;

        @Option(names = "--exit-with-parent", paramLabel = "PID", description = "exit at once when process PID ends (sweep run's workers)")
        Long parent;

        @Override
        public Integer call() {
            if (parent != null) exitWithParent(parent);
            SweepDirectory sweep = new SweepDirectory(dir);
            List<Trial> all = sweep.trials();
            List<Trial> mine = new ArrayList<>();
            if (which.trial != null) {
                mine.add(all.stream().filter(t -> t.id().equals(which.trial)).findFirst()
                        .orElseThrow(() -> new IllegalArgumentException("no trial '" + which.trial + "' in " + dir)));
            } else {
                List<Slurm.Submission> subs = Slurm.submissions(sweep);
                if (subs.isEmpty()) throw new IllegalArgumentException(dir + " has no Slurm submission (bin/optlab sweep submit)");
                Slurm.Submission s = submission == null ? subs.get(subs.size() - 1) : Slurm.submission(sweep, submission);
                if (which.index < 0 || which.index >= s.tasks().size()) {
                    throw new IllegalArgumentException("--index " + which.index + ": submission " + s.number() + " has tasks 0.." + (s.tasks().size() - 1));
                }
                for (String id : s.tasks().get(which.index)) {
                    mine.add(all.stream().filter(t -> t.id().equals(id)).findFirst()
                            .orElseThrow(() -> new IllegalArgumentException("submission names trial " + id + ", which the table lacks")));
                }
            }
            List<Status> after = TrialRunner.run(sweep, mine, retryFailed, System.out, Version.record());
            return after.stream().allMatch(Status::ended) ? 0 : 1;
        }

        /** A watchdog: halts this JVM as soon as the parent process is gone (NOTE [jvm-per-trial]). */
        private static void exitWithParent(long pid) {
            var handle = ProcessHandle.of(pid);
            if (handle.isEmpty()) Runtime.getRuntime().halt(137);
            Thread t = new Thread(() -> {
                while (handle.get().isAlive()) {
                    try {
                        Thread.sleep(200);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                Runtime.getRuntime().halt(137); // as if killed: the trial resumes from its checkpoint when the sweep reruns
            }, "optlab-parent-watchdog");
            t.setDaemon(true);
            t.start();
        }
    }

    @Command(name = "submit", mixinStandardHelpOptions = true, versionProvider = Version.class,
            description = {"Submit the trials of DIR that are not done as a Slurm job array (one task per --trials-per-task rows).",
                "Resubmitting submits only what is not done and not already held by Slurm."})
    static final class Submit implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DIR", description = "the sweep directory")
        Path dir;

        @Option(names = "--slurm", required = true, description = "submit to Slurm (sbatch): the only scheduler so far")
        boolean slurm;

        @Option(names = "--partition", description = "sbatch --partition")
        String partition;

        @Option(names = "--gres", description = "sbatch --gres, e.g. gpu:1")
        String gres;

        @Option(names = "--cpus-per-task", defaultValue = "1", description = "sbatch --cpus-per-task; each trial's CPU threads (default: ${DEFAULT-VALUE})")
        int cpusPerTask;

        @Option(names = "--time", description = "sbatch --time, e.g. 4:00:00")
        String time;

        @Option(names = "--max-parallel", defaultValue = "0", description = "array tasks at once (%%K); 0: no limit (default: ${DEFAULT-VALUE})")
        int maxParallel;

        @Option(names = "--trials-per-task", defaultValue = "1", description = "trial rows per array task (default: ${DEFAULT-VALUE})")
        int trialsPerTask;

        @Option(names = "--retry-failed", description = "submit failed trials too")
        boolean retryFailed;

        @Option(names = "--dry-run", description = "print the script and the tasks; submit nothing")
        boolean dryRun;

        @Override
        public Integer call() {
            Slurm s = new Slurm(partition, gres, cpusPerTask, time, maxParallel, trialsPerTask);
            Path launcher = Path.of(System.getProperty("optlab.root", ".")).resolve("bin/optlab");
            s.submit(new SweepDirectory(dir), launcher, retryFailed, dryRun, System.out);
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, versionProvider = Version.class,
            description = "Every trial of DIR: pending, running, interrupted, finished, diverged or failed (and Slurm's state), with counts.")
    static final class StatusCommand implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DIR", description = "the sweep directory")
        Path dir;

        @Override
        public Integer call() {
            SweepDirectory sweep = new SweepDirectory(dir);
            List<Trial> all = sweep.trials();
            Map<String, String> queued = Slurm.queuedTrials(sweep);
            System.out.printf("%-16s %-12s %-9s %-11s %s%n", "trial", "status", "slurm", "step", "result / params");
            for (Trial t : all) {
                Status s = sweep.status(t.id());
                var r = sweep.result(t.id());
                String step = r == null ? "" : r.path("step").asLong() + "/" + r.path("total_steps").asLong();
                String what = t.params().toString();
                if (r != null && (s == Status.FAILED || s == Status.DIVERGED)) what = r.path("reason").asText();
                else if (r != null && r.path("final").has("valid_loss")) what = String.format("valid_loss %.4f  %s", r.path("final").get("valid_loss").asDouble(), what);
                else if (r != null && r.path("final").has("test_loss")) what = String.format("test_loss %.4f  %s", r.path("final").get("test_loss").asDouble(), what);
                System.out.printf("%-16s %-12s %-9s %-11s %s%n", t.id(), s.label(), queued.getOrDefault(t.id(), "-").toLowerCase(java.util.Locale.ROOT), step, what);
            }
            System.out.println(SweepDirectory.summary(sweep.counts(all)) + (queued.isEmpty() ? "" : "; " + queued.size() + " held by Slurm"));
            return 0;
        }
    }
}
