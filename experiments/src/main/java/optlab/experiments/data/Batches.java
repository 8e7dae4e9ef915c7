package optlab.experiments.data;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import optlab.kernels.DType;
import optlab.tensor.Tensor;

/**
 * Minibatches of an {@link ImageDataset} as tensors, made on the calling thread: images (b, c, h, w)
 * FLOAT32 with pixels scaled to [0, 1] ({@code (b & 0xFF) / 255f}, as DeepOBS does for Fashion-MNIST),
 * labels (b) INT32. With shuffling, each epoch visits the images in a fresh permutation drawn from
 * {@code seed} and the epoch number, so a run is reproducible and can resume at any epoch. A last
 * partial batch is dropped when {@code dropLast}.
 *
 * <p>A thin synchronous view of an {@link ImageLoader} with {@link ImageTransform#identity()}: the same
 * order and the same pixels as {@code new ImageLoader(data, b, shuffled, dropLast, identity(), FLOAT32,
 * seed).epoch(epoch)}, with no background thread. Augmentation, normalization, FLOAT64 and resuming
 * mid-epoch are the loader's.
 */
public final class Batches implements Iterable<Batches.Batch> {
    /** One minibatch; closing it frees both tensors. */
    public record Batch(Tensor images, Tensor labels) implements AutoCloseable {
        public int size() {
            return labels.numel();
        }

        @Override
        public void close() {
            images.close();
            labels.close();
        }
    }

    private final ImageLoader loader;
    private final int epoch;

    /** Batches in the dataset's order. */
    public Batches(ImageDataset data, int batchSize, boolean dropLast) {
        this(new ImageLoader(data, batchSize, false, dropLast, ImageTransform.identity(), DType.FLOAT32, 0), 1);
    }

    /** Batches in a permutation determined by (seed, epoch); epoch is 1-based. */
    public Batches(ImageDataset data, int batchSize, boolean dropLast, long seed, int epoch) {
        this(new ImageLoader(data, batchSize, true, dropLast, ImageTransform.identity(), DType.FLOAT32, seed), epoch);
    }

    private Batches(ImageLoader loader, int epoch) {
        loader.order(epoch); // checks the epoch
        this.loader = loader;
        this.epoch = epoch;
    }

    /** Fisher-Yates with a seeded SplittableRandom. */
    static int[] permutation(int n, long seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** Number of batches per pass. */
    public int count() {
        return loader.batchesPerEpoch();
    }

    @Override
    public Iterator<Batch> iterator() {
        int[] order = loader.order(epoch);
        return new Iterator<>() {
            private int next = 0;

            @Override
            public boolean hasNext() {
                return next < count();
            }

            @Override
            public Batch next() {
                if (!hasNext()) throw new NoSuchElementException();
                return loader.make(epoch, order, next++).toTensors();
            }
        };
    }
}
