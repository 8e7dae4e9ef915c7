package optlab.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.SplittableRandom;
import optlab.kernels.Tolerance;
import optlab.kernels.reference.RefGemm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Sgemm} against the double-precision {@link RefGemm} on seeded random inputs in [-1, 1).
 *
 * <p>Every case compares the whole C array, padding included, so writes outside the (m, n) block show up;
 * the padding of A and B (beyond each row, before the offsets) is NaN, so a read outside op(A) or op(B)
 * that reaches a stored result shows up too. With beta = 0, C starts as all NaN.
 */
class SgemmTest {
    private static final boolean[][] TRANSPOSES = {{false, false}, {true, false}, {false, true}, {true, true}};
    private static final int[] ODD_SIZES = {1, 7, 17, 31, 33, 100, 257};

    /** One GEMM problem: sizes, layout (padding of the leading dimensions, offsets) and scalars. */
    private record Problem(boolean transA, boolean transB, int m, int n, int k, float alpha, float beta,
                           int padA, int padB, int padC, int ao, int bo, int co, long seed) {
        static Problem of(boolean transA, boolean transB, int m, int n, int k) {
            return new Problem(transA, transB, m, n, k, 1f, 0f, 0, 0, 0, 0, 0, 0, 42);
        }

        Problem scalars(float alpha, float beta) {
            return new Problem(transA, transB, m, n, k, alpha, beta, padA, padB, padC, ao, bo, co, seed);
        }

        Problem layout(int padA, int padB, int padC, int ao, int bo, int co) {
            return new Problem(transA, transB, m, n, k, alpha, beta, padA, padB, padC, ao, bo, co, seed);
        }

        int lda() { return (transA ? m : k) + padA; }
        int ldb() { return (transB ? k : n) + padB; }
        int ldc() { return n + padC; }

        @Override
        public String toString() {
            return String.format("%s%s m=%d n=%d k=%d alpha=%s beta=%s lda=%d ldb=%d ldc=%d ao=%d bo=%d co=%d",
                    transA ? "T" : "N", transB ? "T" : "N", m, n, k, alpha, beta, lda(), ldb(), ldc(), ao, bo, co);
        }
    }

    /** Inputs of a problem and the reference result (computed in double from the same float values). */
    private static final class Case {
        final Problem p;
        final float[] a, b, c;
        final double[] expected;

        Case(Problem p) {
            this.p = p;
            SplittableRandom rnd = new SplittableRandom(p.seed());
            a = operand(rnd, p.transA() ? p.k() : p.m(), p.transA() ? p.m() : p.k(), p.lda(), p.ao());
            b = operand(rnd, p.transB() ? p.n() : p.k(), p.transB() ? p.k() : p.n(), p.ldb(), p.bo());
            c = new float[p.co() + p.m() * p.ldc() + 3];
            for (int i = 0; i < c.length; i++) c[i] = p.beta() == 0 ? Float.NaN : (float) (rnd.nextDouble() * 2 - 1);
            expected = toDouble(c);
            RefGemm.gemm(p.transA(), p.transB(), p.m(), p.n(), p.k(), p.alpha(), toDouble(a), p.ao(), p.lda(),
                    toDouble(b), p.bo(), p.ldb(), p.beta(), expected, p.co(), p.ldc());
        }

        /** A fresh copy of C's initial contents. */
        float[] freshC() {
            return c.clone();
        }

        void run(float[] out) {
            Sgemm.sgemm(p.transA(), p.transB(), p.m(), p.n(), p.k(), p.alpha(), a, p.ao(), p.lda(), b, p.bo(),
                    p.ldb(), p.beta(), out, p.co(), p.ldc());
        }

        void check() {
            float[] out = freshC();
            run(out);
            tolerance(p.k()).assertClose(p.toString(), out, expected);
        }
    }

    /** rows x cols stored with leading dimension ld from offset off; everything else (padding) is NaN. */
    private static float[] operand(SplittableRandom rnd, int rows, int cols, int ld, int off) {
        float[] x = new float[off + rows * ld + 5];
        Arrays.fill(x, Float.NaN);
        for (int r = 0; r < rows; r++) {
            for (int q = 0; q < cols; q++) x[off + r * ld + q] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return x;
    }

    private static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }

