package optlab.experiments.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import optlab.experiments.analysis.SweepResults.TrialResult;
import optlab.experiments.sweep.SweepDirectory.Status;
import optlab.experiments.sweep.SweepSpec;
import optlab.nn.io.AtomicFiles;
import optlab.optim.Presets;
import optlab.optim.Rule;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.XYChart;

/**
 * {@code bin/optlab report}: every trial of one or more sweeps in one table (CSV), the papers' figures and tables, and
 * a Markdown report per sweep stating the spec, the selection rule and what was excluded (docs/ANALYSIS.md):
 * <ul>
 *   <li>Choi et al.: best-of-K tuning curves (selected by validation error, and by final training loss), steps to a
 *       target and its best-of-K curve, a ranking of the tuned optimizers checked against the inclusion hierarchy,
 *       final error projected on each hyperparameter;</li>
 *   <li>Zhuang et al.: test-error heat maps over (alpha, lambda) per optimizer, learning curves of each optimizer's best
 *       setting (AdamW against AdamProx), update histograms, and, across sweeps, histograms at several depths and the
 *       learning curves under loss scaling.</li>
 * </ul>
 *
 * @param select    the selection metric: {@code valid_error} (Choi), {@code test_error} (Zhuang's released code), or
 *                  null for valid_error where recorded, else test_error
 * @param report    the reported metric (default {@code test_error})
 * @param target    the steps-to-target threshold on the selection metric, or null for the largest of the searches'
 *                  best final values (so every search reaches it at least once)
 * @param diverged  the error a diverged trial reports (the papers: 1 or 1.1)
 */
public record Report(String select, String report, Double target, double diverged) {
    /** Defaults: selection by validation error where recorded, test error reported, diverged = 1.0. */
    public static Report defaults() {
        return new Report(null, "test_error", null, 1.0);
    }

    /** Percentiles of the tuning curves' band. */
    static final double LOW = 0.05, HIGH = 0.95;

