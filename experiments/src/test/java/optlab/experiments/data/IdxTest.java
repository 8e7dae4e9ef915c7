package optlab.experiments.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** IDX reading on files written here; every malformed file gives an error naming it and the problem. */
class IdxTest {
    @TempDir
    Path dir;

    /** The bytes of an IDX file: magic 0x0000 08 rank, big-endian dims, data. */
    static byte[] idx(int magic, int[] dims, byte[] data) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(b);
        out.writeInt(magic);
        for (int d : dims) out.writeInt(d);
        out.write(data);
        return b.toByteArray();
    }

    static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(b)) {
            gz.write(raw);
        }
        return b.toByteArray();
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    @Test
    void readsGzippedAndPlainFiles() throws IOException {
        byte[] data = {1, 2, 3, 4, 5, 6, (byte) 200, 8, 9, 10, 11, 12};
        byte[] raw = idx(0x0803, new int[] {2, 2, 3}, data);
        for (Path p : new Path[] {write("a.gz", gzip(raw)), write("a", raw)}) {
            Idx.Array a = Idx.read(p, 3);
            assertArrayEquals(new int[] {2, 2, 3}, a.dims());
            assertArrayEquals(data, a.data());
        }
    }

    @Test
    void missingFile() {
        Path p = dir.resolve("nope.gz");
        var e = assertThrows(DataFileException.class, () -> Idx.read(p, 1));
        assertEquals(p + ": file not found", e.getMessage());
    }

    @Test
    void badMagicNumber() throws IOException {
        Path p = write("labels.gz", gzip(idx(0x0803, new int[] {1, 1, 1}, new byte[1])));
        var e = assertThrows(DataFileException.class, () -> Idx.read(p, 1));
        assertEquals(p + ": bad magic number 0x00000803 (expected 0x00000801: unsigned bytes, 1 dimensions)", e.getMessage());
    }

    @Test
    void truncatedDataIsAWrongLength() throws IOException {
        Path p = write("t.gz", gzip(idx(0x0801, new int[] {10}, new byte[7])));
        var e = assertThrows(DataFileException.class, () -> Idx.read(p, 1));
        assertEquals(p + ": wrong length: dimensions [10] need 10 bytes of data but the file ends after 7 (truncated?)", e.getMessage());
    }

    @Test
    void trailingBytesAreAWrongLength() throws IOException {
        Path p = write("x", idx(0x0801, new int[] {3}, new byte[4]));
        var e = assertThrows(DataFileException.class, () -> Idx.read(p, 1));
        assertEquals(p + ": wrong length: more data after the 3 bytes that dimensions [3] describe", e.getMessage());
    }

    @Test
    void corruptAndCutGzipStreams() throws IOException {
        byte[] gz = gzip(idx(0x0801, new int[] {1000}, new byte[1000]));
        byte[] cut = Arrays.copyOf(gz, gz.length / 2);
        Path p = write("cut.gz", cut);
        var e = assertThrows(DataFileException.class, () -> Idx.read(p, 1));
        assertEquals(true, e.getMessage().startsWith(p + ": "), e.getMessage());
        byte[] corrupt = gz.clone();
        for (int i = 12; i < corrupt.length - 8; i++) corrupt[i] ^= 0x5a;
        Path q = write("corrupt.gz", corrupt);
        var f = assertThrows(DataFileException.class, () -> Idx.read(q, 1));
        assertEquals(true, f.getMessage().startsWith(q + ": corrupt gzip data") || f.getMessage().startsWith(q + ": truncated gzip"), f.getMessage());
    }

    @Test
    void emptyFile() throws IOException {
        Path p = write("empty", new byte[0]);
        var e = assertThrows(DataFileException.class, () -> Idx.read(p, 1));
        assertEquals(p + ": file is empty or shorter than its 4-byte header", e.getMessage());
    }
}