    /**
     * FLOAT32 for sums of up to 64 products. Longer sums of O(1) terms in float32 carry a rounding error that
     * grows with k (about sqrt(k) rounding steps, each of the size of a partial sum that itself grows like
     * sqrt(k)), while results near zero get no help from the relative term; so the bounds scale with k / 64.
     * A wrong element (a missed or doubled product) is off by O(1), far outside even the widest bound here
     * (k = 1023: atol 1.6e-4, rtol 1.6e-3).
     */
    private static Tolerance tolerance(int k) {
        return k <= 64 ? Tolerance.FLOAT32 : Tolerance.FLOAT32.times(k / 64.0);
    }

    private static void check(Problem p) {
        new Case(p).check();
    }

    @Test
    void allFourTransposeCombinations() {
        for (boolean[] t : TRANSPOSES) {
            check(Problem.of(t[0], t[1], 37, 45, 29));
            check(Problem.of(t[0], t[1], 100, 257, 33));
            check(Problem.of(t[0], t[1], 64, 196, 800));
        }
    }

    @ParameterizedTest(name = "m = {0}")
    @ValueSource(ints = {1, 7, 17, 31, 33, 100, 257, 1023})
    void oddM(int m) {
        for (boolean[] t : TRANSPOSES) check(Problem.of(t[0], t[1], m, 19, 23));
    }

    @ParameterizedTest(name = "n = {0}")
    @ValueSource(ints = {1, 7, 17, 31, 33, 100, 257, 1023})
    void oddN(int n) {
        for (boolean[] t : TRANSPOSES) check(Problem.of(t[0], t[1], 29, n, 21));
    }

    @ParameterizedTest(name = "k = {0}")
    @ValueSource(ints = {1, 7, 17, 31, 33, 100, 257, 1023})
    void oddK(int k) {
        for (boolean[] t : TRANSPOSES) check(Problem.of(t[0], t[1], 27, 35, k));
    }

    @Test
    void oddSizesInAllThreeDimensionsAtOnce() {
        for (int s : ODD_SIZES) {
            for (boolean[] t : TRANSPOSES) check(Problem.of(t[0], t[1], s, Math.max(1, s - 6), s + 2));
        }
    }

    @Test
    void leadingDimensionsLargerThanTheRowsAndNonzeroOffsets() {
        for (boolean[] t : TRANSPOSES) {
            check(Problem.of(t[0], t[1], 33, 47, 40).layout(5, 3, 7, 11, 13, 17));
            check(Problem.of(t[0], t[1], 100, 65, 257).layout(1, 16, 9, 3, 1, 2));
            check(Problem.of(t[0], t[1], 13, 100, 31).layout(64, 1, 1, 0, 7, 0));
        }
    }

    @Test
    void alphaAndBetaVariants() {
        for (boolean[] t : TRANSPOSES) {
            for (float alpha : new float[] {1f, -0.5f}) {
                for (float beta : new float[] {0f, 1f, 0.25f}) {
                    check(Problem.of(t[0], t[1], 45, 70, 300).layout(2, 3, 4, 1, 2, 3).scalars(alpha, beta));
                    check(Problem.of(t[0], t[1], 5, 3, 4).scalars(alpha, beta)); // the unpacked tiny path
                }
            }
        }
    }

    @Test
    void betaZeroIgnoresNaNInC() {
        Case c = new Case(Problem.of(false, false, 50, 40, 30).layout(0, 0, 2, 0, 0, 1));
        float[] out = c.freshC();
        c.run(out);
        for (int i = 0; i < 50; i++) {
            for (int j = 0; j < 40; j++) {
                float v = out[1 + i * 42 + j];
                if (Float.isNaN(v)) throw new AssertionError("C[" + i + "][" + j + "] is NaN");
            }
        }
        assertEquals(Float.NaN, out[0]); // before co: untouched
    }

    @Test
    void kZeroScalesCByBeta() {
        for (boolean[] t : TRANSPOSES) {
            for (float beta : new float[] {0f, 1f, 0.25f}) {
                check(Problem.of(t[0], t[1], 9, 21, 0).layout(0, 0, 3, 2, 5, 4).scalars(-0.5f, beta));
            }
        }
    }

