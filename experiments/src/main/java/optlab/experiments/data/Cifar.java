package optlab.experiments.data;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * CIFAR-10 and CIFAR-100 (Krizhevsky 2009) from the official binary distributions: 32x32 colour
 * images, 50,000 for training and 10,000 for testing.
 *
 * <p>A file is a sequence of records, each the label byte(s) followed by 3,072 pixel bytes: the
 * 1,024 red values of the 32x32 image row-major, then the green, then the blue. That is exactly one
 * image of {@link ImageDataset}'s (count, 3, 32, 32) layout, so a file's pixels are copied as they are.
 * <pre>
 *   CIFAR-10   record = label (0..9)                                 + 3072 pixels = 3073 bytes
 *   CIFAR-100  record = coarse label (0..19), fine label (0..99)     + 3072 pixels = 3074 bytes
 * </pre>
 * The fine label is CIFAR-100's label; the coarse one (the superclass) is only range-checked.
 *
 * <p>Any positive whole number of records is accepted (the official files hold 10,000 each; tests
 * write a few). Every fault is a {@link DataFileException} naming the file: missing, empty, not a
 * whole number of records, or a label out of range.
 */
public final class Cifar {
    private Cifar() {}

    /** Pixel bytes per image: 3 channels of 32x32. */
    public static final int IMAGE_BYTES = 3 * 32 * 32;

    public enum Variant {
        CIFAR10(10, 1, "cifar-10-batches-bin", "cifar-10", "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                List.of("data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"),
                "test_batch.bin"),
        CIFAR100(100, 2, "cifar-100-binary", "cifar-100", "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
                List.of("train.bin"), "test.bin");

        private final int classes, labelBytes;
        private final String directoryName, shortName, url, testFile;
        private final List<String> trainFiles;

        Variant(int classes, int labelBytes, String directoryName, String shortName, String url, List<String> trainFiles, String testFile) {
            this.classes = classes;
            this.labelBytes = labelBytes;
            this.directoryName = directoryName;
            this.shortName = shortName;
            this.url = url;
            this.trainFiles = trainFiles;
            this.testFile = testFile;
        }

        /** 10 or 100. */
        public int classes() {
            return classes;
        }

        /** The directory the official archive unpacks to: {@code cifar-10-batches-bin} or {@code cifar-100-binary}. */
        public String directoryName() {
            return directoryName;
        }

        /** Where the official binary distribution is downloaded from. */
        public String url() {
            return url;
        }

        /** The training files, read and concatenated in this order. */
        public List<String> trainFiles() {
            return trainFiles;
        }

        public String testFile() {
            return testFile;
        }

        /** Label bytes per record: 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine). */
        public int labelBytes() {
            return labelBytes;
        }

        /** Bytes per record: 3,073 or 3,074. */
        public int recordBytes() {
            return labelBytes + IMAGE_BYTES;
        }
    }

    /**
     * The training set: CIFAR-10's five {@code data_batch_i.bin} concatenated in order, or CIFAR-100's
     * {@code train.bin}. {@code dir} is the directory holding the files, or its parent holding
     * {@link Variant#directoryName()} (where the archive was unpacked).
     */
    public static ImageDataset train(Variant v, Path dir) {
        return read(v, dir, v.trainFiles(), "train");
    }

    /** The test set: {@code test_batch.bin} or {@code test.bin}; {@code dir} as for {@link #train}. */
    public static ImageDataset test(Variant v, Path dir) {
        return read(v, dir, List.of(v.testFile()), "test");
    }

    /** The files' records concatenated in order. */
    private static ImageDataset read(Variant v, Path dir, List<String> names, String part) {
        Path base = dir;
        if (!Files.exists(dir.resolve(names.getFirst())) && Files.exists(dir.resolve(v.directoryName()).resolve(names.getFirst()))) {
            base = dir.resolve(v.directoryName());
        }
        long[] counts = new long[names.size()];
        long total = 0;
        for (int f = 0; f < names.size(); f++) {
            counts[f] = recordCount(v, base.resolve(names.get(f)), base.equals(dir) ? dir.resolve(v.directoryName()) : null);
            total += counts[f];
        }
        if (total * IMAGE_BYTES > Integer.MAX_VALUE - 8) {
            throw new DataFileException(base.resolve(names.getFirst()), total + " images are too many to hold in one byte array");
        }
        byte[] pixels = new byte[(int) total * IMAGE_BYTES];
        int[] labels = new int[(int) total];
        int image = 0;
        for (int f = 0; f < names.size(); f++) {
            readRecords(v, base.resolve(names.get(f)), (int) counts[f], pixels, labels, image);
            image += (int) counts[f];
        }
        return new ImageDataset(v.shortName + "/" + part, pixels, labels, 3, 32, 32, v.classes());
    }

