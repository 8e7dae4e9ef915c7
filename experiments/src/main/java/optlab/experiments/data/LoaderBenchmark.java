package optlab.experiments.data;

import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import optlab.experiments.Cli;
import optlab.kernels.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Images per second of {@link ImageLoader} with Zhuang et al.'s CIFAR training transform (flip, pad 4 +
 * crop, normalize) on synthetic CIFAR-shaped bytes, one producer thread. The consumer only touches one
 * pixel per batch, so the figure is the loader's ceiling: the producer makes batches, the consumer
 * takes them. The first epoch warms the JIT and is not counted; each later epoch is timed whole.
 * <pre>
 *   (source bin/java-env; optlab_run_main optlab.experiments.data.LoaderBenchmark --images 50000 --epochs 4)
 * </pre>
 */
@Command(name = "bench-loader", mixinStandardHelpOptions = true,
        description = "Image loader throughput with CIFAR augmentation on synthetic data, one producer thread.")
public final class LoaderBenchmark implements Callable<Integer> {
    @Option(names = "--images", defaultValue = "50000", description = "images per epoch (default: ${DEFAULT-VALUE})")
    int images;

    @Option(names = "--batch", defaultValue = "128", description = "batch size (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--epochs", defaultValue = "4", description = "epochs, the first one untimed warm-up (default: ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--dtype", defaultValue = "FLOAT32", description = "FLOAT32 or FLOAT64 (default: ${DEFAULT-VALUE})")
    DType dtype;

    @Option(names = "--augment", defaultValue = "true", negatable = true, description = "flip + pad 4 + crop (default: ${DEFAULT-VALUE})")
    boolean augment;

    public static void main(String[] args) {
        System.exit(Cli.run(new LoaderBenchmark(), args));
    }

    @Override
    public Integer call() {
        if (epochs < 2) throw new IllegalArgumentException("--epochs must be at least 2 (the first is warm-up), got " + epochs);
        byte[] px = new byte[images * Cifar.IMAGE_BYTES];
        int[] labels = new int[images];
        SplittableRandom r = new SplittableRandom(0);
        for (int i = 0; i < px.length; i++) px[i] = (byte) r.nextInt(256);
        for (int i = 0; i < images; i++) labels[i] = r.nextInt(10);
        ImageDataset data = new ImageDataset("synthetic-cifar", px, labels, 3, 32, 32, 10);
        ImageTransform t = augment ? ImageTransform.cifarTrain(Cifar.Variant.CIFAR10) : ImageTransform.cifarEval(Cifar.Variant.CIFAR10);
        ImageLoader loader = new ImageLoader(data, batch, true, false, t, dtype, 1);
        System.out.printf("loader: %,d synthetic 3x32x32 images, batch %d, %s, %s, %d producer thread, %d cores%n",
                images, batch, t, dtype, 1, Runtime.getRuntime().availableProcessors());
        double sink = 0;
        for (int e = 1; e <= epochs; e++) {
            long t0 = System.nanoTime();
            int n = 0;
            try (ImageLoader.Epoch it = loader.epoch(e)) {
                for (HostBatch b : it) {
                    sink += dtype == DType.FLOAT32 ? b.floats()[0] : b.doubles()[0];
                    n += b.size();
                }
            }
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("epoch %d%s: %,d images in %.2f s: %,.0f images/s (%.1f us/image)%n",
                    e, e == 1 ? " (warm-up)" : "", n, s, n / s, 1e6 * s / n);
        }
        if (Double.isNaN(sink)) System.out.println("(NaN pixels)"); // keeps the pixel reads alive
        return 0;
    }
}
