package optlab.experiments.data;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * What {@link ImageLoader} does to each image on its way from bytes to floats: an optional random
 * augmentation, then scaling and per-channel normalization. Immutable.
 *
 * <p>The augmentation is that of Zhuang et al.'s released CIFAR code, torchvision's
 * {@code RandomHorizontalFlip()} then {@code RandomCrop(32, padding=4)} then {@code ToTensor()} and
 * {@code Normalize(mean, std)}:
 * <ol>
 *   <li>with probability 1/2 mirror the image left to right;
 *   <li>pad it with {@code padding} zero bytes on every side (zero padding of the raw image, so a padded
 *       pixel normalizes to {@code -mean[c] / std[c]});
 *   <li>cut out an h x w window at a top-left corner (top, left) drawn uniformly from the
 *       (2 padding + 1)^2 positions;
 *   <li>{@code x = (b / 255 - mean[c]) / std[c]}: in float arithmetic for FLOAT32,
 *       {@code (b / 255f - (float) mean[c]) / (float) std[c]}, and in double for FLOAT64.
 * </ol>
 * Output pixel (c, y, x) is raw pixel (c, y + top - padding, flip ? w - 1 - x' : x') with
 * {@code x' = x + left - padding}, or a zero byte where that lies outside the image. The random draws
 * of one image are, in this order, {@code random.nextBoolean()} (flip) when flipping is on, then
 * {@code random.nextInt(2 padding + 1)} for top and for left when padding is positive; the loader hands
 * each image its own generator (NOTE [augmentation-seeds] in {@link ImageLoader}).
 *
 * <p>{@link #identity()} is {@code b / 255} with no augmentation: mean 0 and std 1 leave
 * {@code b / 255f} bit for bit ({@code v - 0f == v}, {@code v / 1f == v}), which is how Fashion-MNIST
 * has been fed since the start ({@link Batches}).
 */
public final class ImageTransform {
    /** CIFAR-10 channel means and standard deviations (R, G, B), from Zhuang et al.'s data_loader.py. */
    public static final List<Double> CIFAR10_MEAN = List.of(0.4914, 0.4822, 0.4465), CIFAR10_STD = List.of(0.2470, 0.2435, 0.2616);
    /** CIFAR-100 channel means and standard deviations (R, G, B), from Zhuang et al.'s data_loader.py. */
    public static final List<Double> CIFAR100_MEAN = List.of(0.5071, 0.4866, 0.4409), CIFAR100_STD = List.of(0.2673, 0.2564, 0.2762);
    /** The padding of Zhuang et al.'s {@code RandomCrop(32, padding=4)}. */
    public static final int CIFAR_PADDING = 4;

    private final boolean flip;
    private final int padding;
    private final double[] mean, std; // null: b / 255 for any number of channels
    /** Per channel, the output value of each byte 0..255 (one table for all channels when mean is null). */
    private final float[][] floatTable;
    private final double[][] doubleTable;

    private ImageTransform(boolean flip, int padding, double[] mean, double[] std) {
        this.flip = flip;
        this.padding = padding;
        this.mean = mean;
        this.std = std;
        int tables = mean == null ? 1 : mean.length;
        floatTable = new float[tables][256];
        doubleTable = new double[tables][256];
        for (int c = 0; c < tables; c++) {
            float m = mean == null ? 0f : (float) mean[c], s = mean == null ? 1f : (float) std[c];
            double md = mean == null ? 0 : mean[c], sd = mean == null ? 1 : std[c];
            for (int b = 0; b < 256; b++) {
                floatTable[c][b] = (b / 255f - m) / s;
                doubleTable[c][b] = (b / 255.0 - md) / sd;
            }
        }
    }

    /** {@code b / 255}, no augmentation: any number of channels. */
    public static ImageTransform identity() {
        return new ImageTransform(false, 0, null, null);
    }

    /** {@code (b / 255 - mean[c]) / std[c]}, no augmentation; one mean and one positive std per channel. */
    public static ImageTransform normalize(List<Double> mean, List<Double> std) {
        if (mean.isEmpty() || mean.size() != std.size()) {
            throw new IllegalArgumentException("normalize: need one mean and one std per channel, got " + mean.size() + " means and "
                    + std.size() + " stds");
        }
        double[] m = new double[mean.size()], s = new double[std.size()];
        for (int c = 0; c < m.length; c++) {
            m[c] = mean.get(c);
            s[c] = std.get(c);
            if (!Double.isFinite(m[c]) || !(s[c] > 0) || !Double.isFinite(s[c])) {
                throw new IllegalArgumentException("normalize: channel " + c + " has mean " + m[c] + " and std " + s[c]
                        + " (the mean must be finite and the std finite and positive)");
            }
        }
        return new ImageTransform(false, 0, m, s);
    }

    /**
     * This transform with the training augmentation: a horizontal flip with probability 1/2 when
     * {@code flip}, then, when {@code padding > 0}, zero padding and a random crop back to the image's size.
     */
    public ImageTransform withAugmentation(boolean flip, int padding) {
        if (padding < 0) throw new IllegalArgumentException("augmentation padding must be >= 0, got " + padding);
        return new ImageTransform(flip, padding, mean, std);
    }

    /** Zhuang et al.'s CIFAR training transform: flip, pad 4 and crop, normalize with the variant's constants. */
    public static ImageTransform cifarTrain(Cifar.Variant v) {
        return cifarEval(v).withAugmentation(true, CIFAR_PADDING);
    }

    /** Zhuang et al.'s CIFAR evaluation transform: normalize with the variant's constants, no augmentation. */
    public static ImageTransform cifarEval(Cifar.Variant v) {
        return v == Cifar.Variant.CIFAR10 ? normalize(CIFAR10_MEAN, CIFAR10_STD) : normalize(CIFAR100_MEAN, CIFAR100_STD);
    }

    public boolean flips() {
        return flip;
    }

    public int padding() {
        return padding;
    }

    /** Whether the transform draws random numbers (flip or crop). */
    public boolean augments() {
        return flip || padding > 0;
    }

    /** The channel means, empty for {@link #identity()}. */
    public List<Double> mean() {
        return mean == null ? List.of() : Arrays.stream(mean).boxed().toList();
    }

    /** The channel standard deviations, empty for {@link #identity()}. */
    public List<Double> std() {
        return std == null ? List.of() : Arrays.stream(std).boxed().toList();
    }

    /** Refuses a dataset whose channel count differs from the normalization's. */
    void check(ImageDataset data) {
        if (mean != null && mean.length != data.channels()) {
            throw new IllegalArgumentException(data.name() + " has " + data.channels() + " channels but the transform normalizes "
                    + mean.length + " (" + this + ")");
        }
    }

    /**
     * Transforms the image at {@code px[src ...]} (c, h, w) into {@code out[dst ...]} (c, h, w).
     * {@code random} may be null when {@link #augments()} is false.
     */
    public void apply(byte[] px, int src, int c, int h, int w, SplittableRandom random, float[] out, int dst) {
        boolean mirror = flip && random.nextBoolean();
        int top = padding > 0 ? random.nextInt(2 * padding + 1) : padding, left = padding > 0 ? random.nextInt(2 * padding + 1) : padding;
        for (int ch = 0; ch < c; ch++) {
            float[] table = floatTable[mean == null ? 0 : ch];
            int plane = src + ch * h * w, o = dst + ch * h * w;
            for (int y = 0; y < h; y++) {
                int sy = y + top - padding;
                for (int x = 0; x < w; x++) {
                    int sx = x + left - padding;
                    int b = sy < 0 || sy >= h || sx < 0 || sx >= w ? 0 : px[plane + sy * w + (mirror ? w - 1 - sx : sx)] & 0xFF;
                    out[o + y * w + x] = table[b];
                }
            }
        }
    }

    /** As {@link #apply(byte[], int, int, int, int, SplittableRandom, float[], int)}, in double precision. */
    public void apply(byte[] px, int src, int c, int h, int w, SplittableRandom random, double[] out, int dst) {
        boolean mirror = flip && random.nextBoolean();
        int top = padding > 0 ? random.nextInt(2 * padding + 1) : padding, left = padding > 0 ? random.nextInt(2 * padding + 1) : padding;
        for (int ch = 0; ch < c; ch++) {
            double[] table = doubleTable[mean == null ? 0 : ch];
            int plane = src + ch * h * w, o = dst + ch * h * w;
            for (int y = 0; y < h; y++) {
                int sy = y + top - padding;
                for (int x = 0; x < w; x++) {
                    int sx = x + left - padding;
                    int b = sy < 0 || sy >= h || sx < 0 || sx >= w ? 0 : px[plane + sy * w + (mirror ? w - 1 - sx : sx)] & 0xFF;
                    out[o + y * w + x] = table[b];
                }
            }
        }
    }

    /** For the run's record, e.g. {@code flip, pad 4 + crop, normalize mean [0.4914, ...] std [0.247, ...]}. */
    @Override
    public String toString() {
        String aug = (flip ? "flip, " : "") + (padding > 0 ? "pad " + padding + " + crop, " : "");
        return aug + (mean == null ? "b/255" : "normalize mean " + Arrays.toString(mean) + " std " + Arrays.toString(std));
    }
}
