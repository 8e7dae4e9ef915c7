package optlab.experiments.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import optlab.kernels.Backend;
import optlab.kernels.Backends;
import optlab.kernels.Device;

/**
 * {@code bin/bench --profile} (issue 15): where one OptLab training step of a {@link TorchComparison} workload spends
 * its time, by op family (gemm, conv2d.forward, conv2d.backward_data, conv2d.backward_filter, batchnorm.*, unary.*,
 * binary.*, reduce.*, copy, fused.*, allocate, free, ...) in each phase of the step (forward with the loss, backward,
 * update, cleanup: the step's scope freeing its temporaries), and the rest of each phase's wall time as "other": Java
 * between the kernels (autograd, shape checks, the allocator's bookkeeping outside allocate/free) and idle time.
 *
 * <p>The step is {@link ModelStepBenchmark#step}, the one {@code --vs-pytorch} times, with a {@link ProfilingBackend}
 * installed as the CPU's backend while the workload's model, optimizer and batch are made and run, and the plain
 * backend put back afterwards. Figures are means over the timed steps, after warm-up steps (JIT compilation). The
 * per-call cost of the decorator (two clock reads, a wrapper per operand) lands in "other", so a profiled step is a
 * little slower than a timed one; compare its shares, and take throughputs from {@code --vs-pytorch}.
 */
final class StepProfiler {
    private StepProfiler() {}

    /** One line of the table: a family in a phase (or "other", or a phase's total), per step. */
    record Row(String phase, String family, double callsPerStep, double msPerStep, double percentOfStep) {}

    /** One workload's profile: the rows of every phase in order, and the mean step wall time. */
    record Profile(TorchComparison.Workload workload, String backend, int jitSteps, int warmup, int steps, double wallMsPerStep, List<Row> rows) {
        /** The family rows (not "other" nor the totals). */
        List<Row> families() {
            return rows.stream().filter(r -> !r.family().equals(OTHER) && !r.family().equals(TOTAL)).toList();
        }

        /** Milliseconds per step of the family rows together. */
        double kernelMsPerStep() {
            return families().stream().mapToDouble(Row::msPerStep).sum();
        }

        /** The row of {@code family} in {@code phase}, or null. */
        Row row(ProfilingBackend.Phase phase, String family) {
            return rows.stream().filter(r -> r.phase().equals(phase.label()) && r.family().equals(family)).findFirst().orElse(null);
        }

        /** Per family group (the family's name up to its first dot), over all phases: calls and ms per step, largest first. */
        List<Row> byGroup() {
            Map<String, double[]> g = new LinkedHashMap<>();
            for (Row r : families()) {
                int dot = r.family().indexOf('.');
                double[] v = g.computeIfAbsent(dot < 0 ? r.family() : r.family().substring(0, dot), k -> new double[2]);
                v[0] += r.callsPerStep();
                v[1] += r.msPerStep();
            }
            List<Row> out = new ArrayList<>();
            g.forEach((k, v) -> out.add(new Row("all", k, v[0], v[1], 100 * v[1] / wallMsPerStep)));
            out.sort(Comparator.comparingDouble(Row::msPerStep).reversed());
            double other = wallMsPerStep - kernelMsPerStep();
            out.add(new Row("all", OTHER, 0, other, 100 * other / wallMsPerStep));
            return out;
        }

