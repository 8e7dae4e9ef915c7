package optlab.experiments.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.experiments.Cli;
import optlab.kernels.Backend;
import optlab.kernels.Backends;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.RandomDistribution;
import optlab.kernels.cpu.Parallel;
import optlab.nn.ParameterArena;
import optlab.nn.models.SimpleCnn;
import optlab.optim.Adam;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The CPU benchmarks of issue 2 (docs/BENCHMARKS.md): SGEMM GFLOP/s through the backend contract at
 * square sizes, and the simple CNN's training throughput (forward, loss, backward, Adam step) on
 * synthetic images, with the FLOPs of a training step counted from the layer shapes. Run with
 * {@code bin/bench}. Timings are medians of repeated runs after a warm-up (JIT compilation).
 *
 * <p>{@code --vs-pytorch [--rounds N] [--threads T] [--workloads a,b,...]} runs {@link TorchComparison} instead:
 * the issue-15 workloads' training steps in OptLab and in PyTorch (CPU), rounds alternated, both throughputs and
 * their ratio. {@code --profile [--workloads a,b,...] [--steps N] [--warmup W] [--threads T]} runs {@link StepProfiler}:
 * one OptLab training step of each of those workloads by op family and phase, with allocation and the time
 * between kernels.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "CPU benchmarks: GEMM and simple-CNN training throughput; with --vs-pytorch, "
        + "OptLab against PyTorch on the same training steps.")
public final class CpuBenchmark implements Callable<Integer> {
    @Option(names = "--gemm-sizes", split = ",", defaultValue = "256,512,1024,2048", description = "square GEMM sizes (default: ${DEFAULT-VALUE})")
    int[] gemmSizes;

    @Option(names = "--batch", defaultValue = "256", description = "CNN batch size (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--steps", defaultValue = "-1", description = "timed CNN training steps (default: 10; with --vs-pytorch: per round, 5; "
            + "with --profile: 5)")
    int steps;

    @Option(names = "--only", description = "gemm or cnn")
    String only;

    @Option(names = "--vs-pytorch", description = "OptLab against PyTorch (CPU) on the same training steps, rounds alternated; "
            + "needs a python3 with torch: OPTLAB_TORCH_PYTHON, else the usual places are searched")
    boolean vsPytorch;

    @Option(names = "--profile", description = "one OptLab training step of each --workloads by op family (forward, backward, "
            + "update), allocation and the time between kernels, the workloads in this one JVM: profile one at a time for figures "
            + "(docs/BENCHMARKS.md)")
    boolean profile;

    @Option(names = "--rounds", defaultValue = "3", description = "--vs-pytorch: rounds per workload and engine (default: ${DEFAULT-VALUE})")
    int rounds;

    @Option(names = "--warmup", defaultValue = "1", description = "--vs-pytorch: untimed steps before each round, the rounds "
            + TorchComparison.JIT_WARMUP_TEXT + "; --profile: before the timed steps, likewise (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--threads", defaultValue = "0", description = "--vs-pytorch, --profile: threads of both engines (default: OptLab's, "
            + "-Doptlab.threads or all processors)")
    int threads;

    @Option(names = "--workloads", split = ",", defaultValue = "fmnist_2c2d,resnet20,charlstm,resnet56,resnet20_nobn,densenet_bc40,charlstm_32x64",
            description = "--vs-pytorch, --profile: which (default: ${DEFAULT-VALUE})")
    List<String> workloads;

    @Spec
    CommandSpec spec;

    /** The environment {@code --vs-pytorch} looks for PyTorch in (a test substitutes its own). */
    Map<String, String> env = System.getenv();

