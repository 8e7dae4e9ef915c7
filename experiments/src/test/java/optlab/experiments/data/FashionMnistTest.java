package optlab.experiments.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loader's checks, on small files written here (the real files are used by the integration test). */
class FashionMnistTest {
    @TempDir
    Path dir;

    private void writeSet(String prefix, int images, int labels, int side, byte label) throws IOException {
        Files.write(dir.resolve(prefix + "-images-idx3-ubyte.gz"),
                IdxTest.gzip(IdxTest.idx(0x0803, new int[] {images, side, side}, new byte[images * side * side])));
        byte[] l = new byte[labels];
        java.util.Arrays.fill(l, label);
        Files.write(dir.resolve(prefix + "-labels-idx1-ubyte.gz"), IdxTest.gzip(IdxTest.idx(0x0801, new int[] {labels}, l)));
    }

    @Test
    void missingFilesSayHowToInstallThem() {
        var e = assertThrows(DataFileException.class, () -> FashionMnist.train(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("train-images-idx3-ubyte.gz") + ": file not found. Install the Debian package dataset-fashion-mnist"),
                e.getMessage());
    }

    @Test
    void imageAndLabelCountsMustAgree() throws IOException {
        writeSet("t10k", 5, 4, 28, (byte) 1);
        var e = assertThrows(DataFileException.class, () -> FashionMnist.test(dir));
        assertEquals(dir.resolve("t10k-labels-idx1-ubyte.gz") + ": 4 labels for the 5 images of t10k-images-idx3-ubyte.gz", e.getMessage());
    }

    @Test
    void theOfficialCountsAndSizesAreChecked() throws IOException {
        writeSet("t10k", 5, 5, 28, (byte) 1);
        var e = assertThrows(DataFileException.class, () -> FashionMnist.test(dir));
        assertEquals(dir.resolve("t10k-images-idx3-ubyte.gz") + ": 5 images, expected 10000 in the official release", e.getMessage());
        writeSet("t10k", 5, 5, 32, (byte) 1);
        e = assertThrows(DataFileException.class, () -> FashionMnist.test(dir));
        assertEquals(dir.resolve("t10k-images-idx3-ubyte.gz") + ": images are 32x32, expected 28x28", e.getMessage());
    }

    @Test
    void theHeadOfTheTrainingSetMayComeFromACutDownCopy() throws IOException {
        writeSet("train", 6, 6, 28, (byte) 3);
        ImageDataset head = FashionMnist.trainHead(dir, 4);
        assertEquals(4, head.size());
        assertEquals(3, head.labels()[3]);
        var e = assertThrows(DataFileException.class, () -> FashionMnist.trainHead(dir, 7));
        assertEquals(dir.resolve("train-images-idx3-ubyte.gz") + ": 6 images, expected between 7 and 60000 (the official release or a copy "
                + "of its first images)", e.getMessage());
        e = assertThrows(DataFileException.class, () -> FashionMnist.train(dir));
        assertEquals(dir.resolve("train-images-idx3-ubyte.gz") + ": 6 images, expected 60000 in the official release", e.getMessage());
        var bad = assertThrows(IllegalArgumentException.class, () -> FashionMnist.trainHead(dir, 0));
        assertEquals("trainHead: n must be in [1, 60000], got 0", bad.getMessage());
    }
}
