package optlab.experiments.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import optlab.experiments.analysis.SweepResults.TrialResult;
import optlab.experiments.sweep.SweepDirectory.Status;
import org.knowm.xchart.XYChart;

/**
 * Figures that need several sweeps (Zhuang et al.): the update histograms of the same optimizers at several depths
 * (one sweep per architecture), and the learning curves under loss scaling (sweeps that differ only in
 * {@code loss_multiplier}): each optimizer at the (alpha, lambda) that was best at the smallest multiplier, kept unchanged
 * at the others. AdamW is scale-free (its curves should nearly coincide, exactly with eps = 0); Adam-L2 is not.
 */
final class CrossSweep {
    private CrossSweep() {}

    static void write(List<SweepResults> sweeps, Report r, Path out, StringBuilder index) {
        Path figures = out.resolve("figures");
        Report.Md md = new Report.Md();
        histogramsAcrossSweeps(sweeps, r, figures, md);
        lossScaling(sweeps, r, figures, md);
        String text = md.toString();
        if (!text.isEmpty()) index.append("\n").append(text);
    }

    /** The first histogram probe of each sweep's best trial per search, all on one figure per common probe step. */
    static void histogramsAcrossSweeps(List<SweepResults> sweeps, Report r, Path figures, Report.Md md) {
        List<SweepResults> with = sweeps.stream().filter(s -> s.trials().stream().anyMatch(t -> !t.histograms().isEmpty())).toList();
        if (with.size() < 2) return;
        md.h2("Update histograms across sweeps");
        md.p("The best finished trial (by final " + Metrics.label(r.report()) + ") of each search of each sweep, at its first probes: the proportion "
                + "of coordinates per power-of-two bin of |update|.");
        Map<Long, XYChart> charts = new TreeMap<>();
        int color = 0;
        for (SweepResults s : with) {
            for (var e : new Report.Zhuang(s, r.report(), r.diverged(), figures, s.name()).bestPerSearch().entrySet()) {
                for (JsonNode h : e.getValue().histograms()) {
                    long step = h.path("step").asLong();
                    XYChart c = charts.computeIfAbsent(step, k -> Histograms.chart("|update| at step " + k + ", best trial of each search", "update"));
                    Histograms.add(c, s.spec().base().get("workload") + " " + e.getKey(), h, "update", color);
                }
                color++;
            }
        }
        int shown = 0;
        for (var e : charts.entrySet()) {
            if (shown++ == 3) break;
            md.img(Figures.save(e.getValue(), figures, "across-histogram-update-step" + e.getKey()), "update histogram at step " + e.getKey());
        }
    }

    /** Curves at an unchanged (alpha, lambda) for each loss multiplier, per search name common to the sweeps. */
    static void lossScaling(List<SweepResults> sweeps, Report r, Path figures, Report.Md md) {
        Map<String, List<SweepResults>> byWorkload = new LinkedHashMap<>();
        for (SweepResults s : sweeps) byWorkload.computeIfAbsent(String.valueOf(s.spec().base().get("workload")), k -> new ArrayList<>()).add(s);
        for (var w : byWorkload.entrySet()) {
            TreeMap<Double, SweepResults> byMult = new TreeMap<>();
            for (SweepResults s : w.getValue()) {
                Object m = s.spec().base().get("loss_multiplier");
                byMult.putIfAbsent(m == null ? 1.0 : ((Number) m).doubleValue(), s);
            }
            if (byMult.size() < 2) continue;
            md.h2("Loss scaling on " + w.getKey());
            md.p("Each optimizer at one (alpha, lambda), unchanged for every multiplier: of the settings that every multiplier's sweep ran, "
                    + "the one best at loss x" + Report.compact(byMult.firstKey()) + ". A scale-free rule (AdamW, "
                    + "AdamProx) should keep its curve as the loss is multiplied, Adam-L2 need not.");
            SweepResults base = byMult.firstEntry().getValue();
            Map<String, TrialResult> best = new LinkedHashMap<>();
            for (var search : base.spec().searchNames()) {
                TrialResult pick = null;
                for (TrialResult t : base.search(search)) {
                    if (t.status() != Status.FINISHED) continue;
                    boolean everywhere = byMult.values().stream().allMatch(o -> o.search(search).stream()
                            .anyMatch(x -> x.status().ended() && Objects.equals(x.trial().params(), t.trial().params())));
                    if (everywhere && (pick == null || Metrics.last(t, r.report(), 1) < Metrics.last(pick, r.report(), 1))) pick = t;
                }
                if (pick != null) best.put(search, pick);
            }
            for (var b : best.entrySet()) {
                XYChart c = Figures.xy(w.getKey() + ", " + b.getKey() + " at " + Report.params(b.getValue()) + ": " + Metrics.label(r.report())
                        + " under loss scaling", "epoch", Metrics.label(r.report()), false, false);
                c.getStyler().setXAxisDecimalPattern("0.##");
                int color = 0;
                List<String> missing = new ArrayList<>();
                for (var m : byMult.entrySet()) {
                    TrialResult same = m.getValue().search(b.getKey()).stream()
                            .filter(t -> Objects.equals(t.trial().params(), b.getValue().trial().params()) && t.status().ended()).findFirst().orElse(null);
                    String name = "loss x" + Report.compact(m.getKey());
                    if (same == null) {
                        missing.add(name);
                        color++;
                        continue;
                    }
                    List<Double> x = new ArrayList<>(), y = new ArrayList<>();
                    for (JsonNode e : same.evals()) {
                        double v = Metrics.value(e, r.report());
                        if (!Double.isNaN(v)) {
                            x.add(e.path("epoch").asDouble());
                            y.add(v);
                        }
                    }
                    if (same.status() == Status.DIVERGED) name += " (diverged)";
                    if (!x.isEmpty()) Figures.line(c, name, Report.arr(x), Report.arr(y), color);
                    color++;
                }
                if (!c.getSeriesMap().isEmpty()) {
                    md.img(Figures.save(c, figures, "loss-scaling-" + w.getKey() + "-" + b.getKey()), b.getKey() + " under loss scaling");
                }
                if (!missing.isEmpty()) md.p("`" + b.getKey() + "`: no ended trial at that setting for " + String.join(", ", missing) + ".");
            }
        }
    }
}