    public static void main(String[] args) {
        System.exit(Cli.run(new CpuBenchmark(), args));
    }

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (vsPytorch && profile) throw new ParameterException(spec.commandLine(), "--profile and --vs-pytorch are two runs: give one");
        if (vsPytorch) return vsPytorch();
        if (profile) return profile();
        if (steps < 0) steps = 10;
        Backend be = Backends.of(Device.CPU);
        System.out.println("backend: " + be.name() + "; java " + System.getProperty("java.version") + "; "
                + Runtime.getRuntime().availableProcessors() + " processors");
        if (only == null || only.equals("gemm")) gemm();
        if (only == null || only.equals("cnn")) cnn();
        return 0;
    }

    /** {@code --vs-pytorch}: checks the options, finds PyTorch (exit 2 with how to get it if none), runs the rounds. */
    private int vsPytorch() throws IOException, InterruptedException {
        if (only != null) throw new ParameterException(spec.commandLine(), "--only does not go with --vs-pytorch (use --workloads)");
        if (rounds < 1) throw new ParameterException(spec.commandLine(), "--rounds must be at least 1, got " + rounds);
        if (steps < 0) steps = 5;
        if (steps < 1) throw new ParameterException(spec.commandLine(), "--steps must be at least 1, got " + steps);
        if (warmup < 0) throw new ParameterException(spec.commandLine(), "--warmup must not be negative, got " + warmup);
        if (threads < 0) throw new ParameterException(spec.commandLine(), "--threads must be positive, got " + threads);
        List<TorchComparison.Workload> chosen;
        try {
            chosen = TorchComparison.select(workloads);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        Path root = TorchComparison.root();
        String python;
        try {
            python = TorchComparison.findPython(env, root);
        } catch (TorchComparison.NoTorchException e) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("error: " + e.getMessage());
            err.println(TorchComparison.HOW_TO_GET_TORCH);
            err.flush();
            return 2;
        }
        // the OptLab side runs in JVMs of its own, started with -Doptlab.threads=t (TorchComparison.optLabCommand)
        int t = threads > 0 ? threads : Parallel.threads();
        new TorchComparison(chosen, rounds, warmup, steps, t, System.out).run(python, root);
        return 0;
    }

    /** {@code --profile}: checks the options, then profiles each workload's training step ({@link StepProfiler}). */
    private int profile() {
        if (only != null) throw new ParameterException(spec.commandLine(), "--only does not go with --profile (use --workloads)");
        if (steps < 0) steps = 5;
        if (steps < 1) throw new ParameterException(spec.commandLine(), "--steps must be at least 1, got " + steps);
        if (warmup < 0) throw new ParameterException(spec.commandLine(), "--warmup must not be negative, got " + warmup);
        if (threads < 0) throw new ParameterException(spec.commandLine(), "--threads must be positive, got " + threads);
        List<TorchComparison.Workload> chosen;
        try {
            chosen = TorchComparison.select(workloads);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (threads > 0) System.setProperty("optlab.threads", Integer.toString(threads));
        if (threads > 0 && Parallel.threads() != threads) {
            throw new ParameterException(spec.commandLine(), "--threads " + threads + ": OptLab's CPU pool already runs " + Parallel.threads()
                    + " threads in this JVM; pass -Doptlab.threads=" + threads + " (OPTLAB_JAVA_OPTS) instead");
        }
        System.out.println("java " + System.getProperty("java.version") + "; " + Runtime.getRuntime().availableProcessors() + " processors");
        for (TorchComparison.Workload w : chosen) {
            System.out.println();
            System.out.print(StepProfiler.profile(w, TorchComparison.JIT_WARMUP, warmup, steps).table());
        }
        return 0;
    }

    /**
     * Median of {@code reps} timings of {@code run}, in seconds, after at least {@code warmup} untimed runs and at
     * least one second of them (the Vector API code runs interpreted until C2 has compiled it).
     */
    static double medianSeconds(int warmup, int reps, Runnable run) {
        long until = System.nanoTime() + 1_000_000_000L;
        for (int i = 0; i < warmup || System.nanoTime() < until; i++) run.run();
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            run.run();
            t[i] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(t);
        return t[reps / 2];
    }

    private void gemm() {
        System.out.println("\nSGEMM C = A.B, row-major, float32 (2*n^3 flops per call)");
        System.out.println("     n     ms/call   GFLOP/s");
        Generator g = new Generator(1);
        for (int n : gemmSizes) {
            try (Scope s = Scope.open()) {
                Shape sh = Shape.of(n, n);
                Tensor a = Tensor.random(RandomDistribution.NORMAL, 0, 1, g, sh, DType.FLOAT32, Device.CPU);
                Tensor b = Tensor.random(RandomDistribution.NORMAL, 0, 1, g, sh, DType.FLOAT32, Device.CPU);
                Tensor c = Tensor.empty(sh, DType.FLOAT32, Device.CPU);
                int reps = n <= 512 ? 30 : n <= 1024 ? 10 : 5;
                double sec = medianSeconds(Math.max(3, reps / 3), reps, () -> Tensor.gemmInto(a, b, c, 0.0));
                System.out.printf("%6d %11.2f %9.1f%n", n, sec * 1e3, 2.0 * n * n * n / sec / 1e9);
            }
        }
    }

    /** Multiply-adds x2 of one fmnist_2c2d training step per image: forward, and the backward's two halves. */
    static double trainingFlopsPerImage() {
        double conv1 = 2.0 * 28 * 28 * 32 * (1 * 25), conv2 = 2.0 * 14 * 14 * 64 * (32 * 25);
        double fc1 = 2.0 * 3136 * 1024, fc2 = 2.0 * 1024 * 10;
        double forward = conv1 + conv2 + fc1 + fc2;
        // backward: weight gradients for all, input gradients for all but the first layer (its input needs none)
        double backward = conv1 + 2 * conv2 + 2 * fc1 + 2 * fc2;
        return forward + backward;
    }

    private void cnn() {
        System.out.printf("%nfmnist_2c2d training step (forward, cross-entropy, backward, Adam), batch %d, synthetic images%n", batch);
        SimpleCnn model = new SimpleCnn(new Generator(0));
        try (ParameterArena arena = ParameterArena.pack(model); Adam adam = new Adam(arena, 1e-4)) {
            Generator g = new Generator(2);
            Tensor x = Scope.escape(Tensor.rand(g, batch, 1, 28, 28));
            int[] labels = new int[batch];
            for (int i = 0; i < batch; i++) labels[i] = i % 10;
            Tensor y = Scope.escape(Tensor.ofInts(labels, batch));
            double[] phase = new double[3];
            Runnable step = () -> {
                try (Scope s = Scope.open()) {
                    long t0 = System.nanoTime();
                    Variable loss = Functional.crossEntropy(model.forward(new Variable(x)), y);
                    loss.item();
                    long t1 = System.nanoTime();
                    adam.zeroGrad();
                    loss.backward();
                    long t2 = System.nanoTime();
                    adam.step();
                    long t3 = System.nanoTime();
                    phase[0] += (t1 - t0) / 1e9;
                    phase[1] += (t2 - t1) / 1e9;
                    phase[2] += (t3 - t2) / 1e9;
                }
            };
            for (int i = 0; i < 3; i++) step.run(); // warm-up: JIT and the allocator's cache
            Arrays.fill(phase, 0);
            double[] t = new double[steps];
            for (int i = 0; i < steps; i++) {
                long t0 = System.nanoTime();
                step.run();
                t[i] = (System.nanoTime() - t0) / 1e9;
            }
            Arrays.sort(t);
            double sec = t[steps / 2];
            double flops = trainingFlopsPerImage() * batch;
            System.out.printf("median step %.1f ms: %.0f images/s; %.1f GFLOP/s (%.1f MFLOP per image)%n",
                    sec * 1e3, batch / sec, flops / sec / 1e9, trainingFlopsPerImage() / 1e6);
            System.out.printf("mean phases: forward+loss %.1f ms, backward %.1f ms, optimizer %.1f ms%n",
                    phase[0] / steps * 1e3, phase[1] / steps * 1e3, phase[2] / steps * 1e3);
            x.close();
            y.close();
        }
    }
}
