package optlab.experiments;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import optlab.experiments.data.Batches;
import optlab.experiments.data.FashionMnist;
import optlab.experiments.data.ImageDataset;
import optlab.experiments.train.ClassifierTraining;
import optlab.experiments.train.Progress;
import optlab.kernels.Device;
import optlab.kernels.KernelRegistry;
import optlab.nn.ParameterArena;
import optlab.nn.models.SimpleCnn;
import optlab.optim.Optimizer;
import optlab.optim.OptimizerConfig;
import optlab.optim.Presets;
import optlab.tensor.Generator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Trains the Fashion-MNIST simple CNN (DeepOBS fmnist_2c2d, Choi et al.'s workload) with Choi et al.'s
 * Adam and reports test accuracy after every epoch. The README's first command runs this.
 *
 * <p>{@code --device cuda} trains on the GPU: the model moves there before its arena is packed
 * (NOTE [device-placement]), so the parameters, gradients and Adam's state live on the device and the
 * update is the fused CUDA kernel; batches are made on the host and moved per step. The kernel choices
 * ({@code --kernels}, NOTE [kernel-registry]) are printed at start and recorded in the results.
 */
@Command(name = "train-fmnist", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train the Fashion-MNIST simple CNN (fmnist_2c2d) with Adam and report test accuracy.")
public final class TrainFashionMnist implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--epochs", defaultValue = "1", description = "passes over the training set (default: ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "128", description = "images per step (default: ${DEFAULT-VALUE}, DeepOBS's)")
    int batchSize;

    @Option(names = "--lr", defaultValue = "1e-3", description = "Adam's alpha (default: ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--seed", defaultValue = "0", description = "initialization and data order (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--data-dir", defaultValue = FashionMnist.DEFAULT_DIR, description = "directory of the four IDX .gz files (default: ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--train-limit", defaultValue = "0", description = "train on the first N images only; 0 means all (default: ${DEFAULT-VALUE})")
    int trainLimit;

    @Mixin
    DeviceOptions deviceOptions;

    @Option(names = "--results", description = "write settings and results as JSON to this file (atomically)")
    Path results;

    public static void main(String[] args) {
        System.exit(Cli.run(new TrainFashionMnist(), args));
    }

    @Override
    public Integer call() throws Exception {
        if (epochs <= 0) throw new ParameterException(spec.commandLine(), "--epochs must be positive, got " + epochs);
        if (batchSize <= 0) throw new ParameterException(spec.commandLine(), "--batch-size must be positive, got " + batchSize);
        if (!(lr > 0)) throw new ParameterException(spec.commandLine(), "--lr must be positive, got " + lr);
        if (trainLimit < 0) throw new ParameterException(spec.commandLine(), "--train-limit must be >= 0, got " + trainLimit);
        Device device = deviceOptions.device();
        String backend = deviceOptions.open().name();

        ImageDataset train = FashionMnist.train(dataDir), test = FashionMnist.test(dataDir);
        if (trainLimit > 0) train = train.head(Math.min(trainLimit, train.size()));
        Generator gen = new Generator(seed);
        SimpleCnn model = new SimpleCnn(gen);
        model.to(device);
        ParameterArena arena = ParameterArena.pack(model);
        OptimizerConfig config = Presets.builder("choi.adam").lr(lr).build(); // what new Adam(arena, lr) runs (TrainingTest)
        Optimizer adam = config.create(arena);
        System.out.printf("fmnist_2c2d: %,d parameters; Adam (Choi et al.) lr %g; batch %d; %d epoch(s) on %,d images; backend %s%n",
                model.parameterCount(), lr, batchSize, epochs, train.size(), backend);
        System.out.println(KernelRegistry.global().summary(device));

        List<Map<String, Object>> perEpoch = new ArrayList<>();
        ClassifierTraining.Evaluation eval = null;
        Instant start = Instant.now();
        for (int epoch = 1; epoch <= epochs; epoch++) {
            Instant t0 = Instant.now();
            Batches batches = new Batches(train, batchSize, false, seed, epoch);
            ClassifierTraining.EpochResult r;
            try (Progress p = Progress.bar("epoch " + epoch, train.size())) {
                r = ClassifierTraining.trainEpoch(model, adam, batches, epoch, p);
            }
            Duration trainTime = Duration.between(t0, Instant.now());
            eval = ClassifierTraining.evaluate(model, test, 1000);
            double ips = r.images() / (trainTime.toNanos() / 1e9);
            System.out.printf("epoch %d: train loss %.4f, test loss %.4f, test accuracy %.2f%% (%,d/%,d), %s training (%,.0f images/s)%n",
                    epoch, r.meanLoss(), eval.meanLoss(), 100 * eval.accuracy(), eval.correct(), eval.total(), Progress.seconds(trainTime), ips);
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("epoch", epoch);
            e.put("trainLoss", r.meanLoss());
            e.put("testLoss", eval.meanLoss());
            e.put("testAccuracy", eval.accuracy());
            e.put("trainSeconds", trainTime.toMillis() / 1000.0);
            e.put("imagesPerSecond", ips);
            perEpoch.add(e);
        }
        System.out.printf("test accuracy: %.2f%%%n", 100 * eval.accuracy());
        if (results != null) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("workload", "fmnist_2c2d");
            Map<String, Object> dataset = new LinkedHashMap<>();
            dataset.put("train", train.name());
            dataset.put("trainImages", train.size());
            dataset.put("test", test.name());
            dataset.put("testImages", test.size());
            out.put("dataset", dataset);
            out.put("optimizer", Results.json().readTree(adam.config().toJson())); // the fully resolved setting
            out.put("optimizerKernel", adam.fusedKernel().name());
            out.put("batchSize", batchSize);
            out.put("seed", seed);
            out.put("device", device.toString());
            out.put("backend", backend);
            out.put("kernels", KernelRegistry.global().record(device));
            out.put("epochs", perEpoch);
            out.put("testAccuracy", eval.accuracy());
            out.put("wallSeconds", Duration.between(start, Instant.now()).toMillis() / 1000.0);
            out.put("java", System.getProperty("java.version"));
            Results.write(results, out);
            System.out.println("results written to " + results);
        }
        adam.close();
        arena.close();
        return 0;
    }
}
