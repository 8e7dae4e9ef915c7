package optlab.experiments.sweep;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import optlab.experiments.sweep.SweepDirectory.Status;
import optlab.experiments.sweep.TrialTable.Trial;

/**
 * {@code bin/optlab sweep run DIR --workers K}: every trial not yet done, K at a time, each in its own JVM
 * ({@code bin/optlab sweep run-task DIR --trial ID}), on this machine.
 *
 * <p>NOTE [jvm-per-trial]: a process per trial rather than threads in one JVM, because (1) a trial that runs out of
 * memory or crashes takes only itself down and is recorded as failed, the sweep goes on; (2) the engine has
 * process-wide state (each device's current backend with its kernel choices, the CPU thread pool's size, the allocator's cache) that trials must not
 * share; (3) it is exactly what a Slurm array task runs, so the two paths cannot differ. The cost is a JVM start per
 * trial (about a second here, against trials of minutes). Each worker's JVM uses {@code threads-per-worker} CPU threads
 * ({@code -Doptlab.threads}, default: the cores divided among the workers), so K workers do not oversubscribe the
 * machine; docs/WORKLOADS.md has the measurement. A worker JVM watches this process and exits when it dies, so a
 * killed sweep leaves no trial training behind: rerunning it resumes the interrupted trials from their checkpoints.
 */
public final class LocalRunner {
    private LocalRunner() {}

    /** Runs every runnable trial; returns the statuses of all trials afterwards. */
    public static Map<Status, Integer> run(SweepDirectory sweep, int workers, int threadsPerWorker, boolean retryFailed, PrintStream out) {
        List<Trial> all = sweep.trials();
        List<Trial> todo = sweep.runnable(all, retryFailed);
        out.printf("%s; running %d of them, %d at a time, %d CPU thread%s each%n", SweepDirectory.summary(sweep.counts(all)), todo.size(), workers,
                threadsPerWorker, threadsPerWorker == 1 ? "" : "s");
        if (todo.isEmpty()) return sweep.counts(all);
        Path root = Path.of(System.getProperty("optlab.root", "."));
        Path launcher = root.resolve("bin/optlab");
        if (!Files.isExecutable(launcher)) {
            throw new IllegalStateException("cannot find bin/optlab under " + root.toAbsolutePath() + " (set -Doptlab.root, as bin/optlab does)");
        }
        AtomicInteger done = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (Trial t : todo) {
                futures.add(pool.submit(() -> {
                    Status s = runChild(sweep, launcher, t, threadsPerWorker, retryFailed);
                    synchronized (out) {
                        out.printf("[%d/%d] %s %s%s%n", done.incrementAndGet(), todo.size(), t.id(), s.label(), describe(sweep, t, s));
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("a worker failed: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
        }
        Map<Status, Integer> counts = sweep.counts(all);
        out.println(SweepDirectory.summary(counts));
        return counts;
    }

    /** One trial in a child JVM; its output appended to logs/&lt;id&gt;.log. */
    private static Status runChild(SweepDirectory sweep, Path launcher, Trial t, int threads, boolean retryFailed) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(launcher.toString(), "sweep", "run-task", sweep.path().toAbsolutePath().toString(), "--trial", t.id(),
                "--exit-with-parent", Long.toString(ProcessHandle.current().pid())));
        if (retryFailed) cmd.add("--retry-failed");
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        env.put("OPTLAB_CLASSPATH", System.getProperty("java.class.path")); // the children run exactly this build
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("OPTLAB_JAVA_OPTS", (env.getOrDefault("OPTLAB_JAVA_OPTS", "") + " -Doptlab.threads=" + threads).strip());
        Path log = sweep.logFile(t.id());
        Files.createDirectories(log.getParent());
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Process p = pb.start();
        try {
            p.waitFor();
        } finally {
            if (p.isAlive()) p.destroyForcibly();
        }
        return sweep.status(t.id());
    }

    private static String describe(SweepDirectory sweep, Trial t, Status s) {
        var r = sweep.result(t.id());
        if (r == null) return " (see " + sweep.logFile(t.id()) + ")";
        if (s == Status.FAILED || s == Status.DIVERGED) return ": " + r.path("reason").asText();
        var fin = r.path("final");
        for (String k : new String[] {"valid_loss", "test_loss"}) if (fin.has(k)) return String.format(": %s %.4f", k, fin.get(k).asDouble());
        return "";
    }

    /** Default CPU threads per worker: the cores divided among the workers, at least one. */
    public static int defaultThreads(int workers) {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / workers);
    }
}
