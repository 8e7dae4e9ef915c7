package optlab.kernels.testkit;

import static optlab.kernels.testkit.TestBuffers.randn;
import static optlab.kernels.testkit.TestBuffers.uniform;
import static optlab.kernels.testkit.TestBuffers.wide;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import optlab.kernels.Backend;
import optlab.kernels.Backends;
import optlab.kernels.BatchNormEpilogue;
import optlab.kernels.BinaryOp;
import optlab.kernels.Buffer;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.FusedKernel;
import optlab.kernels.LstmGeometry;
import optlab.kernels.Pool2dGeometry;
import optlab.kernels.Ptr;
import optlab.kernels.RandomDistribution;
import optlab.kernels.ReduceOp;
import optlab.kernels.Strides;
import optlab.kernels.Tolerance;
import optlab.kernels.UnaryOp;
import optlab.kernels.random.Philox;
import optlab.kernels.reference.RefBatchNorm;
import optlab.kernels.reference.RefConv;
import optlab.kernels.reference.RefElementwise;
import optlab.kernels.reference.RefEmbedding;
import optlab.kernels.reference.RefGemm;
import optlab.kernels.reference.RefHistogram;
import optlab.kernels.reference.RefLoss;
import optlab.kernels.reference.RefLstm;
import optlab.kernels.reference.RefPool;
import optlab.kernels.reference.RefRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every primitive of a backend, in FLOAT32, against the double-precision reference
 * ({@code optlab.kernels.reference}) on seeded random inputs, odd sizes included: 1, 7, sizes not a
 * multiple of any block, and sizes large enough to be split across threads or thread blocks. A backend
 * runs this suite by extending it ({@code CpuBackendConformanceTest}; the CUDA backend's GPU-tagged
 * subclass). Buffers created by a test are freed after it, and no buffer may be left live.
 */
public abstract class BackendConformanceTest {
    /**
     * The tag of the tests that run the gemm op (GEMMs, the im2col convolutions, the LSTM layer): all that a variant of
     * the gemm kernel changes, so the CUDA suite's gemm-variant classes run only these.
     */
    public static final String GEMM = "gemm";

    /**
     * {@code -Doptlab.test.gpuSmall=true} (bin/test's emulator stage) shrinks the cases that cost the emulator a minute
     * or more at some launch configurations (each reduction op took 45 s at block 128 x 7 blocks with row reductions, as
     * softmax cross-entropy did at one block of 1024): the longest reduction row (70,001 to 7,001 elements), the reductions
     * with most outputs ((2, 9, 4,099) to (2, 9, 1,031) and (256, 64, 49) to (26, 64, 49)), still split over the threads
     * and blocks of every configuration, and the most rows of softmax cross-entropy (256 to 40). Unset on the CPU and on a GPU.
     */
    protected static final boolean SMALL = Boolean.getBoolean("optlab.test.gpuSmall");

    protected abstract Backend backend();

    protected Tolerance tol() {
        return Tolerance.FLOAT32;
    }

    private final List<Buffer> buffers = new ArrayList<>();
    private long liveAtStart = -1;