    @Test
    void emptyCIsANoOp() {
        float[] c = {1f, 2f, 3f};
        Sgemm.sgemm(false, false, 0, 3, 4, 1f, new float[0], 0, 4, new float[12], 0, 3, 0f, c, 0, 3);
        Sgemm.sgemm(true, true, 1, 0, 4, 1f, new float[4], 0, 1, new float[0], 0, 4, 0f, c, 0, 0);
        assertArrayEquals(new float[] {1f, 2f, 3f}, c);
    }

    @Test
    void negativeSizesAreRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> Sgemm.sgemm(false, false, -1, 2, 2, 1f, new float[4], 0, 2, new float[4], 0, 2, 0f, new float[4], 0, 2));
    }

    /** Sizes at and just past the blocking parameters, where packed panels and blocks end exactly. */
    @Test
    void blockAndPanelBoundaries() {
        int mr = Sgemm.MR, nr = Sgemm.NR, kc = Sgemm.KC, mc = Sgemm.MC, nc = Sgemm.NC;
        for (boolean[] t : TRANSPOSES) {
            check(Problem.of(t[0], t[1], mr, nr, 16));
            check(Problem.of(t[0], t[1], mr + 1, nr + 1, 17));
            check(Problem.of(t[0], t[1], mr - 1, nr - 1, 15));
            check(Problem.of(t[0], t[1], mc, nr / 2, kc));
            check(Problem.of(t[0], t[1], mc + 1, nr / 2 + 1, kc + 1));
            check(Problem.of(t[0], t[1], 2 * mc - 1, 3, 2 * kc + 1));
            check(Problem.of(t[0], t[1], 5, nc, 9));
            check(Problem.of(t[0], t[1], 3, nc + 1, 18));
        }
    }

    /** Problems big enough to be split across threads, including shapes of the engine's layers. */
    @Test
    void threadedProblems() {
        for (boolean[] t : TRANSPOSES) {
            check(Problem.of(t[0], t[1], 300, 410, 200).scalars(-0.5f, 0.25f));
            check(Problem.of(t[0], t[1], 700, 90, 150));
        }
        check(Problem.of(false, true, 256, 1024, 3136).scalars(1f, 0f)); // Linear 3136->1024 forward, x W^T
        check(Problem.of(true, false, 800, 196, 64)); // convolution backward-data, W^T dy
    }

    /**
     * The convolution calls GEMM once per image from inside its own parallel loop, where the call runs
     * serially: the results are identical, bit for bit, to a top-level (possibly threaded) call.
     */
    @Test
    void callsFromInsideAParallelRegionRunSeriallyWithTheSameResults() {
        Problem[] problems = {
                Problem.of(false, false, 64, 196, 800),
                Problem.of(true, false, 800, 196, 64).scalars(1f, 1f),
                Problem.of(false, true, 64, 800, 196).layout(0, 3, 0, 0, 5, 0),
                Problem.of(true, true, 300, 410, 200).scalars(-0.5f, 0.25f),
        };
        Case[] cases = new Case[problems.length];
        float[][] topLevel = new float[problems.length][];
        for (int i = 0; i < problems.length; i++) {
            cases[i] = new Case(problems[i]);
            topLevel[i] = cases[i].freshC();
            cases[i].run(topLevel[i]);
            tolerance(problems[i].k()).assertClose(problems[i].toString(), topLevel[i], cases[i].expected);
        }
        float[][] nested = new float[problems.length][];
        for (int i = 0; i < problems.length; i++) nested[i] = cases[i].freshC();
        Parallel.forRange(problems.length, 1, (from, to) -> {
            for (int i = from; i < to; i++) cases[i].run(nested[i]);
        });
        for (int i = 0; i < problems.length; i++) assertArrayEquals(topLevel[i], nested[i], problems[i].toString());
    }

    /**
     * The pre-packed-B path: against the reference at odd sizes, with more than one block of k (KC) and of n (NC), and
     * the same bits as sgemm's (any split) above its unpacked threshold, also when its rows are run in slices.
     */
    @Test
    void prePackedBMatchesTheReferenceAndSgemmBitForBit() {
        Problem[] problems = {
                Problem.of(false, true, 25, 512, 128).scalars(1f, 1f),
                Problem.of(false, false, 25, 128, 512),
                Problem.of(true, false, 33, 2100, 300).scalars(-0.5f, 0.25f).layout(2, 3, 1, 4, 5, 6),
                Problem.of(false, true, 7, 31, 257).layout(0, 3, 0, 0, 5, 0),
                Problem.of(false, false, 1, 1, 1).scalars(1f, 1f),
                Problem.of(true, true, 17, 33, 7),
        };
        for (Problem p : problems) {
            Case c = new Case(p);
            float[] packed = new float[Sgemm.packedBSize(p.k(), p.n())];
            Sgemm.packB(p.transB(), p.k(), p.n(), c.b, p.bo(), p.ldb(), packed);
            float[] whole = c.freshC(), sliced = c.freshC();
            Sgemm.sgemmPackedB(p.transA(), p.m(), p.n(), p.k(), p.alpha(), c.a, p.ao(), p.lda(), packed, p.beta(), whole, p.co(), p.ldc());
            tolerance(p.k()).assertClose(p.toString(), whole, c.expected);
            // rows one at a time: row i of op(A) starts at i * lda (i without transA)
            for (int i = 0; i < p.m(); i++) {
                Sgemm.sgemmPackedB(p.transA(), 1, p.n(), p.k(), p.alpha(), c.a, p.ao() + i * (p.transA() ? 1 : p.lda()), p.lda(),
                        packed, p.beta(), sliced, p.co() + i * p.ldc(), p.ldc());
            }
            assertArrayEquals(whole, sliced, p + ", row by row");
            if ((long) p.m() * p.n() * p.k() > 512) {
                float[] viaSgemm = c.freshC();
                c.run(viaSgemm);
                assertArrayEquals(viaSgemm, whole, p + ", against sgemm");
            }
        }
    }

    /**
     * B's rows read in place (a convolution's col over the padded width, {@link Sgemm#gemmPackedARows}) against the
     * same B gathered panel by panel ({@link Sgemm#gemmPackedA}): the same bits in every kept column, columns past an
     * output row dropped, and C's other elements untouched. m covers the 12-, 8- and 4-row kernels, k two depth
     * blocks, and the column ranges split as threads would take them.
     */
    @Test
    void rowsReadInPlaceGiveTheGatheredPanelsBits() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Sgemm.ROWS_IN_PLACE, "12-row micro-kernels only");
        SplittableRandom r = new SplittableRandom(11);
        int wp = 23, q = 20, p = 9; // an output of p x q in a padded width of wp
        for (int m : new int[] {16, 5, 12, 28}) {
            for (int k : new int[] {64, 300}) {
                int rowsLen = k * 7 + p * wp + Sgemm.NR + 8;
                float[] b = new float[rowsLen];
                for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
                int[] rowOff = new int[k];
                for (int i = 0; i < k; i++) rowOff[i] = 3 + i * 7 % (k * 6); // rows overlapping, as a convolution's do
                float[] a = new float[m * k];
                for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
                float[] ap = new float[Sgemm.packedASize(m, k)];
                Sgemm.packWholeA(false, a, 0, k, m, k, ap);
                int columns = (p - 1) * wp + q, ldc = p * q + 3;
                // the gathered path over the same B, then its columns moved to the output layout
                float[] wide = new float[m * columns];
                Sgemm.gemmPackedA(ap, m, k, 0, columns, (pc, kc, jc, nc, dst) -> {
                    int w = nc > Sgemm.NR / 2 ? Sgemm.NR : Sgemm.NR / 2;
                    for (int pp = 0; pp < kc; pp++)
                        for (int j = 0; j < w; j++) dst[pp * w + j] = j < nc ? b[rowOff[pc + pp] + jc + j] : 0f;
                }, 0f, wide, 0, columns);
                float[] expected = new float[m * ldc];
                Arrays.fill(expected, -7f);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < columns; j++)
                        if (j % wp < q) expected[i * ldc + j / wp * q + j % wp] = wide[i * columns + j];
                float[] got = new float[m * ldc];
                Arrays.fill(got, -7f);
                int[] cuts = {0, Sgemm.NR, 3 * Sgemm.NR, columns};
                for (int c = 0; c + 1 < cuts.length; c++)
                    Sgemm.gemmPackedARows(ap, m, k, cuts[c], cuts[c + 1], b, 0, rowOff, wp, q, 0f, got, 0, ldc);
                assertArrayEquals(expected, got, "m=" + m + " k=" + k);
            }
        }
    }
}
