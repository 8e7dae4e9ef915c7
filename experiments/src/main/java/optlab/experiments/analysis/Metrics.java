package optlab.experiments.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import optlab.experiments.analysis.SweepResults.TrialResult;
import optlab.experiments.sweep.SweepDirectory.Status;

/**
 * The metrics an analysis selects and reports by, from a trial's eval records: every key an eval record holds
 * ({@code valid_loss}, {@code test_accuracy}, {@code train_loss}, ...), and {@code <split>_error} = 1 - accuracy.
 * "Final" means the last eval (the run's end: every run evaluates at its last step).
 */
public final class Metrics {
    private Metrics() {}

    /** A metric's value in one eval record, or NaN when the record lacks it. */
    public static double value(JsonNode eval, String metric) {
        if (metric.endsWith("_error")) {
            JsonNode a = eval.get(metric.substring(0, metric.length() - "_error".length()) + "_accuracy");
            return a != null && a.isNumber() ? 1 - a.asDouble() : Double.NaN;
        }
        JsonNode v = eval.get(metric);
        return v != null && v.isNumber() ? v.asDouble() : Double.NaN;
    }

    /** Whether the trial's last eval recorded the metric. */
    public static boolean recorded(TrialResult t, String metric) {
        return !t.evals().isEmpty() && !Double.isNaN(value(t.evals().get(t.evals().size() - 1), metric));
    }

    /**
     * A trial's final value of {@code metric}: its last eval for a finished trial; {@code diverged} for a diverged one
     * (the papers plot a diverged run's error as 1 or 1.1; as a selection score, +infinity).
     */
    public static double last(TrialResult t, String metric, double diverged) {
        if (t.status() == Status.DIVERGED) return diverged;
        if (t.evals().isEmpty()) return Double.NaN;
        return value(t.evals().get(t.evals().size() - 1), metric);
    }

    /**
     * Steps to a target: the step of the first eval whose {@code metric} is at or below {@code target}, or +infinity
     * when none is (a trial that never reaches the target, a diverged one included).
     */
    public static double stepsToTarget(List<JsonNode> evals, String metric, double target) {
        for (JsonNode e : evals) {
            double v = value(e, metric);
            if (v <= target) return e.path("step").asLong();
        }
        return Double.POSITIVE_INFINITY;
    }

    /** The same for a trial (a diverged trial's evals before divergence count). */
    public static double stepsToTarget(TrialResult t, String metric, double target) {
        return stepsToTarget(t.evals(), metric, target);
    }

    /** Human text for a metric name: "validation error", "test loss (nats)". */
    public static String label(String metric) {
        String[] p = metric.split("_", 2);
        String split = switch (p[0]) {
            case "valid" -> "validation";
            case "train" -> "training";
            default -> p[0];
        };
        String what = p.length < 2 ? "" : switch (p[1]) {
            case "loss" -> "loss (nats)";
            case "error" -> "error";
            case "accuracy" -> "accuracy";
            case "perplexity" -> "perplexity";
            default -> p[1];
        };
        return split + " " + what;
    }
}
