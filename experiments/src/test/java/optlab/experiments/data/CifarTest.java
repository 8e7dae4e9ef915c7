package optlab.experiments.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import optlab.experiments.data.Cifar.Variant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CIFAR readers on small files written here, in the official format. */
class CifarTest {
    @TempDir
    Path dir;

    /** n random 3x32x32 images with labels drawn below {@code classes}. */
    static ImageDataset random(String name, int n, int classes, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] px = new byte[n * Cifar.IMAGE_BYTES];
        int[] labels = new int[n];
        for (int i = 0; i < px.length; i++) px[i] = (byte) r.nextInt(256);
        for (int i = 0; i < n; i++) labels[i] = r.nextInt(classes);
        return new ImageDataset(name, px, labels, 3, 32, 32, classes);
    }

    @Test
    void cifar10PixelsAndLabelsRoundTripAndTheFiveTrainingFilesConcatenateInOrder() {
        ImageDataset[] parts = new ImageDataset[5];
        for (int f = 0; f < 5; f++) {
            parts[f] = random("part" + f, f + 1, 10, f); // 1, 2, ..., 5 records: the reader must not assume 10,000
            Cifar.write(Variant.CIFAR10, dir.resolve("data_batch_" + (f + 1) + ".bin"), parts[f]);
        }
        ImageDataset test = random("test", 3, 10, 99);
        Cifar.write(Variant.CIFAR10, dir.resolve("test_batch.bin"), test);
        ImageDataset train = Cifar.train(Variant.CIFAR10, dir);
        assertEquals("cifar-10/train", train.name());
        assertEquals(15, train.size());
        assertEquals(10, train.classes());
        byte[] px = new byte[0];
        int[] labels = new int[0];
        for (ImageDataset p : parts) {
            px = concat(px, p.pixels());
            labels = concat(labels, p.labels());
        }
        assertArrayEquals(px, train.pixels());
        assertArrayEquals(labels, train.labels());
        ImageDataset t = Cifar.test(Variant.CIFAR10, dir);
        assertArrayEquals(test.pixels(), t.pixels());
        assertArrayEquals(test.labels(), t.labels());
        assertEquals(15L * 3073, sizeOf("data_batch_1.bin") + sizeOf("data_batch_2.bin") + sizeOf("data_batch_3.bin")
                + sizeOf("data_batch_4.bin") + sizeOf("data_batch_5.bin"));
    }

    @Test
    void aRecordIsTheLabelThenRedGreenBlueEachRowMajor() throws IOException {
        byte[] record = new byte[3074];
        record[0] = 7;  // coarse
        record[1] = 42; // fine: the label
        record[2 + 1024 * 2 + 32 * 5 + 9] = (byte) 200; // blue channel, row 5, column 9
        Files.write(dir.resolve("test.bin"), record);
        ImageDataset d = Cifar.test(Variant.CIFAR100, dir);
        assertEquals(42, d.labels()[0]);
        assertEquals(100, d.classes());
        int at = ((2 * 32) + 5) * 32 + 9; // (c, y, x) = (2, 5, 9)
        assertEquals((byte) 200, d.pixels()[at]);
        assertEquals(1, countNonZero(d.pixels()));
    }

    @Test
    void cifar100RoundTripsWithTheFineLabel() {
        ImageDataset train = random("train", 7, 100, 5);
        Cifar.write(Variant.CIFAR100, dir.resolve("train.bin"), train);
        ImageDataset back = Cifar.train(Variant.CIFAR100, dir);
        assertEquals("cifar-100/train", back.name());
        assertArrayEquals(train.pixels(), back.pixels());
        assertArrayEquals(train.labels(), back.labels());
        assertEquals(7L * 3074, sizeOf("train.bin"));
    }

    @Test
    void theParentOfTheOfficialDirectoryIsAcceptedToo() throws IOException {
        Path official = Files.createDirectory(dir.resolve("cifar-100-binary"));
        ImageDataset test = random("test", 2, 100, 1);
        Cifar.write(Variant.CIFAR100, official.resolve("test.bin"), test);
        assertArrayEquals(test.labels(), Cifar.test(Variant.CIFAR100, dir).labels());
        assertArrayEquals(test.labels(), Cifar.test(Variant.CIFAR100, official).labels());
    }

    @Test
    void aMissingFileSaysWhereTheOfficialFilesComeFrom() {
        var e = assertThrows(DataFileException.class, () -> Cifar.train(Variant.CIFAR10, dir));
        assertEquals(dir.resolve("data_batch_1.bin") + ": file not found (nor in " + dir.resolve("cifar-10-batches-bin") + "). Download the "
                + "official binary distribution from https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, unpack it, and pass --data-dir "
                + "pointing at the unpacked cifar-10-batches-bin directory or at the directory holding it", e.getMessage());
        var f = assertThrows(DataFileException.class, () -> Cifar.test(Variant.CIFAR100, dir));
        assertTrue(f.getMessage().startsWith(dir.resolve("test.bin") + ": file not found"), f.getMessage());
        assertTrue(f.getMessage().contains("https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"), f.getMessage());
    }

    @Test
    void aMissingLaterTrainingFileIsNamed() {
        for (int f = 1; f <= 4; f++) Cifar.write(Variant.CIFAR10, dir.resolve("data_batch_" + f + ".bin"), random("p", 1, 10, f));
        var e = assertThrows(DataFileException.class, () -> Cifar.train(Variant.CIFAR10, dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("data_batch_5.bin") + ": file not found"), e.getMessage());
    }

    @Test
    void anEmptyFile() throws IOException {
        Files.write(dir.resolve("test_batch.bin"), new byte[0]);
        var e = assertThrows(DataFileException.class, () -> Cifar.test(Variant.CIFAR10, dir));
        assertEquals(dir.resolve("test_batch.bin") + ": file is empty", e.getMessage());
    }

    @Test
    void aFileThatIsNotAWholeNumberOfRecords() throws IOException {
        Files.write(dir.resolve("test_batch.bin"), new byte[2 * 3073 - 1]);
        var e = assertThrows(DataFileException.class, () -> Cifar.test(Variant.CIFAR10, dir));
        assertEquals(dir.resolve("test_batch.bin") + ": wrong length: 6145 bytes is not a whole number of 3073-byte CIFAR10 records "
                + "(1 label byte + 3072 pixel bytes; truncated, or the other variant's file?)", e.getMessage());
        // a CIFAR-10 file read as CIFAR-100: 2 records of 3073 bytes are not whole 3074-byte records
        Files.write(dir.resolve("test.bin"), new byte[2 * 3073]);
        var f = assertThrows(DataFileException.class, () -> Cifar.test(Variant.CIFAR100, dir));
        assertEquals(dir.resolve("test.bin") + ": wrong length: 6146 bytes is not a whole number of 3074-byte CIFAR100 records "
                + "(2 label bytes + 3072 pixel bytes; truncated, or the other variant's file?)", f.getMessage());
    }

    @Test
    void badLabelsNameTheValueTheRecordAndTheRange() throws IOException {
        byte[] two = new byte[2 * 3073];
        two[3073] = 10; // record 1
        Files.write(dir.resolve("test_batch.bin"), two);
        var e = assertThrows(DataFileException.class, () -> Cifar.test(Variant.CIFAR10, dir));
        assertEquals(dir.resolve("test_batch.bin") + ": bad label 10 in record 1: allowed range is [0, 10)", e.getMessage());

        byte[] three = new byte[3 * 3074];
        three[2 * 3074 + 1] = (byte) 255; // record 2, fine label
        Files.write(dir.resolve("train.bin"), three);
        e = assertThrows(DataFileException.class, () -> Cifar.train(Variant.CIFAR100, dir));
        assertEquals(dir.resolve("train.bin") + ": bad label 255 in record 2: allowed range is [0, 100)", e.getMessage());

        three[2 * 3074 + 1] = 3;
        three[3074] = 20; // record 1, coarse label
        Files.write(dir.resolve("train.bin"), three);
        e = assertThrows(DataFileException.class, () -> Cifar.train(Variant.CIFAR100, dir));
        assertEquals(dir.resolve("train.bin") + ": bad coarse label 20 in record 1: allowed range is [0, 20)", e.getMessage());
    }

    @Test
    void theVariantsDescribeTheOfficialFiles() {
        assertEquals(10, Variant.CIFAR10.classes());
        assertEquals(100, Variant.CIFAR100.classes());
        assertEquals("cifar-10-batches-bin", Variant.CIFAR10.directoryName());
        assertEquals("cifar-100-binary", Variant.CIFAR100.directoryName());
        assertEquals(3073, Variant.CIFAR10.recordBytes());
        assertEquals(3074, Variant.CIFAR100.recordBytes());
        var e = assertThrows(IllegalArgumentException.class,
                () -> Cifar.write(Variant.CIFAR10, dir.resolve("x.bin"), random("hundred", 1, 100, 0)));
        assertEquals("hundred: 100 classes do not fit CIFAR10's 10", e.getMessage());
    }

    private long sizeOf(String name) {
        try {
            return Files.size(dir.resolve(name));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static int countNonZero(byte[] b) {
        int n = 0;
        for (byte x : b) if (x != 0) n++;
        return n;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
