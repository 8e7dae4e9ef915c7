package optlab.experiments.data;

import java.util.Arrays;

/**
 * Images and labels held on the host as bytes: pixels (count, channels, height, width) row-major, one
 * label in [0, classes) per image. A dataset may hold no images (the validation part of a split with
 * fraction 0). Batches are converted to float tensors on the way to the model ({@link ImageLoader}).
 */
public record ImageDataset(String name, byte[] pixels, int[] labels, int channels, int height, int width, int classes) {
    public ImageDataset {
        if (channels <= 0 || height <= 0 || width <= 0 || classes <= 0) {
            throw new IllegalArgumentException(name + ": channels, height, width and classes must be positive, got "
                    + channels + ", " + height + ", " + width + ", " + classes);
        }
        int per = channels * height * width;
        if (pixels.length != (long) labels.length * per) {
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
        return new ImageDataset(name + "[:" + n + "]", Arrays.copyOf(pixels, n * imageSize()),
                Arrays.copyOf(labels, n), channels, height, width, classes);
    }

    /**
     * A copy holding images {@code indices[0], indices[1], ...} in that order (repeats allowed), named
     * {@code name}.
     */
    public ImageDataset subset(int[] indices, String name) {
        int per = imageSize();
        byte[] px = new byte[Math.multiplyExact(indices.length, per)];
        int[] l = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            int src = indices[i];
            if (src < 0 || src >= size()) {
                throw new IllegalArgumentException(this.name + ": subset index " + src + " (position " + i + ") is outside [0, " + size() + ")");
            }
            System.arraycopy(pixels, src * per, px, i * per, per);
            l[i] = labels[src];
        }
        return new ImageDataset(name, px, l, channels, height, width, classes);
    }
}