    /**
     * The number of records in {@code file}, after checking it exists and holds a positive whole number of them;
     * {@code alsoLookedIn}, when not null, is the other directory searched, for the message.
     */
    private static long recordCount(Variant v, Path file, Path alsoLookedIn) {
        if (!Files.isRegularFile(file)) {
            throw new DataFileException(file, "file not found" + (alsoLookedIn == null ? "" : " (nor in " + alsoLookedIn + ")")
                    + ". Download the official "
                    + "binary distribution from " + v.url() + ", unpack it, and pass --data-dir pointing at the unpacked "
                    + v.directoryName() + " directory or at the directory holding it");
        }
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new DataFileException(file, "cannot read (" + e + ")", e);
        }
        if (size == 0) throw new DataFileException(file, "file is empty");
        if (size % v.recordBytes() != 0) {
            throw new DataFileException(file, "wrong length: " + size + " bytes is not a whole number of " + v.recordBytes() + "-byte "
                    + v.name() + " records (" + v.labelBytes() + " label byte" + (v.labelBytes() == 1 ? "" : "s") + " + " + IMAGE_BYTES
                    + " pixel bytes; truncated, or the other variant's file?)");
        }
        return size / v.recordBytes();
    }

    /** Reads {@code count} records of {@code file} into images {@code first, first + 1, ...}. */
    private static void readRecords(Variant v, Path file, int count, byte[] pixels, int[] labels, int first) {
        byte[] label = new byte[v.labelBytes()];
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            for (int r = 0; r < count; r++) {
                int got = in.readNBytes(label, 0, label.length);
                got += in.readNBytes(pixels, (first + r) * IMAGE_BYTES, IMAGE_BYTES);
                if (got < v.recordBytes()) throw new DataFileException(file, "file ended inside record " + r + " (changed while reading?)");
                if (v == Variant.CIFAR100) {
                    int coarse = label[0] & 0xFF;
                    if (coarse >= 20) throw new DataFileException(file, "bad coarse label " + coarse + " in record " + r + ": allowed range is [0, 20)");
                }
                int fine = label[label.length - 1] & 0xFF;
                if (fine >= v.classes()) {
                    throw new DataFileException(file, "bad label " + fine + " in record " + r + ": allowed range is [0, " + v.classes() + ")");
                }
                labels[first + r] = fine;
            }
        } catch (IOException e) {
            throw new DataFileException(file, "cannot read (" + e + ")", e);
        }
    }

    /**
     * Writes {@code d} (3x32x32 images, labels below {@code v.classes()}) to {@code file} in the official
     * format of {@code v}. CIFAR-100's coarse label is written as {@code fine / 5}, which is in range but
     * is not the official superclass of the fine label (the dataset does not carry it, and the reader
     * only range-checks it).
     */
    public static void write(Variant v, Path file, ImageDataset d) {
        if (d.channels() != 3 || d.height() != 32 || d.width() != 32) {
            throw new IllegalArgumentException(d.name() + ": CIFAR images are 3x32x32, got " + d.channels() + "x" + d.height() + "x" + d.width());
        }
        if (d.classes() > v.classes()) {
            throw new IllegalArgumentException(d.name() + ": " + d.classes() + " classes do not fit " + v.name() + "'s " + v.classes());
        }
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
            for (int i = 0; i < d.size(); i++) {
                if (v == Variant.CIFAR100) out.write(d.labels()[i] / 5);
                out.write(d.labels()[i]);
                out.write(d.pixels(), i * IMAGE_BYTES, IMAGE_BYTES);
            }
        } catch (IOException e) {
            throw new DataFileException(file, "cannot write (" + e + ")", e);
        }
    }
}
