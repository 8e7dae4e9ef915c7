package optlab.experiments.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;
import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.experiments.Cli;
import optlab.experiments.DeviceOptions;
import optlab.experiments.Results;
import optlab.kernels.Backend;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.KernelChoices;
import optlab.kernels.RandomDistribution;
import optlab.nn.Module;
import optlab.nn.ParameterArena;
import optlab.nn.models.CharLstm;
import optlab.nn.models.CifarResNet;
import optlab.optim.Optimizer;
import optlab.optim.OptimizerConfig;
import optlab.optim.Presets;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Training-step throughput of whole models (the CUDA issue's "one ResNet-20 and one ResNet-56 training step
 * (batch 128) in images/s"): CIFAR ResNet-20 and ResNet-56 with batch norm ({@link CifarResNet}), 32x32 inputs,
 * on any device; and, with {@code --models charlstm}, DeepOBS's character LSTM ({@link CharLstm}, vocabulary 83,
 * batches of 50 sequences of 50 tokens, dropout on) in tokens/s, where {@code --kernels lstm=cudnn} compares
 * cuDNN's LSTM with the own kernels.
 *
 * <p>One step is what {@code ClassifierTraining.trainEpoch} does per batch: forward in training mode (batch
 * statistics, running statistics updated), softmax cross-entropy, the loss read back to the host, zeroing the
 * gradients, backward, and the optimizer's step (its non-finite gradient check included) over the model's flat
 * arena (SGD momentum 0.9 at lr 0.01 by default, He et al.'s warm-up rate for deep CIFAR ResNets: the same random
 * batch over and over diverges at 0.1, and a NaN would stop the run). The batch is synthetic (N(0, 1) pixels,
 * labels i mod classes; for the LSTM, tokens and targets (7i + 3) and (5i + 1) mod 83), made once on the device, so no host transfer is timed (a data loader overlaps it in
 * practice). Each step is timed alone, from its start to the end of its work on the device
 * ({@link Backend#synchronize()}), after warm-up steps; the figure is images (or tokens) per second at the median step time,
 * with the mean and the fastest step beside it.
 *
 * <p>Napkin math: a forward is 41 M multiply-adds per 32x32 image for ResNet-20 (0.08 GFLOP) and 125 M for
 * ResNet-56 (0.25 GFLOP); a training step costs about three forwards, so batch 128 is about 31 and 96 GFLOP per
 * step. At the FP32 peak of an H100 or H200 (67 TFLOP/s, no tensor cores) that is 0.5 and 1.4 ms, a bound of
 * about 275,000 and 90,000 images/s; models this small are bound by kernel launches, batch norm and memory
 * traffic long before that, so the useful comparison is PyTorch's step on the same GPU (bin/gpu-run measures it).
 *
 * <pre>
 *   (source bin/java-env; optlab_run_main optlab.experiments.bench.ModelStepBenchmark --device cuda)
 *   options: --device cpu|cuda[:N]  --models resnet20,resnet56[,charlstm]  --batch-size 128  --warmup N  --steps N
 *            --lstm-batch 50  --lstm-length 50
 *            --optimizer PRESET  --lr X  --kernels SPEC  --out FILE.tsv  --results FILE.json  --image-size 32
 * </pre>
 * Defaults: 3 warm-up and 20 timed steps on a GPU, 1 and 3 on the CPU. {@code --out} writes GpuBenchmark's
 * TSV columns (bin/gpu-run merges them into its summary). The kernel choices are printed at start and recorded
 * in both files.
 */
@Command(name = "bench-model-step", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Training-step throughput (images/s) of CIFAR ResNet-20 and ResNet-56 with batch norm, on a device.")
public final class ModelStepBenchmark implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    DeviceOptions deviceOptions;

    @Option(names = "--models", split = ",", defaultValue = "resnet20,resnet56",
            description = "resnetD with D = 6n+2, or charlstm (default: ${DEFAULT-VALUE})")
    List<String> models;

    @Option(names = "--lstm-batch", defaultValue = "50", description = "charlstm: sequences per step (default: ${DEFAULT-VALUE}, DeepOBS's)")
    int lstmBatch;

    @Option(names = "--lstm-length", defaultValue = "50", description = "charlstm: tokens per sequence (default: ${DEFAULT-VALUE}, DeepOBS's)")
    int lstmLength;

    @Option(names = "--batch-size", defaultValue = "128", description = "images per step (default: ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--image-size", defaultValue = "32", description = "height and width; CIFAR's 32 (smaller: smoke tests only)")
    int imageSize;

    @Option(names = "--warmup", defaultValue = "-1", description = "untimed steps first (default: 3 on a GPU, 1 on the CPU)")
    int warmup;

    @Option(names = "--steps", defaultValue = "-1", description = "timed steps (default: 20 on a GPU, 3 on the CPU)")
    int steps;

    @Option(names = "--optimizer", defaultValue = "choi.momentum", description = "optimizer preset (default: ${DEFAULT-VALUE})")
    String preset;

    @Option(names = "--lr", defaultValue = "0.01", description = "learning rate (default: ${DEFAULT-VALUE}; 0.1 diverges on one repeated "
            + "random batch within a few steps of ResNet-56)")
    double lr;

    @Option(names = "--seed", defaultValue = "0", description = "initialization and data (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--out", description = "write the figures as TSV (GpuBenchmark's columns) to this file")
    Path out;

    @Option(names = "--results", description = "write settings and figures as JSON to this file")
    Path results;

    /**
     * One model's figures: {@code items} images (or tokens) per step, {@code shape} says how the batch is made
     * ({@code batch 128}, {@code batch 128 8x8}, {@code batch 50x50 tokens}).
     */
    public record Figure(String model, long parameters, String shape, int items, String unit, double medianMs, double meanMs,
                         double minMs, int steps, double firstLoss, double lastLoss) {
        /** Images (or tokens) per second at the median step. */
        public double throughput() {
            return items / (medianMs / 1e3);
        }

        /** The benchmark's row name: {@code resnet20 train step batch 128 (cuda:0)}, then the kernel overrides, if any. */
        String rowName(Backend backend) {
            Device device = backend.device();
            List<KernelChoices.Choice> o = backend.kernels().overrides();
            return model + " train step " + shape + " (" + device + ")" + (o.isEmpty() ? "" : " " + o);
        }
    }

    public static void main(String[] args) {
        System.exit(Cli.run(new ModelStepBenchmark(), args));
    }

    @Override
    public Integer call() throws IOException {
        Device device = deviceOptions.device();
        boolean gpu = device.kind() == Device.Kind.CUDA;
        if (warmup < 0) warmup = gpu ? 3 : 1;
        if (steps < 0) steps = gpu ? 20 : 3;
        if (steps < 1) throw new ParameterException(spec.commandLine(), "--steps must be at least 1, got " + steps);
        if (batchSize < 1) throw new ParameterException(spec.commandLine(), "--batch-size must be positive, got " + batchSize);
        if (imageSize < 4) throw new ParameterException(spec.commandLine(), "--image-size must be at least 4, got " + imageSize);
        if (lstmBatch < 1 || lstmLength < 1) {
            throw new ParameterException(spec.commandLine(), "--lstm-batch and --lstm-length must be positive, got " + lstmBatch + " and " + lstmLength);
        }
        for (String m : models) if (!isCharLstm(m)) depth(m); // refuses a bad name before anything runs
        Backend backend = deviceOptions.open();
        OptimizerConfig config = Presets.builder(preset).lr(lr).build();

        System.out.printf(Locale.ROOT, "model training steps on %s; synthetic batches (each row says its shape); optimizer %s lr %g; "
                + "%d warm-up + %d timed steps%n", backend.name(), config.preset(), lr, warmup, steps);
        System.out.println(backend.kernelSummary());
        List<Figure> figures = new ArrayList<>();
        for (String m : models) {
            Figure f = isCharLstm(m) ? measureCharLstm(backend, config) : measure(depth(m), backend, config);
            figures.add(f);
            System.out.printf(Locale.ROOT, "%-48s %10.1f %s   median %.2f ms, mean %.2f ms, fastest %.2f ms; loss %.4f -> %.4f%n",
                    f.rowName(backend), f.throughput(), f.unit(), f.medianMs(), f.meanMs(), f.minMs(), f.firstLoss(), f.lastLoss());
        }
        if (out != null) {
            StringBuilder b = new StringBuilder("benchmark\tvalue\tunit\tceiling\tceiling_value\tfraction\tnote\n");
            for (Figure f : figures) {
                b.append(String.format(Locale.ROOT, "%s\t%.4f\t%s\t\t0.0000\tNaN\tmedian %.3f ms/step of %d, %,d parameters%n",
                        f.rowName(backend), f.throughput(), f.unit(), f.medianMs(), f.steps(), f.parameters()));
            }
            Files.writeString(out, b.toString());
            System.out.println("wrote " + out);
        }
        if (results != null) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("benchmark", "model training step");
            r.put("device", device.toString());
            r.put("backend", backend.name());
            r.put("kernels", backend.kernelRecord());
            r.put("kernel_calls", backend.kernelCalls().snapshot());
            r.put("optimizer", Results.json().readTree(config.toJson()));
            r.put("batchSize", batchSize);
            r.put("imageSize", imageSize);
            r.put("lstmBatch", lstmBatch);
            r.put("lstmLength", lstmLength);
            r.put("warmupSteps", warmup);
            r.put("timedSteps", steps);
            r.put("seed", seed);
            List<Map<String, Object>> rows = new ArrayList<>();
            for (Figure f : figures) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("model", f.model());
                m.put("parameters", f.parameters());
                m.put("shape", f.shape());
                m.put("throughput", f.throughput());
                m.put("unit", f.unit());
                m.put("medianMs", f.medianMs());
                m.put("meanMs", f.meanMs());
                m.put("minMs", f.minMs());
                m.put("firstLoss", f.firstLoss());
                m.put("lastLoss", f.lastLoss());
                rows.add(m);
            }
            r.put("figures", rows);
            r.put("java", System.getProperty("java.version"));
            Results.write(results, r);
            System.out.println("results written to " + results);
        }
        return 0;
    }

    static boolean isCharLstm(String model) {
        return model.strip().equalsIgnoreCase("charlstm");
    }

    /** The depth in {@code resnetD}; refuses anything else, naming it. */
    static int depth(String model) {
        String m = model.strip().toLowerCase(Locale.ROOT);
        if (m.startsWith("resnet") && m.substring(6).matches("[0-9]{1,4}")) {
            int d = Integer.parseInt(m.substring(6));
            if (d >= 8 && (d - 2) % 6 == 0) return d;
        }
        throw new IllegalArgumentException("--models: '" + model + "' is neither a CIFAR ResNet (resnetD with D = 6n+2: resnet20, resnet56, ...) nor charlstm");
    }

    /** Builds ResNet-{@code depth} on {@code device}, runs the warm-up and timed steps, and frees everything. */
    Figure measure(int depth, Backend backend, OptimizerConfig config) {
        Device device = backend.device();
        CifarResNet model = new CifarResNet(depth, true, 10, new Generator(seed));
        model.to(device);
        int[] labels = new int[batchSize];
        for (int i = 0; i < batchSize; i++) labels[i] = i % model.numClasses();
        try (ParameterArena arena = ParameterArena.pack(model); Optimizer opt = config.create(arena);
             Tensor x = Tensor.random(RandomDistribution.NORMAL, 0, 1, new Generator(seed + 1), Shape.of(batchSize, 3, imageSize, imageSize),
                     DType.FLOAT32, device);
             Tensor host = Tensor.ofInts(labels, batchSize); Tensor y = host.to(device)) {
            String shape = "batch " + batchSize + (imageSize == 32 ? "" : " " + imageSize + "x" + imageSize);
            return time("resnet" + depth, model, shape, batchSize, "images/s", backend,
                    () -> step(opt, () -> Functional.crossEntropy(model.forward(new Variable(x)), y)));
        } finally {
            free(model);
        }
    }

    /** DeepOBS's character LSTM (vocabulary 83, dropout on) on batches of lstmBatch x lstmLength tokens; tokens/s. */
    Figure measureCharLstm(Backend backend, OptimizerConfig config) {
        Device device = backend.device();
        int vocab = 83, n = lstmBatch, t = lstmLength;
        CharLstm model = new CharLstm(vocab, new Generator(seed), new Generator(seed + 1));
        model.to(device);
        int[] tokens = new int[n * t], targets = new int[n * t];
        for (int i = 0; i < n * t; i++) {
            tokens[i] = (7 * i + 3) % vocab;
            targets[i] = (5 * i + 1) % vocab;
        }
        try (ParameterArena arena = ParameterArena.pack(model); Optimizer opt = config.create(arena);
             Tensor xh = Tensor.ofInts(tokens, n, t); Tensor yh = Tensor.ofInts(targets, n, t); Tensor x = xh.to(device);
             Tensor y = yh.to(device)) {
            return time("charlstm", model, "batch " + n + "x" + t + " tokens", n * t, "tokens/s", backend, () -> step(opt, () -> {
                CharLstm.Output out = model.forward(x, null);
                out.state().close();
                return CharLstm.loss(out.logits(), y);
            }));
        } finally {
            free(model);
        }
    }

    /** Runs the warm-up and timed steps of {@code step} (which returns the loss before its update). */
    Figure time(String name, Module model, String shape, int items, String unit, Backend backend, DoubleSupplier step) {
        double first = Double.NaN, last = Double.NaN;
        for (int i = 0; i < warmup; i++) {
            double loss = step.getAsDouble();
            if (i == 0) first = loss;
        }
        double[] ms = new double[steps];
        for (int i = 0; i < steps; i++) {
            long t0 = System.nanoTime();
            last = step.getAsDouble();
            backend.synchronize();
            ms[i] = (System.nanoTime() - t0) / 1e6;
            if (Double.isNaN(first)) first = last;
        }
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
        return new Figure(name, model.parameterCount(), shape, items, unit, median, Arrays.stream(ms).average().orElseThrow(), sorted[0],
                steps, first, last);
    }

    /** Device memory goes back now, not at GC. */
    static void free(Module model) {
        for (var b : model.namedBuffers().values()) b.close();
        for (var p : model.parameters()) {
            p.data().close();
            if (p.grad() != null) p.grad().close();
        }
    }

    /** One training step, as ClassifierTraining runs it: returns the loss before the update. */
    static double step(Optimizer opt, Supplier<Variable> forward) {
        return step(opt, forward, null);
    }

    /**
     * {@link #step(Optimizer, Supplier)}, telling {@code phases} (when not null) as the backward (with the zeroing of
     * the gradients), the update and the closing of the step's scope start ({@link StepProfiler}).
     */
    static double step(Optimizer opt, Supplier<Variable> forward, ProfilingBackend phases) {
        double value;
        try (Scope s = Scope.open()) {
            Variable loss = forward.get();
            value = loss.item();
            if (!Double.isFinite(value)) throw new IllegalStateException("the loss is " + value + " at optimizer step " + (opt.stepCount() + 1));
            if (phases != null) phases.phase(ProfilingBackend.Phase.BACKWARD);
            opt.zeroGrad();
            loss.backward();
            if (phases != null) phases.phase(ProfilingBackend.Phase.UPDATE);
            opt.step();
            if (phases != null) phases.phase(ProfilingBackend.Phase.CLEANUP);
        }
        return value;
    }
}