        String table() {
            StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "%s: one training step by op family, mean of %d steps after %d warm-up "
                    + "(and %d on a model thrown away); %s; step %.1f ms%n", workload.description(), steps, warmup, jitSteps, backend, wallMsPerStep));
            b.append(String.format(Locale.ROOT, "%-9s %-34s %10s %10s %9s%n", "phase", "family", "calls/step", "ms/step", "% of step"));
            for (Row r : rows) {
                String calls = r.family().equals(OTHER) ? "" : String.format(Locale.ROOT, "%.0f", r.callsPerStep());
                b.append(String.format(Locale.ROOT, "%-9s %-34s %10s %10.2f %9.1f%n", r.phase(), r.family(), calls, r.msPerStep(),
                        r.percentOfStep()));
            }
            b.append(String.format(Locale.ROOT, "%-9s %-34s %10s %10.2f %9.1f%n", "step", "kernels (all families)", "", kernelMsPerStep(),
                    100 * kernelMsPerStep() / wallMsPerStep));
            b.append(String.format(Locale.ROOT, "%-9s %-34s %10s %10.2f %9.1f%n", "step", OTHER, "", wallMsPerStep - kernelMsPerStep(),
                    100 * (wallMsPerStep - kernelMsPerStep()) / wallMsPerStep));
            b.append(String.format(Locale.ROOT, "%-9s %-34s %10s %10.2f %9.1f%n%n", "step", "wall", "", wallMsPerStep, 100.0));
            b.append(String.format(Locale.ROOT, "by family group, all phases:%n"));
            for (Row r : byGroup()) {
                String calls = r.family().equals(OTHER) ? "" : String.format(Locale.ROOT, "%.0f", r.callsPerStep());
                b.append(String.format(Locale.ROOT, "%-9s %-34s %10s %10.2f %9.1f%n", "", r.family(), calls, r.msPerStep(), r.percentOfStep()));
            }
            return b.toString();
        }
    }

    static final String OTHER = "other (Java, idle)";
    static final String TOTAL = "= phase wall";

    /**
     * Profiles {@code warmup} untimed then {@code steps} timed training steps of {@code w} (its model, optimizer and
     * batch made with the profiling backend installed as the CPU's, which is put back before this returns), after
     * {@code jitSteps} untimed steps on a model of its own that is then thrown away (TorchComparison#JIT_WARMUP).
     */
    static Profile profile(TorchComparison.Workload w, int jitSteps, int warmup, int steps) {
        if (steps < 1) throw new IllegalArgumentException("profile: steps must be at least 1, got " + steps);
        Backend plain = Backends.of(Device.CPU);
        ProfilingBackend prof = new ProfilingBackend(plain instanceof ProfilingBackend p ? p.inner() : plain);
        Backend previous = Backends.install(prof);
        try {
            try (TorchComparison.Session jit = new TorchComparison.Session(w, 0)) {
                steps(jit, prof, jitSteps);
            }
            return profileFresh(w, prof, jitSteps, warmup, steps);
        } finally {
            Backends.install(previous);
        }
    }

    private static Profile profileFresh(TorchComparison.Workload w, ProfilingBackend prof, int jitSteps, int warmup, int steps) {
        try (TorchComparison.Session s = new TorchComparison.Session(w, 0)) {
            steps(s, prof, warmup);
            prof.stop();
            prof.reset();
            steps(s, prof, steps);
            prof.stop();
            return summarize(w, prof, jitSteps, warmup, steps);
        }
    }

    /** {@code n} training steps of {@code s}, each starting in the forward phase. */
    private static void steps(TorchComparison.Session s, ProfilingBackend prof, int n) {
        for (int i = 0; i < n; i++) {
            prof.phase(ProfilingBackend.Phase.FORWARD);
            s.step(prof);
        }
    }

    private static Profile summarize(TorchComparison.Workload w, ProfilingBackend prof, int jitSteps, int warmup, int steps) {
        double wall = 0;
        for (ProfilingBackend.Phase p : ProfilingBackend.Phase.values()) wall += prof.phaseNanos(p) / 1e6 / steps;
        List<Row> rows = new ArrayList<>();
        for (ProfilingBackend.Phase p : ProfilingBackend.Phase.values()) {
            List<Row> phaseRows = new ArrayList<>();
            long calls = 0, nanos = 0;
            for (Map.Entry<String, long[]> e : prof.tallies(p).entrySet()) {
                long[] t = e.getValue();
                calls += t[0];
                nanos += t[1];
                double ms = t[1] / 1e6 / steps;
                phaseRows.add(new Row(p.label(), e.getKey(), (double) t[0] / steps, ms, 100 * ms / wall));
            }
            phaseRows.sort(Comparator.comparingDouble(Row::msPerStep).reversed());
            rows.addAll(phaseRows);
            double phaseMs = prof.phaseNanos(p) / 1e6 / steps, other = phaseMs - nanos / 1e6 / steps;
            rows.add(new Row(p.label(), OTHER, 0, other, 100 * other / wall));
            rows.add(new Row(p.label(), TOTAL, (double) calls / steps, phaseMs, 100 * phaseMs / wall));
        }
        return new Profile(w, prof.name(), jitSteps, warmup, steps, wall, rows);
    }
}