    /** Writes OUT/README.md (the index and the cross-sweep figures), OUT/&lt;sweep&gt;.md, OUT/figures/, the CSV tables. */
    public List<Path> write(List<SweepResults> sweeps, Path out, PrintStream log) {
        try {
            Files.createDirectories(out.resolve("figures"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + out, e);
        }
        List<Path> written = new ArrayList<>();
        List<SweepResults> usable = new ArrayList<>();
        StringBuilder index = new StringBuilder("# Sweep reports\n\n");
        index.append("Made by `bin/optlab report` from:\n\n");
        for (SweepResults s : sweeps) {
            Map<Status, Integer> c = s.counts();
            int ended = c.get(Status.FINISHED) + c.get(Status.DIVERGED);
            index.append("- `").append(s.dir()).append("` (").append(s.name()).append("): ").append(summary(c));
            if (ended == 0) {
                index.append(" — **no finished trial: nothing to report**\n");
                log.println("sweep " + s.name() + " (" + s.dir() + "): no finished trial (" + summary(c) + "): nothing to report");
                continue;
            }
            usable.add(s);
            index.append(" — [report](").append(s.name()).append(".md)\n");
        }
        if (usable.isEmpty()) throw new IllegalArgumentException("no sweep has a finished trial: nothing to report");
        written.add(Csv.trials(usable, out.resolve("trials.csv")));
        written.add(Csv.evals(usable, out.resolve("evals.csv")));
        index.append("\nEvery trial is in `trials.csv` (one row each: config, status, final and best metrics) and every eval in `evals.csv`.\n");
        for (SweepResults s : usable) written.add(writeOne(s, out, log));
        CrossSweep.write(usable, this, out, index);
        Path readme = out.resolve("README.md");
        writeText(readme, index.toString());
        written.add(readme);
        return written;
    }

    private static String summary(Map<Status, Integer> c) {
        StringBuilder b = new StringBuilder();
        int total = c.values().stream().mapToInt(Integer::intValue).sum();
        b.append(total).append(" trials");
        for (var e : c.entrySet()) if (e.getValue() > 0) b.append(", ").append(e.getValue()).append(' ').append(e.getKey().label());
        return b.toString();
    }

    static void writeText(Path f, String text) {
        try {
            AtomicFiles.write(f, text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + f, e);
        }
    }

    /** The selection metric for a sweep: the given one, else valid_error where every ended trial recorded it. */
    String selectionFor(SweepResults s) {
        List<TrialResult> finished = s.trials().stream().filter(t -> t.status() == Status.FINISHED).toList();
        if (select != null) {
            for (TrialResult t : finished) {
                if (!Metrics.recorded(t, select)) {
                    throw new IllegalArgumentException("sweep " + s.name() + ": trial " + t.id() + " recorded no " + select + " (its last eval has "
                            + fields(t) + ")" + (select.startsWith("valid") ? "; the sweep held out no validation split (valid_fraction 0): "
                            + "select by test_error or train_loss" : ""));
                }
            }
            return select;
        }
        boolean valid = !finished.isEmpty() && finished.stream().allMatch(t -> Metrics.recorded(t, "valid_error"));
        return valid ? "valid_error" : "test_error";
    }

    private static String fields(TrialResult t) {
        List<String> f = new ArrayList<>();
        if (!t.evals().isEmpty()) t.evals().get(t.evals().size() - 1).fieldNames().forEachRemaining(f::add);
        return f.toString();
    }

    /** One sweep's report. */
    private Path writeOne(SweepResults s, Path out, PrintStream log) {
        String sel = selectionFor(s);
        for (TrialResult t : s.trials()) {
            if (t.status() == Status.FINISHED && !Metrics.recorded(t, report)) {
                throw new IllegalArgumentException("sweep " + s.name() + ": trial " + t.id() + " recorded no " + report + " (its last eval has " + fields(t) + ")");
            }
        }
        Md md = new Md();
        SweepSpec spec = s.spec();
        md.h1("Sweep " + s.name());
        md.p("Directory `" + s.dir() + "`; workload `" + spec.base().get("workload") + "`"
                + (spec.description() == null ? "" : "; " + spec.description()) + ".");
        md.p("Searches: " + describeSearches(spec) + ". Seeds: " + (spec.sharedTrialSeeds() ? "one for every trial" : "one per trial")
                + (spec.sharedInitOrDefault() ? "; one shared initialization" : "") + ".");
        Map<Status, Integer> c = s.counts();
        md.p("Trials: " + summary(c) + ".");
        List<String> excluded = new ArrayList<>();
        for (TrialResult t : s.trials()) {
            if (t.status() == Status.FINISHED) continue;
            String why = t.result() != null ? t.result().path("reason").asText("") : "";
            excluded.add("`" + t.id() + "` " + t.status().label() + (why.isEmpty() ? "" : ": " + why));
        }
        md.p("Selection: each trial is scored by its final " + Metrics.label(sel) + " and reported by its final " + Metrics.label(report)
                + (sel.equals("test_error") ? " (selection on the test set, as Zhuang et al.'s released code)" : " (Choi et al.'s protocol)")
                + ". A diverged trial scores +infinity and reports error " + diverged + "; failed, pending, running and interrupted trials are "
                + "left out" + (excluded.isEmpty() ? " (there are none)." : ":"));
        if (!excluded.isEmpty()) md.list(excluded);

        Choi choi = new Choi(s, sel, report, diverged, target, out.resolve("figures"), s.name());
        choi.write(md);
        Zhuang zhuang = new Zhuang(s, report, diverged, out.resolve("figures"), s.name());
        zhuang.write(md);
        Path f = out.resolve(s.name() + ".md");
        writeText(f, md.toString());
        log.println("wrote " + f);
        return f;
    }

    private static String describeSearches(SweepSpec spec) {
        List<String> parts = new ArrayList<>();
        for (SweepSpec.Search x : spec.searches()) {
            String kind = x.grid() != null ? "grid over " + String.join(" x ", x.grid().keySet())
                    : x.quasirandom().trials() + " quasi-random trials over " + String.join(", ", x.quasirandom().space().keySet());
            parts.add("`" + x.name() + "` (" + x.optimizer() + ", " + kind + ")");
        }
        return String.join("; ", parts);
    }

    /** The update rule behind a trial's optimizer preset. */
    static Rule rule(TrialResult t) {
        Object o = t.config("optimizer");
        return o == null ? null : Presets.get(o.toString()).rule();
    }

    /** A hyperparameter value, short: 4 significant digits, no trailing zeros (0.001, 0.3162, 5e-08). */
    static String compact(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) return fmt(v);
        if (v == 0) return "0";
        if (Math.abs(v) < 1e-4 || Math.abs(v) >= 1e5) return String.format(Locale.ROOT, "%.4g", v).replaceAll("\\.?0+e", "e");
        return new java.math.BigDecimal(v).round(new java.math.MathContext(4)).stripTrailingZeros().toPlainString();
    }

