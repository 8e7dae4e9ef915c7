package optlab.experiments.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.experiments.run.MetricsLog;
import optlab.experiments.sweep.SweepDirectory;
import optlab.experiments.sweep.SweepDirectory.Status;
import optlab.experiments.sweep.SweepSpec;
import optlab.experiments.sweep.TrialTable.Trial;

/**
 * Every trial of a sweep as the analysis sees it: its row of the trial table, its status, its result.json and its
 * metrics records (evals, training records, histograms), read from the sweep directory. Nothing is rerun: the per-eval
 * curves are in the records, so any selection rule or target can be applied afterwards (EXPERIMENTS.md section 1).
 *
 * @param dir     the sweep directory
 * @param name    the spec's name
 * @param spec    the spec as planned
 * @param trials  every trial, in table order
 */
public record SweepResults(Path dir, String name, SweepSpec spec, List<TrialResult> trials) {

    /** One trial and what it recorded. Lists are empty for a trial that never started. */
    public record TrialResult(Trial trial, Status status, JsonNode result, List<JsonNode> evals, List<JsonNode> trains,
                              List<JsonNode> histograms) {
        public String id() {
            return trial.id();
        }

        /** The trial's value of a config key (its resolved config), or null. */
        public Object config(String key) {
            return trial.config().get(key);
        }

        /** A hyperparameter as a number (its drawn value, or the resolved config's for a fixed one), NaN when absent. */
        public double param(String key) {
            Object v = trial.params().containsKey(key) ? trial.params().get(key) : trial.config().get(key);
            return v instanceof Number n ? n.doubleValue() : Double.NaN;
        }

        /** The last eval's value of {@code metric} ({@code valid_loss}, {@code test_accuracy}, ...), or NaN. */
        public double last(String metric) {
            if (evals.isEmpty()) return Double.NaN;
            JsonNode v = evals.get(evals.size() - 1).get(metric);
            return v != null && v.isNumber() ? v.asDouble() : Double.NaN;
        }

        /** Whether its last eval recorded {@code metric}. */
        public boolean recorded(String metric) {
            return !evals.isEmpty() && evals.get(evals.size() - 1).has(metric);
        }
    }

    /** Reads a sweep directory; refuses one that holds no sweep, naming it. */
    public static SweepResults read(Path dir) {
        SweepDirectory sd = new SweepDirectory(dir);
        List<Trial> table = sd.trials(); // refuses a directory without trials.json
        JsonNode specNode = sd.recordedSpec();
        if (specNode == null) throw new IllegalArgumentException(dir + " holds a trial table but no spec.json: not a sweep planned by bin/optlab");
        SweepSpec spec = SweepSpec.fromTree(specNode, dir.resolve("spec.json").toString());
        List<TrialResult> out = new ArrayList<>();
        for (Trial t : table) {
            Path metrics = sd.trialDir(t.id()).resolve("metrics.jsonl");
            List<JsonNode> evals = new ArrayList<>(), trains = new ArrayList<>(), hist = new ArrayList<>();
            try {
                for (JsonNode r : MetricsLog.read(metrics)) {
                    switch (r.path("kind").asText()) {
                        case "eval" -> evals.add(r);
                        case "train" -> trains.add(r);
                        case "histogram" -> hist.add(r);
                        default -> { }
                    }
                }
            } catch (IOException e) {
                throw new IllegalArgumentException("trial " + t.id() + ": " + e.getMessage());
            }
            out.add(new TrialResult(t, sd.status(t.id()), sd.result(t.id()), evals, trains, hist));
        }
        return new SweepResults(dir, spec.name(), spec, out);
    }

    /** The trials of one search, in table order. */
    public List<TrialResult> search(String name) {
        return trials.stream().filter(t -> t.trial().search().equals(name)).toList();
    }

    /** Trial counts by status, for the report's "what was excluded". */
    public Map<Status, Integer> counts() {
        Map<Status, Integer> m = new LinkedHashMap<>();
        for (Status s : Status.values()) m.put(s, 0);
        for (TrialResult t : trials) m.merge(t.status(), 1, Integer::sum);
        return m;
    }

    /** The trials that ended (finished or diverged): what an analysis may use. */
    public List<TrialResult> ended() {
        return trials.stream().filter(t -> t.status().ended()).toList();
    }

    /** Whether the directory holds a sweep (for a friendlier error). */
    public static boolean isSweep(Path dir) {
        return Files.exists(dir.resolve("trials.json"));
    }
}
