package optlab.nn.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The safetensors byte layout, checked byte by byte in pure Java (so CI proves the format without
 * Python; {@code CheckpointPythonTest} reads the same kind of file with a strict Python reader and
 * torch), and the reader's refusal of every kind of malformed file.
 */
class SafeTensorsTest {
    @TempDir
    Path dir;

    private static byte[] le(int bytes, java.util.function.Consumer<ByteBuffer> put) {
        ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        put.accept(b);
        return b.array();
    }

    @Test
    void theBytesAreTheSpecifiedLayout() throws IOException {
        Map<String, SafeTensors.Blob> t = new LinkedHashMap<>();
        t.put("w", SafeTensors.Blob.of(Tensor.of(new float[] {1.5f, -2f, 3.25f, 0f, 7f, -0.5f}, 2, 3)));
        t.put("b", SafeTensors.Blob.of(Tensor.of(new double[] {0.1}, 1)));
        t.put("idx", SafeTensors.Blob.of(Tensor.ofInts(new int[] {-1, 7}, 2)));
        t.put("step", SafeTensors.Blob.ofLongs(new long[] {1L << 40}));
        Path f = dir.resolve("t.safetensors");
        SafeTensors.write(f, t, Map.of("format", "pt"));
        byte[] bytes = Files.readAllBytes(f);

        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                + "\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[24,32]},"
                + "\"idx\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[32,40]},"
                + "\"step\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[40,48]}}";
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertEquals(json, header.stripTrailing(), "header JSON");
        assertTrue(header.substring(json.length()).chars().allMatch(c -> c == ' '), "padding must be spaces");
        assertEquals(0, (8 + n) % 8, "the data must start 8-byte aligned");
        assertEquals(8 + n + 48, bytes.length);

        byte[] data = Arrays.copyOfRange(bytes, (int) (8 + n), bytes.length);
        byte[] expected = new byte[48];
        System.arraycopy(le(24, b -> { for (float v : new float[] {1.5f, -2f, 3.25f, 0f, 7f, -0.5f}) b.putFloat(v); }), 0, expected, 0, 24);
        System.arraycopy(le(8, b -> b.putDouble(0.1)), 0, expected, 24, 8);
        System.arraycopy(le(8, b -> b.putInt(-1).putInt(7)), 0, expected, 32, 8);
        System.arraycopy(le(8, b -> b.putLong(1L << 40)), 0, expected, 40, 8);
        assertArrayEquals(expected, data, "little-endian data, contiguous, in header order");

        try (SafeTensors.Reader r = SafeTensors.open(f)) {
            assertEquals(List.of("w", "b", "idx", "step"), List.copyOf(r.tensors().keySet()));
            assertEquals(Map.of("format", "pt"), r.metadata());
            assertArrayEquals(new float[] {1.5f, -2f, 3.25f, 0f, 7f, -0.5f}, r.floats("w"));
            assertArrayEquals(new double[] {0.1}, r.doubles("b"));
            assertArrayEquals(new int[] {-1, 7}, r.ints("idx"));
            assertArrayEquals(new long[] {1L << 40}, r.longs("step"));
            assertArrayEquals(new int[0], r.tensors().get("step").shape());
        }
    }

    @Test
    void namesAndMetadataWithQuotesAndUnicodeSurviveTheRoundTrip() throws IOException {
        Map<String, SafeTensors.Blob> t = new LinkedHashMap<>();
        t.put("a \"quoted\"\\name é", SafeTensors.Blob.of(Tensor.zeros(0)));
        t.put("empty.shape", SafeTensors.Blob.of(Tensor.zeros(3, 0)));
        Path f = dir.resolve("u.safetensors");
        SafeTensors.write(f, t, Map.of("note", "line\nbreak\ttab \u0001"));
        try (SafeTensors.Reader r = SafeTensors.open(f)) {
            assertEquals(List.of("a \"quoted\"\\name é", "empty.shape"), List.copyOf(r.tensors().keySet()));
            assertEquals("line\nbreak\ttab \u0001", r.metadata().get("note"));
            assertArrayEquals(new int[] {3, 0}, r.tensors().get("empty.shape").shape());
        }
    }

    /** A file made by hand: the 8-byte length, the header as given (padded), then {@code dataBytes} bytes. */
    private Path handMade(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path f = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    private CheckpointException refused(Path f) {
        return assertThrows(CheckpointException.class, () -> SafeTensors.open(f).close());
    }

    @Test
    void malformedFilesAreRefusedWithTheTensorNamed() throws IOException {
        String ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        SafeTensors.open(handMade(ok, 12)).close(); // the well-formed baseline

        CheckpointException e = refused(handMade(ok, 10));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("'b'"), e.getMessage());
        assertEquals(List.of("b"), e.names());
        e = refused(handMade(ok, 16));
        assertTrue(e.getMessage().contains("4 bytes follow the last tensor"), e.getMessage());
        e = refused(handMade(ok.replace("[8,12]", "[9,13]"), 13));
        assertTrue(e.getMessage().contains("tensor 'b' starts at data offset 9 but the previous tensor ends at 8"), e.getMessage());
        e = refused(handMade(ok.replace("\"shape\":[1]", "\"shape\":[2]"), 12));
        assertTrue(e.getMessage().contains("tensor 'b': data_offsets [8, 12] hold 4 bytes but F32 [2] needs 8"), e.getMessage());
        e = refused(handMade(ok.replace("\"dtype\":\"F32\",\"shape\":[1]", "\"dtype\":\"BF16\",\"shape\":[1]"), 12));
        assertTrue(e.getMessage().contains("tensor 'b': dtype \"BF16\" is not supported"), e.getMessage());
        e = refused(handMade(ok.replace("[2]", "[-2]"), 12));
        assertTrue(e.getMessage().contains("tensor 'a': shape"), e.getMessage());
        e = refused(handMade("{\"__metadata__\":{\"k\":1}," + ok.substring(1), 12));
        assertTrue(e.getMessage().contains("metadata value of \"k\" is not a string"), e.getMessage());
        e = refused(handMade(ok.substring(0, ok.length() - 1), 12));
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
        e = refused(handMade(" " + ok, 12));
        assertTrue(e.getMessage().contains("does not start with '{'"), e.getMessage());
        e = refused(handMade("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0));
        assertTrue(e.getMessage().contains("repeated key \"a\""), e.getMessage());

        Path tooLong = dir.resolve("len.safetensors");
        Files.write(tooLong, le(12, b -> b.putLong(4000).putInt(0x7b7b7b7b)));
        e = refused(tooLong);
        assertTrue(e.getMessage().contains("truncated: the header length says 4000 bytes but only 4 follow"), e.getMessage());
        Files.write(tooLong, le(8, b -> b.putLong(-1)));
        assertTrue(refused(tooLong).getMessage().contains("exceeds the limit"));
        Files.write(tooLong, new byte[5]);
        assertTrue(refused(tooLong).getMessage().contains("too short for the 8-byte header length"));
    }
}
