package optlab.experiments.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.autograd.Variable;
import optlab.experiments.train.Progress;
import optlab.experiments.train.TrainingCheckpoint;
import optlab.kernels.DType;
import optlab.kernels.Backend;
import optlab.kernels.Backends;
import optlab.nn.Module;
import optlab.nn.ParameterArena;
import optlab.nn.io.Checkpoint;
import optlab.optim.Optimizer;
import optlab.optim.OptimizerConfig;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/**
 * Runs one training run into its {@link RunDirectory}: the general training loop of every workload, with evaluation,
 * metrics, checkpoints, divergence, failure, and exact resume.
 *
 * <p>A step, in order: the next batch's loss (times {@code loss_multiplier}, plus DeepOBS's L2 term where the workload
 * has one); the divergence check (a loss that is not finite, or above {@code divergence_factor * max(first loss,
 * chance loss)}, ends the run as {@code diverged} before that step touches the weights); zero the gradients; backward;
 * the L2 term's gradient; the optimizer's step (a non-finite gradient is skipped and counted, by default); then a
 * training record every {@code log_every_steps}, an evaluation at its cadence, a checkpoint every
 * {@code checkpoint_every} steps. At the end: a last evaluation, a checkpoint, {@code final.safetensors} and
 * {@code result.json}.
 *
 * <p>NOTE [exact-resume]: a checkpoint holds the model, the optimizer's state and step count, the dropout generator,
 * a language model's carried state, the steps done and the trainer's own running numbers (wall time, the first loss,
 * the open log interval, skipped steps). The data stream needs no state: the order of epoch e and every augmentation
 * draw are functions of (data_seed, e, position), so {@link Task#seek} restarts it at any batch. Hence a run killed at
 * any moment and resumed from its last checkpoint ends with the same bits as an uninterrupted one (on the CPU, where
 * every kernel is deterministic; {@code ResumeTest} kills child JVMs to check it), and metrics.jsonl holds each record
 * once ({@link MetricsLog#openForResume}).
 */
public final class Trainer {
    private Trainer() {}

    /** How a run ended. {@code status} is finished, diverged or failed. */
    public record Outcome(String status, long step, String reason, Map<String, Double> finalMetrics) {}

    /** Where and how the run was started, for config.json's {@code meta}. */
    public record Invocation(List<String> commandLine, Map<String, String> version) {}

    /** The trainer's own running numbers, saved in every checkpoint as {@code extra.trainer} (FLOAT64). */
    private static final int WALL = 0, FIRST_LOSS = 1, LOG_SUM = 2, LOG_STEPS = 3, LOG_WALL = 4, SKIPPED = 5, TRAINER_STATE = 6;

