package optlab.experiments.data;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fashion-MNIST (Xiao et al. 2017): 60,000 training and 10,000 test images, 28x28 grey levels, 10
 * classes, in the four gzipped IDX files of the official release, which Debian packages as
 * {@code dataset-fashion-mnist} under {@value #DEFAULT_DIR}.
 */
public final class FashionMnist {
    private FashionMnist() {}

    public static final String DEFAULT_DIR = "/usr/share/datasets/fashion-mnist";

    public static ImageDataset train(Path dir) {
        return load(dir, "train", 60_000);
    }

    public static ImageDataset test(Path dir) {
        return load(dir, "t10k", 10_000);
    }

    /**
     * The first {@code n} training images, from the official training files or from a copy of their first images
     * at least n long (bin/gpu-pack bundles such a copy for GPU machines, which have neither the Debian package
     * nor a network): the same names, and between n and 60,000 images.
     */
    public static ImageDataset trainHead(Path dir, int n) {
        if (n <= 0 || n > 60_000) throw new IllegalArgumentException("trainHead: n must be in [1, 60000], got " + n);
        return load(dir, "train", -n).head(n);
    }

    /** expectedCount > 0: exactly that many (the official release); < 0: between -expectedCount and 60,000. */
    private static ImageDataset load(Path dir, String prefix, int expectedCount) {
        Path images = dir.resolve(prefix + "-images-idx3-ubyte.gz"), labels = dir.resolve(prefix + "-labels-idx1-ubyte.gz");
        for (Path p : new Path[] {images, labels}) {
            if (!Files.exists(p)) {
                throw new DataFileException(p, "file not found. Install the Debian package dataset-fashion-mnist "
                        + "(apt-get install dataset-fashion-mnist), or point --data-dir at a directory holding the four "
                        + "official *-idx?-ubyte.gz files");
            }
        }
        Idx.Array x = Idx.read(images, 3), y = Idx.read(labels, 1);
        if (x.dims()[1] != 28 || x.dims()[2] != 28) {
            throw new DataFileException(images, "images are " + x.dims()[1] + "x" + x.dims()[2] + ", expected 28x28");
        }
        if (x.count() != y.count()) {
            throw new DataFileException(labels, y.count() + " labels for the " + x.count() + " images of " + images.getFileName());
        }
        if (expectedCount > 0 && x.count() != expectedCount) {
            throw new DataFileException(images, x.count() + " images, expected " + expectedCount + " in the official release");
        }
        if (expectedCount < 0 && (x.count() < -expectedCount || x.count() > 60_000)) {
            throw new DataFileException(images, x.count() + " images, expected between " + -expectedCount + " and 60000 (the official "
                    + "release or a copy of its first images)");
        }
        int[] l = new int[y.count()];
        for (int i = 0; i < l.length; i++) l[i] = y.data()[i] & 0xFF;
        for (int i = 0; i < l.length; i++) {
            if (l[i] >= 10) throw new DataFileException(labels, "label " + l[i] + " of image " + i + " is outside [0, 10)");
        }
        return new ImageDataset("fashion-mnist/" + prefix, x.data(), l, 1, 28, 28, 10);
    }
}
