package optlab.experiments.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import optlab.experiments.sweep.TrialTable.Trial;
import optlab.nn.io.AtomicFiles;

/**
 * A sweep on a Slurm cluster as job arrays (EXPERIMENTS.md section 3): {@code bin/optlab sweep submit DIR --slurm}
 * groups the trials that are not done into array tasks of {@code trials-per-task} rows, writes them as
 * {@code slurm/submission-N.json} (task index -> trial ids) with an sbatch script {@code slurm/submission-N.sbatch}, and
 * submits it ({@code sbatch --parsable}); task i runs {@code bin/optlab sweep run-task DIR --submission N --index i}.
 * Resubmitting submits only what is not done: trials that ended, and trials in a task of an earlier submission that
 * Slurm still holds (pending or running, from {@code squeue}), are left out. No accounting daemon is needed:
 * {@code squeue} and the run directories tell the state.
 *
 * @param partition     {@code --partition}, or null
 * @param gres          {@code --gres} (e.g. gpu:1), or null
 * @param cpusPerTask   {@code --cpus-per-task}; the trial's JVM uses that many CPU threads
 * @param time          {@code --time}, or null
 * @param maxParallel   the array's {@code %K} throttle, or 0 for none
 * @param trialsPerTask trial rows per array task (many short trials: pack several per task)
 */
public record Slurm(String partition, String gres, int cpusPerTask, String time, int maxParallel, int trialsPerTask) {
    public Slurm {
        if (cpusPerTask < 1) throw new IllegalArgumentException("--cpus-per-task must be >= 1, got " + cpusPerTask);
        if (maxParallel < 0) throw new IllegalArgumentException("--max-parallel must be >= 0, got " + maxParallel);
        if (trialsPerTask < 1) throw new IllegalArgumentException("--trials-per-task must be >= 1, got " + trialsPerTask);
        if (gres != null && !gres.matches("[A-Za-z0-9_:.-]+")) throw new IllegalArgumentException("--gres: bad value '" + gres + "'");
        if (partition != null && !partition.matches("[A-Za-z0-9_,.-]+")) throw new IllegalArgumentException("--partition: bad value '" + partition + "'");
        if (time != null && !time.matches("[0-9:-]+")) throw new IllegalArgumentException("--time: bad value '" + time + "' (e.g. 2:00:00 or 1-00:00:00)");
    }

    /** One submission: its number, its tasks (trial ids per array index) and, once submitted, its job id. */
    public record Submission(int number, List<List<String>> tasks, String jobId) {}

