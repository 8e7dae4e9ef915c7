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
}
