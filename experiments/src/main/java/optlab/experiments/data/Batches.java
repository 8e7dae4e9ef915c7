package optlab.experiments.data;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import optlab.tensor.Tensor;

/**
 * Minibatches of an {@link ImageDataset} as tensors: images (b, c, h, w) FLOAT32 with pixels scaled
 * to [0, 1] (as DeepOBS does for Fashion-MNIST), labels (b) INT32. With shuffling, each epoch visits
 * the images in a fresh permutation drawn from {@code seed} and the epoch number, so a run is
 * reproducible and can resume at any epoch. A last partial batch is dropped when {@code dropLast}.
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

    private final ImageDataset data;
    private final int batchSize;
    private final boolean dropLast;
    private final int[] order;

    /** Batches in the dataset's order. */
    public Batches(ImageDataset data, int batchSize, boolean dropLast) {
        this(data, batchSize, dropLast, null);
    }

    /** Batches in a permutation determined by (seed, epoch). */
    public Batches(ImageDataset data, int batchSize, boolean dropLast, long seed, int epoch) {
        this(data, batchSize, dropLast, permutation(data.size(), seed * 1_000_003L + epoch));
    }

    private Batches(ImageDataset data, int batchSize, boolean dropLast, int[] order) {
        if (batchSize <= 0) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        this.data = data;
        this.batchSize = batchSize;
        this.dropLast = dropLast;
        this.order = order;
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
        return dropLast ? data.size() / batchSize : (data.size() + batchSize - 1) / batchSize;
    }

    @Override
    public Iterator<Batch> iterator() {
        return new Iterator<>() {
            private int next = 0;

            @Override
            public boolean hasNext() {
                return next < count();
            }

            @Override
            public Batch next() {
                if (!hasNext()) throw new NoSuchElementException();
                int start = next++ * batchSize, b = Math.min(batchSize, data.size() - start), per = data.imageSize();
                float[] x = new float[b * per];
                int[] y = new int[b];
                byte[] px = data.pixels();
                for (int i = 0; i < b; i++) {
                    int src = order == null ? start + i : order[start + i];
                    y[i] = data.labels()[src];
                    for (int j = 0, s = src * per, d = i * per; j < per; j++) x[d + j] = (px[s + j] & 0xFF) / 255f;
                }
                return new Batch(Tensor.of(x, b, data.channels(), data.height(), data.width()), Tensor.ofInts(y, b));
            }
        };
    }
}
