package optlab.experiments.sweep;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import optlab.experiments.run.RunDirectory;
import optlab.experiments.run.RunSpec;
import optlab.experiments.run.Trainer;
import optlab.experiments.sweep.SweepDirectory.Status;
import optlab.experiments.sweep.TrialTable.Trial;
import optlab.experiments.train.Progress;

/**
 * Runs trials of a sweep in this process, each into its run directory ({@code trials/<id>/}): what a local worker
 * process and a Slurm array task do. A trial that ended is skipped (so every trial finishes exactly once, however
 * often a task is rerun or resubmitted), a failed one is retried only when asked, one that another process is
 * training is left to it, an interrupted one resumes from its checkpoint (NOTE [exact-resume]). A failing trial is
 * recorded (its result.json says why) and the next one runs.
 */
public final class TrialRunner {
    private TrialRunner() {}

    /** Runs {@code trials} in order; returns their statuses afterwards. */
    public static List<Status> run(SweepDirectory sweep, List<Trial> trials, boolean retryFailed, PrintStream out, Map<String, String> version) {
        return trials.stream().map(t -> runOne(sweep, t, retryFailed, out, version)).toList();
    }

    static Status runOne(SweepDirectory sweep, Trial t, boolean retryFailed, PrintStream out, Map<String, String> version) {
        Status before = sweep.status(t.id());
        if (before.ended() || before == Status.RUNNING || (before == Status.FAILED && !retryFailed)) {
            out.printf("trial %s: %s, skipped%s%n", t.id(), before.label(), before == Status.FAILED ? " (--retry-failed reruns it)" : "");
            return before;
        }
        out.printf("trial %s (%s %s): %s%n", t.id(), t.search(), t.params(), before == Status.INTERRUPTED ? "resuming" : "starting");
        RunDirectory rd;
        try {
            rd = RunDirectory.open(sweep.trialDir(t.id()));
        } catch (IllegalArgumentException e) { // another process took it meanwhile
            out.printf("trial %s: %s%n", t.id(), e.getMessage());
            return sweep.status(t.id());
        }
        try (rd) {
            RunSpec spec = RunSpec.resolve(t.runConfig());
            List<String> cmd = List.of("bin/optlab", "sweep", "run-task", sweep.path().toString(), "--trial", t.id());
            Trainer.run(spec, rd, new Trainer.Invocation(cmd, version), out, Progress.Factory.NONE);
        } catch (RuntimeException e) {
            out.printf("trial %s failed: %s%n", t.id(), e.getMessage());
            // a failure before the training loop (a missing data file, say) leaves no result: record one, so that the
            // sweep goes on and a rerun retries it only when asked
            if (!java.nio.file.Files.exists(rd.resultFile())) {
                Map<String, Object> r = new java.util.LinkedHashMap<>();
                r.put("status", "failed");
                r.put("step", 0);
                r.put("reason", e.getClass().getSimpleName() + ": " + e.getMessage());
                r.put("ended_at", java.time.Instant.now().toString());
                RunDirectory.writeJson(rd.resultFile(), r);
            }
        }
        Status after = sweep.status(t.id());
        out.printf("trial %s: %s%n", t.id(), after.label());
        return after;
    }
}
