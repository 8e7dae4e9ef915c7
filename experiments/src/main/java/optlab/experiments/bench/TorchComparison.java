package optlab.experiments.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.kernels.Backend;
import optlab.kernels.Backends;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.RandomDistribution;
import optlab.nn.Module;
import optlab.nn.ParameterArena;
import optlab.nn.models.CharLstm;
import optlab.nn.models.CifarResNet;
import optlab.nn.models.DenseNetBC;
import optlab.nn.models.SimpleCnn;
import optlab.optim.Optimizer;
import optlab.optim.Presets;
import optlab.tensor.Generator;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/**
 * {@code bin/bench --vs-pytorch} (issue 15): the same training steps, with the same shapes, in OptLab and in
 * PyTorch on the CPU, alternated round by round (OptLab round 1, PyTorch round 1, OptLab round 2, ...) per
 * workload, so that both see the same machine load; per workload both throughputs (median over rounds, the
 * spread min-max) and their ratio.
 *
 * <p>The PyTorch side is {@code experiments/src/main/python/torch_steps.py}, run as a {@code --serve} process
 * that answers one line per round; the OptLab side, {@link #serve}, the same way in a JVM of its own. Both are
 * started afresh for each workload (see {@link #run}). PyTorch is never a dependency of the build or the tests: the python3 is found
 * at run time ({@link #findPython}); with none, the run says how to get one and exits 2.
 *
 * <p>One step is {@link ModelStepBenchmark#step}: forward in training mode, mean softmax cross-entropy, the loss
 * read back, zero the gradients, backward, the optimizer's step. A round is {@code warmup} untimed steps (more
 * in the first round: the JIT compiles OptLab's kernels then) and {@code steps} timed ones; its figure is the
 * throughput at its median step. Batches are synthetic, made once (the Python side makes the same kinds).
 */
final class TorchComparison {
    /** One workload: the same name, batch and optimizer in torch_steps.py's WORKLOADS. */
    record Workload(String name, String description, String unit, int batch, int length, int classes, String optimizer) {
        /** Images or tokens per step. */
        int items() {
            return length > 0 ? batch * length : batch;
        }
    }

    static final Map<String, Workload> WORKLOADS = new LinkedHashMap<>();

    private static void add(Workload w) {
        WORKLOADS.put(w.name(), w);
    }

    static {
        add(new Workload("fmnist_2c2d", "fmnist_2c2d, batch 256, Adam", "images/s", 256, 0, 10, "choi.adam"));
        add(new Workload("resnet20", "ResNet-20 with BN, batch 128, momentum", "images/s", 128, 0, 10, "choi.momentum"));
        add(new Workload("resnet56", "ResNet-56 with BN, batch 128, momentum", "images/s", 128, 0, 10, "choi.momentum"));
        add(new Workload("resnet20_nobn", "ResNet-20 without BN, batch 128, momentum", "images/s", 128, 0, 10, "choi.momentum"));
        add(new Workload("densenet_bc40", "DenseNet-BC-40 (k 12, 100 classes), batch 64, momentum", "images/s", 64, 0, 100,
                "choi.momentum"));
        add(new Workload("charlstm", "char LSTM 2 x 128 (vocab 83), batch 50 x 50, Adam", "tokens/s", 50, 50, 83, "choi.adam"));
        add(new Workload("charlstm_32x64", "char LSTM 2 x 128 (vocab 83), batch 32 x 64, Adam", "tokens/s", 32, 64, 83, "choi.adam"));
    }

    /** The workloads named in {@code names}, in that order; refuses an unknown one, listing the known. */
    static List<Workload> select(List<String> names) {
        List<Workload> out = new ArrayList<>();
        for (String n : names) {
            Workload w = WORKLOADS.get(n.strip().toLowerCase(Locale.ROOT));
            if (w == null) throw new IllegalArgumentException("--workloads: unknown workload '" + n + "'; known: " + String.join(", ", WORKLOADS.keySet()));
            if (!out.contains(w)) out.add(w);
        }
        if (out.isEmpty()) throw new IllegalArgumentException("--workloads: none given");
        return out;
    }

