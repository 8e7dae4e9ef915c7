package optlab.nn.io;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.kernels.DType;
import optlab.tensor.Tensor;

/**
 * The safetensors file format (Hugging Face; what the Python {@code safetensors} library reads):
 * <pre>
 *   bytes 0..7        N, the header length, unsigned 64-bit little-endian
 *   bytes 8..8+N-1    the header: UTF-8 JSON, padded with spaces so that 8 + N is a multiple of 8
 *                     { "__metadata__": {"key": "value", ...},                       (optional, strings only)
 *                       "name": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ... }
 *   bytes 8+N..       the data: each tensor's elements, row-major, little-endian, at [begin, end)
 *                     relative to the start of the data; the tensors tile the data exactly
 * </pre>
 * Reading checks everything the reference implementation checks, and names the tensor at fault: the
 * header length fits the file and a 100 MB limit, the header is UTF-8 JSON starting with '{', every
 * entry has a known dtype, a shape of non-negative integers and two offsets, end - begin equals
 * numel * element size, the offsets (sorted) start at 0 and are contiguous, and the data ends exactly
 * at the end of the file (a truncated file is refused, with the tensors it cuts off). Only the dtypes
 * OptLab uses are supported: F32, F64, I32 and I64 (I64 holds step counters and generator states,
 * which are not tensors here).
 */
public final class SafeTensors {
    private SafeTensors() {}

    /** The reference implementation's limit on the header size. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /** Element types, by their safetensors names. */
    public enum Dtype {
        F32(4), F64(8), I32(4), I64(8);

        private final int bytes;

        Dtype(int bytes) {
            this.bytes = bytes;
        }

        public int bytes() {
            return bytes;
        }

        /** The safetensors dtype of a tensor's dtype. */
        public static Dtype of(DType d) {
            return switch (d) {
                case FLOAT32 -> F32;
                case FLOAT64 -> F64;
                case INT32 -> I32;
            };
        }

        /** The tensor dtype holding this type, or null for I64 (no tensor type). */
        public DType tensorType() {
            return switch (this) {
                case F32 -> DType.FLOAT32;
                case F64 -> DType.FLOAT64;
                case I32 -> DType.INT32;
                case I64 -> null;
            };
        }
    }

    /** What the writer needs of one tensor: its type, shape, and a way to write its bytes. */
    public record Blob(Dtype dtype, int[] shape, BytesWriter bytes) {
        public Blob {
            shape = shape.clone();
            for (int d : shape) if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
        }

        public long numel() {
            long n = 1;
            for (int d : shape) n *= d;
            return n;
        }

        public long byteSize() {
            return numel() * dtype.bytes();
        }

        /** A tensor's current values (read when the file is written). */
        public static Blob of(Tensor t) {
            Dtype dt = Dtype.of(t.dtype());
            return new Blob(dt, t.shape().toArray(), out -> {
                switch (dt) {
                    case F32 -> writeFloats(out, t.toFloatArray());
                    case F64 -> writeDoubles(out, t.toDoubleArray());
                    case I32 -> writeInts(out, t.toIntArray());
                    case I64 -> throw new AssertionError();
                }
            });
        }

        /** 64-bit integers (shape [] for one value). */
        public static Blob ofLongs(long[] values, int... shape) {
            long numel = 1;
            for (int d : shape) numel *= d;
            if (numel != values.length) {
                throw new IllegalArgumentException(values.length + " values do not fill shape " + Arrays.toString(shape));
            }
            long[] copy = values.clone();
            return new Blob(Dtype.I64, shape, out -> writeLongs(out, copy));
        }
    }

    /** Writes the raw little-endian bytes of one tensor. */
    @FunctionalInterface
    public interface BytesWriter {
        void write(OutputStream out) throws IOException;
    }

    /** One tensor as the header describes it. */
    public record Info(String name, Dtype dtype, int[] shape, long begin, long end) {
        public Info {
            shape = shape.clone();
        }

        public int numel() {
            long n = 1;
            for (int d : shape) n *= d;
            return (int) n;
        }