    /** A trial's drawn hyperparameters, short: {@code lr 0.3162, one_minus_momentum 0.1}. */
    static String params(TrialResult t) {
        List<String> parts = new ArrayList<>();
        for (var e : t.trial().params().entrySet()) {
            parts.add(e.getKey() + " " + (e.getValue() instanceof Number n ? compact(n.doubleValue()) : String.valueOf(e.getValue())));
        }
        return String.join(", ", parts);
    }

    static String fmt(double v) {
        if (Double.isNaN(v)) return "-";
        if (Double.isInfinite(v)) return "never";
        if (v != 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return String.format(Locale.ROOT, "%.3g", v);
        return String.format(Locale.ROOT, "%.4f", v);
    }

    // ------------------------------------------------------------------------------------------------
    // Choi et al.
    // ------------------------------------------------------------------------------------------------

    /** Best-of-K curves, steps to target, ranking with the inclusion hierarchy, projections. */
    record Choi(SweepResults s, String select, String report, double diverged, Double target, Path figures, String prefix) {
        List<String> searches() {
            List<String> out = new ArrayList<>();
            for (SweepSpec.Search x : s.spec().searches()) if (s.search(x.name()).stream().anyMatch(t -> t.status().ended())) out.add(x.name());
            return out;
        }

        /** Scores (selection metric, +inf when diverged) and reported values of a search's ended trials. */
        double[][] scored(String search, String selectBy, String reportBy) {
            List<TrialResult> ts = s.search(search).stream().filter(t -> t.status().ended()).toList();
            double[] sc = new double[ts.size()], rep = new double[ts.size()];
            for (int i = 0; i < ts.size(); i++) {
                TrialResult t = ts.get(i);
                sc[i] = t.status() == Status.DIVERGED ? Double.POSITIVE_INFINITY : Metrics.last(t, selectBy, Double.POSITIVE_INFINITY);
                if (Double.isNaN(sc[i])) sc[i] = Double.POSITIVE_INFINITY;
                rep[i] = Metrics.last(t, reportBy, diverged);
            }
            return new double[][] {sc, rep};
        }

        void write(Md md) {
            if (s.spec().searches().stream().noneMatch(x -> x.quasirandom() != null)) return; // a grid: Zhuang's figures instead
            List<String> searches = searches();
            if (searches.stream().allMatch(x -> s.search(x).stream().filter(t -> t.status().ended()).count() < 2)) return;
            md.h2("Tuning curves: best of K trials (Choi et al.)");
            md.p("For each budget K, K trials are drawn with replacement from a search's trials and the one with the best final "
                    + Metrics.label(select) + " is kept; the line is the median of its final " + Metrics.label(report) + ", the dashed lines the "
                    + (int) (LOW * 100) + "th and " + (int) (HIGH * 100) + "th percentiles, all from the exact distribution of that choice "
                    + "(NOTE [best-of-k] in BestOfK.java), not from resampling.");
            String f1 = curve(searches, select, report, "best-of-k-" + select);
            md.img(f1, "best of K, selected by " + Metrics.label(select));
            md.table(curveTable(searches, select, report));
            if (!select.equals("train_loss") && searches.stream().allMatch(x -> s.search(x).stream().filter(t -> t.status() == Status.FINISHED)
                    .allMatch(t -> Metrics.recorded(t, "train_loss")))) {
                md.p("Selected by final training loss instead (Choi et al.'s Figure 9): the training loss is measured on the training "
                        + "subset (train_eval_size examples) at the last eval.");
                md.img(curve(searches, "train_loss", report, "best-of-k-train_loss"), "best of K, selected by training loss");
            }
            ranking(md, searches);
            stepsToTarget(md, searches);
            projections(md, searches);
        }

        String curve(List<String> searches, String selectBy, String reportBy, String name) {
            XYChart c = Figures.budgets(s.spec().base().get("workload") + ": " + Metrics.label(reportBy) + " of the best of K (selected by "
                    + Metrics.label(selectBy) + ")", Metrics.label(reportBy));
            int color = 0;
            for (String search : searches) {
                double[][] sr = scored(search, selectBy, reportBy);
                if (sr[0].length == 0) continue;
                int[] ks = BestOfK.budgets(sr[0].length);
                double[] x = new double[ks.length], med = new double[ks.length], lo = new double[ks.length], hi = new double[ks.length];
                for (int i = 0; i < ks.length; i++) {
                    BestOfK.Distribution d = BestOfK.exact(sr[0], sr[1], ks[i]);
                    x[i] = ks[i];
                    med[i] = d.median();
                    lo[i] = d.quantile(LOW);
                    hi[i] = d.quantile(HIGH);
                }
                Figures.line(c, search, Figures.log2(x), med, color);
                Figures.dashed(c, search + " " + (int) (LOW * 100) + "%", Figures.log2(x), lo, color);
                Figures.dashed(c, search + " " + (int) (HIGH * 100) + "%", Figures.log2(x), hi, color);
                color++;
            }
            return Figures.save(c, figures, prefix + "-" + name);
        }

        List<List<String>> curveTable(List<String> searches, String selectBy, String reportBy) {
            List<List<String>> rows = new ArrayList<>();
            List<String> head = new ArrayList<>(List.of("K"));
            head.addAll(searches);
            rows.add(head);
            int max = 0;
            for (String x : searches) max = Math.max(max, scored(x, selectBy, reportBy)[0].length);
            for (int k : BestOfK.budgets(max)) {
                List<String> r = new ArrayList<>(List.of(Integer.toString(k)));
                for (String x : searches) {
                    double[][] sr = scored(x, selectBy, reportBy);
                    if (sr[0].length == 0 || k > sr[0].length) {
                        r.add("-");
                        continue;
                    }
                    BestOfK.Distribution d = BestOfK.exact(sr[0], sr[1], k);
                    r.add(fmt(d.median()) + " [" + fmt(d.quantile(LOW)) + ", " + fmt(d.quantile(HIGH)) + "]");
                }
                rows.add(r);
            }
            return rows;
        }

        /** The tuned optimizers ranked, and Choi et al.'s inclusions checked against the bands. */
        void ranking(Md md, List<String> searches) {
            md.h2("Ranking of the tuned optimizers, and the inclusion hierarchy");
            Map<String, BestOfK.Distribution> tuned = new LinkedHashMap<>();
            Map<String, Rule> rules = new LinkedHashMap<>();
            List<List<String>> rows = new ArrayList<>();
            rows.add(List.of("search", "optimizer", "trials (ended)", "diverged", "tuned " + Metrics.label(report) + ": median [" + (int) (LOW * 100)
                    + "%, " + (int) (HIGH * 100) + "%] at K = N", "best trial", "its " + Metrics.label(select), "its params"));
            List<String[]> order = new ArrayList<>();
            for (String x : searches) {
                double[][] sr = scored(x, select, report);
                BestOfK.Distribution d = BestOfK.exact(sr[0], sr[1], sr[0].length);
                tuned.put(x, d);
                List<TrialResult> ts = s.search(x);
                rules.put(x, rule(ts.get(0)));
                TrialResult best = null;
                for (TrialResult t : ts) {
                    if (t.status() != Status.FINISHED) continue;
                    if (best == null || Metrics.last(t, select, Double.POSITIVE_INFINITY) < Metrics.last(best, select, Double.POSITIVE_INFINITY)) best = t;
                }
                long div = ts.stream().filter(t -> t.status() == Status.DIVERGED).count();
                long ended = ts.stream().filter(t -> t.status().ended()).count();
                order.add(new String[] {x, Double.toString(d.median())});
                rows.add(List.of("`" + x + "`", String.valueOf(ts.get(0).config("optimizer")), ts.size() + " (" + ended + ")", Long.toString(div),
                        fmt(d.median()) + " [" + fmt(d.quantile(LOW)) + ", " + fmt(d.quantile(HIGH)) + "]",
                        best == null ? "-" : "`" + best.id() + "`", best == null ? "-" : fmt(Metrics.last(best, select, Double.NaN)),
                        best == null ? "-" : params(best)));
            }
            // sort the body by the tuned median
            List<List<String>> body = new ArrayList<>(rows.subList(1, rows.size()));
            body.sort((a, b) -> Double.compare(tuned.get(strip(a.get(0))).median(), tuned.get(strip(b.get(0))).median()));
            List<List<String>> sorted = new ArrayList<>();
            sorted.add(rows.get(0));
            sorted.addAll(body);
            md.table(sorted);
            List<String> checks = new ArrayList<>();
            for (Rule[] pair : INCLUSIONS) {
                for (String special : searches) {
                    if (rules.get(special) != pair[0]) continue;
                    for (String general : searches) {
                        if (rules.get(general) != pair[1]) continue;
                        BestOfK.Distribution a = tuned.get(special), b = tuned.get(general);
                        boolean violated = b.median() > a.quantile(HIGH);
                        checks.add((violated ? "**VIOLATED**: " : "consistent: ") + "`" + general + "` (" + pair[1].id() + ", median " + fmt(b.median())
                                + ") includes `" + special + "` (" + pair[0].id() + ", median " + fmt(a.median()) + ", " + (int) (HIGH * 100)
                                + "th percentile " + fmt(a.quantile(HIGH)) + ")" + (violated ? ": the more general optimizer ends worse than its special case "
                                + "beyond the band" : ""));
                    }
                }
            }
            if (checks.isEmpty()) {
                md.p("No pair of these optimizers is in an inclusion relation (SGD ⊆ Momentum ⊆ RMSProp, Momentum ⊆ Adam, SGD ⊆ Nesterov ⊆ NAdam).");
            } else {
                md.p("Inclusions (Choi et al.: with enough tuning a more general optimizer never does worse than its special case). A pair is "
                        + "flagged when the general one's tuned median lies above the special one's " + (int) (HIGH * 100) + "th percentile:");
                md.list(checks);
            }
        }

        private static String strip(String cell) {
            return cell.replace("`", "");
        }

        /** Steps to a target on the selection metric, and their best-of-K curve (the best trial is the fastest). */
        void stepsToTarget(Md md, List<String> searches) {
            double t = target != null ? target : Double.NEGATIVE_INFINITY;
            if (target == null) {
                for (String x : searches) {
                    double best = Double.POSITIVE_INFINITY;
                    for (TrialResult tr : s.search(x)) if (tr.status() == Status.FINISHED) best = Math.min(best, Metrics.last(tr, select, Double.NaN));
                    if (Double.isFinite(best)) t = Math.max(t, best);
                }
                if (!Double.isFinite(t)) return;
            }
            md.h2("Steps to a target " + Metrics.label(select));
            md.p("Target " + fmt(t) + (target == null ? " (the largest of the searches' best final values, so every search reaches it at least "
                    + "once; --target sets another)" : "") + ". A trial's steps to target are those of its first eval at or below it (evals every "
                    + evalCadence() + "); one that never reaches it counts as infinite. The best of K is the fastest of the K.");
            XYChart c = Figures.budgets(s.spec().base().get("workload") + ": steps to " + Metrics.label(select) + " <= " + fmt(t) + ", best of K",
                    "training steps");
            List<List<String>> rows = new ArrayList<>();
            List<String> head = new ArrayList<>(List.of("search", "trials reaching it"));
            rows.add(head);
            int color = 0;
            int maxK = 0;
            for (String x : searches) maxK = Math.max(maxK, (int) s.search(x).stream().filter(tr -> tr.status().ended()).count());
            for (int k : BestOfK.budgets(maxK)) head.add("K=" + k);
            for (String x : searches) {
                List<TrialResult> ts = s.search(x).stream().filter(tr -> tr.status().ended()).toList();
                double[] steps = new double[ts.size()];
                int reach = 0;
                for (int i = 0; i < ts.size(); i++) {
                    steps[i] = Metrics.stepsToTarget(ts.get(i), select, t);
                    if (Double.isFinite(steps[i])) reach++;
                }
                List<String> r = new ArrayList<>(List.of("`" + x + "`", reach + " of " + ts.size()));
                List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
                for (int k : BestOfK.budgets(maxK)) {
                    if (k > ts.size()) {
                        r.add("-");
                        continue;
                    }
                    double m = BestOfK.exact(steps, steps, k).median();
                    r.add(Double.isFinite(m) ? Long.toString(Math.round(m)) : "never");
                    if (Double.isFinite(m)) {
                        xs.add((double) k);
                        ys.add(m);
                    }
                }
                rows.add(r);
                if (!xs.isEmpty()) Figures.line(c, x, Figures.log2(arr(xs)), arr(ys), color);
                color++;
            }
            if (!c.getSeriesMap().isEmpty()) md.img(Figures.save(c, figures, prefix + "-steps-to-target"), "steps to target, best of K");
            md.p("Median steps to target of the best of K:");
            md.table(rows);
        }

        String evalCadence() {
            Object steps = s.spec().base().get("eval_every_steps");
            return steps != null ? steps + " steps" : "epoch, and at the end";
        }

        /** Final selection metric against each searched hyperparameter (their Appendix E). */
        void projections(Md md, List<String> searches) {
            md.h2("Final " + Metrics.label(select) + " against each hyperparameter");
            md.p("One point per trial; diverged trials at " + diverged + " (marked x). An optimum on the edge of a range suggests widening it.");
            for (SweepSpec.Search x : s.spec().searches()) {
                if (!searches.contains(x.name())) continue;
                Set<String> keys = x.grid() != null ? x.grid().keySet() : x.quasirandom().space().keySet();
                for (String k : keys) {
                    boolean log = x.quasirandom() != null ? "log".equals(x.quasirandom().space().get(k).scaling()) : looksLog(x.name(), k);
                    List<Double> px = new ArrayList<>(), py = new ArrayList<>(), dx = new ArrayList<>(), dy = new ArrayList<>();
                    for (TrialResult t : s.search(x.name())) {
                        double v = t.param(k);
                        if (Double.isNaN(v) || (log && v <= 0)) continue;
                        if (t.status() == Status.FINISHED) {
                            px.add(v);
                            py.add(Metrics.last(t, select, Double.NaN));
                        } else if (t.status() == Status.DIVERGED) {
                            dx.add(v);
                            dy.add(diverged);
                        }
                    }
                    if (px.isEmpty() && dx.isEmpty()) continue;
                    XYChart c = Figures.xy(s.spec().base().get("workload") + ", " + x.name() + ": final " + Metrics.label(select) + " against " + k,
                            k + (log ? " (log scale)" : ""), Metrics.label(select), log, false);
                    if (!px.isEmpty()) Figures.points(c, "finished", arr(px), arr(py), 0);
                    if (!dx.isEmpty()) {
                        var series = Figures.points(c, "diverged", arr(dx), arr(dy), 1);
                        series.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.CROSS);
                    }
                    md.img(Figures.save(c, figures, prefix + "-projection-" + x.name() + "-" + k), x.name() + ": " + k);
                }
            }
        }

        boolean looksLog(String search, String key) {
            double min = Double.POSITIVE_INFINITY, max = 0;
            for (TrialResult t : s.search(search)) {
                double v = t.param(key);
                if (v > 0) {
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
            }
            return max / min > 20;
        }
    }

    /** Choi et al.'s inclusions (PAPERS.md section 1.2): special case, then the optimizer that includes it. */
    static final Rule[][] INCLUSIONS = {{Rule.SGD, Rule.MOMENTUM}, {Rule.MOMENTUM, Rule.RMSPROP}, {Rule.MOMENTUM, Rule.ADAM},
        {Rule.SGD, Rule.NESTEROV}, {Rule.NESTEROV, Rule.NADAM}};

    static double[] arr(List<Double> l) {
        return l.stream().mapToDouble(Double::doubleValue).toArray();
    }

    // ------------------------------------------------------------------------------------------------
    // Zhuang et al.
    // ------------------------------------------------------------------------------------------------

    /** Heat maps over (alpha, lambda), the best setting's curves, update histograms. */
    record Zhuang(SweepResults s, String report, double diverged, Path figures, String prefix) {
        /** The searches whose grid is exactly lr x weight_decay. */
        List<SweepSpec.Search> grids() {
            return s.spec().searches().stream().filter(x -> x.grid() != null && x.grid().keySet().equals(Set.of("lr", "weight_decay"))).toList();
        }

        void write(Md md) {
            List<SweepSpec.Search> grids = grids();
            if (!grids.isEmpty()) heatMaps(md, grids);
            curves(md);
            histograms(md);
        }

        /** Zhuang et al.'s heat maps: final error per (alpha, lambda), diverged as 1.1 (their convention), best marked. */
        void heatMaps(Md md, List<SweepSpec.Search> grids) {
            md.h2("Final " + Metrics.label(report) + " over (alpha, lambda) (Zhuang et al.)");
            md.p("One map per optimizer; a diverged run shows as 1.1 (their convention), a cell without a finished or diverged trial is "
                    + "empty. The best cell of each map is named in its title and below.");
            List<String> bests = new ArrayList<>();
            for (SweepSpec.Search g : grids) {
                List<Object> lrs = g.grid().get("lr"), lambdas = g.grid().get("weight_decay");
                double[][] v = new double[lambdas.size()][lrs.size()];
                for (double[] row : v) java.util.Arrays.fill(row, Double.NaN);
                TrialResult best = null;
                double bestV = Double.POSITIVE_INFINITY;
                for (TrialResult t : s.search(g.name())) {
                    if (!t.status().ended()) continue;
                    int xi = indexOf(lrs, t.param("lr")), yi = indexOf(lambdas, t.param("weight_decay"));
                    if (xi < 0 || yi < 0) continue;
                    double e = t.status() == Status.DIVERGED ? 1.1 : Metrics.last(t, report, 1.1);
                    double cell = Double.isNaN(v[yi][xi]) ? e : Math.min(v[yi][xi], e); // repeats: the best of the cell's runs
                    v[yi][xi] = cell;
                    if (e < bestV) {
                        bestV = e;
                        best = t;
                    }
                }
                String bestText = best == null ? "no finished trial" : "best alpha " + compact(best.param("lr")) + ", lambda " + compact(best.param("weight_decay"))
                        + ": " + fmt(bestV);
                HeatMapChart c = Figures.heatMap(s.spec().base().get("workload") + ", " + g.name() + ": final " + Metrics.label(report) + " (" + bestText + ")",
                        "alpha (base learning rate)", "lambda (weight decay)", labels(lrs), labels(lambdas), v, 0, 1.1);
                md.img(Figures.save(c, figures, prefix + "-heatmap-" + g.name()), g.name() + " heat map");
                bests.add("`" + g.name() + "`: " + bestText + (best == null ? "" : " (`" + best.id() + "`)"));
            }
            md.list(bests);
        }

        static int indexOf(List<Object> values, double v) {
            for (int i = 0; i < values.size(); i++) if (((Number) values.get(i)).doubleValue() == v) return i;
            return -1;
        }

        static List<String> labels(List<Object> values) {
            List<String> out = new ArrayList<>();
            for (Object o : values) out.add(compact(((Number) o).doubleValue()));
            return out;
        }

        /** The best finished trial of each search by the reported metric (Zhuang's selection: final test error). */
        Map<String, TrialResult> bestPerSearch() {
            Map<String, TrialResult> out = new LinkedHashMap<>();
            for (SweepSpec.Search x : s.spec().searches()) {
                TrialResult best = null;
                for (TrialResult t : s.search(x.name())) {
                    if (t.status() != Status.FINISHED) continue;
                    if (best == null || Metrics.last(t, report, 1) < Metrics.last(best, report, 1)) best = t;
                }
                if (best != null) out.put(x.name(), best);
            }
            return out;
        }

        /** Training loss and test accuracy against epochs for each search's best setting. */
        void curves(Md md) {
            Map<String, TrialResult> best = bestPerSearch();
            if (best.isEmpty() || best.values().stream().allMatch(t -> t.evals().size() < 2)) return;
            md.h2("Learning curves of each optimizer's best setting");
            md.p("The best finished trial of each search by final " + Metrics.label(report) + ": " + describe(best) + ".");
            md.img(Figures.save(curveChart(best, "train_loss", false), figures, prefix + "-curves-train_loss"), "training loss");
            md.img(Figures.save(curveChart(best, "test_accuracy", false), figures, prefix + "-curves-test_accuracy"), "test accuracy");
            Map<String, TrialResult> wp = new LinkedHashMap<>();
            for (var e : best.entrySet()) {
                Object o = e.getValue().config("optimizer");
                if (o != null && (o.toString().endsWith("adamw") || o.toString().endsWith("adamprox"))) wp.put(e.getKey(), e.getValue());
            }
            if (wp.size() >= 2) {
                md.p("AdamW against AdamProx (AdamW is AdamProx's first-order Taylor expansion in lambda*eta_t: the curves should nearly coincide):");
                md.img(Figures.save(curveChart(wp, "train_loss", false), figures, prefix + "-adamw-vs-adamprox"), "AdamW against AdamProx");
            }
        }

        static String describe(Map<String, TrialResult> best) {
            List<String> parts = new ArrayList<>();
            for (var e : best.entrySet()) parts.add("`" + e.getKey() + "` (" + params(e.getValue()) + ")");
            return String.join("; ", parts);
        }

        XYChart curveChart(Map<String, TrialResult> trials, String metric, boolean logY) {
            XYChart c = Figures.xy(s.spec().base().get("workload") + ": " + Metrics.label(metric) + " of each optimizer's best setting",
                    "epoch", Metrics.label(metric), false, logY);
            c.getStyler().setXAxisDecimalPattern("0.##");
            int color = 0;
            for (var e : trials.entrySet()) {
                List<Double> x = new ArrayList<>(), y = new ArrayList<>();
                for (JsonNode ev : e.getValue().evals()) {
                    double v = Metrics.value(ev, metric);
                    if (!Double.isNaN(v)) {
                        x.add(ev.path("epoch").asDouble());
                        y.add(v);
                    }
                }
                if (!x.isEmpty()) Figures.line(c, e.getKey() + " (" + params(e.getValue()) + ")", arr(x), arr(y), color);
                color++;
            }
            return c;
        }

        /** The update histograms the best trials recorded. */
        void histograms(Md md) {
            Map<String, TrialResult> best = bestPerSearch();
            Map<String, TrialResult> with = new LinkedHashMap<>();
            for (var e : best.entrySet()) if (!e.getValue().histograms().isEmpty()) with.put(e.getKey(), e.getValue());
            if (with.isEmpty()) return;
            md.h2("Update histograms (Zhuang et al.'s Figure 2 style)");
            md.p("The proportion of coordinates whose |update| falls in each power-of-two bin [2^e, 2^(e+1)), at the probe steps the runs "
                    + "recorded (AdamW and AdamProx: the update without the decoupled decay; Adam-L2: the whole update, L2 term included); values "
                    + "below 1e-8 are clipped into the lowest bin. The best trial of each search; one figure per probe.");
            Set<Long> steps = new java.util.TreeSet<>();
            for (TrialResult t : with.values()) for (JsonNode h : t.histograms()) steps.add(h.path("step").asLong());
            int shown = 0;
            for (long step : steps) {
                if (shown++ == 4) break;
                XYChart c = Histograms.chart(s.spec().base().get("workload") + ": |update| at step " + step, "update");
                int color = 0;
                for (var e : with.entrySet()) {
                    for (JsonNode h : e.getValue().histograms()) if (h.path("step").asLong() == step) Histograms.add(c, e.getKey(), h, "update", color);
                    color++;
                }
                md.img(Figures.save(c, figures, prefix + "-histogram-update-step" + step), "update histogram at step " + step);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Markdown
    // ------------------------------------------------------------------------------------------------

    /** A small Markdown builder. */
    static final class Md {
        private final StringBuilder b = new StringBuilder();

        void h1(String s) {
            b.append("# ").append(s).append("\n\n");
        }

        void h2(String s) {
            b.append("## ").append(s).append("\n\n");
        }

        void p(String s) {
            b.append(s).append("\n\n");
        }

        void list(List<String> items) {
            for (String i : items) b.append("- ").append(i).append('\n');
            b.append('\n');
        }

        void img(String file, String alt) {
            b.append("![").append(alt).append("](figures/").append(file).append(")\n\n");
        }

        void table(List<List<String>> rows) {
            if (rows.isEmpty()) return;
            for (int i = 0; i < rows.size(); i++) {
                b.append("| ").append(String.join(" | ", rows.get(i))).append(" |\n");
                if (i == 0) b.append("|").append(" --- |".repeat(rows.get(0).size())).append('\n');
            }
            b.append('\n');
        }

        @Override
        public String toString() {
            return b.toString();
        }
    }
}
