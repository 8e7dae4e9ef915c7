package optlab.experiments.data;

/**
 * Images and labels held on the host as bytes: pixels (count, channels, height, width) row-major, one
 * label in [0, classes) per image. Batches are converted to float tensors on the way to the model.
 */
public record ImageDataset(String name, byte[] pixels, int[] labels, int channels, int height, int width, int classes) {
    public ImageDataset {
        int per = channels * height * width;
        if (pixels.length != labels.length * per) {
            throw new IllegalArgumentException(name + ": " + pixels.length + " pixel bytes for " + labels.length + " images of "
                    + channels + "x" + height + "x" + width);
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException(name + ": label " + labels[i] + " of image " + i + " is outside [0, " + classes + ")");
            }
        }
    }

    public int size() {
        return labels.length;
    }

    public int imageSize() {
        return channels * height * width;
    }

    /** The first n images (for quick runs and tests). */
    public ImageDataset head(int n) {
        if (n < 0 || n > size()) throw new IllegalArgumentException(name + ": cannot take " + n + " of " + size() + " images");
        return new ImageDataset(name + "[:" + n + "]", java.util.Arrays.copyOf(pixels, n * imageSize()),
                java.util.Arrays.copyOf(labels, n), channels, height, width, classes);
    }
}
