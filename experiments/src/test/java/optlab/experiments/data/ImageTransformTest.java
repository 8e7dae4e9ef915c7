package optlab.experiments.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import optlab.kernels.DType;
import org.junit.jupiter.api.Test;

/** The augmentation's geometry and statistics, and the normalization's arithmetic, through the loader. */
class ImageTransformTest {
    /** n copies of one c x h x w image. */
    private static ImageDataset copies(byte[] image, int n, int c, int h, int w) {
        byte[] px = new byte[n * image.length];
        for (int i = 0; i < n; i++) System.arraycopy(image, 0, px, i * image.length, image.length);
        return new ImageDataset("copies", px, new int[n], c, h, w, 1);
    }

    /**
     * Pad-and-crop offsets are uniform over the 9 x 9 positions. Every pixel of the image is 255, so
     * the zero rows and columns of a crop give its offset: top = 4 - (zero rows at the top) + (zero
     * rows at the bottom), and the same for left. 16,200 crops, 200 expected per position; chi-square
     * with 80 degrees of freedom has mean 80 and standard deviation 12.6: the bound 160 (6 standard
     * deviations) is generous, and the seed is fixed.
     */
    @Test
    void cropOffsetsAreUniformOverTheNineByNinePositions() {
        int n = 81 * 200, side = 32;
        byte[] white = new byte[side * side];
        Arrays.fill(white, (byte) 255);
        ImageLoader loader = new ImageLoader(copies(white, n, 1, side, side), 1000, false, false,
                ImageTransform.identity().withAugmentation(false, 4), DType.FLOAT32, 2024);
        int[][] counts = new int[9][9];
        try (ImageLoader.Epoch epoch = loader.epoch(1)) {
            for (HostBatch b : epoch) {
                for (int i = 0; i < b.size(); i++) {
                    int[] off = offset(b.floats(), i * side * side, side);
                    counts[off[0]][off[1]]++;
                }
            }
        }
        double chi2 = 0;
        for (int[] row : counts) for (int c : row) chi2 += (c - 200.0) * (c - 200.0) / 200.0;
        assertTrue(chi2 < 160, "chi-square " + chi2 + " over 80 degrees of freedom; counts " + Arrays.deepToString(counts));
        for (int[] row : counts) for (int c : row) assertTrue(c > 0, "a position never drawn: " + Arrays.deepToString(counts));
    }

    /** (top, left) of a crop of an all-white image with padding 4, from where its zeros are. */
    private static int[] offset(float[] x, int at, int side) {
        int zeroTop = 0, zeroBottom = 0, zeroLeft = 0, zeroRight = 0;
        while (zeroTop < side && x[at + zeroTop * side + side / 2] == 0) zeroTop++;
        while (zeroBottom < side && x[at + (side - 1 - zeroBottom) * side + side / 2] == 0) zeroBottom++;
        while (zeroLeft < side && x[at + (side / 2) * side + zeroLeft] == 0) zeroLeft++;
        while (zeroRight < side && x[at + (side / 2) * side + side - 1 - zeroRight] == 0) zeroRight++;
        return new int[] {4 - zeroTop + zeroBottom, 4 - zeroLeft + zeroRight};
    }

    /**
     * Horizontal flips happen with probability 1/2: pixel (y, x) of the image is x, so a flipped image
     * starts with 31. 10,000 images: binomial standard deviation 50; the bound 250 is 5 of them.
     */
    @Test
    void halfOfTheImagesAreFlipped() {
        int n = 10_000, side = 32;
        byte[] ramp = new byte[side * side];
        for (int i = 0; i < ramp.length; i++) ramp[i] = (byte) (i % side);
        ImageLoader loader = new ImageLoader(copies(ramp, n, 1, side, side), 500, false, false,
                ImageTransform.identity().withAugmentation(true, 0), DType.FLOAT32, 7);
        int flipped = 0;
        try (ImageLoader.Epoch epoch = loader.epoch(1)) {
            for (HostBatch b : epoch) {
                for (int i = 0; i < b.size(); i++) {
                    float first = b.floats()[i * side * side];
                    assertTrue(first == 0 || first == 31 / 255f, "image " + i + " starts with " + first);
                    if (first != 0) flipped++;
                }
            }
        }
        assertTrue(Math.abs(flipped - n / 2) < 250, flipped + " of " + n + " flipped");
    }