        /** Shape and type as "F32 [16, 3, 3, 3]". */
        public String describe() {
            return dtype + " " + Arrays.toString(shape);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Writing
    // ------------------------------------------------------------------------------------------------

    /**
     * Writes {@code tensors} (in map order) and {@code metadata} to {@code path}, atomically
     * ({@link AtomicFiles}: a crash leaves the old file or none, never half of one).
     */
    public static void write(Path path, Map<String, Blob> tensors, Map<String, String> metadata) throws IOException {
        byte[] header = header(tensors, metadata);
        AtomicFiles.write(path, raw -> {
            OutputStream out = new java.io.BufferedOutputStream(raw, 1 << 16);
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
            out.write(len.array());
            out.write(header);
            for (var e : tensors.entrySet()) {
                CountingStream counted = new CountingStream(out);
                e.getValue().bytes().write(counted);
                if (counted.count != e.getValue().byteSize()) {
                    throw new IOException("tensor '" + e.getKey() + "' wrote " + counted.count + " bytes, its header entry says "
                            + e.getValue().byteSize());
                }
            }
            out.flush();
        });
    }

    /** The header bytes (JSON padded with spaces so the data starts at a multiple of 8). */
    static byte[] header(Map<String, Blob> tensors, Map<String, String> metadata) {
        StringBuilder b = new StringBuilder("{");
        boolean first = true;
        if (metadata != null && !metadata.isEmpty()) {
            b.append("\"__metadata__\":{");
            for (var e : new java.util.TreeMap<>(metadata).entrySet()) { // sorted: the bytes depend on the contents only
                if (!first) b.append(',');
                first = false;
                b.append(Json.quote(e.getKey())).append(':').append(Json.quote(e.getValue()));
            }
            b.append('}');
            first = false;
        }
        long offset = 0;
        for (var e : tensors.entrySet()) {
            String name = e.getKey();
            if (name.isEmpty() || name.equals("__metadata__")) throw new IllegalArgumentException("bad tensor name '" + name + "'");
            Blob t = e.getValue();
            if (!first) b.append(',');
            first = false;
            b.append(Json.quote(name)).append(":{\"dtype\":\"").append(t.dtype()).append("\",\"shape\":[");
            for (int i = 0; i < t.shape().length; i++) b.append(i > 0 ? "," : "").append(t.shape()[i]);
            b.append("],\"data_offsets\":[").append(offset).append(',').append(offset + t.byteSize()).append("]}");
            offset += t.byteSize();
        }
        b.append('}');
        byte[] json = b.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (int) ((8 + json.length + 7) / 8 * 8 - 8);
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    private static final class CountingStream extends FilterOutputStream {
        long count;

        CountingStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }

    private static final int CHUNK = 1 << 14; // elements per write

    static void writeFloats(OutputStream out, float[] v) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(CHUNK * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < v.length; i += CHUNK) {
            int n = Math.min(CHUNK, v.length - i);
            buf.clear();
            buf.asFloatBuffer().put(v, i, n);
            out.write(buf.array(), 0, n * 4);
        }
    }

    static void writeDoubles(OutputStream out, double[] v) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(CHUNK * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < v.length; i += CHUNK) {
            int n = Math.min(CHUNK, v.length - i);
            buf.clear();
            buf.asDoubleBuffer().put(v, i, n);
            out.write(buf.array(), 0, n * 8);
        }
    }

    static void writeInts(OutputStream out, int[] v) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(CHUNK * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < v.length; i += CHUNK) {
            int n = Math.min(CHUNK, v.length - i);
            buf.clear();
            buf.asIntBuffer().put(v, i, n);
            out.write(buf.array(), 0, n * 4);
        }
    }