    @AfterEach
    void freeAndCheckLeaks() {
        for (Buffer b : buffers) b.close();
        buffers.clear();
        if (liveAtStart >= 0) {
            assertEquals(liveAtStart, backend().memoryStats().liveBuffers(), "buffers leaked by the backend");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // helpers
    // ---------------------------------------------------------------------------------------------

    private void markStart() {
        if (liveAtStart < 0) liveAtStart = backend().memoryStats().liveBuffers();
    }

    protected Buffer upload(float[] data) {
        markStart();
        Buffer b = backend().allocate(DType.FLOAT32, data.length);
        buffers.add(b);
        backend().write(b.ptr(), data, 0, data.length);
        return b;
    }

    protected Buffer uploadInts(int[] data) {
        markStart();
        Buffer b = backend().allocate(DType.INT32, data.length);
        buffers.add(b);
        backend().write(b.ptr(), data, 0, data.length);
        return b;
    }

    /** A buffer of n elements whose contents are unspecified (NaN-poisoned in tests). */
    protected Buffer empty(int n) {
        markStart();
        Buffer b = backend().allocate(DType.FLOAT32, n);
        buffers.add(b);
        return b;
    }

    protected float[] download(Buffer b) {
        float[] out = new float[b.length()];
        backend().read(b.ptr(), out, 0, out.length);
        return out;
    }

    // ---------------------------------------------------------------------------------------------
    // fill, random, copy
    // ---------------------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 1023, 70001})
    void fillSetsEveryElement(int n) {
        Buffer b = empty(n + 2);
        backend().fill(b.ptr(), n + 2, -1.0);
        backend().fill(b.ptr(1), n, 2.5);
        float[] out = download(b);
        assertEquals(-1f, out[0]);
        assertEquals(-1f, out[n + 1]);
        for (int i = 1; i <= n; i++) assertEquals(2.5f, out[i], "element " + i);
    }

    @ParameterizedTest
    @EnumSource(RandomDistribution.class)
    void fillRandomMatchesPhiloxReferenceExactly(RandomDistribution dist) {
        int n = 4099;
        Buffer b = empty(n);
        double a = dist == RandomDistribution.UNIFORM ? -2 : 0.5, s = dist == RandomDistribution.UNIFORM ? 3 : 2;
        backend().fillRandom(b.ptr(), n, dist, a, s, 1234L, 77L);
        float[] out = download(b);
        for (int i = 0; i < n; i++) {
            // Bitwise: the draw is computed in double from the same Philox words, then rounded to float.
            // A device backend whose log/cos differ in the last double ulp still rounds to the same float
            // except in rare ties; if one ever fails here, this comparison must become one float ulp.
            assertEquals((float) RefRandom.sample(dist, a, s, 1234L, 77L + i), out[i], "element " + i);
        }
    }

    @Test
    void randomFillsHaveTheirDistributionsMoments() {
        int n = 200_000;
        Buffer b = empty(n);
        backend().fillRandom(b.ptr(), n, RandomDistribution.NORMAL, 1.0, 2.0, 9L, 0L);
        double[] m = moments(download(b));
        // the sample mean of n normals has standard error sigma/sqrt(n) = 0.0045; allow 5 standard errors
        assertEquals(1.0, m[0], 5 * 2.0 / Math.sqrt(n));
        assertEquals(2.0, m[1], 0.02);
        backend().fillRandom(b.ptr(), n, RandomDistribution.TRUNCATED_NORMAL, 0.0, 0.05, 9L, 0L);
        float[] t = download(b);
        for (float v : t) assertTrue(Math.abs(v) <= 0.1f + 1e-7f, "truncated normal beyond 2 sigma: " + v);
        // std of a standard normal truncated at +-2 is 0.8796 (closed form: 1 - 2*2*phi(2)/(2*Phi(2)-1))
        assertEquals(0.05 * 0.8796, moments(t)[1], 0.05 * 0.01);
        backend().fillRandom(b.ptr(), n, RandomDistribution.UNIFORM, -1.0, 3.0, 9L, 0L);
        float[] u = download(b);
        for (float v : u) assertTrue(v >= -1f && v < 3f, "uniform outside [-1, 3): " + v);
        assertEquals(1.0, moments(u)[0], 5 * 4 / Math.sqrt(12 * n));
    }

    private static double[] moments(float[] a) {
        double s = 0, sq = 0;
        for (float v : a) s += v;
        double mean = s / a.length;
        for (float v : a) sq += (v - mean) * (v - mean);
        return new double[] {mean, Math.sqrt(sq / a.length)};
    }

    @Test
    void stridedCopyPermutesAndNarrows() {
        // x is (3, 5, 7, 2); copy its permutation (2, 0, 3, 1) into a compact (2, 3, 7, 5)
        int[] shape = {3, 5, 7, 2};
        float[] x = randn(1, Strides.numel(shape));
        Buffer src = upload(x);
        int[] xs = Strides.contiguous(shape);
        int[] pShape = {2, 3, 7, 5};
        int[] pStrides = {xs[3], xs[0], xs[2], xs[1]};
        Buffer dst = empty(Strides.numel(pShape));
        backend().copy(pShape, dst.ptr(), Strides.contiguous(pShape), src.ptr(), pStrides);
        double[] expected = new double[dst.length()];
        RefElementwise.copy(pShape, expected, 0, Strides.contiguous(pShape), wide(x), 0, pStrides);
        tol().times(0).assertClose("permuted copy", download(dst), expected);

        // a narrow view x[1:3, :, 2:5, 1] at an offset
        int[] nShape = {2, 5, 3};
        int[] nStrides = {xs[0], xs[1], xs[2]};
        int offset = xs[0] + 2 * xs[2] + 1;
        Buffer dst2 = empty(30);
        backend().copy(nShape, dst2.ptr(), Strides.contiguous(nShape), src.ptr(offset), nStrides);
        double[] expected2 = new double[30];
        RefElementwise.copy(nShape, expected2, 0, Strides.contiguous(nShape), wide(x), offset, nStrides);
        tol().times(0).assertClose("narrowed copy", download(dst2), expected2);
    }

    @Test
    void copyConvertsBetweenDtypes() {
        markStart();
        float[] x = {1.5f, -2.25f, 3f, 1e-3f, 7f};
        Buffer f = upload(x);
        Buffer d = backend().allocate(DType.FLOAT64, 5);
        Buffer i = backend().allocate(DType.INT32, 5);
        buffers.add(d);
        buffers.add(i);
        int[] one = {5}, unit = {1};
        backend().copy(one, d.ptr(), unit, f.ptr(), unit);
        double[] dd = new double[5];
        backend().read(d.ptr(), dd, 0, 5);
        assertArrayEquals(wide(x), dd);
        backend().copy(one, i.ptr(), unit, d.ptr(), unit);
        int[] ii = new int[5];
        backend().read(i.ptr(), ii, 0, 5);
        assertArrayEquals(new int[] {1, -2, 3, 0, 7}, ii, "float to int truncates toward zero, as a C cast");
    }

    // ---------------------------------------------------------------------------------------------
    // elementwise and reductions
    // ---------------------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void unaryOpsMatchReference(UnaryOp op) {
        for (int n : new int[] {1, 7, 1023, 70001}) {
            boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.POW_SCALAR || op == UnaryOp.RECIPROCAL;
            float[] x = positive ? uniform(n, n, 0.1, 4) : randn(n, n);
            double alpha = op == UnaryOp.POW_SCALAR ? 1.7 : -0.75;
            Buffer xb = upload(x), yb = empty(n);
            backend().unary(op, alpha, n, xb.ptr(), yb.ptr());
            double[] expected = new double[n];
            RefElementwise.unary(op, alpha, n, wide(x), 0, expected, 0);
            tol().assertClose(op + " n=" + n, download(yb), expected);
            backend().unary(op, alpha, n, xb.ptr(), xb.ptr()); // in place
            tol().assertClose(op + " in place n=" + n, download(xb), expected);
        }
    }

    /** Broadcast cases the engine produces: same shape, bias per channel, bias per feature, scalar, transposed. */
    @ParameterizedTest
    @EnumSource(BinaryOp.class)
    void binaryOpsMatchReference(BinaryOp op) {
        int[][] shapes = {{1}, {7}, {1023}, {70001}, {5, 3, 7, 9}, {33, 17}, {5, 3, 7, 9}, {4, 6}, {257, 129}};
        int[][][] strideSets = {
                null, null, null, null, null, // contiguous operands
                {{0, 1}, {17, 1}}, // (33,17) : a broadcast over rows... replaced below
                {{0, 1, 0, 0}}, // bias per channel of NCHW (b strides)
                {{1, 4}}, // b transposed
                {{0, 0}}, // b a scalar
        };
        for (int t = 0; t < shapes.length; t++) {
            int[] shape = shapes[t];
            int n = Strides.numel(shape);
            int[] cs = Strides.contiguous(shape);
            int[] as = cs, bs = cs;
            int aLen = n, bLen = n;
            if (t == 5) { // a is one row broadcast down the columns, b is compact
                as = new int[] {0, 1};
                aLen = shape[1];
            } else if (t == 6) {
                bs = new int[] {0, 1, 0, 0};
                bLen = shape[1];
            } else if (t == 7) {
                bs = new int[] {1, 4};
            } else if (t == 8) {
                bs = new int[] {0, 0};
                bLen = 1;
            }
            float[] a = randn(31 + t, aLen), b = randn(57 + t, bLen);
            if (op == BinaryOp.DIV) for (int i = 0; i < bLen; i++) b[i] = b[i] >= 0 ? b[i] + 0.5f : b[i] - 0.5f;
            Buffer ab = upload(a), bb = upload(b), out = empty(n);
            backend().binary(op, shape, out.ptr(), cs, ab.ptr(), as, bb.ptr(), bs);
            double[] expected = new double[n];
            RefElementwise.binary(op, shape, expected, 0, cs, wide(a), 0, as, wide(b), 0, bs);
            tol().assertClose(op + " case " + t + " shape " + java.util.Arrays.toString(shape), download(out), expected);
        }
    }

    @Test
    void binaryMayWriteIntoItsFirstOperand() {
        float[] a = randn(3, 1000), b = randn(4, 1000);
        Buffer ab = upload(a), bb = upload(b);
        int[] s = {1000}, u = {1};
        backend().binary(BinaryOp.ADD, s, ab.ptr(), u, ab.ptr(), u, bb.ptr(), u);
        double[] expected = new double[1000];
        for (int i = 0; i < 1000; i++) expected[i] = (double) a[i] + b[i];
        tol().assertClose("a += b", download(ab), expected);
    }

    @ParameterizedTest
    @EnumSource(ReduceOp.class)
    void reductionsMatchReference(ReduceOp op) {
        int[][] cases = {{1, 1, 1}, {1, 7, 1}, {7, 1, 3}, {3, 1023, 1}, {5, 33, 17}, {1, SMALL ? 7001 : 70001, 1}, {2, 9, SMALL ? 1031 : 4099},
            {SMALL ? 26 : 256, 64, 49}};
        for (int[] c : cases) {
            int n = c[0] * c[1] * c[2];
            float[] x = randn(c[0] + 10L * c[1] + 100L * c[2], n);
            Buffer xb = upload(x), yb = empty(c[0] * c[2]);
            backend().reduce(op, c[0], c[1], c[2], xb.ptr(), yb.ptr());
            double[] expected = new double[c[0] * c[2]];
            RefElementwise.reduce(op, c[0], c[1], c[2], wide(x), 0, expected, 0);
            tol().assertClose(op + " " + java.util.Arrays.toString(c), download(yb), expected);
        }
    }

    @Test
    void argmaxFindsTheFirstMaximum() {
        int[][] cases = {{1, 1, 1}, {7, 10, 1}, {3, 1023, 1}, {5, 33, 17}};
        for (int[] c : cases) {
            float[] x = randn(c[1], c[0] * c[1] * c[2]);
            x[0] = 100f; // a tie for the first row: the first position must win
            if (c[1] > 1) x[c[2]] = 100f;
            Buffer xb = upload(x), ib = uploadInts(new int[c[0] * c[2]]);
            backend().argmax(c[0], c[1], c[2], xb.ptr(), ib.ptr());
            int[] got = new int[c[0] * c[2]], expected = new int[c[0] * c[2]];
            backend().read(ib.ptr(), got, 0, got.length);
            RefElementwise.argmax(c[0], c[1], c[2], wide(x), 0, expected, 0);
            assertArrayEquals(expected, got, java.util.Arrays.toString(c));
            assertEquals(0, got[0]);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // power-of-two histogram (RefHistogram, NOTE [log2-bins]): integer counts, so equal to the reference exactly
    // ---------------------------------------------------------------------------------------------

    /** (minExponent, maxExponent) per dtype: a typical range, one reaching the subnormals and past the largest, one bin. */
    private static final int[][] HISTOGRAM_RANGES_F32 = {{-30, 10}, {-152, 130}, {0, 0}};
    private static final int[][] HISTOGRAM_RANGES_F64 = {{-30, 10}, {-1080, 1030}, {-1100, 1100}, {0, 0}};

    /**
     * n values that hit every rule of the binning: random magnitudes spread over the range and 4 exponents past each
     * end, exact powers of two (bin edges) and the doubles just below them, zeros of both signs, NaNs (one with the
     * sign bit set), infinities, the dtype's smallest subnormal, largest finite and smallest normal, and normals.
     */
    private static double[] histogramValues(long seed, int n, int minE, int maxE, DType t) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        boolean f32 = t == DType.FLOAT32;
        double[] special = f32
                ? new double[] {Double.NaN, Float.intBitsToFloat(0xFFC0_0001), Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY,
                        Float.MIN_VALUE, Float.MAX_VALUE, Float.MIN_NORMAL, Math.nextDown(Float.MIN_NORMAL), 3 * Float.MIN_VALUE}
                : new double[] {Double.NaN, Double.longBitsToDouble(0xFFF8_0000_0000_0001L), Double.POSITIVE_INFINITY,
                        Double.NEGATIVE_INFINITY, Double.MIN_VALUE, Double.MAX_VALUE, Double.MIN_NORMAL, Math.nextDown(Double.MIN_NORMAL),
                        3 * Double.MIN_VALUE};
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            double sign = r.nextBoolean() ? 1 : -1;
            int e = r.nextInt(minE - 4, maxE + 5);
            double v = switch (r.nextInt(10)) {
                case 0, 1, 2, 3 -> Math.scalb(1 + r.nextDouble(), e);       // inside bin e (or past the range)
                case 4 -> Math.scalb(1.0, e);                                // an edge: the lowest value of bin e
                case 5 -> f32 ? Math.nextDown((float) Math.scalb(1.0, e)) // just below the edge: bin e - 1
                              : Math.nextDown(Math.scalb(1.0, e));
                case 6 -> 0.0;
                case 7 -> special[r.nextInt(special.length)];
                default -> r.nextGaussian();
            };
            x[i] = f32 ? (float) (sign * v) : sign * v;
        }
        return x;
    }

    private Buffer uploadAs(DType t, double[] x) {
        markStart();
        Buffer b = backend().allocate(t, x.length);
        buffers.add(b);
        if (t == DType.FLOAT32) {
            float[] f = new float[x.length];
            for (int i = 0; i < x.length; i++) f[i] = (float) x[i];
            backend().write(b.ptr(), f, 0, f.length);
        } else {
            backend().write(b.ptr(), x, 0, x.length);
        }
        return b;
    }

    private int[] downloadInts(Buffer b) {
        int[] out = new int[b.length()];
        backend().read(b.ptr(), out, 0, out.length);
        return out;
    }

    /**
     * Sizes 0, 1, 7, 1023, 4097 and 70001 (several CPU chunks, several blocks) of x at an odd offset inside a larger buffer
     * whose other elements are NaN (a read outside x would count one), binned in two calls (a first third, then the
     * rest: one call per layer) into counts that start non-zero, at an offset, between two guard slots. Every count
     * must equal the reference's exactly.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void log2HistogramMatchesTheReferenceExactly(DType t) {
        for (int[] range : t == DType.FLOAT32 ? HISTOGRAM_RANGES_F32 : HISTOGRAM_RANGES_F64) {
            int minE = range[0], maxE = range[1], slots = maxE - minE + 2;
            for (int n : new int[] {0, 1, 7, 1023, 4097, 70001}) {
                String what = "log2Histogram " + t + " n=" + n + " exponents " + minE + ".." + maxE;
                int xOff = 3, cOff = 2;
                double[] x = histogramValues(n + 31L * slots, n, minE, maxE, t);
                double[] padded = new double[xOff + n + 5];
                java.util.Arrays.fill(padded, Double.NaN);
                System.arraycopy(x, 0, padded, xOff, n);
                int[] start = new int[cOff + slots + 1];
                for (int s = 0; s < start.length; s++) start[s] = 1000 + 7 * s;
                Buffer xb = uploadAs(t, padded), cb = uploadInts(start);
                int first = n / 3;
                backend().log2Histogram(first, xb.ptr(xOff), minE, maxE, cb.ptr(cOff));
                backend().log2Histogram(n - first, xb.ptr(xOff + first), minE, maxE, cb.ptr(cOff));

                int[] expected = start.clone();
                RefHistogram.log2Histogram(n, x, 0, minE, maxE, expected, cOff);
                int total = 0;
                for (int s = 0; s < expected.length; s++) total += expected[s] - start[s];
                assertEquals(n, total, what + ": the reference counts every element once");
                assertArrayEquals(expected, downloadInts(cb), what + " (slots " + cOff + ".." + (cOff + slots - 1)
                        + " of this array; the others are guards)");
            }
        }
    }

    /** Every refusal names the bad value and leaves counts as they were. */
    @Test
    void log2HistogramRefusesBadArguments() {
        Buffer x = empty(10), counts = uploadInts(new int[8]); // exponents -3..2 take 6 + 1 = 7 slots
        Buffer ints = uploadInts(new int[10]), floats = empty(8);
        record Case(String expect, Runnable call) {}
        Case[] cases = {
                new Case("n must be >= 0, got -1", () -> backend().log2Histogram(-1, x.ptr(), -3, 2, counts.ptr())),
                new Case("got minExponent 3 and maxExponent 2", () -> backend().log2Histogram(10, x.ptr(), 3, 2, counts.ptr())),
                new Case("got minExponent -1101 and maxExponent 2", () -> backend().log2Histogram(10, x.ptr(), -1101, 2, counts.ptr())),
                new Case("got minExponent -3 and maxExponent 1101", () -> backend().log2Histogram(10, x.ptr(), -3, 1101, counts.ptr())),
                new Case("x must be FLOAT32 or FLOAT64, got INT32", () -> backend().log2Histogram(10, ints.ptr(), -3, 2, counts.ptr())),
                new Case("counts must be INT32, got FLOAT32", () -> backend().log2Histogram(10, x.ptr(), -3, 2, floats.ptr())),
                new Case("log2Histogram: x: needs 10 elements at offset 1", () -> backend().log2Histogram(10, x.ptr(1), -3, 2, counts.ptr())),
                new Case("counts (7 slots for exponents -3..2 and one for NaN/inf): needs 7 elements at offset 2",
                        () -> backend().log2Histogram(10, x.ptr(), -3, 2, counts.ptr(2))),
                new Case("counts (8 slots for exponents -3..3", () -> backend().log2Histogram(10, x.ptr(), -3, 3, counts.ptr(1))),
        };
        for (Case c : cases) {
            var e = assertThrows(IllegalArgumentException.class, c.call::run, c.expect);
            assertTrue(e.getMessage().startsWith("log2Histogram: ") && e.getMessage().contains(c.expect), e.getMessage());
        }
        if (!backend().device().equals(Device.CPU)) { // a buffer of another device (the CPU's) next to this backend's
            Backend cpu = Backends.of(Device.CPU);
            try (Buffer hostX = cpu.allocate(DType.FLOAT32, 10)) {
                var e = assertThrows(IllegalArgumentException.class, () -> backend().log2Histogram(10, hostX.ptr(), -3, 2, counts.ptr()));
                assertEquals("log2Histogram: x is on cpu but counts on " + backend().device(), e.getMessage());
            }
        }
        assertArrayEquals(new int[8], downloadInts(counts), "refused calls change nothing");
    }

    // ---------------------------------------------------------------------------------------------
    // GEMM (the CPU SGEMM has its own exhaustive test; this checks the contract: batches, offsets)
    // ---------------------------------------------------------------------------------------------

    @Test
    @Tag(GEMM)
    void batchedGemmWithTransposesMatchesReference() {
        int m = 13, n = 7, k = 33, batch = 3;
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true}) {
                int lda = ta ? m + 2 : k + 1, ldb = tb ? k + 3 : n, ldc = n + 5;
                int sa = (ta ? k : m) * lda + 4, sb = (tb ? n : k) * ldb, sc = m * ldc + 1;
                float[] a = randn(1, 2 + batch * sa), b = randn(2, 1 + batch * sb), c = randn(3, 3 + batch * sc);
                Buffer ab = upload(a), bb = upload(b), cb = upload(c);
                backend().gemm(ta, tb, m, n, k, 0.5, ab.ptr(2), lda, bb.ptr(1), ldb, -1.5, cb.ptr(3), ldc, batch, sa, sb, sc);
                double[] expected = wide(c);
                double[] aw = wide(a), bw = wide(b);
                for (int i = 0; i < batch; i++) {
                    RefGemm.gemm(ta, tb, m, n, k, 0.5, aw, 2 + i * sa, lda, bw, 1 + i * sb, ldb, -1.5, expected, 3 + i * sc, ldc);
                }
                tol().assertClose("gemm ta=" + ta + " tb=" + tb, download(cb), expected);
            }
    }

    @Test
    @Tag(GEMM)
    void gemmRejectsAMatrixThatLeavesItsBuffer() {
        Buffer a = empty(10), b = empty(10), c = empty(10);
        var e = assertThrows(IllegalArgumentException.class,
                () -> backend().gemm(false, false, 4, 4, 4, 1, a.ptr(), 4, b.ptr(), 4, 0, c.ptr(), 4, 1, 0, 0, 0));
        assertTrue(e.getMessage().contains("gemm: A"), e.getMessage());
    }

    // ---------------------------------------------------------------------------------------------
    // convolution and pooling
    // ---------------------------------------------------------------------------------------------

    /**
     * (n, c, h, w, k, r, s, strideH, strideW, padH, padW): 3x3 same, strided, pointwise, 5x5 same, rectangular, n=1;
     * then shapes that reach the CPU's blocked paths: k not a multiple of the micro-tile, output rows longer than
     * a tile (35 columns), a 1x1 stride 2, padding of at least the kernel size, c*r*s over two depth blocks with
     * n=1 (one image split between threads), and ResNet-like 16 -> 32 stride 2 and 64 -> 64 layers. {@link
     * #CPU_PATH_CONVS} adds two whose output rows are long enough for the CPU's dot-product filter gradient
     * (CpuConvFilter: padded and unpadded, filters and c*r*s not multiples of its register tile) and two for its
     * forward reading col's rows in place (CpuConv.rowsInPlace: 16 filters as 12 + 4 rows, and c*r*s over two depth
     * blocks with one image), and two batches of more than 16 small images, whose filter gradient runs several images
     * as one GEMM (CpuConv.filterSpan: 2-3 images a group, padded and not, strided).
     */
    static final int[][] CONVS = {
            {2, 3, 7, 5, 4, 3, 3, 1, 1, 1, 1},
            {3, 2, 9, 8, 5, 3, 3, 2, 2, 1, 1},
            {4, 6, 5, 7, 3, 1, 1, 1, 1, 0, 0},
            {2, 1, 12, 12, 8, 5, 5, 1, 1, 2, 2},
            {1, 4, 6, 11, 2, 2, 3, 1, 2, 0, 1},
            {5, 3, 4, 4, 7, 3, 3, 3, 1, 0, 2},
            {1, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1},
            {3, 16, 10, 10, 20, 3, 3, 1, 1, 1, 1},
            {2, 3, 33, 35, 5, 3, 3, 1, 1, 1, 1},
            {2, 8, 14, 14, 13, 5, 5, 1, 1, 2, 2},
            {2, 16, 9, 9, 24, 1, 1, 2, 2, 0, 0},
            {2, 4, 5, 5, 3, 1, 1, 1, 1, 1, 1},
            {1, 40, 12, 12, 36, 3, 3, 1, 1, 1, 1},
            {2, 16, 16, 16, 32, 3, 3, 2, 2, 1, 1},
            {2, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1},
    };

    /** The shapes for the CPU's own paths (above); run on every backend but the GPU emulator ({@link #SMALL}). */
    static final int[][] CPU_PATH_CONVS = {
            {1, 8, 24, 30, 12, 3, 3, 1, 1, 1, 1},
            {3, 2, 28, 24, 6, 5, 5, 1, 1, 0, 0},
            {2, 8, 20, 17, 16, 3, 3, 1, 1, 1, 1},
            {1, 32, 16, 36, 5, 3, 3, 1, 1, 1, 1},
            {37, 6, 6, 5, 7, 3, 3, 1, 1, 1, 1},
            {40, 4, 7, 7, 6, 3, 3, 2, 2, 0, 0},
    };

    static Conv2dGeometry conv(int[] c) {
        return new Conv2dGeometry(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10]);
    }

    @Test
    @Tag(GEMM)
    void convolutionForwardAndBackwardMatchReference() {
        List<int[]> shapes = new ArrayList<>(List.of(CONVS));
        if (!SMALL) shapes.addAll(List.of(CPU_PATH_CONVS));
        for (int[] c : shapes) {
            Conv2dGeometry g = conv(c);
            String what = g.toString();
            float[] x = randn(1, g.inputSize()), w = randn(2, g.filterSize()), dy = randn(3, g.outputSize());
            // weights at a network's scale (PyTorch's default init is U(+-1/sqrt(c*r*s))): outputs stay O(1) at any
            // depth, so the elementwise tolerance measures the kernel, not the float32 rounding of a 576-term sum of
            // unit-variance products (the 64 -> 64 case: a sequential float32 sum there misses the tolerance by 2x on
            // one element of 8,192, measured on the CUDA kernels under the emulator)
            float scale = (float) (1 / Math.sqrt(g.c() * g.r() * g.s()));
            for (int i = 0; i < w.length; i++) w[i] *= scale;
            Buffer xb = upload(x), wb = upload(w), dyb = upload(dy);
            Buffer y = empty(g.outputSize()), dx = empty(g.inputSize()), dw = empty(g.filterSize());
            backend().conv2dForward(g, xb.ptr(), wb.ptr(), y.ptr());
            backend().conv2dBackwardData(g, dyb.ptr(), wb.ptr(), dx.ptr());
            backend().conv2dBackwardFilter(g, xb.ptr(), dyb.ptr(), dw.ptr());
            double[] ey = new double[g.outputSize()], edx = new double[g.inputSize()], edw = new double[g.filterSize()];
            RefConv.forward(g, wide(x), 0, wide(w), 0, ey, 0);
            RefConv.backwardData(g, wide(dy), 0, wide(w), 0, edx, 0);
            RefConv.backwardFilter(g, wide(x), 0, wide(dy), 0, edw, 0);
            tol().assertClose("conv forward " + what, download(y), ey);
            tol().assertClose("conv backward data " + what, download(dx), edx);
            tol().assertClose("conv backward filter " + what, download(dw), edw);
        }
    }

    /** (n, c, h, w, kh, kw, strideH, strideW, padH, padW) */
    static final int[][] POOLS = {
            {2, 3, 8, 8, 2, 2, 2, 2, 0, 0},
            {1, 2, 7, 9, 3, 3, 2, 2, 1, 1},
            {3, 1, 5, 5, 3, 2, 1, 1, 1, 0},
            {2, 5, 1, 7, 1, 3, 1, 2, 0, 1},
            {4, 16, 28, 28, 2, 2, 2, 2, 0, 0},
            {3, 2, 7, 9, 2, 2, 2, 2, 0, 0},   // unpadded, odd sizes: the last input row and column are never read
            {2, 3, 9, 11, 3, 3, 2, 2, 0, 0},  // unpadded, overlapping windows
            {1, 2, 10, 11, 2, 3, 3, 4, 0, 0}, // unpadded, stride past the window
            {2, 3, 6, 38, 2, 2, 2, 2, 0, 0},  // 2x2: output rows of a full vector and a partial one on the CPU
    };

    static Pool2dGeometry pool(int[] c) {
        return new Pool2dGeometry(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]);
    }

    @Test
    void poolingMatchesReference() {
        for (int[] c : POOLS) {
            Pool2dGeometry g = pool(c);
            float[] x = randn(5, g.inputSize()), dy = randn(6, g.outputSize());
            Buffer xb = upload(x), dyb = upload(dy), y = empty(g.outputSize()), dx = empty(g.inputSize());
            backend().maxPool2dForward(g, xb.ptr(), y.ptr());
            double[] ey = new double[g.outputSize()], edx = new double[g.inputSize()];
            RefPool.maxForward(g, wide(x), 0, ey, 0);
            tol().assertClose("max pool " + g, download(y), ey);
            backend().maxPool2dBackward(g, xb.ptr(), y.ptr(), dyb.ptr(), dx.ptr());
            RefPool.maxBackward(g, wide(x), 0, ey, 0, wide(dy), 0, edx, 0);
            tol().assertClose("max pool backward " + g, download(dx), edx);
            for (boolean include : new boolean[] {true, false}) {
                backend().avgPool2dForward(g, include, xb.ptr(), y.ptr());
                RefPool.avgForward(g, include, wide(x), 0, ey, 0);
                tol().assertClose("avg pool include=" + include + " " + g, download(y), ey);
                backend().avgPool2dBackward(g, include, dyb.ptr(), dx.ptr());
                RefPool.avgBackward(g, include, wide(dy), 0, edx, 0);
                tol().assertClose("avg pool backward include=" + include + " " + g, download(dx), edx);
            }
        }
    }

    /**
     * Ties and NaNs: the forward keeps the reference's running rule and the backward sends dy to the first window
     * element (row-major) equal to the maximum, so on inputs drawn from {-1, 0, 1, NaN} (a tie in most windows) the
     * gradient lands where the reference puts it.
     */
    @Test
    void maxPoolingTiesAndNaNsFollowTheReference() {
        float[] values = {-1f, 0f, 1f, Float.NaN};
        for (int[] c : POOLS) {
            Pool2dGeometry g = pool(c);
            float[] x = randn(9, g.inputSize());
            for (int i = 0; i < x.length; i++) x[i] = values[(int) Math.floor(Math.abs(x[i]) * 7) % (i % 11 == 0 ? 4 : 3)];
            float[] dy = randn(10, g.outputSize());
            Buffer xb = upload(x), dyb = upload(dy), y = empty(g.outputSize()), dx = empty(g.inputSize());
            backend().maxPool2dForward(g, xb.ptr(), y.ptr());
            double[] ey = new double[g.outputSize()], edx = new double[g.inputSize()];
            RefPool.maxForward(g, wide(x), 0, ey, 0);
            tol().times(0).assertClose("max pool of ties and NaNs " + g, download(y), ey);
            backend().maxPool2dBackward(g, xb.ptr(), y.ptr(), dyb.ptr(), dx.ptr());
            RefPool.maxBackward(g, wide(x), 0, ey, 0, wide(dy), 0, edx, 0);
            tol().assertClose("max pool backward of ties and NaNs " + g, download(dx), edx);
        }
    }

    /**
     * Max pooling pads with nothing, not zeros: on all-negative input every window's maximum is negative, which a
     * zero-padded implementation would get wrong at the borders (a check aimed at vendor variants).
     */
    @Test
    void maxPoolingNeverPicksThePadding() {
        for (int[] c : POOLS) {
            Pool2dGeometry g = pool(c);
            if (g.padH() == 0 && g.padW() == 0) continue;
            float[] x = randn(7, g.inputSize());
            for (int i = 0; i < x.length; i++) x[i] = -1 - Math.abs(x[i]);
            float[] dy = randn(8, g.outputSize());
            Buffer xb = upload(x), dyb = upload(dy), y = empty(g.outputSize()), dx = empty(g.inputSize());
            backend().maxPool2dForward(g, xb.ptr(), y.ptr());
            double[] ey = new double[g.outputSize()], edx = new double[g.inputSize()];
            RefPool.maxForward(g, wide(x), 0, ey, 0);
            float[] got = download(y);
            for (int i = 0; i < got.length; i++) assertTrue(got[i] < 0, "max pool " + g + " output " + i + " is " + got[i] + ", the padding won");
            tol().assertClose("max pool of negatives " + g, got, ey);
            backend().maxPool2dBackward(g, xb.ptr(), y.ptr(), dyb.ptr(), dx.ptr());
            RefPool.maxBackward(g, wide(x), 0, ey, 0, wide(dy), 0, edx, 0);
            tol().assertClose("max pool backward of negatives " + g, download(dx), edx);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // batch norm
    // ---------------------------------------------------------------------------------------------

    @Test
    void batchNormMatchesReference() {
        int[][] cases = {{2, 3, 5}, {7, 1, 1}, {1, 4, 9}, {16, 16, 64}, {3, 5, 1}, {3, 2, 37}}; // hw 37: vectors and a tail
        for (int[] c : cases) {
            int n = c[0], ch = c[1], hw = c[2], size = n * ch * hw;
            String what = "bn " + java.util.Arrays.toString(c);
            float[] x = randn(1, size), gamma = uniform(2, ch, 0.5, 1.5), beta = randn(3, ch), dy = randn(4, size);
            for (int i = 0; i < size; i++) x[i] = 3 + 2 * x[i]; // off-centre, so mean subtraction matters
            float[] rm = randn(5, ch), rv = uniform(6, ch, 0.5, 2);
            Buffer xb = upload(x), gb = upload(gamma), bb = upload(beta), dyb = upload(dy), rmb = upload(rm), rvb = upload(rv);
            Buffer y = empty(size), sm = empty(ch), si = empty(ch), dx = empty(size), dg = empty(ch), db = empty(ch);
            double eps = 1e-5, mom = 0.1;
            backend().batchNormForwardTraining(n, ch, hw, xb.ptr(), gb.ptr(), bb.ptr(), eps, mom, rmb.ptr(), rvb.ptr(), y.ptr(), sm.ptr(), si.ptr());
            double[] ey = new double[size], esm = new double[ch], esi = new double[ch], erm = wide(rm), erv = wide(rv);
            RefBatchNorm.forwardTraining(n, ch, hw, wide(x), 0, wide(gamma), 0, wide(beta), 0, eps, mom, erm, 0, erv, 0, ey, 0, esm, 0, esi, 0);
            tol().assertClose(what + " y", download(y), ey);
            tol().assertClose(what + " saved mean", download(sm), esm);
            tol().assertClose(what + " saved inv std", download(si), esi);
            tol().assertClose(what + " running mean", download(rmb), erm);
            tol().assertClose(what + " running var", download(rvb), erv);

            backend().batchNormBackward(n, ch, hw, xb.ptr(), dyb.ptr(), gb.ptr(), sm.ptr(), si.ptr(), dx.ptr(), dg.ptr(), db.ptr());
            double[] edx = new double[size], edg = new double[ch], edb = new double[ch];
            RefBatchNorm.backward(n, ch, hw, wide(x), 0, wide(dy), 0, wide(gamma), 0, esm, 0, esi, 0, edx, 0, edg, 0, edb, 0);
            // dx subtracts two sums of size n*hw from m*dy: its absolute error grows with those sums
            Tolerance sums = new Tolerance(1e-4, 1e-3);
            sums.assertClose(what + " dx", download(dx), edx);
            tol().assertClose(what + " dgamma", download(dg), edg);
            tol().assertClose(what + " dbeta", download(db), edb);

            backend().batchNormForwardInference(n, ch, hw, xb.ptr(), gb.ptr(), bb.ptr(), rmb.ptr(), rvb.ptr(), eps, y.ptr());
            RefBatchNorm.forwardInference(n, ch, hw, wide(x), 0, wide(gamma), 0, wide(beta), 0, erm, 0, erv, 0, eps, ey, 0);
            tol().assertClose(what + " inference", download(y), ey);
        }
    }

    /**
     * The epilogue (Backend's NOTE [bn-epilogue]) in each form the models use: bn -> ReLU (backward with no dz),
     * bn + z -> ReLU (with dz), and bn + z alone. Each output equals, bit for bit, the plain batch norm followed by the
     * backend's own add and ReLU (BatchNormEpilogue, the ops run one after another), and the reference's within the
     * batch-norm tolerances. The backward's mask is the backend's own y (a y near 0 may round to either sign).
     */
    @Test
    void batchNormEpilogueMatchesTheUnfusedOpsBitForBitAndTheReference() {
        // {n, c, hw, add, relu}: every form on a shape with whole vectors, and one form on each shape with a tail or no
        // vector at all (few launches: the emulator runs this in five block configurations)
        int[][] cases = {{4, 8, 64, 0, 1}, {4, 8, 64, 1, 1}, {4, 8, 64, 1, 0}, {3, 2, 37, 1, 1}, {2, 3, 5, 0, 1}, {3, 5, 1, 1, 0}};
        for (int[] c : cases) {
            boolean add = c[3] == 1, relu = c[4] == 1;
            int n = c[0], ch = c[1], hw = c[2], size = n * ch * hw;
            String what = "bn " + java.util.Arrays.toString(java.util.Arrays.copyOf(c, 3)) + (add ? " + z" : "") + (relu ? " -> relu" : "");
            float[] x = randn(11, size), gamma = uniform(12, ch, 0.5, 1.5), beta = randn(13, ch), z = randn(14, size), dy = randn(15, size);
            float[] rm = randn(16, ch), rv = uniform(17, ch, 0.5, 2);
            z[size / 2] = Float.NaN; // a NaN summand: ReLU keeps it, its gradient is masked (compared bit for bit only)
            double eps = 1e-5, mom = 0.1;
            Buffer xb = upload(x), gb = upload(gamma), bb = upload(beta), zb = add ? upload(z) : null, dyb = upload(dy);
            Ptr zp = add ? zb.ptr() : null;

            // training forward: fused, then the plain batch norm and the separate ops
            Buffer rmF = upload(rm), rvF = upload(rv), yF = empty(size), smF = empty(ch), siF = empty(ch);
            backend().batchNormForwardTraining(n, ch, hw, xb.ptr(), gb.ptr(), bb.ptr(), eps, mom, rmF.ptr(), rvF.ptr(), yF.ptr(), smF.ptr(),
                    siF.ptr(), zp, relu);
            Buffer rmU = upload(rm), rvU = upload(rv), yU = empty(size), smU = empty(ch), siU = empty(ch);
            backend().batchNormForwardTraining(n, ch, hw, xb.ptr(), gb.ptr(), bb.ptr(), eps, mom, rmU.ptr(), rvU.ptr(), yU.ptr(), smU.ptr(),
                    siU.ptr());
            BatchNormEpilogue.forward(backend(), size, yU.ptr(), zp, relu);
            float[] y = download(yF);
            assertArrayEquals(download(yU), y, what + ": fused y and the unfused ops' differ");
            assertArrayEquals(download(rmU), download(rmF), what + ": running mean");
            assertArrayEquals(download(rvU), download(rvF), what + ": running var");
            assertTrue(!add || Float.isNaN(y[size / 2]), what + ": the NaN summand did not reach y");

            // against the reference in double (the NaN's position left out)
            double[] ey = new double[size], esm = new double[ch], esi = new double[ch], erm = wide(rm), erv = wide(rv), zw = wide(z);
            RefBatchNorm.forwardTraining(n, ch, hw, wide(x), 0, wide(gamma), 0, wide(beta), 0, eps, mom, erm, 0, erv, 0, ey, 0, esm, 0, esi, 0);
            RefBatchNorm.epilogue(size, ey, 0, add ? zw : null, 0, relu);
            tol().assertClose(what + " y", withoutNan(y, ey), ey);

            // backward: fused (dz when there is a z), then the separate ops on the plain backward
            Buffer dxF = empty(size), dgF = empty(ch), dbF = empty(ch), dzF = add ? empty(size) : null;
            backend().batchNormBackward(n, ch, hw, xb.ptr(), dyb.ptr(), gb.ptr(), smF.ptr(), siF.ptr(), dxF.ptr(), dgF.ptr(), dbF.ptr(),
                    yF.ptr(), relu, add ? dzF.ptr() : null);
            Buffer gU = empty(size), dxU = empty(size), dgU = empty(ch), dbU = empty(ch);
            Ptr g = BatchNormEpilogue.gradient(backend(), size, dyb.ptr(), yF.ptr(), relu, gU.ptr(), null);
            backend().batchNormBackward(n, ch, hw, xb.ptr(), g, gb.ptr(), smF.ptr(), siF.ptr(), dxU.ptr(), dgU.ptr(), dbU.ptr());
            assertArrayEquals(download(dxU), download(dxF), what + ": dx");
            assertArrayEquals(download(dgU), download(dgF), what + ": dgamma");
            assertArrayEquals(download(dbU), download(dbF), what + ": dbeta");
            if (add) assertArrayEquals(download(gU), download(dzF), what + ": dz");

            double[] eg = RefBatchNorm.epilogueGradient(size, wide(dy), 0, wide(y), 0, relu);
            double[] edx = new double[size], edg = new double[ch], edb = new double[ch];
            RefBatchNorm.backward(n, ch, hw, wide(x), 0, eg, 0, wide(gamma), 0, wide(download(smF)), 0, wide(download(siF)), 0,
                    edx, 0, edg, 0, edb, 0);
            new Tolerance(1e-4, 1e-3).assertClose(what + " dx", download(dxF), edx);
            tol().assertClose(what + " dgamma", download(dgF), edg);
            tol().assertClose(what + " dbeta", download(dbF), edb);
            if (add) tol().assertClose(what + " dz", download(dzF), eg);

            // inference forward
            Buffer yiF = empty(size), yiU = empty(size);
            backend().batchNormForwardInference(n, ch, hw, xb.ptr(), gb.ptr(), bb.ptr(), rmF.ptr(), rvF.ptr(), eps, yiF.ptr(), zp, relu);
            backend().batchNormForwardInference(n, ch, hw, xb.ptr(), gb.ptr(), bb.ptr(), rmF.ptr(), rvF.ptr(), eps, yiU.ptr());
            BatchNormEpilogue.forward(backend(), size, yiU.ptr(), zp, relu);
            float[] yi = download(yiF);
            assertArrayEquals(download(yiU), yi, what + ": inference y");
            double[] eyi = new double[size];
            RefBatchNorm.forwardInference(n, ch, hw, wide(x), 0, wide(gamma), 0, wide(beta), 0, wide(download(rmF)), 0, wide(download(rvF)), 0,
                    eps, eyi, 0);
            RefBatchNorm.epilogue(size, eyi, 0, add ? zw : null, 0, relu);
            tol().assertClose(what + " inference y", withoutNan(yi, eyi), eyi);
        }
    }

    /** The backend's values with each NaN replaced by the reference's value there (its NaN compared bit for bit elsewhere). */
    private static float[] withoutNan(float[] got, double[] expected) {
        float[] out = got.clone();
        for (int i = 0; i < out.length; i++) {
            if (Float.isNaN(out[i]) && Double.isNaN(expected[i])) {
                out[i] = 0;
                expected[i] = 0;
            }
        }
        return out;
    }

    @Test
    void batchNormEpilogueErrorsNameTheOperand() {
        Buffer x = empty(12), p = empty(3), small = empty(11);
        var noY = assertThrows(IllegalArgumentException.class, () -> backend().batchNormBackward(
                2, 3, 2, x.ptr(), x.ptr(), p.ptr(), p.ptr(), p.ptr(), x.ptr(), p.ptr(), p.ptr(), null, true, null));
        assertTrue(noY.getMessage().contains("relu needs y"), noY.getMessage());
        var shortZ = assertThrows(IllegalArgumentException.class, () -> backend().batchNormForwardTraining(
                2, 3, 2, x.ptr(), p.ptr(), p.ptr(), 1e-5, 0.1, null, null, x.ptr(), p.ptr(), p.ptr(), small.ptr(), true));
        assertTrue(shortZ.getMessage().contains("z"), shortZ.getMessage());
        var shortDz = assertThrows(IllegalArgumentException.class, () -> backend().batchNormBackward(
                2, 3, 2, x.ptr(), x.ptr(), p.ptr(), p.ptr(), p.ptr(), x.ptr(), p.ptr(), p.ptr(), x.ptr(), true, small.ptr()));
        assertTrue(shortDz.getMessage().contains("dz"), shortDz.getMessage());
    }

    @Test
    void batchNormTrainingRefusesOneValuePerChannel() {
        Buffer x = empty(3), p = empty(3);
        var e = assertThrows(IllegalArgumentException.class, () -> backend().batchNormForwardTraining(
                1, 3, 1, x.ptr(), p.ptr(), p.ptr(), 1e-5, 0.1, null, null, x.ptr(), p.ptr(), p.ptr()));
        assertTrue(e.getMessage().contains("more than 1 value per channel"), e.getMessage());
    }

    // ---------------------------------------------------------------------------------------------
    // losses, dropout, embedding, LSTM, fused
    // ---------------------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(doubles = {0.0, 0.1})
    void softmaxCrossEntropyMatchesReference(double smoothing) {
        for (int[] c : new int[][] {{1, 1}, {7, 10}, {33, 100}, {SMALL ? 40 : 256, 10}}) {
            int n = c[0], k = c[1];
            float[] z = randn(n, n * k);
            for (int i = 0; i < z.length; i++) z[i] *= 5; // peaked softmaxes, where stability matters
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) labels[i] = (i * 7 + 3) % k;
            float[] dl = randn(k, n);
            Buffer zb = upload(z), lb = uploadInts(labels), loss = empty(n), probs = empty(n * k), dlb = upload(dl), dz = empty(n * k);
            backend().softmaxCrossEntropyForward(n, k, zb.ptr(), lb.ptr(), smoothing, loss.ptr(), probs.ptr());
            backend().softmaxCrossEntropyBackward(n, k, probs.ptr(), lb.ptr(), smoothing, dlb.ptr(), dz.ptr());
            double[] el = new double[n], ep = new double[n * k], edz = new double[n * k];
            RefLoss.softmaxCrossEntropyForward(n, k, wide(z), 0, labels, 0, smoothing, el, 0, ep, 0);
            RefLoss.softmaxCrossEntropyBackward(n, k, ep, 0, labels, 0, smoothing, wide(dl), 0, edz, 0);
            tol().assertClose("ce loss " + n + "x" + k, download(loss), el);
            tol().assertClose("ce probs " + n + "x" + k, download(probs), ep);
            tol().assertClose("ce dlogits " + n + "x" + k, download(dz), edz);
        }
    }

    @Test
    void softmaxCrossEntropyNamesABadLabel() {
        Buffer z = upload(new float[6]), l = uploadInts(new int[] {0, 3}), loss = empty(2), p = empty(6);
        var e = assertThrows(IllegalArgumentException.class,
                () -> backend().softmaxCrossEntropyForward(2, 3, z.ptr(), l.ptr(), 0, loss.ptr(), p.ptr()));
        assertTrue(e.getMessage().contains("label 3 at position 1"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 1023, 70001})
    void dropoutMaskMatchesReferenceExactly(int n) {
        float[] x = randn(n, n);
        Buffer xb = upload(x), y = empty(n);
        // counter 1001: the first position is word 1 of its Philox block (NOTE [philox]), the last n % 4 a partial block
        backend().dropout(n, 0.3, 42L, 1001L, xb.ptr(), y.ptr());
        double[] expected = new double[n];
        RefRandom.dropout(n, 0.3, 42L, 1001L, wide(x), 0, expected, 0);
        float[] got = download(y);
        for (int i = 0; i < n; i++) assertEquals(expected[i] == 0, got[i] == 0, "mask differs at " + i);
        tol().assertClose("dropout n=" + n, got, expected);
    }

    @Test
    void dropoutKeepsAboutOneMinusP() {
        int n = 100_000, threshold = Philox.threshold(0.25), kept = 0;
        for (int i = 0; i < n; i++) if (Philox.keep(5L, i, threshold)) kept++;
        // binomial standard deviation sqrt(n p (1-p)) = 137; allow 5 of them
        assertEquals(0.75 * n, kept, 5 * Math.sqrt(n * 0.25 * 0.75));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 37, 2500})
    void embeddingMatchesReference(int n) {
        int dim = 7, vocab = 11;
        int[] idx = new int[n];
        java.util.Random r = new java.util.Random(n);
        // random indices in [0, vocab - 1): row vocab - 1 is never used; a third of them are 3, so rows repeat a lot
        for (int i = 0; i < n; i++) idx[i] = r.nextInt(3) == 0 ? 3 : r.nextInt(vocab - 1);
        float[] table = randn(1, vocab * dim), dOut = randn(2, n * dim), dTable = randn(3, vocab * dim);
        Buffer ib = uploadInts(idx), tb = upload(table), out = empty(n * dim), gb = upload(dOut), dtb = upload(dTable);
        backend().embeddingForward(n, dim, vocab, ib.ptr(), tb.ptr(), out.ptr());
        backend().embeddingBackward(n, dim, vocab, ib.ptr(), gb.ptr(), dtb.ptr());
        double[] eo = new double[n * dim], edt = wide(dTable);
        RefEmbedding.forward(n, dim, vocab, idx, 0, wide(table), 0, eo, 0);
        RefEmbedding.backward(n, dim, vocab, idx, 0, wide(dOut), 0, edt, 0);
        tol().assertClose("embedding forward", download(out), eo);
        // The contract for every backend: the backward sums each row's gradients in position order, in double, and
        // rounds once (Backend#embeddingBackward), so it is deterministic and equals the reference narrowed, to the bit.
        float[] expected = new float[edt.length];
        for (int k = 0; k < edt.length; k++) expected[k] = (float) edt[k];
        assertArrayEquals(expected, download(dtb), "embedding backward (accumulating), bitwise");

        Buffer bad = uploadInts(new int[] {2, 11}), out2 = empty(2 * dim), g2 = upload(randn(4, 2 * dim));
        var e = assertThrows(IllegalArgumentException.class, () -> backend().embeddingForward(2, dim, vocab, bad.ptr(), tb.ptr(), out2.ptr()));
        assertTrue(e.getMessage().contains("index 11 at position 1"), e.getMessage());
        float[] before = download(dtb);
        e = assertThrows(IllegalArgumentException.class, () -> backend().embeddingBackward(2, dim, vocab, bad.ptr(), g2.ptr(), dtb.ptr()));
        assertTrue(e.getMessage().contains("index 11 at position 1"), e.getMessage());
        assertArrayEquals(before, download(dtb), "a refused backward changes nothing");
    }

    @Test
    void lstmCellMatchesReference() {
        for (int[] c : new int[][] {{1, 1}, {3, 7}, {29, 37}, {50, 128}}) {
            int n = c[0], h = c[1], nh = n * h;
            float[] gates = randn(1, 4 * nh), cPrev = randn(2, nh), dh = randn(3, nh), dc = randn(4, nh);
            Buffer gb = upload(gates), cpb = upload(cPrev), act = empty(4 * nh), hb = empty(nh), cb = empty(nh);
            Buffer dhb = upload(dh), dcb = upload(dc), dg = empty(4 * nh), dcp = empty(nh);
            backend().lstmCellForward(n, h, gb.ptr(), cpb.ptr(), act.ptr(), hb.ptr(), cb.ptr());
            double[] ea = new double[4 * nh], eh = new double[nh], ec = new double[nh], edg = new double[4 * nh], edcp = new double[nh];
            RefLstm.forward(n, h, wide(gates), 0, wide(cPrev), 0, ea, 0, eh, 0, ec, 0);
            tol().assertClose("lstm act", download(act), ea);
            tol().assertClose("lstm h", download(hb), eh);
            tol().assertClose("lstm c", download(cb), ec);
            for (boolean withDc : new boolean[] {true, false}) {
                backend().lstmCellBackward(n, h, act.ptr(), cpb.ptr(), cb.ptr(), dhb.ptr(), withDc ? dcb.ptr() : null, dg.ptr(), dcp.ptr());
                RefLstm.backward(n, h, ea, 0, wide(cPrev), 0, ec, 0, wide(dh), 0, withDc ? wide(dc) : null, 0, edg, 0, edcp, 0);
                tol().assertClose("lstm dgates dc=" + withDc, download(dg), edg);
                tol().assertClose("lstm dcPrev dc=" + withDc, download(dcp), edcp);
            }
        }
    }

    /**
     * (t, n, input, hidden): single values, odd sizes, a batch past one warp with a 64-wide state, and an odd batch
     * and state (rows split between threads, a partial vector per row).
     */
    static final int[][] LSTMS = {{1, 1, 1, 1}, {3, 2, 5, 4}, {7, 3, 1, 7}, {4, 33, 20, 64}, {5, 29, 13, 37}};

    private static Ptr ptr(Buffer b) {
        return b == null ? null : b.ptr();
    }

    private static double[] wideOrNull(float[] a, boolean present) {
        return present ? wide(a) : null;
    }

    /**
     * One LSTM layer over a sequence against RefLstm#sequenceForward/Backward (the cell applied step by step), with
     * every optional operand given (states, both biases, dhT and dcT; dx, dh0, dc0 wanted) and with them absent
     * (zero states and dhT/dcT, one bias, only dx wanted); the forward also in inference mode (no reserve).
     */
    @Test
    @Tag(GEMM)
    void lstmSequenceMatchesReference() {
        for (int[] c : LSTMS) {
            LstmGeometry g = new LstmGeometry(c[0], c[1], c[2], c[3]);
            double k = 1 / Math.sqrt(g.hidden()); // PyTorch's initialization range
            for (boolean full : new boolean[] {true, false}) {
                String what = "lstm " + g + (full ? " (all operands)" : " (no states, one bias)");
                int ns = g.stateSize();
                float[] x = randn(11, g.inputSize()), wIh = uniform(12, g.weightIhSize(), -k, k), wHh = uniform(13, g.weightHhSize(), -k, k);
                float[] bIh = uniform(14, g.biasSize(), -k, k), bHh = uniform(15, g.biasSize(), -k, k), h0 = randn(16, ns), c0 = randn(17, ns);
                float[] dy = randn(18, g.outputSize()), dhT = randn(19, ns), dcT = randn(20, ns);
                Buffer xb = upload(x), wIhb = upload(wIh), wHhb = upload(wHh), bIhb = upload(bIh), dyb = upload(dy);
                Buffer bHhb = full ? upload(bHh) : null, h0b = full ? upload(h0) : null, c0b = full ? upload(c0) : null;
                Buffer dhTb = full ? upload(dhT) : null, dcTb = full ? upload(dcT) : null;
                Buffer y = empty(g.outputSize()), hT = empty(ns), cT = empty(ns), reserve = empty(backend().lstmReserveSize(g));
                backend().lstmSequenceForward(g, xb.ptr(), ptr(h0b), ptr(c0b), wIhb.ptr(), wHhb.ptr(), bIhb.ptr(), ptr(bHhb), y.ptr(), hT.ptr(),
                        cT.ptr(), reserve.ptr());
                double[] ey = new double[g.outputSize()], ehT = new double[ns], ecT = new double[ns], eres = new double[g.stepReserveSize()];
                RefLstm.sequenceForward(g, wide(x), wideOrNull(h0, full), wideOrNull(c0, full), wide(wIh), wide(wHh), wide(bIh),
                        wideOrNull(bHh, full), ey, ehT, ecT, eres);
                tol().assertClose(what + " y", download(y), ey);
                tol().assertClose(what + " hT", download(hT), ehT);
                tol().assertClose(what + " cT", download(cT), ecT);

                Buffer yi = empty(g.outputSize()), hTi = empty(ns), cTi = empty(ns);
                backend().lstmSequenceForward(g, xb.ptr(), ptr(h0b), ptr(c0b), wIhb.ptr(), wHhb.ptr(), bIhb.ptr(), ptr(bHhb), yi.ptr(),
                        hTi.ptr(), cTi.ptr(), null);
                tol().assertClose(what + " y (inference)", download(yi), ey);
                tol().assertClose(what + " cT (inference)", download(cTi), ecT);

                Buffer dx = empty(g.inputSize()), dh0 = full ? empty(ns) : null, dc0 = full ? empty(ns) : null;
                Buffer dwIh = empty(g.weightIhSize()), dwHh = empty(g.weightHhSize()), db = empty(g.biasSize());
                backend().lstmSequenceBackward(g, xb.ptr(), ptr(h0b), ptr(c0b), wIhb.ptr(), wHhb.ptr(), y.ptr(), reserve.ptr(), dyb.ptr(),
                        ptr(dhTb), ptr(dcTb), dx.ptr(), ptr(dh0), ptr(dc0), dwIh.ptr(), dwHh.ptr(), db.ptr());
                double[] edx = new double[g.inputSize()], edh0 = new double[ns], edc0 = new double[ns];
                double[] edwIh = new double[g.weightIhSize()], edwHh = new double[g.weightHhSize()], edb = new double[g.biasSize()];
                RefLstm.sequenceBackward(g, wide(x), wideOrNull(h0, full), wideOrNull(c0, full), wide(wIh), wide(wHh), ey, eres, wide(dy),
                        wideOrNull(dhT, full), wideOrNull(dcT, full), edx, full ? edh0 : null, full ? edc0 : null, edwIh, edwHh, edb);
                // gradients flow back through t steps and the weight gradients sum t*n products: a looser bound (or the
                // backend's own, where that is looser still: TF32 GEMMs)
                Tolerance grads = new Tolerance(Math.max(1e-4, tol().atol()), Math.max(1e-3, tol().rtol()));
                grads.assertClose(what + " dx", download(dx), edx);
                if (full) {
                    grads.assertClose(what + " dh0", download(dh0), edh0);
                    grads.assertClose(what + " dc0", download(dc0), edc0);
                }
                grads.assertClose(what + " dwIh", download(dwIh), edwIh);
                grads.assertClose(what + " dwHh", download(dwHh), edwHh);
                grads.assertClose(what + " db", download(db), edb);
            }
        }
    }

    @Test
    void lstmSequenceNamesAShortOperand() {
        LstmGeometry g = new LstmGeometry(3, 2, 5, 4);
        Buffer x = empty(g.inputSize()), w = empty(g.weightIhSize() - 1), u = empty(g.weightHhSize()), y = empty(g.outputSize());
        Buffer s = empty(g.stateSize());
        var e = assertThrows(IllegalArgumentException.class, () -> backend().lstmSequenceForward(g, x.ptr(), null, null, w.ptr(), u.ptr(),
                null, null, y.ptr(), s.ptr(), s.ptr(), null));
        assertTrue(e.getMessage().contains("wIh") && e.getMessage().contains(Integer.toString(g.weightIhSize())), e.getMessage());
        Buffer d = empty(g.biasSize());
        var r = assertThrows(IllegalArgumentException.class, () -> backend().lstmSequenceBackward(g, x.ptr(), null, null, u.ptr(), u.ptr(),
                y.ptr(), null, y.ptr(), null, null, null, null, null, u.ptr(), u.ptr(), d.ptr()));
        assertTrue(e.getMessage().startsWith("lstmSequenceForward") && r.getMessage().contains("reserve"), r.getMessage());
    }

    /** y = a*x + y over all elements, as a fused kernel. */
    static final FusedKernel AXPY = new FusedKernel() {
        @Override
        public String name() {
            return "axpy";
        }

        @Override
        public void runHost(HostOperands ops, double[] s, int from, int to) {
            float[] x = ops.f32(0), y = ops.f32(1);
            int xo = ops.offset(0), yo = ops.offset(1);
            for (int i = from; i < to; i++) y[yo + i] += (float) s[0] * x[xo + i];
        }
    };

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 1023, 70001})
    void fusedKernelVisitsEveryElementOnce(int n) {
        float[] x = randn(1, n + 3), y = randn(2, n + 1);
        Buffer xb = upload(x), yb = upload(y);
        backend().fused(AXPY, n, new Ptr[] {xb.ptr(3), yb.ptr(1)}, new double[] {2.0});
        double[] expected = wide(y);
        for (int i = 0; i < n; i++) expected[1 + i] += 2.0 * x[3 + i];
        tol().assertClose("axpy", download(yb), expected);
    }
}