    /**
     * The geometry against a plain reimplementation of torchvision's pipeline: mirror, then pad into a
     * (h + 8) x (w + 8) array of zeros, then cut the window at (top, left), with the draws taken from
     * the image's own generator in the documented order (flip, top, left). Odd, non-square images.
     */
    @Test
    void flipThenPadThenCropMatchesAnExplicitPaddedImage() {
        int n = 40, c = 2, h = 5, w = 7, p = 4;
        ImageDataset d = ImageLoaderTest.random(n, c, h, w, 3);
        ImageLoader loader = new ImageLoader(d, 6, true, false, ImageTransform.identity().withAugmentation(true, p), DType.FLOAT32, 13);
        int[] order = loader.order(2);
        boolean sawFlip = false, sawPlain = false;
        for (int k = 0; k < loader.batchesPerEpoch(); k++) {
            HostBatch b = loader.batch(2, k);
            for (int i = 0; i < b.size(); i++) {
                int position = k * 6 + i, src = order[position];
                SplittableRandom r = new SplittableRandom(ImageLoader.imageSeed(13, 2, position));
                boolean flip = r.nextBoolean();
                int top = r.nextInt(2 * p + 1), left = r.nextInt(2 * p + 1);
                sawFlip |= flip;
                sawPlain |= !flip;
                for (int ch = 0; ch < c; ch++) {
                    int[][] padded = new int[h + 2 * p][w + 2 * p];
                    for (int y = 0; y < h; y++) {
                        for (int x = 0; x < w; x++) {
                            int xs = flip ? w - 1 - x : x;
                            padded[y + p][x + p] = d.pixels()[((src * c + ch) * h + y) * w + xs] & 0xFF;
                        }
                    }
                    for (int y = 0; y < h; y++) {
                        for (int x = 0; x < w; x++) {
                            float expected = padded[y + top][x + left] / 255f;
                            assertEquals(expected, b.floats()[((i * c + ch) * h + y) * w + x], 0f,
                                    "image " + src + " channel " + ch + " (" + y + ", " + x + ")");
                        }
                    }
                }
            }
        }
        assertTrue(sawFlip && sawPlain);
    }

