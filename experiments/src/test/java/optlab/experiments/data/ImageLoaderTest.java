package optlab.experiments.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import optlab.kernels.DType;
import optlab.kernels.cpu.CpuBackend;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Order, pixels, resuming, and the producer thread's life of {@link ImageLoader}. */
class ImageLoaderTest {
    /** n random images of c x h x w with labels below 10. */
    static ImageDataset random(int n, int c, int h, int w, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] px = new byte[n * c * h * w];
        int[] labels = new int[n];
        for (int i = 0; i < px.length; i++) px[i] = (byte) r.nextInt(256);
        for (int i = 0; i < n; i++) labels[i] = r.nextInt(10);
        return new ImageDataset("random", px, labels, c, h, w, 10);
    }

    /** The producer threads alive now. */
    static List<Thread> loaderThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.isAlive() && t.getName().startsWith("optlab-image-loader")).toList();
    }

    @AfterEach
    void noProducerOutlivesItsTest() {
        assertEquals(List.of(), loaderThreads());
    }

    private static List<HostBatch> all(ImageLoader.Epoch epoch) {
        List<HostBatch> out = new ArrayList<>();
        try (epoch) {
            for (HostBatch b : epoch) out.add(b);
        }
        return out;
    }

    /**
     * With no augmentation and no normalization, FLOAT32 pixels are {@code (b & 0xFF) / 255f} in the
     * order {@code Batches.permutation(n, seed * 1_000_003 + epoch)}: what training has always been fed.
     */
    @Test
    void withoutTransformsThePixelsAndTheOrderAreTodays() {
        ImageDataset d = random(37, 1, 28, 28, 7);
        int per = 784;
        ImageLoader loader = new ImageLoader(d, 8, true, false, ImageTransform.identity(), DType.FLOAT32, 3);
        int[] order = Batches.permutation(37, 3 * 1_000_003L + 2);
        assertArrayEquals(order, loader.order(2));
        List<HostBatch> batches = all(loader.epoch(2));
        assertEquals(List.of(8, 8, 8, 8, 5), batches.stream().map(HostBatch::size).toList());
        for (HostBatch b : batches) {
            float[] expected = new float[b.size() * per];
            int[] labels = new int[b.size()];
            for (int i = 0; i < b.size(); i++) {
                int src = order[b.index() * 8 + i];
                labels[i] = d.labels()[src];
                for (int j = 0; j < per; j++) expected[i * per + j] = (d.pixels()[src * per + j] & 0xFF) / 255f;
            }
            assertArrayEquals(expected, b.floats(), "batch " + b.index()); // compares bits (Float.floatToIntBits)
            assertArrayEquals(labels, b.labels());
            assertArrayEquals(Arrays.copyOfRange(order, b.index() * 8, b.index() * 8 + b.size()), b.images());
        }
    }

    /**
     * Batches over the same dataset as before it was rebuilt on the loader (commit dc19b48): the hash of
     * every pixel's bits, label and batch size that the old code printed, shuffled (seed 3, epoch 2) and
     * in order with dropLast.
     */
    @Test
    void batchesGiveTheSameBitsAsBeforeTheLoaderExisted() {
        ImageDataset d = random(37, 1, 28, 28, 7);
        assertEquals("c80ce91c43d3e2a4", Long.toHexString(hash(new Batches(d, 8, false, 3, 2))));
        assertEquals("fd6d6787a6d9ba63", Long.toHexString(hash(new Batches(d, 8, true))));
        List<Batches.Batch> viaLoader = new ArrayList<>();
        for (HostBatch b : all(new ImageLoader(d, 8, true, false, ImageTransform.identity(), DType.FLOAT32, 3).epoch(2))) {
            viaLoader.add(b.toTensors());
        }
        assertEquals("c80ce91c43d3e2a4", Long.toHexString(hash(viaLoader)));
    }

    private static long hash(Iterable<Batches.Batch> batches) {
        long h = 0;
        for (Batches.Batch batch : batches) {
            try (batch) {
                for (float f : batch.images().toFloatArray()) h = h * 1_000_003L + Float.floatToRawIntBits(f);
                for (int l : batch.labels().toIntArray()) h = h * 1_000_003L + l;
                h = h * 1_000_003L + batch.size();
            }
        }
        return h;
    }

    @Test
    void withoutShuffleTheDatasetsOrderAndDropLast() {
        ImageDataset d = random(10, 1, 2, 2, 1);
        ImageLoader keep = new ImageLoader(d, 4, false, false, ImageTransform.identity(), DType.FLOAT32, 9);
        ImageLoader drop = new ImageLoader(d, 4, false, true, ImageTransform.identity(), DType.FLOAT32, 9);
        assertEquals(3, keep.batchesPerEpoch());
        assertEquals(2, drop.batchesPerEpoch());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, keep.order(5));
        assertEquals(List.of(4, 4, 2), all(keep.epoch(1)).stream().map(HostBatch::size).toList());
        List<HostBatch> dropped = all(drop.epoch(1));
        assertEquals(List.of(4, 4), dropped.stream().map(HostBatch::size).toList());
        assertArrayEquals(new int[] {4, 5, 6, 7}, dropped.get(1).images());
    }

    /** NOTE [augmentation-seeds]: an epoch started at batch k gives exactly batches k.. of the whole epoch. */
    @Test
    void resumingAtBatchKGivesBatchesKOnOfTheWholeEpoch() {
        ImageDataset d = random(45, 3, 32, 32, 2);
        for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            ImageLoader loader = new ImageLoader(d, 8, true, false, ImageTransform.cifarTrain(Cifar.Variant.CIFAR10), dtype, 11);
            List<HostBatch> whole = all(loader.epoch(3));
            assertEquals(6, whole.size());
            for (int k : new int[] {1, 4, 5, 6}) {
                List<HostBatch> resumed = all(loader.epoch(3, k));
                assertEquals(6 - k, resumed.size());
                for (int i = 0; i < resumed.size(); i++) assertSameBatch(whole.get(k + i), resumed.get(i));
            }
            // made on this thread, one at a time, by the synchronous path
            for (int k = 0; k < 6; k++) assertSameBatch(whole.get(k), loader.batch(3, k));
            // and by a fresh loader with the same arguments
            ImageLoader again = new ImageLoader(d, 8, true, false, ImageTransform.cifarTrain(Cifar.Variant.CIFAR10), dtype, 11);
            assertSameBatch(whole.get(2), again.batch(3, 2));
        }
    }

    private static void assertSameBatch(HostBatch expected, HostBatch actual) {
        assertEquals(expected.index(), actual.index());
        assertEquals(expected.epoch(), actual.epoch());
        assertArrayEquals(expected.images(), actual.images());
        assertArrayEquals(expected.labels(), actual.labels());
        if (expected.dtype() == DType.FLOAT32) assertArrayEquals(expected.floats(), actual.floats(), "batch " + expected.index());
        else assertArrayEquals(expected.doubles(), actual.doubles(), "batch " + expected.index());
    }

    @Test
    void theAugmentationDrawsChangeWithTheEpochAndTheSeed() {
        ImageDataset d = random(16, 3, 32, 32, 4);
        ImageTransform t = ImageTransform.cifarTrain(Cifar.Variant.CIFAR10);
        // without shuffling the images are the same in every epoch, so only the draws can differ
        ImageLoader a = new ImageLoader(d, 16, false, false, t, DType.FLOAT32, 1), b = new ImageLoader(d, 16, false, false, t, DType.FLOAT32, 2);
        float[] e1 = a.batch(1, 0).floats(), e2 = a.batch(2, 0).floats(), s2 = b.batch(1, 0).floats();
        assertFalse(Arrays.equals(e1, e2));
        assertFalse(Arrays.equals(e1, s2));
        assertArrayEquals(e1, a.batch(1, 0).floats());
        assertNotEquals(ImageLoader.imageSeed(0, 1, 0), ImageLoader.imageSeed(0, 1, 1));
        assertNotEquals(ImageLoader.imageSeed(0, 1, 0), ImageLoader.imageSeed(0, 2, 0));
        assertNotEquals(ImageLoader.imageSeed(0, 1, 0), ImageLoader.imageSeed(1, 1, 0));
    }

    @Test
    void float64BatchesHoldTheDoublePrecisionFormula() {
        ImageDataset d = random(3, 3, 4, 4, 5);
        ImageLoader loader = new ImageLoader(d, 3, false, false, ImageTransform.cifarEval(Cifar.Variant.CIFAR100), DType.FLOAT64, 0);
        HostBatch b = loader.batch(1, 0);
        double[] mean = {0.5071, 0.4866, 0.4409}, std = {0.2673, 0.2564, 0.2762};
        for (int i = 0; i < d.pixels().length; i++) {
            int c = (i / 16) % 3;
            assertEquals(((d.pixels()[i] & 0xFF) / 255.0 - mean[c]) / std[c], b.doubles()[i], 0.0, "pixel " + i);
        }
        var e = assertThrows(IllegalStateException.class, b::floats);
        assertEquals("batch 0 of epoch 1 holds FLOAT64 pixels: use doubles()", e.getMessage());
    }

    @Test
    void tensorsAreMadeOnTheConsumersThreadInItsScope() throws InterruptedException {
        ImageDataset d = random(5, 3, 2, 2, 6);
        for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            ImageLoader loader = new ImageLoader(d, 4, false, false, ImageTransform.identity(), dtype, 0);
            long live = optlab.kernels.testkit.LiveBuffers.settled();
            try (ImageLoader.Epoch epoch = loader.epoch(1)) {
                for (HostBatch hb : epoch) {
                    try (Scope s = Scope.open()) {
                        Batches.Batch b = hb.toTensors();
                        assertEquals(2, s.size());
                        assertEquals(Shape.of(hb.size(), 3, 2, 2), b.images().shape());
                        assertEquals(dtype, b.images().dtype());
                        assertEquals(DType.INT32, b.labels().dtype());
                        assertArrayEquals(hb.labels(), b.labels().toIntArray());
                    }
                }
            }
            assertEquals(live, CpuBackend.get().memoryStats().liveBuffers());
        }
    }

    @Test
    void anExceptionInTheProducerReachesTheConsumerWithItsCause() {
        RuntimeException boom = new RuntimeException("boom");
        ImageDataset d = random(1, 1, 1, 1, 0);
        ImageLoader loader = new ImageLoader(d, 1, false, false, ImageTransform.identity(), DType.FLOAT32, 0);
        ImageLoader.Epoch epoch = new ImageLoader.Epoch(4, 0, 10, k -> {
            if (k == 2) throw boom;
            return loader.batch(1, 0);
        }, "optlab-image-loader[failing]");
        try (epoch) {
            assertTrue(epoch.hasNext());
            epoch.next();
            epoch.next();
            var e = assertThrows(IllegalStateException.class, epoch::hasNext);
            assertSame(boom, e.getCause());
            assertEquals("the image loader thread failed making batch 2 of epoch 4: java.lang.RuntimeException: boom", e.getMessage());
            assertEquals(List.of(), loaderThreads()); // joined before the exception was thrown
            assertFalse(epoch.hasNext());
        }
    }

    @Test
    void closingMidEpochStopsTheProducerAndItRunsAtMostPrefetchAhead() throws InterruptedException {
        AtomicInteger made = new AtomicInteger();
        ImageDataset d = random(1, 1, 1, 1, 0);
        ImageLoader loader = new ImageLoader(d, 1, false, false, ImageTransform.identity(), DType.FLOAT32, 0);
        ImageLoader.Epoch epoch = new ImageLoader.Epoch(1, 0, 1000, k -> {
            made.incrementAndGet();
            return loader.batch(1, 0);
        }, "optlab-image-loader[slow consumer]");
        epoch.next();
        // the producer fills the queue (PREFETCH batches) and makes one more, which it cannot put
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (made.get() < 1 + ImageLoader.PREFETCH + 1 && System.nanoTime() < deadline) Thread.sleep(1);
        Thread.sleep(50);
        assertEquals(1 + ImageLoader.PREFETCH + 1, made.get());
        assertEquals(1, loaderThreads().size());
        epoch.close();
        assertEquals(List.of(), loaderThreads());
        var e = assertThrows(IllegalStateException.class, epoch::hasNext);
        assertEquals("epoch 1 of the image loader is closed", e.getMessage());
        epoch.close(); // idempotent
    }

    @Test
    void aFinishedOrUnstartedEpochLeavesNoThread() {
        ImageDataset d = random(20, 1, 3, 3, 0);
        ImageLoader loader = new ImageLoader(d, 3, true, false, ImageTransform.identity(), DType.FLOAT32, 0);
        ImageLoader.Epoch epoch = loader.epoch(1);
        int n = 0;
        while (epoch.hasNext()) n += epoch.next().size(); // not closed: the end of the pass ends the thread
        assertEquals(20, n);
        assertEquals(List.of(), loaderThreads());
        assertThrows(java.util.NoSuchElementException.class, epoch::next);
        for (int i = 0; i < 20; i++) loader.epoch(1 + i % 3).close(); // closed before the first batch
        assertEquals(List.of(), loaderThreads());
        ImageLoader.Epoch atEnd = loader.epoch(1, loader.batchesPerEpoch());
        assertFalse(atEnd.hasNext());
        var e = assertThrows(IllegalStateException.class, () -> {
            ImageLoader.Epoch twice = loader.epoch(1);
            try (twice) {
                twice.iterator();
                twice.iterator();
            }
        });
        assertEquals("epoch 1 is a single pass: iterator() was already called", e.getMessage());
    }

    @Test
    void badArgumentsAreNamed() {
        ImageDataset d = random(10, 1, 2, 2, 0);
        ImageTransform id = ImageTransform.identity();
        assertEquals("batch size must be positive, got 0",
                assertThrows(IllegalArgumentException.class, () -> new ImageLoader(d, 0, true, false, id, DType.FLOAT32, 0)).getMessage());
        assertEquals("image batches are FLOAT32 or FLOAT64, got INT32",
                assertThrows(IllegalArgumentException.class, () -> new ImageLoader(d, 2, true, false, id, DType.INT32, 0)).getMessage());
        assertEquals("random has 1 channels but the transform normalizes 3 (normalize mean [0.4914, 0.4822, 0.4465] std [0.247, 0.2435, 0.2616])",
                assertThrows(IllegalArgumentException.class,
                        () -> new ImageLoader(d, 2, true, false, ImageTransform.cifarEval(Cifar.Variant.CIFAR10), DType.FLOAT32, 0)).getMessage());
        ImageLoader loader = new ImageLoader(d, 4, true, true, id, DType.FLOAT32, 0);
        assertEquals("epochs are numbered from 1, got 0", assertThrows(IllegalArgumentException.class, () -> loader.epoch(0)).getMessage());
        assertEquals("batch 3 is outside [0, 2]: an epoch of random has 2 batches of 4 (last partial batch dropped)",
                assertThrows(IllegalArgumentException.class, () -> loader.epoch(1, 3)).getMessage());
        assertEquals("batch 2 is outside [0, 1]: an epoch of random has 2 batches of 4 (last partial batch dropped)",
                assertThrows(IllegalArgumentException.class, () -> loader.batch(1, 2)).getMessage());
    }

    /** The benchmark main runs (tiny), so it cannot rot; its figures are in ImageLoader's javadoc. */
    @Test
    void theBenchmarkRuns() {
        LoaderBenchmark b = new LoaderBenchmark();
        assertEquals(0, new picocli.CommandLine(b).execute("--images", "300", "--epochs", "2", "--batch", "64"));
        assertEquals(0, new picocli.CommandLine(new LoaderBenchmark()).execute("--images", "100", "--epochs", "2", "--dtype", "FLOAT64",
                "--no-augment"));
    }
}
