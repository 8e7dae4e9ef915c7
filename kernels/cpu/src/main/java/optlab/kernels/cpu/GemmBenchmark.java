package optlab.kernels.cpu;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import optlab.kernels.cpu.Parallel;
import optlab.kernels.cpu.Sgemm;

/**
 * SGEMM throughput on this machine, with the napkin math next to every figure.
 *
 * <p>Run it (from the repository root, JDK 25):
 * <pre>
 *   mvn -q -pl kernels compile
 *   $JAVA_HOME/bin/java --add-modules jdk.incubator.vector -XX:+UseParallelGC \
 *       -cp kernels/target/classes optlab.kernels.cpu.GemmBenchmark
 * </pre>
 * {@code -Doptlab.threads=N} sets the thread count (default: all processors).
 *
 * <p>What it reports:
 * <ol>
 *   <li>The ceiling, measured first in the same run: {@link Sgemm#microKernelLoop}, the full-size MR x NR
 *       micro-kernel alone on packed panels that sit in L1 (no packing, no C traffic), on one thread; and
 *       that figure times the thread count, the most the whole GEMM could reach on all threads.</li>
 *   <li>Square GEMMs (256, 512, 1024, 2048; NN) on all threads.</li>
 *   <li>The shapes the engine's layers produce, single-threaded (as the convolution runs them, one image per
 *       thread from its own parallel loop): the convolutions' forward GEMMs W x im2col (64x196x800 and
 *       32x784x25), their backward-data W^T dy (TN) and backward-weight dy im2col^T (NT) for the 64-filter
 *       layer, and the Linear 3136 -> 1024 layer at batch 256 in its three forms: forward x W^T (NT),
 *       backward-data dy W (NN), backward-weight dy^T x (TN).</li>
 * </ol>
 * Each figure is the median of several timed calls after a warm-up (long enough for the JIT to compile the
 * Vector API code; the first calls of a fresh JVM run interpreted and are orders of magnitude slower),
 * flops = 2 m n k, and "of ceiling" is the fraction of the matching ceiling (per core for single-threaded
 * rows, times the thread count for the others). The gap to the ceiling is the packing, the edge tiles that
 * compute padding, the C read-modify-write per KC block, and memory traffic of operands that leave cache.
 * On a shared machine the figures are noisy; repeat and keep the best stable run.
 */
public final class GemmBenchmark {
    private GemmBenchmark() {}

    /** Warm-up per measurement: at least this long and this many calls. */
    private static final long WARMUP_NANOS = 1_500_000_000L;
    private static final int WARMUP_CALLS = 5;
    /** Timed calls: enough for about this long, within [MIN_REPS, MAX_REPS]. */
    private static final long TIMED_NANOS = 1_000_000_000L;
    private static final int MIN_REPS = 7, MAX_REPS = 200;

    public static void main(String[] args) {
        Locale.setDefault(Locale.ROOT);
        int threads = Parallel.threads();
        System.out.printf("SGEMM benchmark: %d threads, Java %s, %s%n", threads, Runtime.version(),
                System.getProperty("os.arch"));
        System.out.printf("blocking: micro-tile MR x NR = %d x %d, KC = %d, MC = %d, NC = %d%n",
                Sgemm.MR, Sgemm.NR, Sgemm.KC, Sgemm.MC, Sgemm.NC);

        double perCore = microKernelGflops();
        double allCores = perCore * threads;
        System.out.printf("%nceiling: micro-kernel in L1 (%d x %d tile, kc = %d), one thread: %.1f GFLOP/s; x %d threads: %.1f GFLOP/s%n",
                Sgemm.MR, Sgemm.NR, Sgemm.KC, perCore, threads, allCores);

        System.out.printf("%n%-44s %8s %9s %9s%n", "square, all threads", "ms", "GFLOP/s", "of ceil.");
        for (int s : new int[] {256, 512, 1024, 2048}) {
            report(s + "x" + s + "x" + s + " NN", false, false, s, s, s, false, allCores);
        }

        System.out.printf("%n%-44s %8s %9s %9s%n", "layer shapes, one thread", "ms", "GFLOP/s", "of ceil.");
        report("conv 5x5 32->64, 14x14: forward      NN", false, false, 64, 196, 800, true, perCore);
        report("                        backward-data TN", true, false, 800, 196, 64, true, perCore);
        report("                        backward-wt   NT", false, true, 64, 800, 196, true, perCore);
        report("conv 5x5 1->32, 28x28:  forward      NN", false, false, 32, 784, 25, true, perCore);
        report("Linear 3136->1024, b256: forward x W^T NT", false, true, 256, 1024, 3136, true, perCore);
        report("                  backward-data dy W NN", false, false, 256, 3136, 1024, true, perCore);
        report("               backward-wt dy^T x    TN", true, false, 1024, 3136, 256, true, perCore);
    }

    /** Times one GEMM shape and prints ms, GFLOP/s and the fraction of {@code ceiling}. */
    private static void report(String label, boolean transA, boolean transB, int m, int n, int k,
                               boolean singleThread, double ceiling) {
        SplittableRandom rnd = new SplittableRandom(7);
        float[] a = random(rnd, m * k), b = random(rnd, k * n), c = new float[m * n];
        int lda = transA ? m : k, ldb = transB ? k : n;
        Runnable gemm = () -> Sgemm.sgemm(transA, transB, m, n, k, 1f, a, 0, lda, b, 0, ldb, 0f, c, 0, n);
        Runnable call = singleThread ? () -> serially(gemm) : gemm;
        double seconds = medianSeconds(call);
        double gflops = 2.0 * m * n * k / seconds / 1e9;
        System.out.printf("%-44s %8.3f %9.1f %8.0f%%%n", label + String.format(" (%dx%dx%d)", m, n, k),
                seconds * 1e3, gflops, 100 * gflops / ceiling);
    }

    /**
     * Runs {@code body} on the calling thread inside a parallel region, so that the GEMM in it runs serially:
     * exactly how the convolution calls it, once per image from its own parallel loop.
     */
    private static void serially(Runnable body) {
        Parallel.forRange(Parallel.threads(), 1, (from, to) -> {
            if (from == 0) body.run();
        });
    }

    /** The micro-kernel alone: kc = KC rank-1 updates of an MR x NR tile from packed panels in L1. */
    private static double microKernelGflops() {
        int kc = Sgemm.KC, reps = 1000;
        SplittableRandom rnd = new SplittableRandom(3);
        float[] ap = random(rnd, Sgemm.MR * kc), bp = random(rnd, kc * Sgemm.NR), tile = new float[Sgemm.MR * Sgemm.NR];
        double seconds = medianSeconds(() -> Sgemm.microKernelLoop(reps, kc, ap, bp, tile));
        return 2.0 * Sgemm.MR * Sgemm.NR * kc * reps / seconds / 1e9;
    }

    /** Warm-up, then the median time of the timed calls, in seconds. */
    private static double medianSeconds(Runnable call) {
        long start = System.nanoTime(), last = 0;
        int calls = 0;
        while (calls < WARMUP_CALLS || System.nanoTime() - start < WARMUP_NANOS) {
            long t0 = System.nanoTime();
            call.run();
            last = System.nanoTime() - t0;
            calls++;
        }
        double perCall = Math.max(1, last);
        int reps = (int) Math.max(MIN_REPS, Math.min(MAX_REPS, TIMED_NANOS / perCall));
        long[] t = new long[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            call.run();
            t[i] = System.nanoTime() - t0;
        }
        Arrays.sort(t);
        return t[reps / 2] / 1e9;
    }

    private static float[] random(SplittableRandom rnd, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        return x;
    }
}