    /**
     * Normalization without augmentation: a data set whose channels have the CIFAR means and standard
     * deviations comes out with mean about 0 and standard deviation about 1. Channel c holds the two
     * bytes round(255 (mean - std)) and round(255 (mean + std)), half each; the rounding moves the
     * moments by at most 0.5 / 255 / std < 0.008 in normalized units, so the bound is 0.01.
     */
    @Test
    void normalizedChannelsHaveMeanZeroAndStdOne() {
        for (Cifar.Variant v : Cifar.Variant.values()) {
            List<Double> mean = v == Cifar.Variant.CIFAR10 ? ImageTransform.CIFAR10_MEAN : ImageTransform.CIFAR100_MEAN;
            List<Double> std = v == Cifar.Variant.CIFAR10 ? ImageTransform.CIFAR10_STD : ImageTransform.CIFAR100_STD;
            int n = 64;
            byte[] px = new byte[n * 3 * 1024];
            for (int i = 0; i < n; i++) {
                for (int c = 0; c < 3; c++) {
                    long lo = Math.round(255 * (mean.get(c) - std.get(c))), hi = Math.round(255 * (mean.get(c) + std.get(c)));
                    for (int j = 0; j < 1024; j++) px[(i * 3 + c) * 1024 + j] = (byte) ((i + j) % 2 == 0 ? lo : hi);
                }
            }
            ImageDataset d = new ImageDataset("moments", px, new int[n], 3, 32, 32, 1);
            for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                HostBatch b = new ImageLoader(d, n, true, false, ImageTransform.cifarEval(v), dtype, 0).batch(1, 0);
                for (int c = 0; c < 3; c++) {
                    double s = 0, s2 = 0;
                    for (int i = 0; i < n; i++) {
                        for (int j = 0; j < 1024; j++) {
                            int at = (i * 3 + c) * 1024 + j;
                            double x = dtype == DType.FLOAT32 ? b.floats()[at] : b.doubles()[at];
                            s += x;
                            s2 += x * x;
                        }
                    }
                    double m = s / (n * 1024), sd = Math.sqrt(s2 / (n * 1024) - m * m);
                    assertEquals(0, m, 0.01, v + " " + dtype + " channel " + c + " mean");
                    assertEquals(1, sd, 0.01, v + " " + dtype + " channel " + c + " std");
                }
            }
        }
    }

    /** Every byte value of every channel, in float32 arithmetic for FLOAT32, including the padding's zero byte. */
    @Test
    void theNormalizationIsTheStatedArithmetic() {
        byte[] all = new byte[3 * 256];
        for (int i = 0; i < all.length; i++) all[i] = (byte) (i % 256);
        ImageDataset d = new ImageDataset("bytes", all, new int[1], 3, 16, 16, 1);
        double[] mean = {0.4914, 0.4822, 0.4465}, std = {0.2470, 0.2435, 0.2616};
        float[] f = new ImageLoader(d, 1, false, false, ImageTransform.cifarEval(Cifar.Variant.CIFAR10), DType.FLOAT32, 0).batch(1, 0).floats();
        for (int i = 0; i < all.length; i++) {
            int c = i / 256, b = i % 256;
            assertEquals((b / 255f - (float) mean[c]) / (float) std[c], f[i], 0f, "channel " + c + " byte " + b);
        }
        float[] id = new ImageLoader(d, 1, false, false, ImageTransform.identity(), DType.FLOAT32, 0).batch(1, 0).floats();
        for (int i = 0; i < all.length; i++) assertEquals((all[i] & 0xFF) / 255f, id[i], 0f);
        // a crop that reaches into the padding holds the zero byte's value, -mean/std, there
        byte[] white = new byte[3 * 16];
        Arrays.fill(white, (byte) 255);
        ImageDataset small = new ImageDataset("white", white, new int[1], 3, 4, 4, 1);
        ImageTransform t = ImageTransform.cifarTrain(Cifar.Variant.CIFAR10);
        boolean sawPadding = false;
        for (int e = 1; e <= 20; e++) {
            float[] x = new ImageLoader(small, 1, false, false, t, DType.FLOAT32, 0).batch(e, 0).floats();
            for (int i = 0; i < x.length; i++) {
                int c = i / 16;
                float zero = (0f - (float) mean[c]) / (float) std[c], one = (1f - (float) mean[c]) / (float) std[c];
                assertTrue(x[i] == zero || x[i] == one, "value " + x[i]);
                sawPadding |= x[i] == zero;
            }
        }
        assertTrue(sawPadding);
    }

    @Test
    void theFactoriesAndTheirDescription() {
        ImageTransform train = ImageTransform.cifarTrain(Cifar.Variant.CIFAR100);
        assertTrue(train.flips());
        assertEquals(4, train.padding());
        assertEquals(List.of(0.5071, 0.4866, 0.4409), train.mean());
        assertEquals(List.of(0.2673, 0.2564, 0.2762), train.std());
        assertEquals("flip, pad 4 + crop, normalize mean [0.5071, 0.4866, 0.4409] std [0.2673, 0.2564, 0.2762]", train.toString());
        assertEquals(false, ImageTransform.cifarEval(Cifar.Variant.CIFAR100).augments());
        assertEquals("b/255", ImageTransform.identity().toString());
        assertEquals(List.of(), ImageTransform.identity().mean());
        assertEquals("normalize: channel 1 has mean 0.5 and std 0.0 (the mean must be finite and the std finite and positive)",
                assertThrows(IllegalArgumentException.class, () -> ImageTransform.normalize(List.of(0.5, 0.5), List.of(1.0, 0.0))).getMessage());
        assertEquals("normalize: need one mean and one std per channel, got 2 means and 1 stds",
                assertThrows(IllegalArgumentException.class, () -> ImageTransform.normalize(List.of(0.5, 0.5), List.of(1.0))).getMessage());
        assertEquals("augmentation padding must be >= 0, got -1",
                assertThrows(IllegalArgumentException.class, () -> ImageTransform.identity().withAugmentation(true, -1)).getMessage());
        assertEquals(0, ImageTransform.identity().padding());
    }
}
