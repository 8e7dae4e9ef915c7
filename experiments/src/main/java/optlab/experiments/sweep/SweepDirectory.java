package optlab.experiments.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import optlab.experiments.run.RunDirectory;
import optlab.experiments.sweep.TrialTable.Trial;
import optlab.nn.io.AtomicFiles;

/**
 * A sweep's directory:
 * <pre>
 *   spec.json                the spec as planned (JSON), with when and by which build
 *   trials.json              the trial table ({@link TrialTable}), written once (extended only by appending)
 *   init.safetensors         the shared initialization, when the spec asks for one
 *   trials/&lt;id&gt;/            each trial's run directory (config.json, metrics.jsonl, result.json, ...)
 *   logs/&lt;id&gt;.log            what a trial printed, when run by {@code sweep run}
 *   slurm/submission-N.json  a Slurm submission: its array tasks (trial ids per task index) and job id
 *   slurm/submission-N.sbatch, slurm/logs/job_%A_%a.out
 * </pre>
 */
public final class SweepDirectory {
    private final Path dir;

    public SweepDirectory(Path dir) {
        this.dir = dir;
    }

    public Path path() {
        return dir;
    }

    public Path specFile() {
        return dir.resolve("spec.json");
    }

    public Path initFile() {
        return dir.resolve("init.safetensors");
    }

    public Path trialDir(String id) {
        return dir.resolve("trials").resolve(id);
    }

    public Path logFile(String id) {
        return dir.resolve("logs").resolve(id + ".log");
    }

    public Path slurmDir() {
        return dir.resolve("slurm");
    }

    /** The trial table; refuses a directory that holds no sweep. */
    public List<Trial> trials() {
        return TrialTable.read(dir);
    }

    /** The recorded spec, or null before the first plan. */
    public JsonNode recordedSpec() {
        if (!Files.exists(specFile())) return null;
        try {
            return SweepSpec.JSON.readTree(Files.readString(specFile())).path("spec");
        } catch (IOException e) {
            throw new IllegalArgumentException(specFile() + ": unreadable (" + e.getMessage() + ")");
        }
    }

    /** Records the spec and the table, atomically, table last (it is what later steps read). */
    public void record(SweepSpec spec, List<Trial> trials, Map<String, String> version) {
        ObjectNode root = SweepSpec.JSON.createObjectNode();
        root.set("spec", spec.toTree());
        root.put("planned_at", Instant.now().toString());
        version.forEach(root::put);
        ObjectNode table = SweepSpec.JSON.createObjectNode();
        table.put("sweep", spec.name());
        table.set("trials", SweepSpec.JSON.valueToTree(trials));
        try {
            Files.createDirectories(dir);
            AtomicFiles.write(specFile(), SweepSpec.JSON.writeValueAsBytes(root));
            AtomicFiles.write(TrialTable.file(dir), SweepSpec.JSON.writeValueAsBytes(table));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the sweep's table into " + dir, e);
        }
    }

    /** Where a trial stands, from its run directory (and the lock a training process holds on it). */
    public enum Status {
        /** Not started. */
        PENDING,
        /** A process is training it now. */
        RUNNING,
        /** Started, no result, nobody training it: killed or preempted; it resumes from its checkpoint. */
        INTERRUPTED,
        FINISHED,
        DIVERGED,
        FAILED;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Whether a rerun leaves it alone: it ended (finished or diverged). Failed trials rerun only when asked. */
        public boolean ended() {
            return this == FINISHED || this == DIVERGED;
        }
    }

    public Status status(String id) {
        Path t = trialDir(id);
        if (!Files.isDirectory(t)) return Status.PENDING;
        if (RunDirectory.isLocked(t)) return Status.RUNNING;
        JsonNode result = readJson(t.resolve("result.json"));
        if (result != null) {
            return switch (result.path("status").asText()) {
                case "finished" -> Status.FINISHED;
                case "diverged" -> Status.DIVERGED;
                default -> Status.FAILED;
            };
        }
        return Files.exists(t.resolve("config.json")) ? Status.INTERRUPTED : Status.PENDING;
    }

    /** A trial's result.json, or null. */
    public JsonNode result(String id) {
        return readJson(trialDir(id).resolve("result.json"));
    }

    private static JsonNode readJson(Path f) {
        try {
            return Files.exists(f) ? SweepSpec.JSON.readTree(Files.readString(f)) : null;
        } catch (IOException e) {
            return null; // a half-written file cannot exist (atomic writes); an unreadable one counts as absent
        }
    }

    /** The trials a run should take up, in table order: not ended, not running; failed ones only with {@code retryFailed}. */
    public List<Trial> runnable(List<Trial> trials, boolean retryFailed) {
        List<Trial> out = new ArrayList<>();
        for (Trial t : trials) {
            Status s = status(t.id());
            if (s == Status.PENDING || s == Status.INTERRUPTED || (s == Status.FAILED && retryFailed)) out.add(t);
        }
        return out;
    }

    /** How many trials are in each status, in the enum's order. */
    public Map<Status, Integer> counts(List<Trial> trials) {
        Map<Status, Integer> out = new LinkedHashMap<>();
        for (Status s : Status.values()) out.put(s, 0);
        for (Trial t : trials) out.merge(status(t.id()), 1, Integer::sum);
        return out;
    }

    /** "16 trials: 10 finished, 1 diverged, ..." (statuses with no trial left out). */
    public static String summary(Map<Status, Integer> counts) {
        int total = counts.values().stream().mapToInt(Integer::intValue).sum();
        StringBuilder b = new StringBuilder(total + " trials:");
        boolean first = true;
        for (var e : counts.entrySet()) {
            if (e.getValue() == 0) continue;
            b.append(first ? " " : ", ").append(e.getValue()).append(' ').append(e.getKey().label());
            first = false;
        }
        return b.toString();
    }
}
