package optlab.experiments.data;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.function.IntFunction;
import optlab.kernels.DType;

/**
 * Minibatches of an {@link ImageDataset} for epoch e (1-based), as host arrays ({@link HostBatch}),
 * made by a background thread a few batches ahead of the training loop.
 * <pre>{@code
 * ImageLoader loader = new ImageLoader(train, 128, true, false, ImageTransform.cifarTrain(Cifar.Variant.CIFAR10), DType.FLOAT32, seed);
 * try (ImageLoader.Epoch batches = loader.epoch(epoch, startBatch)) {   // startBatch > 0 resumes mid-epoch
 *     for (HostBatch hb : batches) {
 *         try (Scope step = Scope.open(); Batches.Batch b = hb.toTensors()) { ... }   // tensors made on this thread
 *     }
 * }
 * }</pre>
 * ({@code ImageLoaderTest#tensorsAreMadeOnTheConsumersThreadInItsScope} runs this loop.)
 *
 * <p>Order. With {@code shuffle}, epoch e visits the images in {@link Batches#permutation
 * Batches.permutation(n, seed * 1_000_003 + e)}, exactly the order {@link Batches} has always used;
 * without, in the dataset's order. Batch k holds positions [k b, (k + 1) b) of that order; the last
 * partial batch is dropped when {@code dropLast}.
 *
 * <p>NOTE [augmentation-seeds]: the random draws of an image's augmentation come from a
 * {@code SplittableRandom} seeded with {@link #imageSeed imageSeed(seed, epoch, position)}, a 64-bit
 * mix of the loader's seed, the epoch and the image's position in the epoch's order. They depend on
 * nothing else: not on which thread makes the batch, not on the batch a resumed epoch starts at, not on
 * the backend. So {@code epoch(e, k)} yields exactly batches k, k + 1, ... of {@code epoch(e, 0)}, and a
 * run resumed mid-epoch sees the same pixels as one that never stopped.
 *
 * <p>Threads. {@link #epoch} starts one daemon producer thread that makes the batches in order into a
 * queue of {@value #PREFETCH} (so it is at most {@value #PREFETCH} finished batches, plus the one it is
 * making, ahead). The iterator takes from the queue; when it has handed out the last batch, or the
 * producer failed, or it is closed, the thread has ended (it is joined before the iterator returns).
 * A producer's exception reaches the consumer as an {@link IllegalStateException} whose cause it is.
 *
 * <p>Cost, measured with {@link LoaderBenchmark} on the 2-core development machine (shared, JDK 25,
 * ParallelGC, -Xmx8g): {@code source bin/java-env; optlab_run_main optlab.experiments.data.LoaderBenchmark
 * --epochs 10}, i.e. 50,000 synthetic 3x32x32 images, batch 128, flip + pad 4 + crop + normalize to
 * FLOAT32, one producer thread, a consumer that only reads one pixel per batch. Steady state: about
 * 210,000 images/s (4.4 to 4.8 microseconds an image, in 9 of the 18 timed epochs of two runs). Epochs
 * during which the heap was still growing ran at 19,000 to 105,000 images/s: the cost is touching fresh
 * heap pages for the new batch arrays (1.5 MB each), not the work (the GC pauses themselves were 6 to
 * 25 ms). Whether one producer keeps up with a GPU's ResNet step is for a GPU run to show; reusing the
 * batch arrays would remove the page-touching cost if it does not.
 */
public final class ImageLoader {
    /** Finished batches the producer may hold ahead of the consumer. */
    public static final int PREFETCH = 2;

    private final ImageDataset data;
    private final int batchSize;
    private final boolean shuffle, dropLast;
    private final ImageTransform transform;
    private final DType dtype;
    private final long seed;

