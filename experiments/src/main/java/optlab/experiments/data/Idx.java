package optlab.experiments.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads IDX files (the MNIST format: yann.lecun.com/exdb/mnist), gzipped or not. Layout: a 4-byte
 * magic number {@code 0x00 0x00 type rank}, then rank big-endian int32 dimensions, then the elements
 * row-major. Only unsigned bytes (type 0x08) occur in (Fashion-)MNIST, and only they are accepted.
 * Every failure is a {@link DataFileException} naming the file and what is wrong.
 */
public final class Idx {
    private Idx() {}

    /** An IDX array of unsigned bytes. */
    public record Array(int[] dims, byte[] data) {
        public int count() {
            return dims[0];
        }
    }

    private static final int UBYTE = 0x08;

    /** Reads {@code file}, which must hold an unsigned-byte array of the given rank. */
    public static Array read(Path file, int rank) {
        try (InputStream raw = open(file)) {
            DataInputStream in = new DataInputStream(raw);
            int magic;
            try {
                magic = in.readInt();
            } catch (EOFException e) {
                throw new DataFileException(file, "file is empty or shorter than its 4-byte header");
            }
            int expected = (UBYTE << 8) | rank;
            if (magic != expected) {
                throw new DataFileException(file, String.format("bad magic number 0x%08x (expected 0x%08x: unsigned bytes, %d dimensions)",
                        magic, expected, rank));
            }
            int[] dims = new int[rank];
            long total = 1;
            for (int d = 0; d < rank; d++) {
                try {
                    dims[d] = in.readInt();
                } catch (EOFException e) {
                    throw new DataFileException(file, "header ends before dimension " + d + " of " + rank);
                }
                if (dims[d] <= 0) throw new DataFileException(file, "dimension " + d + " is " + dims[d]);
                total *= dims[d];
            }
            if (total > Integer.MAX_VALUE - 8) throw new DataFileException(file, "dimensions " + Arrays.toString(dims) + " are too large");
            byte[] data = new byte[(int) total];
            int read = in.readNBytes(data, 0, data.length);
            if (read < data.length) {
                throw new DataFileException(file, "wrong length: dimensions " + Arrays.toString(dims) + " need " + data.length
                        + " bytes of data but the file ends after " + read + " (truncated?)");
            }
            if (in.read() != -1) {
                throw new DataFileException(file, "wrong length: more data after the " + data.length + " bytes that dimensions "
                        + Arrays.toString(dims) + " describe");
            }
            return new Array(dims, data);
        } catch (NoSuchFileException e) {
            throw new DataFileException(file, "file not found");
        } catch (ZipException e) {
            throw new DataFileException(file, "corrupt gzip data (" + e.getMessage() + ")", e);
        } catch (EOFException e) {
            throw new DataFileException(file, "truncated gzip stream (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new DataFileException(file, "cannot read (" + e + ")", e);
        }
    }

    /** The file's bytes, gunzipped when it starts with the gzip magic 0x1f 0x8b. */
    private static InputStream open(Path file) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        in.mark(2);
        int b0 = in.read(), b1 = in.read();
        in.reset();
        return b0 == 0x1f && b1 == 0x8b ? new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16) : in;
    }
}