    static void writeLongs(OutputStream out, long[] v) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(CHUNK * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < v.length; i += CHUNK) {
            int n = Math.min(CHUNK, v.length - i);
            buf.clear();
            buf.asLongBuffer().put(v, i, n);
            out.write(buf.array(), 0, n * 8);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Reading
    // ------------------------------------------------------------------------------------------------

    /** Opens and validates a file (the whole header, the offsets and the file size; no data is read yet). */
    public static Reader open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            return new Reader(path.toString(), ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** A validated safetensors file; tensors are read on demand. */
    public static final class Reader implements AutoCloseable {
        private final String file;
        private final FileChannel ch;
        private final long dataStart;
        private final Map<String, Info> tensors; // in data order
        private final Map<String, String> metadata;

        private Reader(String file, FileChannel ch) throws IOException {
            this.file = file;
            this.ch = ch;
            long size = ch.size();
            if (size < 8) throw fail("truncated: " + size + " bytes, too short for the 8-byte header length");
            ByteBuffer lenBuf = readAt(0, 8);
            long n = lenBuf.order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (n < 0 || n > MAX_HEADER_BYTES) throw fail("header length " + Long.toUnsignedString(n) + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
            if (8 + n > size) throw fail("truncated: the header length says " + n + " bytes but only " + (size - 8) + " follow");
            dataStart = 8 + n;
            ByteBuffer headerBytes = readAt(8, (int) n);
            String header;
            try {
                header = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(headerBytes).toString();
            } catch (CharacterCodingException e) {
                throw fail("the header is not valid UTF-8");
            }
            if (!header.startsWith("{")) throw fail("the header does not start with '{'");
            Object parsed;
            try {
                parsed = Json.parse(header);
            } catch (Json.ParseException e) {
                throw fail("the header is not valid JSON: " + e.getMessage());
            }
            if (!(parsed instanceof Map<?, ?> top)) throw fail("the header is not a JSON object");
            Map<String, String> meta = new LinkedHashMap<>();
            List<Info> infos = new ArrayList<>();
            List<String> problems = new ArrayList<>(), names = new ArrayList<>();
            for (var e : top.entrySet()) {
                String name = (String) e.getKey();
                if (name.equals("__metadata__")) {
                    if (!(e.getValue() instanceof Map<?, ?> m)) {
                        problems.add("__metadata__ is not an object");
                        continue;
                    }
                    for (var me : m.entrySet()) {
                        if (me.getValue() instanceof String v) meta.put((String) me.getKey(), v);
                        else problems.add("metadata value of \"" + me.getKey() + "\" is not a string");
                    }
                    continue;
                }
                try {
                    infos.add(info(name, e.getValue()));
                } catch (IllegalArgumentException bad) {
                    problems.add("tensor '" + name + "': " + bad.getMessage());
                    names.add(name);
                }
            }
            if (!problems.isEmpty()) throw new CheckpointException(file, problems, names);
            checkOffsets(infos, size - dataStart);
            List<Info> sorted = new ArrayList<>(infos);
            sorted.sort(Comparator.comparingLong(Info::begin).thenComparingLong(Info::end));
            Map<String, Info> byName = new LinkedHashMap<>();
            for (Info i : sorted) byName.put(i.name(), i);
            tensors = Collections.unmodifiableMap(byName);
            metadata = Collections.unmodifiableMap(meta);
        }

        private static Info info(String name, Object v) {
            if (!(v instanceof Map<?, ?> m)) throw new IllegalArgumentException("its entry is not an object");
            if (!(m.get("dtype") instanceof String dt)) throw new IllegalArgumentException("no \"dtype\" string");
            Dtype dtype;
            try {
                dtype = Dtype.valueOf(dt);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("dtype \"" + dt + "\" is not supported (F32, F64, I32, I64)");
            }
            if (!(m.get("shape") instanceof List<?> shapeList)) throw new IllegalArgumentException("no \"shape\" array");
            int[] shape = new int[shapeList.size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) {
                if (!(shapeList.get(i) instanceof Long d) || d < 0 || d > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("shape " + shapeList + " is not a list of non-negative integers below 2^31");
                }
                shape[i] = (int) (long) d;
                numel *= d;
                if (numel > Integer.MAX_VALUE) throw new IllegalArgumentException("shape " + shapeList + " has more than 2^31-1 elements");
            }
            if (!(m.get("data_offsets") instanceof List<?> off) || off.size() != 2 || !(off.get(0) instanceof Long b)
                    || !(off.get(1) instanceof Long e) || b < 0 || e < b) {
                throw new IllegalArgumentException("\"data_offsets\" " + m.get("data_offsets") + " is not [begin, end] with 0 <= begin <= end");
            }
            if (e - b != numel * dtype.bytes()) {
                throw new IllegalArgumentException("data_offsets [" + b + ", " + e + "] hold " + (e - b) + " bytes but " + dtype + " "
                        + shapeList + " needs " + numel * dtype.bytes());
            }
            return new Info(name, dtype, shape, b, e);
        }

        /** The tensors must tile [0, dataLength) exactly, in offset order (as the reference implementation requires). */
        private void checkOffsets(List<Info> infos, long dataLength) throws CheckpointException {
            List<Info> sorted = new ArrayList<>(infos);
            sorted.sort(Comparator.comparingLong(Info::begin).thenComparingLong(Info::end));
            long at = 0;
            for (Info i : sorted) {
                if (i.begin() != at) {
                    throw new CheckpointException(file, "tensor '" + i.name() + "' starts at data offset " + i.begin() + " but the previous tensor ends at "
                            + at + " (the tensors must be contiguous)", i.name());
                }
                at = i.end();
            }
            if (at > dataLength) {
                List<String> cut = new ArrayList<>();
                for (Info i : sorted) if (i.end() > dataLength) cut.add(i.name());
                throw new CheckpointException(file, "truncated: the tensors need " + at + " bytes of data but " + dataLength
                        + " follow the header; cut off: " + quoteAll(cut), cut.toArray(String[]::new));
            }
            if (at < dataLength) {
                throw new CheckpointException(file, (dataLength - at) + " bytes follow the last tensor (the data must end with the last tensor)");
            }
        }

        private CheckpointException fail(String problem) {
            return new CheckpointException(file, problem);
        }

        private ByteBuffer readAt(long position, int length) throws IOException {
            ByteBuffer buf = ByteBuffer.allocate(length);
            while (buf.hasRemaining()) {
                int r = ch.read(buf, position + buf.position());
                if (r < 0) throw fail("truncated while reading " + length + " bytes at " + position);
            }
            return buf.flip().order(ByteOrder.LITTLE_ENDIAN);
        }

        /** The file name, for messages. */
        public String file() {
            return file;
        }

        /** The tensors by name, in data order. */
        public Map<String, Info> tensors() {
            return tensors;
        }

        public Map<String, String> metadata() {
            return metadata;
        }

        private ByteBuffer data(String name, Dtype expected) throws IOException {
            Info i = tensors.get(name);
            if (i == null) throw new CheckpointException(file, "no tensor '" + name + "'", name);
            if (i.dtype() != expected) throw new CheckpointException(file, "tensor '" + name + "' is " + i.dtype() + ", not " + expected, name);
            return readAt(dataStart + i.begin(), (int) (i.end() - i.begin()));
        }

        public float[] floats(String name) throws IOException {
            ByteBuffer b = data(name, Dtype.F32);
            float[] v = new float[b.remaining() / 4];
            b.asFloatBuffer().get(v);
            return v;
        }

        public double[] doubles(String name) throws IOException {
            ByteBuffer b = data(name, Dtype.F64);
            double[] v = new double[b.remaining() / 8];
            b.asDoubleBuffer().get(v);
            return v;
        }

        public int[] ints(String name) throws IOException {
            ByteBuffer b = data(name, Dtype.I32);
            int[] v = new int[b.remaining() / 4];
            b.asIntBuffer().get(v);
            return v;
        }

        public long[] longs(String name) throws IOException {
            ByteBuffer b = data(name, Dtype.I64);
            long[] v = new long[b.remaining() / 8];
            b.asLongBuffer().get(v);
            return v;
        }

        /** A new CPU tensor with the values of an F32, F64 or I32 entry. */
        public Tensor tensor(String name) throws IOException {
            Info i = tensors.get(name);
            if (i == null) throw new CheckpointException(file, "no tensor '" + name + "'", name);
            return switch (i.dtype()) {
                case F32 -> Tensor.of(floats(name), i.shape());
                case F64 -> Tensor.of(doubles(name), i.shape());
                case I32 -> Tensor.ofInts(ints(name), i.shape());
                case I64 -> throw new CheckpointException(file, "tensor '" + name + "' is I64, which no tensor type holds; read it with longs()", name);
            };
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }

    static String quoteAll(List<String> names) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < names.size(); i++) b.append(i > 0 ? ", " : "").append('\'').append(names.get(i)).append('\'');
        return b.toString();
    }
}
