package optlab.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import optlab.kernels.Backend;
import optlab.kernels.Buffer;
import optlab.kernels.DType;
import optlab.kernels.LstmGeometry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * {@link CpuLstm}'s own properties; its agreement with the double reference is {@code BackendConformanceTest}'s
 * (lstmCellMatchesReference, lstmSequenceMatchesReference).
 *
 * <p>NOTE [lstm-rows]: the bits of a whole forward and backward must not depend on how the batch rows are split
 * into chunks nor on which thread runs which chunk, so that any {@code -Doptlab.threads} gives the same training
 * run. Parallel's thread count is fixed per JVM, so the test drives the kernel's row runner directly: one chunk,
 * one row at a time in reverse order, uneven chunks on concurrent threads, and the backend's own split.
 */
class CpuLstmTest {
    private static final ExecutorService POOL = Executors.newFixedThreadPool(4);

    @AfterAll
    static void stop() {
        POOL.shutdownNow();
    }

    private static float[] randn(long seed, int n, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (scale * r.nextGaussian());
        return a;
    }

    private static float[] nan(int n) {
        float[] a = new float[n];
        Arrays.fill(a, Float.NaN);
        return a;
    }

    /** Runs the chunks between {@code cuts} (0 and n added) concurrently, each on a thread of a 4-thread pool. */
    private static CpuLstm.Rows cuts(int... cuts) {
        return (n, grain, body) -> {
            List<Integer> at = new ArrayList<>(List.of(0));
            for (int c : cuts) if (c > 0 && c < n) at.add(c);
            at.add(n);
            List<Future<?>> done = new ArrayList<>();
            for (int k = at.size() - 2; k >= 0; k--) {
                int r0 = at.get(k), r1 = at.get(k + 1);
                done.add(POOL.submit(() -> body.run(r0, r1)));
            }
            for (Future<?> f : done) {
                try {
                    f.get();
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }
        };
    }

    private static final CpuLstm.Rows WHOLE = (n, grain, body) -> body.run(0, n);
    private static final CpuLstm.Rows ROW_BY_ROW_REVERSED = (n, grain, body) -> {
        for (int r = n - 1; r >= 0; r--) body.run(r, r + 1);
    };

    /** Everything a forward and a backward write, as one list of arrays. */
    private static List<float[]> run(LstmGeometry g, boolean full, CpuLstm.Rows split) {
        int t = g.t(), n = g.n(), ns = g.stateSize(), g4 = 4 * g.hidden();
        double k = 1 / Math.sqrt(g.hidden());
        float[] x = randn(1, g.inputSize(), 1), wIh = randn(2, g.weightIhSize(), k), wHh = randn(3, g.weightHhSize(), k);
        float[] bias = full ? randn(4, g.biasSize(), k) : null, h0 = full ? randn(5, ns, 1) : null, c0 = full ? randn(6, ns, 1) : null;
        float[] dy = randn(7, g.outputSize(), 1), dhT = full ? randn(8, ns, 1) : null, dcT = full ? randn(9, ns, 1) : null;
        // operands at offsets, outputs and scratch poisoned with NaN: a read of an unwritten element shows
        int o = 3;
        float[] xo = shifted(x, o), y = nan(g.outputSize() + o), res = nan(g.stepReserveSize() + o), wP = nan(CpuLstm.packedSize(g));
        CpuLstm.forward(g, xo, o, h0, 0, c0, 0, wIh, 0, wHh, 0, bias, y, o, res, o, wP, split);
        float[] dx = nan(g.inputSize()), dh0 = full ? nan(ns) : null, dc0 = full ? nan(ns) : null;
        float[] dwIh = nan(g.weightIhSize()), dwHh = nan(g.weightHhSize()), db = nan(g4);
        float[] dGates = nan(t * n * g4), dhRec = nan(ns), dc = nan(ns);
        CpuLstm.backward(g, xo, o, h0, 0, c0, 0, wIh, 0, wHh, 0, y, o, res, o, dy, 0, dhT, 0, dcT, 0, dx, 0, dh0, 0, dc0, 0,
                dwIh, 0, dwHh, 0, db, 0, dGates, dhRec, dc, wP, split);
        // y and the reserve without the 3 leading elements the kernel may not touch (checked: still NaN)
        for (float[] a : new float[][] {y, res}) for (int i = 0; i < o; i++) assertTrue(Float.isNaN(a[i]), "wrote before the offset");
        y = Arrays.copyOfRange(y, o, y.length);
        res = Arrays.copyOfRange(res, o, res.length);
        List<float[]> out = new ArrayList<>(List.of(y, res, dx, dwIh, dwHh, db, dGates));
        if (full) out.addAll(List.of(dh0, dc0));
        return out;
    }

    private static float[] shifted(float[] a, int by) {
        float[] s = nan(a.length + by);
        System.arraycopy(a, 0, s, by, a.length);
        return s;
    }

    @Test
    void bitsDoNotDependOnTheRowPartitionNorTheThreads() {
        String[] names = {"y", "reserve", "dx", "dwIh", "dwHh", "db", "dGates", "dh0", "dc0"};
        // odd sizes (a partial vector per row, GEMM edge tiles) and the char LSTM's layer (n = 50, h = 128)
        for (LstmGeometry g : new LstmGeometry[] {new LstmGeometry(5, 29, 11, 37), new LstmGeometry(3, 50, 128, 128),
                new LstmGeometry(3, 1, 2, 1)}) {
            for (boolean full : new boolean[] {true, false}) {
                List<float[]> expected = run(g, full, WHOLE);
                for (float[] a : expected) {
                    for (float v : a) assertTrue(Float.isFinite(v), g + ": an output holds " + v);
                }
                CpuLstm.Rows[] splits = {ROW_BY_ROW_REVERSED, cuts(g.n() / 2), cuts(5, 6, 17, 25), cuts(12, 13, 37), CpuLstm.PARALLEL};
                for (int s = 0; s < splits.length; s++) {
                    List<float[]> got = run(g, full, splits[s]);
                    for (int a = 0; a < expected.size(); a++) {
                        assertArrayEquals(expected.get(a), got.get(a), g + (full ? " full" : " bare") + ", partition " + s + ": " + names[a]);
                    }
                }
            }
        }
    }

    /**
     * The same through the backend in separate JVMs at -Doptlab.threads=1, 2 and 3 (Parallel's count is fixed per
     * JVM): a layer's forward and backward and a dropout, the bits of every output hashed.
     */
    @Test
    void sameBitsInJvmsOfOneTwoAndThreeThreads() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> hashes = new ArrayList<>();
        for (int threads = 1; threads <= 3; threads++) {
            Process p = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "-Doptlab.threads=" + threads,
                    "-cp", System.getProperty("java.class.path"), Child.class.getName()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), out);
            String line = out.lines().filter(l -> l.startsWith("bits ")).findFirst().orElseThrow(() -> new AssertionError(out));
            assertTrue(line.contains("threads=" + threads), line);
            hashes.add(line.substring(0, line.indexOf(" threads=")));
        }
        assertEquals(1, hashes.stream().distinct().count(), "outputs at 1, 2, 3 threads: " + hashes);
    }

    /** The child JVM of {@link #sameBitsInJvmsOfOneTwoAndThreeThreads}: prints "bits HASH threads=N". */
    public static final class Child {
        public static void main(String[] args) {
            Backend be = CpuBackend.get();
            LstmGeometry g = new LstmGeometry(6, 50, 40, 64);
            double k = 1 / Math.sqrt(g.hidden());
            int ns = g.stateSize();
            Buffer x = up(be, randn(1, g.inputSize(), 1)), wIh = up(be, randn(2, g.weightIhSize(), k)), wHh = up(be, randn(3, g.weightHhSize(), k));
            Buffer bIh = up(be, randn(4, g.biasSize(), k)), h0 = up(be, randn(5, ns, 1)), c0 = up(be, randn(6, ns, 1));
            Buffer dy = up(be, randn(7, g.outputSize(), 1)), dcT = up(be, randn(8, ns, 1));
            Buffer y = be.allocate(DType.FLOAT32, g.outputSize()), hT = be.allocate(DType.FLOAT32, ns), cT = be.allocate(DType.FLOAT32, ns);
            Buffer res = be.allocate(DType.FLOAT32, be.lstmReserveSize(g)), drop = be.allocate(DType.FLOAT32, g.outputSize());
            Buffer dx = be.allocate(DType.FLOAT32, g.inputSize()), dh0 = be.allocate(DType.FLOAT32, ns), dc0 = be.allocate(DType.FLOAT32, ns);
            Buffer dwIh = be.allocate(DType.FLOAT32, g.weightIhSize()), dwHh = be.allocate(DType.FLOAT32, g.weightHhSize());
            Buffer db = be.allocate(DType.FLOAT32, g.biasSize());
            be.lstmSequenceForward(g, x.ptr(), h0.ptr(), c0.ptr(), wIh.ptr(), wHh.ptr(), bIh.ptr(), null, y.ptr(), hT.ptr(), cT.ptr(), res.ptr());
            be.dropout(g.outputSize(), 0.2, 9, 12345, y.ptr(), drop.ptr());
            be.lstmSequenceBackward(g, x.ptr(), h0.ptr(), c0.ptr(), wIh.ptr(), wHh.ptr(), y.ptr(), res.ptr(), dy.ptr(), null, dcT.ptr(),
                    dx.ptr(), dh0.ptr(), dc0.ptr(), dwIh.ptr(), dwHh.ptr(), db.ptr());
            java.util.zip.CRC32 crc = new java.util.zip.CRC32();
            for (Buffer b : new Buffer[] {y, hT, cT, res, drop, dx, dh0, dc0, dwIh, dwHh, db}) {
                float[] a = new float[b.length()];
                be.read(b.ptr(), a, 0, a.length);
                for (float v : a) crc.update(Float.floatToRawIntBits(v));
            }
            System.out.println("bits " + Long.toHexString(crc.getValue()) + " threads=" + Parallel.threads());
        }

        private static Buffer up(Backend be, float[] a) {
            Buffer b = be.allocate(DType.FLOAT32, a.length);
            be.write(b.ptr(), a, 0, a.length);
            return b;
        }
    }

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /**
     * {@link CpuLstm#lanes}'s function f over x, a vector at a time; the first {@code LANE_CHECKS} values also in every
     * lane: the bits may not depend on it.
     */
    private static float[] apply(int f, float[] x) {
        int l = S.length();
        float[] y = new float[x.length], in = new float[l], out = new float[l];
        for (int i = 0; i < x.length; i += l) {
            Arrays.fill(in, 0.5f);
            System.arraycopy(x, i, in, 0, Math.min(l, x.length - i));
            CpuLstm.lanes(f, in, 0, out, 0);
            System.arraycopy(out, 0, y, i, Math.min(l, x.length - i));
        }
        for (int i = 0; i < Math.min(LANE_CHECKS, x.length); i++) {
            for (int at = 0; at < l; at++) {
                Arrays.fill(in, 0.5f);
                in[at] = x[i];
                CpuLstm.lanes(f, in, 0, out, 0);
                float v = out[at];
                assertEquals(Float.floatToRawIntBits(y[i]), Float.floatToRawIntBits(v), "lane " + at + " of x = " + x[i]);
            }
        }
        return y;
    }

    private static final int LANE_CHECKS = 64;

    @Test
    void expSigmoidAndTanhAgreeWithDoublePrecision() {
        SplittableRandom r = new SplittableRandom(42);
        int n = 4000;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (i % 4 == 0 ? 30 * r.nextGaussian() : i % 4 == 1 ? 1e-3 * r.nextGaussian() : 4 * r.nextGaussian());
        x[0] = 0f;
        x[1] = -0f;
        x[2] = 87f;
        x[3] = -87f;
        x[4] = 0.625f;
        x[5] = -0.625f;
        float[] e = apply(CpuLstm.EXP, x), s = apply(CpuLstm.SIGMOID, x), t = apply(CpuLstm.TANH, x);
        for (int i = 0; i < n; i++) {
            double xi = x[i];
            if (xi >= -87 && xi <= 88) {
                double ex = Math.exp(xi);
                assertTrue(Math.abs(e[i] - ex) <= 3e-7 * ex, "exp(" + xi + ") = " + e[i] + ", not " + ex);
            }
            double sx = 1 / (1 + Math.exp(-xi)), tx = Math.tanh(xi);
            // absolute and relative: sigmoid near 1 and tanh near +-1 are bounded by float's spacing there
            assertTrue(Math.abs(s[i] - sx) <= 1e-7 + 4e-7 * sx, "sigmoid(" + xi + ") = " + s[i] + ", not " + sx);
            assertTrue(Math.abs(t[i] - tx) <= 1e-7 + 4e-7 * Math.abs(tx), "tanh(" + xi + ") = " + t[i] + ", not " + tx);
        }
        float[] special = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1e30f, -1e30f};
        float[] se = apply(CpuLstm.SIGMOID, special), te = apply(CpuLstm.TANH, special);
        assertTrue(Float.isNaN(se[0]) && Float.isNaN(te[0]), "NaN stays NaN");
        assertArrayEquals(new float[] {1f, 0f, 1f, 0f}, Arrays.copyOfRange(se, 1, 5), 1e-37f, "sigmoid at the extremes");
        assertArrayEquals(new float[] {1f, -1f, 1f, -1f}, Arrays.copyOfRange(te, 1, 5), "tanh at the extremes");
    }
}