    /** One round's figure, as the machine-readable line both engines print (space-separated key=value). */
    record Round(String engine, String workload, int round, int items, String unit, int steps, double medianMs, double meanMs, double minMs,
                 double loss) {
        double throughput() {
            return items / (medianMs / 1e3);
        }

        String line() {
            return String.format(Locale.ROOT, "engine=%s workload=%s round=%d items=%d unit=%s steps=%d median_ms=%.3f mean_ms=%.3f min_ms=%.3f "
                    + "throughput=%.2f loss=%.4f", engine, workload, round, items, unit, steps, medianMs, meanMs, minMs, throughput(), loss);
        }

        /** Reads a {@link #line()} (the Python side's too); refuses a line that is not one. */
        static Round parse(String line) {
            Map<String, String> kv = new LinkedHashMap<>();
            for (String word : line.strip().split("\\s+")) {
                int eq = word.indexOf('=');
                if (eq > 0) kv.put(word.substring(0, eq), word.substring(eq + 1));
            }
            try {
                return new Round(kv.get("engine"), kv.get("workload"), Integer.parseInt(kv.get("round")), Integer.parseInt(kv.get("items")),
                        kv.get("unit"), Integer.parseInt(kv.get("steps")), Double.parseDouble(kv.get("median_ms")),
                        Double.parseDouble(kv.get("mean_ms")), Double.parseDouble(kv.get("min_ms")), Double.parseDouble(kv.get("loss")));
            } catch (RuntimeException e) {
                throw new IllegalStateException("not a measurement line: " + line, e);
            }
        }
    }

    /** The median of {@code v} (the mean of the middle two for an even count). */
    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static double[] throughputs(List<Round> rounds, String engine, String workload) {
        return rounds.stream().filter(r -> r.engine().equals(engine) && r.workload().equals(workload)).mapToDouble(Round::throughput).toArray();
    }

