package optlab.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import optlab.kernels.random.Philox;
import org.junit.jupiter.api.Test;

/**
 * {@link CpuDropout} against the scalar {@link Philox#keep}, to the bit, at awkward offsets, counters and splits, with
 * NaNs and infinities among the inputs.
 */
class CpuDropoutTest {
    @Test
    void masksAndValuesEqualTheScalarGeneratorsBitForBit() {
        SplittableRandom r = new SplittableRandom(3);
        int n = 1500;
        float[] x = new float[n + 5];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        // a dropped NaN or infinity gives 0, as in the reference (a select, not x * scale * keep)
        for (int i = 0; i < x.length; i += 7) x[i] = i % 3 == 0 ? Float.NaN : Float.NEGATIVE_INFINITY;
        // counters across the 2^32 boundary of the low counter word; seeds with both key words set
        for (long seed : new long[] {0L, 42L, 0xDEADBEEFCAFEF00DL, -1L}) {
            // and across the 2^64 wrap, and at every offset within a block of four words
            for (long counter : new long[] {0L, 1000L, 0xFFFFFF00L, (1L << 40) + 7, -771L, 1L, 2L, 3L}) {
                for (double p : new double[] {0.0, 0.2, 0.5, 0.9}) {
                    int threshold = Philox.threshold(p);
                    float scale = (float) (1.0 / (1.0 - p));
                    float[] expected = new float[n];
                    for (int i = 0; i < n; i++) expected[i] = Philox.keep(seed, counter + i, threshold) ? x[3 + i] * scale : 0f;
                    // one call, and the same range in uneven pieces (as other kernels' threads would take it)
                    float[] whole = new float[n + 2], pieces = new float[n + 2], recorded = new float[n + 2];
                    CpuDropout.apply(seed, counter, threshold, scale, x, 3, whole, 2, 0, n, null);
                    int[] cuts = {0, 1, 9, 517, 518, 1100, n};
                    for (int c = 0; c + 1 < cuts.length; c++) CpuDropout.apply(seed, counter, threshold, scale, x, 3, pieces, 2, cuts[c], cuts[c + 1], null);
                    // recording: pieces of whole mask words, as the backend splits it; n = 1500 ends mid-word and mid-vector
                    long[] record = new long[(n + 63) / 64];
                    java.util.Arrays.fill(record, 0x5555_5555_5555_5555L); // stale bits must be overwritten
                    int[] wordCuts = {0, 64, 576, 1088, n};
                    for (int c = 0; c + 1 < wordCuts.length; c++) CpuDropout.apply(seed, counter, threshold, scale, x, 3, recorded, 2, wordCuts[c], wordCuts[c + 1], record);
                    // the recorded mask replayed, in other pieces, on the same x
                    float[] replayed = new float[n + 2];
                    int[] cuts2 = {0, 64, 704, n};
                    for (int c = 0; c + 1 < cuts2.length; c++) CpuDropout.replay(record, scale, x, 3, replayed, 2, cuts2[c], cuts2[c + 1]);
                    for (int i = 0; i < n; i++) {
                        String at = "seed " + seed + " counter " + counter + " p " + p + " element " + i;
                        assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(whole[2 + i]), at);
                        assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(pieces[2 + i]), at + " (pieces)");
                        assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(recorded[2 + i]), at + " (recorded)");
                        assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(replayed[2 + i]), at + " (replayed)");
                    }
                }
            }
        }
    }

    /**
     * The backend replays a recorded mask for a call with the same (seed, counter, n, p) only, on whatever x it gets
     * (autograd's backward passes dy), and gives the reference's result every time: the same key on new data, keys
     * that differ in one part each, then all of them again after enough other calls to evict every mask.
     */
    @Test
    void theBackendReplaysAMaskForItsOwnKeyOnly() {
        optlab.kernels.Backend be = CpuBackend.get();
        SplittableRandom r = new SplittableRandom(9);
        long[][] keys = {{42, 1000, 3000}, {42, 1000, 3000}, {43, 1000, 3000}, {42, 1001, 3000}, {42, 1000, 2999}};
        for (int round = 0; round < 2; round++) {
            for (long[] k : keys) {
                for (double p : new double[] {0.2, 0.5}) {
                    int len = (int) k[2];
                    float[] x = new float[len];
                    for (int i = 0; i < len; i++) x[i] = (float) r.nextGaussian();
                    optlab.kernels.Buffer xb = be.allocate(optlab.kernels.DType.FLOAT32, len), yb = be.allocate(optlab.kernels.DType.FLOAT32, len);
                    be.write(xb.ptr(), x, 0, len);
                    be.dropout(len, p, k[0], k[1], xb.ptr(), yb.ptr());
                    float[] got = new float[len];
                    be.read(yb.ptr(), got, 0, len);
                    int threshold = Philox.threshold(p);
                    float scale = (float) (1.0 / (1.0 - p));
                    for (int i = 0; i < len; i++) {
                        float want = Philox.keep(k[0], k[1] + i, threshold) ? x[i] * scale : 0f;
                        assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got[i]),
                                "key " + java.util.Arrays.toString(k) + " p " + p + " round " + round + " element " + i);
                    }
                }
            }
            for (int e = 0; e <= CpuDropout.Masks.MAX_MASKS; e++) { // other keys, enough to evict every mask above
                optlab.kernels.Buffer xb = be.allocate(optlab.kernels.DType.FLOAT32, 16), yb = be.allocate(optlab.kernels.DType.FLOAT32, 16);
                be.dropout(16, 0.5, 7, e * 100L, xb.ptr(), yb.ptr());
            }
        }
    }

    /** The memo keeps at most MAX_MASKS masks, the least recently used going first, and reuses evicted arrays. */
    @Test
    void theMemoEvictsTheLeastRecentlyUsed() {
        CpuDropout.Masks m = new CpuDropout.Masks();
        long[][] arrays = new long[CpuDropout.Masks.MAX_MASKS][];
        for (int i = 0; i < arrays.length; i++) m.put(1, i, 4, 5, arrays[i] = m.recorder(4));
        m.get(1, 0, 4, 5); // key 0 is now the most recent; key 1 the least
        m.put(1, 99, 4, 5, m.recorder(4));
        assertEquals(null, m.get(1, 1, 4, 5), "key 1, the least recently used, is evicted");
        org.junit.jupiter.api.Assertions.assertSame(arrays[0], m.get(1, 0, 4, 5));
        org.junit.jupiter.api.Assertions.assertNotNull(m.get(1, 99, 4, 5));
        long[] second = arrays[1];
        org.junit.jupiter.api.Assertions.assertSame(second, m.recorder(4), "the evicted array is reused");
    }
}