    /**
     * Trains {@code spec} into {@code dir}: afresh, or, where the directory holds a checkpoint of the same resolved
     * config, from that checkpoint. A directory whose run already ended returns its outcome without training.
     *
     * @throws IllegalArgumentException when the directory holds a run of another config (naming the differing keys)
     */
    public static Outcome run(RunSpec spec, RunDirectory dir, Invocation invocation, PrintStream out, Progress.Factory progress) {
        JsonNode recorded = dir.readConfig();
        JsonNode resolved = RunConfig.JSON.valueToTree(spec.config());
        if (recorded != null) {
            List<String> diff = differences(recorded.path("config"), resolved);
            if (!diff.isEmpty()) {
                throw new IllegalArgumentException("run directory " + dir.path() + " holds a run of another config (" + String.join("; ", diff)
                        + "); continue it with the same options (or bin/optlab train --run-dir " + dir.path() + " --resume), or use another directory");
            }
            JsonNode result = dir.readResult();
            if (result != null && !"failed".equals(result.path("status").asText())) {
                out.printf("run directory %s: this run already ended (%s at step %d); nothing to do%n", dir.path(), result.path("status").asText(),
                        result.path("step").asLong());
                return new Outcome(result.path("status").asText(), result.path("step").asLong(), result.path("reason").asText(null), Map.of());
            }
        }
        boolean resuming = recorded != null && Files.exists(dir.checkpointFile());
        for (String f : dir.removedLeftovers()) out.println("removed " + f + ", the leftover of a write killed midway");

        Instant start = Instant.now();
        // NOTE [kernel-choices]: opened before any tensor of the run exists, so every one of them runs on these choices
        Backend backend = Backends.open(spec.device(), spec.kernels());
        backend.kernelCalls().reset();
        try (Task task = Tasks.open(spec, out)) {
            Module model = task.model();
            RunConfig c = spec.config();
            boolean l2 = c.l2Regularization() > 0;
            // DeepOBS's L2 term covers the weights, not the biases: with one, the weights form one contiguous range
            try (ParameterArena arena = l2 ? ParameterArena.pack(model, (n, p) -> p.shape().rank() > 1 ? "weights" : "other")
                    : ParameterArena.pack(model)) {
                int spe = task.stepsPerEpoch();
                long total = spec.totalSteps(spe);
                OptimizerConfig oc = spec.optimizer(total, spe);
                try (Optimizer opt = oc.create(arena)) {
                    if (!resuming) {
                        try {
                            dir.removeEarlierAttempt();
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                        RunDirectory.writeJson(dir.configFile(), configRecord(spec, backend, resolved, task, opt, spe, total, invocation, start));
                    }
                    return new Loop(spec, dir, task, arena, opt, spe, total, out, progress).run(resuming);
                }
            }
        }
    }

    /** The keys whose values differ between a recorded config and a resolved one, as "key: recorded -> now". */
    static List<String> differences(JsonNode recorded, JsonNode now) {
        List<String> out = new ArrayList<>();
        for (String k : RunConfig.keys()) {
            JsonNode a = recorded.get(k), b = now.get(k);
            if (a == null && b == null) continue;
            if (a == null || b == null || !a.equals(b)) {
                // numbers: 1 and 1.0 are the same choice
                if (a != null && b != null && a.isNumber() && b.isNumber() && a.asDouble() == b.asDouble()) continue;
                out.add(k + ": " + (a == null ? "unset" : a) + " -> " + (b == null ? "unset" : b));
            }
        }
        return out;
    }

    private static ObjectNode configRecord(RunSpec spec, Backend backend, JsonNode resolved, Task task, Optimizer opt, int spe,
                                           long total, Invocation inv, Instant start) {
        ObjectNode root = RunDirectory.JSON.createObjectNode();
        root.set("config", resolved);
        ObjectNode derived = root.putObject("derived");
        derived.put("paper", spec.workload().paper());
        derived.put("workload_summary", spec.workload().summary());
        if (spec.workload().notes() != null) derived.put("workload_notes", spec.workload().notes());
        derived.put("steps_per_epoch", spe);
        derived.put("total_steps", total);
        derived.set("data", RunDirectory.JSON.valueToTree(task.record()));
        derived.put("parameters", task.model().parameterCount());
        try {
            derived.set("optimizer", RunDirectory.JSON.readTree(opt.settings().toJson()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        derived.set("kernels", RunDirectory.JSON.valueToTree(backend.kernelRecord()));
        ObjectNode meta = root.putObject("meta");
        inv.version().forEach(meta::put);
        meta.set("command_line", RunDirectory.JSON.valueToTree(inv.commandLine()));
        meta.put("host", host());
        meta.put("started_at", start.toString());
        meta.put("java", System.getProperty("java.version"));
        meta.put("backend", backend.name());
        meta.put("max_heap_bytes", Runtime.getRuntime().maxMemory());
        return root;
    }

    static String host() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** One run's loop and its running state. */
    private static final class Loop {
        final RunSpec spec;
        final RunConfig c;
        final RunDirectory dir;
        final Task task;
        final ParameterArena arena;
        final Optimizer opt;
        final int spe;
        final long total;
        final PrintStream out;
        final Progress.Factory progress;
        final HistogramProbe histogramProbe;
        final Tensor trainerState = Scope.escape(Tensor.zeros(Shape.of(TRAINER_STATE), DType.FLOAT64, optlab.kernels.Device.CPU));
        final double[] s = new double[TRAINER_STATE];
        long step;
        long attemptStartNanos;
        double attemptStartWall;
        Map<String, Double> lastEval = Map.of();

        Loop(RunSpec spec, RunDirectory dir, Task task, ParameterArena arena, Optimizer opt, int spe, long total, PrintStream out,
             Progress.Factory progress) {
            this.spec = spec;
            this.c = spec.config();
            this.dir = dir;
            this.task = task;
            this.arena = arena;
            this.opt = opt;
            this.spe = spe;
            this.total = total;
            this.out = out;
            this.progress = progress;
            this.histogramProbe = new HistogramProbe(arena, opt);
            s[FIRST_LOSS] = Double.NaN;
        }

        Map<String, Tensor> extras() {
            Map<String, Tensor> m = new LinkedHashMap<>(task.carriedState());
            m.put("trainer", trainerState);
            return m;
        }

        Outcome run(boolean resuming) {
            MetricsLog metrics;
            try {
                if (resuming) {
                    TrainingCheckpoint.Restored r = TrainingCheckpoint.load(dir.checkpointFile(), task.model(), arena, opt, List.of(), extras(),
                            Boolean.TRUE.equals(c.allowNonFinite()));
                    step = r.step();
                    System.arraycopy(trainerState.toDoubleArray(), 0, s, 0, TRAINER_STATE);
                    metrics = MetricsLog.openForResume(dir.metricsFile(), step);
                } else {
                    metrics = MetricsLog.create(dir.metricsFile());
                }
            } catch (optlab.nn.io.CheckpointException e) {
                throw new IllegalArgumentException("cannot resume: " + e.getMessage() + " (start afresh in another --run-dir, or pass "
                        + "--allow-non-finite where the problem is a NaN or an infinity)", e);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot " + (resuming ? "resume from " + dir.checkpointFile() : "start " + dir.metricsFile()), e);
            }
            attemptStartNanos = System.nanoTime();
            attemptStartWall = s[WALL];
            try (metrics) {
                if (resuming) {
                    out.printf("resuming %s at step %d of %d (epoch %.2f)%n", dir.path(), step, total, (double) step / spe);
                    metrics.write("resume", step, ordered("wall_time", wall(), "time", Instant.now().toString()));
                }
                return loop(metrics);
            } catch (OutOfMemoryError e) {
                optlab.kernels.cpu.CpuBackend.get().emptyCache(); // the step's freed arrays went back to the cache: let them go
                String reason = "out of memory at step " + (step + 1) + " with batch_size " + c.batchSize() + " (Java heap "
                        + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB): lower --batch-size, or raise the heap, e.g. "
                        + "OPTLAB_HEAP=-Xmx16g bin/optlab train ...";
                finish("failed", reason, Map.of());
                throw new RunFailedException(reason, e);
            } catch (RuntimeException e) {
                String reason = e.getClass().getSimpleName() + ": " + e.getMessage() + " (at step " + (step + 1) + ")";
                finish("failed", reason, Map.of());
                throw e;
            }
        }

        double wall() {
            return attemptStartWall + (System.nanoTime() - attemptStartNanos) / 1e9;
        }

        private Outcome loop(MetricsLog metrics) {
            double l2 = c.l2Regularization(), mult = c.lossMultiplier(), smoothing = c.labelSmoothing();
            boolean seekNeeded = true;
            Progress bar = null;
            try {
                while (step < total) {
                    int epoch = (int) (step / spe) + 1, batch = (int) (step % spe);
                    if (seekNeeded || batch == 0) {
                        task.seek(epoch, batch);
                        seekNeeded = false;
                    }
                    if (bar == null) bar = progress.create(segmentName(epoch), segmentEnd() - step);
                    Hooks.atStep(step);
                    double value;
                    Map<String, Object> histogram = null;
                    try (Scope scope = Scope.open()) {
                        Variable loss = task.nextLoss(smoothing);
                        if (mult != 1) loss = loss.mul(mult);
                        value = loss.item();
                        if (l2 > 0) value += l2 / 2 * sumOfSquaredWeights();
                        String diverged = divergence(value);
                        if (diverged != null) {
                            if (bar != null) bar.close();
                            bar = null;
                            writeTrainRecord(metrics, value, true);
                            out.println("diverged: " + diverged);
                            return finish("diverged", diverged, lastEval);
                        }
                        opt.zeroGrad();
                        loss.backward();
                        if (l2 > 0) addWeightGradient(l2);
                        Hooks.reached("mid-step");
                        boolean probe = HistogramProbe.due(step + 1, c, spe);
                        if (probe) histogramProbe.beforeStep();
                        boolean applied = opt.step();
                        if (!applied) s[SKIPPED]++;
                        if (probe) histogram = histogramProbe.afterStep(applied);
                        task.afterStep();
                    }
                    step++;
                    Hooks.atStep(step);
                    s[LOG_SUM] += value;
                    s[LOG_STEPS]++;
                    bar.step(value);
                    if (histogram != null) {
                        Map<String, Object> rec = ordered("epoch", (double) step / spe);
                        rec.putAll(histogram);
                        metrics.write("histogram", step, rec);
                    }
                    boolean evalNow = evalDue(), end = step == total;
                    if (step % c.logEverySteps() == 0 || end) writeTrainRecord(metrics, value, false);
                    if (evalNow || end || step == segmentEndOf(step - 1)) {
                        bar.close();
                        bar = null;
                    }
                    if (evalNow || end) {
                        Map<String, Double> m = task.evaluate();
                        lastEval = m;
                        Map<String, Object> rec = ordered("epoch", (double) step / spe, "wall_time", wall());
                        rec.putAll(m);
                        metrics.write("eval", step, rec);
                        out.println(evalLine(m));
                        for (var e : m.entrySet()) {
                            if (e.getKey().endsWith("_loss") && !Double.isFinite(e.getValue())) {
                                return finish("diverged", e.getKey() + " is " + e.getValue() + " at step " + step, m);
                            }
                        }
                    }
                    if (end || (c.checkpointEvery() > 0 && step % c.checkpointEvery() == 0)) checkpoint(metrics);
                }
            } finally {
                if (bar != null) bar.close();
            }
            saveFinalWeights();
            return finish("finished", null, lastEval);
        }

        /** Null when the loss is acceptable, else why the run diverged. Remembers the first loss of the run. */
        String divergence(double value) {
            if (!Double.isFinite(value)) {
                return "the training loss is " + value + " at step " + (step + 1) + " (that step was not applied)";
            }
            if (Double.isNaN(s[FIRST_LOSS])) s[FIRST_LOSS] = value;
            double bound = c.divergenceFactor() * Math.max(s[FIRST_LOSS], task.chanceLoss() * c.lossMultiplier());
            if (value > bound) {
                return String.format("the training loss %.6g at step %d exceeds the bound %.6g = divergence_factor %g x max(first loss %.6g, "
                                + "chance loss %.6g) (that step was not applied)", value, step + 1, bound, c.divergenceFactor(), s[FIRST_LOSS],
                        task.chanceLoss() * c.lossMultiplier());
            }
            return null;
        }

        boolean evalDue() {
            if (c.evalEverySteps() != null && c.evalEverySteps() > 0) return step % c.evalEverySteps() == 0;
            int every = c.evalEveryEpochs() == null ? 0 : c.evalEveryEpochs();
            return every > 0 && step % spe == 0 && (step / spe) % every == 0;
        }

        /** The step at which the progress segment holding step {@code from + 1} ends: the next eval, epoch end or the end. */
        long segmentEndOf(long from) {
            long epochEnd = (from / spe + 1) * spe;
            long end = Math.min(total, epochEnd);
            if (c.evalEverySteps() != null && c.evalEverySteps() > 0) end = Math.min(end, (from / c.evalEverySteps() + 1) * c.evalEverySteps());
            return end;
        }

        long segmentEnd() {
            return segmentEndOf(step);
        }

        String segmentName(int epoch) {
            return c.steps() != null || c.evalEverySteps() != null && c.evalEverySteps() > 0
                    ? String.format("steps %d-%d/%d", step + 1, segmentEnd(), total) : "epoch " + epoch + "/" + (total + spe - 1) / spe;
        }

        void writeTrainRecord(MetricsLog metrics, double value, boolean diverged) {
            double w = wall();
            double n = s[LOG_STEPS];
            Map<String, Object> rec = ordered("epoch", (double) step / spe, "lr", opt.config().lr() * opt.config().schedule().multiplier(Math.max(1, opt.stepCount())));
            if (diverged) {
                rec.put("loss", value);
                rec.put("steps", 1);
                rec.put("diverged", true);
            } else {
                rec.put("loss", s[LOG_SUM] / n);
                rec.put("steps", (long) n);
                rec.put("examples_per_second", n * task.examplesPerStep() / Math.max(1e-9, w - s[LOG_WALL]));
            }
            rec.put("wall_time", w);
            metrics.write("train", step, rec);
            s[LOG_SUM] = 0;
            s[LOG_STEPS] = 0;
            s[LOG_WALL] = w;
        }

        String evalLine(Map<String, Double> m) {
            StringBuilder sb = new StringBuilder(String.format("step %d/%d (epoch %.2f):", step, total, (double) step / spe));
            for (String split : new String[] {"train", "valid", "test"}) {
                Double loss = m.get(split + "_loss");
                if (loss == null) continue;
                sb.append(String.format(" %s loss %.4f", split, loss));
                Double acc = m.get(split + "_accuracy");
                if (acc != null) sb.append(String.format(" acc %.2f%%", 100 * acc));
                Double ppl = m.get(split + "_perplexity");
                if (ppl != null) sb.append(String.format(" ppl %.3f", ppl));
                sb.append(';');
            }
            sb.append(String.format(" %.1f s", wall()));
            return sb.toString();
        }

        double sumOfSquaredWeights() {
            ParameterArena.Group g = arena.group("weights");
            try (Tensor w = arena.values().narrow(0, g.offset(), g.numel()); Tensor sq = w.square(); Tensor sum = sq.sum()) {
                return sum.item();
            }
        }

        void addWeightGradient(double l2) {
            ParameterArena.Group g = arena.group("weights");
            try (Tensor w = arena.values().narrow(0, g.offset(), g.numel()); Tensor gr = arena.grads().narrow(0, g.offset(), g.numel());
                 Tensor scaled = w.mul(l2)) {
                gr.addInPlace(scaled);
            }
        }

        void checkpoint(MetricsLog metrics) {
            metrics.sync();
            s[WALL] = wall();
            trainerState.copyFrom(Tensor.of(s.clone(), TRAINER_STATE));
            try {
                TrainingCheckpoint.save(dir.checkpointFile(), task.model(), arena, opt, Map.of(), extras(), step / spe, step);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + dir.checkpointFile(), e);
            }
        }

        void saveFinalWeights() {
            try {
                Checkpoint.saveModel(dir.finalWeightsFile(), task.model(), Map.of("workload", spec.workload().name(), "step", Long.toString(step)));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + dir.finalWeightsFile(), e);
            }
        }

        Outcome finish(String status, String reason, Map<String, Double> finalMetrics) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("status", status);
            r.put("step", step);
            r.put("total_steps", total);
            r.put("epoch", (double) step / spe);
            r.put("reason", reason);
            r.put("final", finalMetrics);
            r.put("best", best());
            r.put("skipped_steps", (long) s[SKIPPED]);
            r.put("optimizer_steps", opt.stepCount());
            r.put("wall_time", wall());
            // what ran, beside config.json's derived.kernels (what was chosen): calls per op=variant in this process
            r.put("kernel_calls", Backends.of(spec.device()).kernelCalls().snapshot());
            r.put("ended_at", Instant.now().toString());
            RunDirectory.writeJson(dir.resultFile(), r);
            out.printf("%s: %s at step %d of %d%s; results in %s%n", spec.workload().name(), status, step, total,
                    reason == null ? "" : " (" + reason + ")", dir.path());
            return new Outcome(status, step, reason, finalMetrics);
        }

        /** The best value of every eval metric over the run (lowest loss and perplexity, highest accuracy) and its step. */
        Map<String, Object> best() {
            Map<String, Object> out = new LinkedHashMap<>();
            List<JsonNode> records;
            try {
                records = MetricsLog.read(dir.metricsFile());
            } catch (IOException e) {
                return out;
            }
            Map<String, double[]> best = new LinkedHashMap<>();
            for (JsonNode r : records) {
                if (!"eval".equals(r.path("kind").asText())) continue;
                r.fields().forEachRemaining(f -> {
                    String k = f.getKey();
                    if (!f.getValue().isNumber() || !(k.endsWith("_loss") || k.endsWith("_accuracy") || k.endsWith("_perplexity"))) return;
                    double v = f.getValue().asDouble();
                    boolean higher = k.endsWith("_accuracy");
                    double[] b = best.get(k);
                    if (b == null || (higher ? v > b[0] : v < b[0])) best.put(k, new double[] {v, r.path("step").asLong()});
                });
            }
            for (var e : best.entrySet()) out.put(e.getKey(), ordered("value", e.getValue()[0], "step", (long) e.getValue()[1]));
            return out;
        }
    }

    static Map<String, Object> ordered(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    /** A run that ended as failed; its result.json says why. */
    public static final class RunFailedException extends RuntimeException {
        public RunFailedException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