    /**
     * @param dtype FLOAT32 (the training type) or FLOAT64 (for gradient checks and double-precision studies)
     * @param seed  fixes the epochs' orders (with {@code shuffle}) and the augmentation's draws
     */
    public ImageLoader(ImageDataset data, int batchSize, boolean shuffle, boolean dropLast, ImageTransform transform, DType dtype, long seed) {
        if (batchSize <= 0) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        if (dtype != DType.FLOAT32 && dtype != DType.FLOAT64) {
            throw new IllegalArgumentException("image batches are FLOAT32 or FLOAT64, got " + dtype);
        }
        transform.check(data);
        this.data = data;
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        this.dropLast = dropLast;
        this.transform = transform;
        this.dtype = dtype;
        this.seed = seed;
    }

    public ImageDataset data() {
        return data;
    }

    public int batchSize() {
        return batchSize;
    }

    public ImageTransform transform() {
        return transform;
    }

    public DType dtype() {
        return dtype;
    }

    /** Batches in one epoch: n / b rounded down with {@code dropLast}, up without. */
    public int batchesPerEpoch() {
        return dropLast ? data.size() / batchSize : (data.size() + batchSize - 1) / batchSize;
    }

    /** The dataset indices of epoch {@code epoch}'s images, in the order the epoch visits them. */
    public int[] order(int epoch) {
        checkEpoch(epoch);
        if (shuffle) return Batches.permutation(data.size(), seed * 1_000_003L + epoch);
        int[] p = new int[data.size()];
        for (int i = 0; i < p.length; i++) p[i] = i;
        return p;
    }

    /** Batch {@code k} of epoch {@code epoch}, made on the calling thread. */
    public HostBatch batch(int epoch, int k) {
        checkBatch(epoch, k, false);
        return make(epoch, order(epoch), k);
    }

    /** Epoch {@code epoch} from its first batch, made ahead on a background thread. */
    public Epoch epoch(int epoch) {
        return epoch(epoch, 0);
    }

    /**
     * Batches {@code startBatch, startBatch + 1, ...} of epoch {@code epoch}, made ahead on a
     * background thread; {@code startBatch == batchesPerEpoch()} gives no batches (a run stopped at the
     * end of the epoch). Close it (try-with-resources) to stop the thread early.
     */
    public Epoch epoch(int epoch, int startBatch) {
        checkBatch(epoch, startBatch, true);
        int[] order = order(epoch);
        return new Epoch(epoch, startBatch, batchesPerEpoch(), k -> make(epoch, order, k),
                "optlab-image-loader[" + data.name() + ", epoch " + epoch + "]");
    }

    private static void checkEpoch(int epoch) {
        if (epoch < 1) throw new IllegalArgumentException("epochs are numbered from 1, got " + epoch);
    }

    private void checkBatch(int epoch, int k, boolean endAllowed) {
        checkEpoch(epoch);
        int last = endAllowed ? batchesPerEpoch() : batchesPerEpoch() - 1;
        if (k < 0 || k > last) {
            throw new IllegalArgumentException("batch " + k + " is outside [0, " + last + "]: an epoch of " + data.name() + " has "
                    + batchesPerEpoch() + " batches of " + batchSize + (dropLast ? " (last partial batch dropped)" : ""));
        }
    }

    /** Batch k: positions [k b, min((k + 1) b, n)) of {@code order} (that of {@link #order}), each image transformed with its own generator. */
    HostBatch make(int epoch, int[] order, int k) {
        int start = k * batchSize, b = Math.min(batchSize, data.size() - start), per = data.imageSize();
        int c = data.channels(), h = data.height(), w = data.width();
        float[] f = dtype == DType.FLOAT32 ? new float[b * per] : null;
        double[] d = dtype == DType.FLOAT64 ? new double[b * per] : null;
        int[] labels = new int[b], images = new int[b];
        for (int i = 0; i < b; i++) {
            int src = order[start + i];
            images[i] = src;
            labels[i] = data.labels()[src];
            SplittableRandom r = transform.augments() ? new SplittableRandom(imageSeed(seed, epoch, start + i)) : null;
            if (f != null) transform.apply(data.pixels(), src * per, c, h, w, r, f, i * per);
            else transform.apply(data.pixels(), src * per, c, h, w, r, d, i * per);
        }
        return new HostBatch(epoch, k, dtype, c, h, w, f, d, labels, images);
    }