    /**
     * Plans and (unless {@code dryRun}) submits the not-done trials. Returns the submission, or null when nothing is
     * left to submit.
     */
    public Submission submit(SweepDirectory sweep, Path launcher, boolean retryFailed, boolean dryRun, PrintStream out) {
        List<Trial> all = sweep.trials();
        Map<String, String> queued = queuedTrials(sweep);
        List<String> todo = new ArrayList<>();
        for (Trial t : sweep.runnable(all, retryFailed)) if (!queued.containsKey(t.id())) todo.add(t.id());
        if (!queued.isEmpty()) out.printf("%d trial(s) still held by Slurm (pending or running), left out%n", queued.size());
        if (todo.isEmpty()) {
            out.println("nothing to submit: every trial is done or held by Slurm (" + SweepDirectory.summary(sweep.counts(all)) + ")");
            return null;
        }
        List<List<String>> tasks = new ArrayList<>();
        for (int i = 0; i < todo.size(); i += trialsPerTask) tasks.add(todo.subList(i, Math.min(todo.size(), i + trialsPerTask)));
        int number = nextNumber(sweep);
        String script = script(sweep, launcher, number, tasks.size());
        Path scriptFile = sweep.slurmDir().resolve("submission-" + number + ".sbatch");
        out.printf("submission %d: %d trial(s) in %d array task(s) of up to %d%s%n", number, todo.size(), tasks.size(), trialsPerTask,
                maxParallel > 0 ? ", at most " + maxParallel + " at once" : "");
        if (dryRun) {
            out.println("--dry-run: not submitted; the script would be " + scriptFile + ":");
            out.print(script);
            for (int i = 0; i < tasks.size(); i++) out.printf("  task %d: %s%n", i, String.join(" ", tasks.get(i)));
            return new Submission(number, tasks, null);
        }
        try {
            Files.createDirectories(sweep.slurmDir().resolve("logs"));
            AtomicFiles.write(scriptFile, script.getBytes(StandardCharsets.UTF_8));
            scriptFile.toFile().setExecutable(true);
            writeSubmission(sweep, new Submission(number, tasks, null)); // before sbatch: a task may start at once
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + scriptFile, e);
        }
        String jobId = sbatch(scriptFile);
        Submission s = new Submission(number, tasks, jobId);
        writeSubmission(sweep, s);
        out.printf("submitted job %s (%s); its logs: %s%n", jobId, scriptFile, sweep.slurmDir().resolve("logs"));
        return s;
    }

    /** The sbatch script of submission {@code number}. */
    String script(SweepDirectory sweep, Path launcher, int number, int taskCount) {
        Path dir = sweep.path().toAbsolutePath();
        StringBuilder b = new StringBuilder("#!/bin/bash\n");
        b.append("#SBATCH --job-name=optlab-").append(dir.getFileName()).append('\n');
        b.append("#SBATCH --array=0-").append(taskCount - 1).append(maxParallel > 0 ? "%" + maxParallel : "").append('\n');
        b.append("#SBATCH --output=").append(dir.resolve("slurm/logs")).append("/job_%A_%a.out\n");
        b.append("#SBATCH --cpus-per-task=").append(cpusPerTask).append('\n');
        if (partition != null) b.append("#SBATCH --partition=").append(partition).append('\n');
        if (gres != null) b.append("#SBATCH --gres=").append(gres).append('\n');
        if (time != null) b.append("#SBATCH --time=").append(time).append('\n');
        b.append("# Written by bin/optlab sweep submit; task i runs the trials of slurm/submission-").append(number).append(".json's task i.\n");
        b.append("set -euo pipefail\n");
        b.append("export OPTLAB_JAVA_OPTS=\"${OPTLAB_JAVA_OPTS:-} -Doptlab.threads=${SLURM_CPUS_PER_TASK:-").append(cpusPerTask).append("}\"\n");
        b.append("exec ").append(shellQuote(launcher.toAbsolutePath().toString())).append(" sweep run-task ").append(shellQuote(dir.toString()))
                .append(" --submission ").append(number).append(" --index \"$SLURM_ARRAY_TASK_ID\"\n");
        return b.toString();
    }

    private static String shellQuote(String s) {
        return s.matches("[A-Za-z0-9_./:=+-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
    }

    private static String sbatch(Path script) {
        Run r = exec(List.of("sbatch", "--parsable", script.toString()), 60);
        if (r.code != 0) throw new IllegalStateException("sbatch failed (exit " + r.code + "): " + r.output.strip());
        String id = r.output.strip();
        int semi = id.indexOf(';'); // "jobid;cluster" on multi-cluster installations
        return semi < 0 ? id : id.substring(0, semi);
    }

    /** Whether Slurm's client commands are on this machine. */
    public static boolean available() {
        try {
            return exec(List.of("squeue", "--version"), 20).code == 0;
        } catch (IllegalStateException e) {
            return false;
        }
    }

    /**
     * The trials that Slurm still holds in a task of an earlier submission, with that task's state (PENDING, RUNNING,
     * ...): from {@code squeue -r} for every recorded job id. Empty where Slurm is absent.
     */
    public static Map<String, String> queuedTrials(SweepDirectory sweep) {
        Map<String, String> out = new LinkedHashMap<>();
        List<Submission> subs = submissions(sweep);
        if (subs.stream().noneMatch(s -> s.jobId() != null) || !available()) return out;
        for (Submission s : subs) {
            if (s.jobId() == null) continue;
            Run r = exec(List.of("squeue", "-h", "-r", "-j", s.jobId(), "-o", "%i %T"), 60);
            if (r.code != 0) continue; // an unknown (long finished) job id
            Matcher m = Pattern.compile("(?m)^(\\d+)_(\\d+) (\\S+)$").matcher(r.output);
            while (m.find()) {
                int index = Integer.parseInt(m.group(2));
                if (index < s.tasks().size()) for (String id : s.tasks().get(index)) out.put(id, m.group(3));
            }
            // a throttled array's not-yet-expanded remainder: "12_[3-5%2] PENDING"
            Matcher range = Pattern.compile("(?m)^(\\d+)_\\[([0-9,\\-]+)(?:%\\d+)?\\] (\\S+)$").matcher(r.output);
            while (range.find()) {
                for (String part : range.group(2).split(",")) {
                    String[] ab = part.split("-");
                    int a = Integer.parseInt(ab[0]), b = ab.length > 1 ? Integer.parseInt(ab[1]) : a;
                    for (int i = a; i <= b && i < s.tasks().size(); i++) for (String id : s.tasks().get(i)) out.put(id, range.group(3));
                }
            }
        }
        return out;
    }

    /** Every recorded submission, in order. */
    public static List<Submission> submissions(SweepDirectory sweep) {
        List<Submission> out = new ArrayList<>();
        if (!Files.isDirectory(sweep.slurmDir())) return out;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(sweep.slurmDir(), "submission-*.json")) {
            for (Path p : ds) out.add(readSubmission(p));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + sweep.slurmDir(), e);
        }
        out.sort((a, b) -> Integer.compare(a.number(), b.number()));
        return out;
    }

    /** Submission {@code number}'s recorded tasks. */
    public static Submission submission(SweepDirectory sweep, int number) {
        Path f = sweep.slurmDir().resolve("submission-" + number + ".json");
        if (!Files.exists(f)) throw new IllegalArgumentException(sweep.path() + " has no Slurm submission " + number + " (no " + f.getFileName() + ")");
        return readSubmission(f);
    }

    private static Submission readSubmission(Path f) {
        try {
            JsonNode n = SweepSpec.JSON.readTree(Files.readString(f));
            List<List<String>> tasks = new ArrayList<>();
            for (JsonNode t : n.path("tasks")) {
                List<String> ids = new ArrayList<>();
                for (JsonNode id : t) ids.add(id.asText());
                tasks.add(ids);
            }
            return new Submission(n.path("number").asInt(), tasks, n.hasNonNull("job_id") ? n.get("job_id").asText() : null);
        } catch (IOException e) {
            throw new IllegalArgumentException(f + ": unreadable (" + e.getMessage() + ")");
        }
    }

    private void writeSubmission(SweepDirectory sweep, Submission s) {
        ObjectNode n = SweepSpec.JSON.createObjectNode();
        n.put("number", s.number());
        if (s.jobId() != null) n.put("job_id", s.jobId());
        else n.putNull("job_id");
        n.put("written_at", Instant.now().toString());
        ObjectNode opts = n.putObject("options");
        if (partition != null) opts.put("partition", partition);
        if (gres != null) opts.put("gres", gres);
        opts.put("cpus_per_task", cpusPerTask);
        if (time != null) opts.put("time", time);
        opts.put("max_parallel", maxParallel);
        opts.put("trials_per_task", trialsPerTask);
        ArrayNode tasks = n.putArray("tasks");
        for (List<String> t : s.tasks()) {
            ArrayNode a = tasks.addArray();
            t.forEach(a::add);
        }
        try {
            AtomicFiles.write(sweep.slurmDir().resolve("submission-" + s.number() + ".json"), SweepSpec.JSON.writeValueAsBytes(n));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write submission " + s.number(), e);
        }
    }

    private static int nextNumber(SweepDirectory sweep) {
        List<Submission> s = submissions(sweep);
        return s.isEmpty() ? 1 : s.get(s.size() - 1).number() + 1;
    }

    /** A finished command: exit code and its stdout and stderr together. */
    record Run(int code, String output) {}

    static Run exec(List<String> cmd, long timeoutSeconds) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", cmd) + " ran past " + timeoutSeconds + " s");
            }
            return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + cmd.get(0) + " (is Slurm installed?): " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + cmd.get(0), e);
        }
    }
}
