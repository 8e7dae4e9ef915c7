package optlab.experiments.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import optlab.experiments.analysis.SweepResults.TrialResult;

/** The reports' tables as CSV (RFC 4180 quoting): every trial, and every eval of every trial. */
final class Csv {
    private Csv() {}

    /** One row per trial: sweep, id, search, optimizer, status, step, reason, its params, its final eval metrics. */
    static Path trials(List<SweepResults> sweeps, Path file) {
        Set<String> params = new LinkedHashSet<>(), metrics = new LinkedHashSet<>();
        for (SweepResults s : sweeps) {
            for (TrialResult t : s.trials()) {
                params.addAll(t.trial().params().keySet());
                if (!t.evals().isEmpty()) t.evals().get(t.evals().size() - 1).fieldNames().forEachRemaining(f -> {
                    if (f.contains("_")) metrics.add(f);
                });
            }
        }
        metrics.removeAll(Set.of("wall_time"));
        List<String> head = new ArrayList<>(List.of("sweep", "trial", "search", "optimizer", "seed", "status", "step", "reason"));
        for (String p : params) head.add("param_" + p);
        for (String m : metrics) head.add("final_" + m);
        StringBuilder b = new StringBuilder(row(head));
        for (SweepResults s : sweeps) {
            for (TrialResult t : s.trials()) {
                List<String> r = new ArrayList<>(List.of(s.name(), t.id(), t.trial().search(), String.valueOf(t.config("optimizer")),
                        Long.toString(t.trial().seed()), t.status().label(), t.result() == null ? "" : t.result().path("step").asText(),
                        t.result() == null ? "" : t.result().path("reason").asText("")));
                for (String p : params) r.add(t.trial().params().containsKey(p) ? String.valueOf(t.trial().params().get(p)) : "");
                JsonNode last = t.evals().isEmpty() ? null : t.evals().get(t.evals().size() - 1);
                for (String m : metrics) r.add(last != null && last.has(m) ? last.get(m).asText() : "");
                b.append(row(r));
            }
        }
        Report.writeText(file, b.toString());
        return file;
    }

    /** One row per eval record: sweep, trial, search, step, epoch, wall_time, then every metric. */
    static Path evals(List<SweepResults> sweeps, Path file) {
        Set<String> metrics = new LinkedHashSet<>();
        for (SweepResults s : sweeps) for (TrialResult t : s.trials()) for (JsonNode e : t.evals()) e.fieldNames().forEachRemaining(metrics::add);
        metrics.removeAll(Set.of("kind", "step", "epoch", "wall_time"));
        List<String> head = new ArrayList<>(List.of("sweep", "trial", "search", "step", "epoch", "wall_time"));
        head.addAll(metrics);
        StringBuilder b = new StringBuilder(row(head));
        for (SweepResults s : sweeps) {
            for (TrialResult t : s.trials()) {
                for (JsonNode e : t.evals()) {
                    List<String> r = new ArrayList<>(List.of(s.name(), t.id(), t.trial().search(), e.path("step").asText(), e.path("epoch").asText(),
                            e.path("wall_time").asText()));
                    for (String m : metrics) r.add(e.has(m) ? e.get(m).asText() : "");
                    b.append(row(r));
                }
            }
        }
        Report.writeText(file, b.toString());
        return file;
    }

    static String row(List<String> cells) {
        List<String> q = new ArrayList<>();
        for (String c : cells) q.add(c.contains(",") || c.contains("\"") || c.contains("\n") ? "\"" + c.replace("\"", "\"\"") + "\"" : c);
        return String.join(",", q) + "\n";
    }
}