    /** The seed of the augmentation of the image at {@code position} of epoch {@code epoch} (NOTE [augmentation-seeds]). */
    static long imageSeed(long seed, int epoch, int position) {
        long h = mix64(seed ^ 0x6A09E667F3BCC909L); // a fixed odd constant (sqrt(2)'s bits) so seed 0 is not a fixed point
        h = mix64(h + epoch * 0x9E3779B97F4A7C15L);
        return mix64(h + position * 0x9E3779B97F4A7C15L);
    }

    /** SplitMix64's finalizer (Stafford's variant 13): a bijection of 64-bit values that mixes every bit into every bit. */
    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * One pass over batches [start, end) made by a producer thread into a bounded queue. An iterator
     * (and, for the for-each loop, an Iterable that hands out itself once); closing it stops and joins
     * the thread.
     */
    public static final class Epoch implements Iterator<HostBatch>, Iterable<HostBatch>, AutoCloseable {
        private static final Object END = new Object();

        /** What the producer puts in the queue when making batch {@code index} threw. */
        private record Failure(int index, Throwable error) {}

        private final int epoch, end;
        private final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(PREFETCH);
        private final Thread thread;
        private HostBatch next;
        private boolean finished, closed, iterated;

        /** Starts the producer: {@code maker.apply(k)} for k = start .. end - 1 on a thread named {@code threadName}. */
        Epoch(int epoch, int start, int end, IntFunction<HostBatch> maker, String threadName) {
            this.epoch = epoch;
            this.end = end;
            thread = Thread.ofPlatform().daemon().name(threadName).unstarted(() -> produce(start, maker));
            thread.start();
        }

        private void produce(int start, IntFunction<HostBatch> maker) {
            int k = start;
            try {
                for (; k < end; k++) {
                    HostBatch b = maker.apply(k);
                    queue.put(b);
                }
                queue.put(END);
            } catch (InterruptedException e) {
                // closed by the consumer: stop
            } catch (Throwable t) {
                try {
                    queue.put(new Failure(k, t));
                } catch (InterruptedException e) {
                    // closed while reporting: nobody is waiting for the failure
                }
            }
        }

        /** The epoch's number. */
        public int epoch() {
            return epoch;
        }

        @Override
        public boolean hasNext() {
            if (closed) throw new IllegalStateException("epoch " + epoch + " of the image loader is closed");
            if (next != null) return true;
            if (finished) return false;
            Object o;
            try {
                o = queue.take();
            } catch (InterruptedException e) {
                close();
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a batch of epoch " + epoch, e);
            }
            if (o instanceof HostBatch b) {
                next = b;
                return true;
            }
            finished = true;
            join();
            if (o instanceof Failure f) {
                throw new IllegalStateException("the image loader thread failed making batch " + f.index() + " of epoch " + epoch + ": "
                        + f.error(), f.error());
            }
            return false;
        }

        @Override
        public HostBatch next() {
            if (!hasNext()) throw new NoSuchElementException("epoch " + epoch + " has no more batches");
            HostBatch b = next;
            next = null;
            return b;
        }

        /** This epoch itself, once: an epoch is a single pass. */
        @Override
        public Iterator<HostBatch> iterator() {
            if (iterated) throw new IllegalStateException("epoch " + epoch + " is a single pass: iterator() was already called");
            iterated = true;
            return this;
        }

        /** Stops the producer and waits for its thread to end. Idempotent. */
        @Override
        public void close() {
            if (closed) return;
            closed = true;
            thread.interrupt();
            join();
            queue.clear();
            next = null;
        }

        /** Waits for the producer thread to end, keeping this thread's interrupt status. */
        private void join() {
            boolean interrupted = false;
            while (thread.isAlive()) {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
        }
    }
}
