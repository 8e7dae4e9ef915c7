package optlab.kernels.cpu;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The CPU backend's parallel loop: {@code forRange(n, grain, body)} splits [0, n) into at most
 * {@link #threads()} contiguous chunks of at least {@code grain} elements and runs them on a fixed pool,
 * the calling thread taking the first chunk. A call from inside a parallel region runs serially, so
 * kernels may nest freely (a convolution parallel over images calls a GEMM that would otherwise split
 * too). Threads: {@code -Doptlab.threads=N}, else the number of available processors.
 */
public final class Parallel {
    private Parallel() {}

    private static final int THREADS = Math.max(1, Integer.getInteger("optlab.threads",
            Runtime.getRuntime().availableProcessors()));
    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> false);
    private static final ExecutorService POOL = Executors.newFixedThreadPool(Math.max(1, THREADS - 1), r -> {
        Thread t = new Thread(() -> {
            INSIDE.set(true);
            r.run();
        }, "optlab-cpu");
        t.setDaemon(true);
        return t;
    });

    /** Work on elements [from, to). */
    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    public static int threads() {
        return THREADS;
    }

    /** Runs body over [0, n) in chunks of at least {@code grain} elements; returns when all are done. */
    public static void forRange(int n, int grain, Range body) {
        if (n <= 0) return;
        int chunks = (int) Math.min(THREADS, Math.max(1, n / Math.max(1, (long) grain)));
        if (chunks <= 1 || INSIDE.get()) {
            body.run(0, n);
            return;
        }
        @SuppressWarnings("unchecked")
        Future<?>[] futures = new Future<?>[chunks - 1];
        for (int t = 1; t < chunks; t++) {
            int from = (int) ((long) n * t / chunks), to = (int) ((long) n * (t + 1) / chunks);
            futures[t - 1] = POOL.submit(() -> body.run(from, to));
        }
        Throwable failure = null;
        INSIDE.set(true);
        try {
            body.run(0, (int) ((long) n / chunks));
        } catch (Throwable e) {
            failure = e;
        } finally {
            INSIDE.set(false);
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) failure = e.getCause();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) failure = e;
            }
        }
        if (failure instanceof RuntimeException re) throw re;
        if (failure instanceof Error er) throw er;
        if (failure != null) throw new RuntimeException(failure);
    }
}