    /**
     * The summary table: per workload, each engine's median throughput over its rounds with the spread (fastest
     * and slowest round), and the ratio of the medians OptLab / PyTorch.
     */
    static String table(List<Workload> workloads, List<Round> rounds) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-56s %-9s %6s %-25s %-25s %s%n", "workload", "unit", "rounds", "OptLab median [min-max]",
                "PyTorch median [min-max]", "OptLab/PyTorch"));
        for (Workload w : workloads) {
            double[] o = throughputs(rounds, "optlab", w.name()), p = throughputs(rounds, "pytorch", w.name());
            if (o.length == 0 && p.length == 0) continue;
            String ratio = o.length > 0 && p.length > 0 ? String.format(Locale.ROOT, "%.2f", median(o) / median(p)) : "-";
            b.append(String.format(Locale.ROOT, "%-56s %-9s %6d %-25s %-25s %s%n", w.description(), w.unit(), Math.max(o.length, p.length),
                    spread(o), spread(p), ratio));
        }
        return b.toString();
    }

    private static String spread(double[] v) {
        if (v.length == 0) return "-";
        return String.format(Locale.ROOT, "%.1f [%.1f-%.1f]", median(v), Arrays.stream(v).min().orElseThrow(), Arrays.stream(v).max().orElseThrow());
    }

    // ---------------------------------------------------------------------------------------------------------
    // Finding PyTorch
    // ---------------------------------------------------------------------------------------------------------

    /** Says how to get a python3 with torch; the exit-2 message when there is none. */
    static final String HOW_TO_GET_TORCH = """
            --vs-pytorch needs a python3 that can `import torch` (the CPU build is enough); PyTorch is never a dependency of OptLab.
            Get one, for example from the machine's CPU wheel:
                python3 -m venv --system-site-packages /tmp/torchenv
                /tmp/torchenv/bin/pip install --no-index --no-deps /opt/wheels/torch-*+cpu-*.whl
            (elsewhere: pip install torch --index-url https://download.pytorch.org/whl/cpu; numpy too where python3 lacks it),
            then run again with OPTLAB_TORCH_PYTHON=/tmp/torchenv/bin/python3 (or leave it unset: the usual places are searched).""";

    /** Thrown when no usable python3 is found; the message names what was tried. */
    static final class NoTorchException extends Exception {
        NoTorchException(String message) {
            super(message);
        }
    }

    /**
     * The python3 to run torch_steps.py with: {@code OPTLAB_TORCH_PYTHON} when set (and then only it), else the
     * first of {@code $VIRTUAL_ENV/bin/python3}, {@code <root>/.venv/bin/python3}, {@code /tmp/torchenv/bin/python3}
     * and every {@code python3} on {@code PATH} that can {@code import torch}.
     */
    static String findPython(Map<String, String> env, Path root) throws NoTorchException {
        String forced = env.get("OPTLAB_TORCH_PYTHON");
        List<String> tried = new ArrayList<>();
        if (forced != null && !forced.isBlank()) {
            String why = torchProblem(forced);
            if (why == null) return forced;
            throw new NoTorchException("OPTLAB_TORCH_PYTHON=" + forced + ": " + why);
        }
        List<String> candidates = new ArrayList<>();
        if (env.get("VIRTUAL_ENV") != null) candidates.add(env.get("VIRTUAL_ENV") + "/bin/python3");
        candidates.add(root.resolve(".venv/bin/python3").toString());
        candidates.add("/tmp/torchenv/bin/python3");
        for (String dir : env.getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty()) candidates.add(dir + "/python3");
        }
        for (String c : candidates) {
            if (!Files.isExecutable(Path.of(c)) || tried.contains(c)) continue;
            String why = torchProblem(c);
            if (why == null) return c;
            tried.add(c + " (" + why + ")");
        }
        throw new NoTorchException("no python3 that can import torch" + (tried.isEmpty() ? "" : "; tried " + String.join(", ", tried)));
    }

    /** Null when {@code python} runs and imports torch; else why not, in a few words. */
    private static String torchProblem(String python) {
        if (!Files.isExecutable(Path.of(python))) return Files.exists(Path.of(python)) ? "not executable" : "no such file";
        try {
            Process p = new ProcessBuilder(python, "-c", "import torch").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "import torch took over 2 minutes";
            }
            if (p.exitValue() == 0) return null;
            String[] lines = out.split("\n");
            return "cannot import torch: " + lines[lines.length - 1];
        } catch (IOException e) {
            return "cannot run: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** The repository root: {@code -Doptlab.root} (bin/java-env sets it), else the working directory or a parent. */
    static Path root() {
        String r = System.getProperty("optlab.root");
        if (r != null) return Path.of(r);
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.exists(p.resolve(SCRIPT))) return p;
        }
        return Path.of("").toAbsolutePath();
    }

    static final String SCRIPT = "experiments/src/main/python/torch_steps.py";

    // ---------------------------------------------------------------------------------------------------------
    // The run
    // ---------------------------------------------------------------------------------------------------------

    private final List<Workload> workloads;
    private final int rounds, warmup, steps, threads;
    private final PrintStream out;

    TorchComparison(List<Workload> workloads, int rounds, int warmup, int steps, int threads, PrintStream out) {
        this.workloads = workloads;
        this.rounds = rounds;
        this.warmup = warmup;
        this.steps = steps;
        this.threads = threads;
        this.out = out;
    }

    /**
     * Runs every workload's alternated rounds; returns every round. Each workload gets a fresh OptLab JVM ({@link
     * #serve}, this JVM's java, class path and options) and a fresh PyTorch process ({@code python}), as a training
     * run would: run one after another in one JVM, the workloads share the JIT's profiles and compiled code, and a
     * later workload could run code compiled for an earlier one (the char LSTM's step took 48 ms after ResNet-20's
     * in one JVM, 38 ms alone, bin/bench --profile, 2026-12-06).
     */
    List<Round> run(String python, Path root) throws IOException, InterruptedException {
        Path script = root.resolve(SCRIPT);
        if (!Files.exists(script)) throw new IOException("the PyTorch side " + script + " is missing");
        List<Round> all = new ArrayList<>();
        boolean first = true;
        for (Workload w : workloads) {
            try (Server optlab = new Server("OptLab", optLabCommand(w, threads));
                 Server torch = new Server("the PyTorch side", List.of(python, script.toString(), "--serve", "--threads", Integer.toString(threads)))) {
                if (first) {
                    out.printf(Locale.ROOT, "OptLab: %s; PyTorch: %s (%s); each workload in a fresh JVM and Python process%n", optlab.ready,
                            torch.ready, python);
                    out.printf(Locale.ROOT, "%d rounds per workload, alternated (OptLab, PyTorch, ...), after %d steps on a model then "
                            + "replaced by a fresh one (JIT warm-up); a round: %d warm-up steps and %d timed; its figure: items/s at its "
                            + "median step%n", rounds, JIT_WARMUP, warmup, steps);
                    first = false;
                }
                String warm = String.format(Locale.ROOT, "warm %s %d", w.name(), JIT_WARMUP);
                for (Server s : List.of(optlab, torch)) s.ask(warm);
                for (int r = 1; r <= rounds; r++) {
                    String run = String.format(Locale.ROOT, "run %s %d %d %d", w.name(), warmup, steps, r);
                    for (Server s : List.of(optlab, torch)) {
                        Round round = Round.parse(s.ask(run));
                        out.println(round.line());
                        all.add(round);
                    }
                }
            }
        }
        out.println();
        out.print(table(workloads, all));
        return all;
    }

    /** The command of an OptLab {@link #serve} JVM for w: this JVM's java, options and class path. */
    static List<String> optLabCommand(Workload w, int threads) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-Doptlab.threads=") && !a.startsWith("-agentlib") && !a.startsWith("-javaagent")) cmd.add(a);
        }
        cmd.add("-Doptlab.threads=" + threads);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), TorchComparison.class.getName(), w.name()));
        return cmd;
    }

    /** A process that answers {@code run ...} lines with one line each, after a {@code ready ...} line. */
    private static final class Server implements AutoCloseable {
        private final String what;
        private final Process process;
        private final BufferedReader in;
        private final PrintWriter cmd;
        final String ready;

        Server(String what, List<String> command) throws IOException {
            this.what = what;
            process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            cmd = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
            String line = in.readLine();
            if (line == null || !line.startsWith("ready")) {
                process.destroyForcibly();
                throw new IOException(what + " did not start: " + line);
            }
            ready = line.substring(5).strip();
        }

        String ask(String line) throws IOException {
            cmd.println(line);
            String answer = in.readLine();
            if (answer == null || answer.startsWith("error")) throw new IOException(what + " failed: " + answer);
            return answer;
        }

        @Override
        public void close() throws InterruptedException {
            cmd.println("quit");
            cmd.close();
            if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly();
        }
    }

    /**
     * The OptLab side of one workload, in a JVM of its own ({@link #run} starts it): prints {@code ready <backend,
     * java>}, then answers each line on stdin until {@code quit} or the end of the input: {@code run WORKLOAD WARMUP
     * STEPS ROUND} with a round's line, {@code warm WORKLOAD STEPS} (STEPS untimed steps, then a fresh model and
     * optimizer from the same seed: see {@link #JIT_WARMUP}) with {@code warmed WORKLOAD STEPS}; {@code error <why>}
     * if it failed.
     */
    static void serve(String workload, BufferedReader in, PrintStream out) throws IOException {
        Workload w = select(List.of(workload)).get(0);
        Backend backend = Backends.of(Device.CPU);
        Session s = new Session(w, 0);
        try {
            out.println("ready backend " + backend.name() + ", java " + System.getProperty("java.version"));
            out.flush();
            for (String line; (line = in.readLine()) != null && !line.strip().equals("quit"); ) {
                String[] f = line.strip().split("\\s+");
                try {
                    if (f.length == 3 && f[0].equals("warm") && f[1].equals(w.name())) {
                        int n = Integer.parseInt(f[2]);
                        for (int i = 0; i < n; i++) s.step(null);
                        s.close();
                        s = new Session(w, 0);
                        out.println("warmed " + w.name() + " " + n);
                    } else if (f.length == 5 && f[0].equals("run") && f[1].equals(w.name())) {
                        out.println(s.round(Integer.parseInt(f[4]), Integer.parseInt(f[2]), Integer.parseInt(f[3])).line());
                    } else {
                        throw new IllegalArgumentException("expected 'run " + w.name() + " WARMUP STEPS ROUND' or 'warm " + w.name()
                                + " STEPS', got '" + line + "'");
                    }
                } catch (RuntimeException e) {
                    out.println("error " + e);
                }
                out.flush();
            }
        } finally {
            s.close();
        }
    }

    /** {@link #serve}'s JVM: {@code java ... optlab.experiments.bench.TorchComparison WORKLOAD}. */
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: TorchComparison WORKLOAD (started by bin/bench --vs-pytorch; answers 'run' lines on stdin)");
            System.exit(2);
        }
        serve(args[0], new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)), System.out);
        System.exit(0);
    }

    /**
     * Untimed steps each engine runs before a workload's rounds, on a model it then replaces by a fresh one from the same
     * seed, so that the rounds time compiled code (steady-state throughput, what a run of thousands of steps sees) on a
     * model early in training, as a real run's is. OptLab's JIT keeps compiling for a hundred steps and more: with 2
     * extra steps, its first rounds ran at 13,500-46,000 tokens/s against 56,000-80,000 later (2026-12-06); with 10, the
     * char LSTM's rounds spread 56,000-76,000 against PyTorch's steady 71,700-74,000, and one cold JVM's step medians
     * over windows of 50 steps went 39.1, 28.6, 26.9, 25.6, 26.4, 24.7 ms with about 800 compilations between its
     * steps 40 and 240 ({@code -XX:+PrintCompilation}; 2026-12-07). The fresh model matters: 100 more steps on the same
     * synthetic batch, without it, memorized the batch (PyTorch's char LSTM loss 0.35) and PyTorch's rounds then ran at
     * 21,000-70,000 tokens/s, two in five near 22,000 (2026-12-07), an artifact of the fixed batch. PyTorch has no JIT: the
     * warm-up costs it time, nothing else.
     */
    static final int JIT_WARMUP = 100;
    static final String JIT_WARMUP_TEXT = "after " + JIT_WARMUP + " steps on a model then replaced by a fresh one";

    /** One workload's OptLab model, optimizer and synthetic batch; closes them all. */
    static final class Session implements AutoCloseable {
        private final Workload w;
        private final Module model;
        private final ParameterArena arena;
        private final Optimizer opt;
        private final List<Tensor> data = new ArrayList<>();
        private final Supplier<Variable> forward;

        Session(Workload w, long seed) {
            this.w = w;
            Generator g = new Generator(seed);
            String name = w.name();
            if (name.startsWith("charlstm")) {
                CharLstm m = new CharLstm(w.classes(), g, new Generator(seed + 1));
                int n = w.batch() * w.length();
                int[] tokens = new int[n], targets = new int[n];
                for (int i = 0; i < n; i++) {
                    tokens[i] = (7 * i + 3) % w.classes();
                    targets[i] = (5 * i + 1) % w.classes();
                }
                Tensor x = keep(Tensor.ofInts(tokens, w.batch(), w.length())), y = keep(Tensor.ofInts(targets, w.batch(), w.length()));
                model = m;
                forward = () -> {
                    CharLstm.Output o = m.forward(x, null);
                    o.state().close();
                    return CharLstm.loss(o.logits(), y);
                };
            } else {
                Shape shape;
                if (name.equals("fmnist_2c2d")) {
                    model = new SimpleCnn(g);
                    shape = Shape.of(w.batch(), 1, 28, 28);
                } else if (name.startsWith("densenet_bc")) {
                    model = new DenseNetBC(Integer.parseInt(name.substring("densenet_bc".length())), 12, true, w.classes(), g);
                    shape = Shape.of(w.batch(), 3, 32, 32);
                } else {
                    int depth = Integer.parseInt(name.substring("resnet".length()).replace("_nobn", ""));
                    model = new CifarResNet(depth, !name.endsWith("_nobn"), w.classes(), g);
                    shape = Shape.of(w.batch(), 3, 32, 32);
                }
                int[] labels = new int[w.batch()];
                for (int i = 0; i < labels.length; i++) labels[i] = i % w.classes();
                Tensor x = keep(Tensor.random(RandomDistribution.NORMAL, 0, 1, new Generator(seed + 1), shape, DType.FLOAT32, Device.CPU));
                Tensor y = keep(Tensor.ofInts(labels, w.batch()));
                forward = () -> Functional.crossEntropy(model.forward(new Variable(x)), y);
            }
            arena = ParameterArena.pack(model);
            opt = Presets.get(w.optimizer()).create(arena);
        }

        private Tensor keep(Tensor t) {
            data.add(t);
            return t;
        }

        /** One training step, telling {@code phases} (may be null) as each part starts; returns the loss. */
        double step(ProfilingBackend phases) {
            return ModelStepBenchmark.step(opt, forward, phases);
        }

        Round round(int number, int warmupSteps, int timedSteps) {
            for (int i = 0; i < warmupSteps; i++) ModelStepBenchmark.step(opt, forward);
            double[] ms = new double[timedSteps];
            double loss = Double.NaN;
            for (int i = 0; i < timedSteps; i++) {
                long t0 = System.nanoTime();
                loss = ModelStepBenchmark.step(opt, forward);
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            return new Round("optlab", w.name(), number, w.items(), w.unit(), timedSteps, median(ms), Arrays.stream(ms).average().orElseThrow(),
                    Arrays.stream(ms).min().orElseThrow(), loss);
        }

        @Override
        public void close() {
            opt.close();
            arena.close();
            ModelStepBenchmark.free(model);
            for (Tensor t : data) t.close();
        }
    }
}
