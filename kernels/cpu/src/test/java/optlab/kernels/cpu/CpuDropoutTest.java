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
            for (long counter : new long[] {0L, 1000L, 0xFFFFFF00L, (1L << 40) + 7}) {
                for (double p : new double[] {0.0, 0.2, 0.5, 0.9}) {
                    int threshold = Philox.threshold(p);
                    float scale = (float) (1.0 / (1.0 - p));
                    float[] expected = new float[n];
                    for (int i = 0; i < n; i++) expected[i] = Philox.keep(seed, counter + i, threshold) ? x[3 + i] * scale : 0f;
                    // one call, and the same range in uneven pieces (as threads would take it)
                    float[] whole = new float[n + 2], pieces = new float[n + 2];
                    CpuDropout.apply(seed, counter, threshold, scale, x, 3, whole, 2, 0, n);
                    int[] cuts = {0, 1, 9, 517, 518, 1100, n};
                    for (int c = 0; c + 1 < cuts.length; c++) CpuDropout.apply(seed, counter, threshold, scale, x, 3, pieces, 2, cuts[c], cuts[c + 1]);
                    for (int i = 0; i < n; i++) {
                        String at = "seed " + seed + " counter " + counter + " p " + p + " element " + i;
                        assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(whole[2 + i]), at);
                        assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(pieces[2 + i]), at + " (pieces)");
                    }
                }
            }
        }
    }
}
