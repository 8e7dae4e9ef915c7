package optlab.experiments.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import org.knowm.xchart.XYChart;

/**
 * Plots the power-of-two histograms a run records ({@code "kind": "histogram"} records of metrics.jsonl, written by the
 * trainer's probe: for each of {@code update}, {@code grad} and {@code param}, the counts of the whole model ({@code all})
 * and of each parameter ({@code layers}), bin e counting |v| in [2^e, 2^(e+1)) for e from {@code min_exponent} to
 * {@code max_exponent}, values below 2^min_exponent in the first bin, and a last slot counting non-finite values) as the
 * proportion of coordinates per bin.
 */
final class Histograms {
    private Histograms() {}

    static XYChart chart(String title, String quantity) {
        XYChart c = Figures.xy(title, "e, where |" + quantity + "| is in [2^e, 2^(e+1))", "proportion of coordinates", false, false);
        c.getStyler().setXAxisDecimalPattern("0");
        return c;
    }

    /** Adds one record's whole-model histogram of {@code quantity} as a line of proportions. */
    static void add(XYChart c, String name, JsonNode record, String quantity, int color) {
        JsonNode counts = record.path(quantity).path("all");
        int min = record.path("min_exponent").asInt();
        int bins = counts.size() - 1; // the last slot counts non-finite values
        if (bins <= 0) return;
        long total = 0;
        for (int i = 0; i <= bins; i++) total += counts.get(i).asLong();
        if (total == 0) return;
        // show the range that holds mass, one empty bin on each side
        int lo = bins, hi = -1;
        for (int i = 0; i < bins; i++) {
            if (counts.get(i).asLong() > 0) {
                lo = Math.min(lo, i);
                hi = Math.max(hi, i);
            }
        }
        if (hi < 0) return;
        lo = Math.max(0, lo - 1);
        hi = Math.min(bins - 1, hi + 1);
        double[] x = new double[hi - lo + 1], y = new double[hi - lo + 1];
        for (int i = lo; i <= hi; i++) {
            x[i - lo] = min + i;
            y[i - lo] = (double) counts.get(i).asLong() / total;
        }
        Figures.line(c, name, x, y, color);
    }
}
