package optlab.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.reference.RefConv;
import org.junit.jupiter.api.Test;

/**
 * {@link CpuConvFilter}'s own properties; its agreement with the reference on finite data is {@code
 * BackendConformanceTest}'s (convolutionForwardAndBackwardMatchReference), its thread-count independence
 * ThreadCountBitsTest's.
 */
class CpuConvFilterTest {
    private static float[] randn(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    /**
     * The dot products read image columns past the output width (multiplied by dy's zero padding). A NaN or an
     * infinity there would turn those zeros into NaN, so such images take the GEMM formulation: the gradient's
     * non-finite elements must be exactly the reference's. The infinity sits in the last column, which the rows with
     * fs = 0 read only past the output width; a NaN elsewhere poisons every row that reads it in the reference too.
     */
    @Test
    void nonFiniteInputsGiveTheReferencesNonFiniteElements() {
        Conv2dGeometry g = new Conv2dGeometry(3, 2, 20, 30, 5, 3, 3, 1, 1, 1, 1);
        assertTrue(CpuConvFilter.applies(g), "the geometry must take the dot-product path");
        float[] dy = randn(2, g.outputSize());
        for (int[] bad : new int[][] {{1, 1, 7, 29}, {2, 0, 19, 0}}) { // (image, channel, row, column)
            for (float v : new float[] {Float.POSITIVE_INFINITY, Float.NaN}) {
                float[] x = randn(1, g.inputSize());
                x[((bad[0] * g.c() + bad[1]) * g.h() + bad[2]) * g.w() + bad[3]] = v;
                float[] got = new float[g.filterSize()];
                CpuConv.backwardFilter(g, x, 0, dy, 0, got, 0);
                double[] want = new double[g.filterSize()];
                double[] xd = new double[x.length], dyd = new double[dy.length];
                for (int i = 0; i < x.length; i++) xd[i] = x[i];
                for (int i = 0; i < dy.length; i++) dyd[i] = dy[i];
                RefConv.backwardFilter(g, xd, 0, dyd, 0, want, 0);
                int nonFinite = 0;
                for (int e = 0; e < want.length; e++) {
                    String at = "value " + v + " at " + java.util.Arrays.toString(bad) + ", element " + e;
                    assertEquals(Double.isNaN(want[e]), Float.isNaN(got[e]), at + ": NaN " + want[e] + " vs " + got[e]);
                    assertEquals(Double.isInfinite(want[e]), Float.isInfinite(got[e]), at + ": infinite " + want[e] + " vs " + got[e]);
                    if (Double.isFinite(want[e])) assertEquals(want[e], got[e], 1e-4 * (1 + Math.abs(want[e])), at);
                    else nonFinite++;
                }
                assertTrue(nonFinite > 0 && nonFinite < want.length, "some elements, not all, are non-finite: " + nonFinite);
            }
        }
    }

    /** The finite fast path refuses a group with a non-finite image and leaves out untouched. */
    @Test
    void aNonFiniteImageIsRefusedWithoutWriting() {
        Conv2dGeometry g = new Conv2dGeometry(2, 1, 24, 24, 4, 3, 3, 1, 1, 1, 1);
        float[] x = randn(3, g.inputSize()), dy = randn(4, g.outputSize()), out = new float[g.filterSize()];
        java.util.Arrays.fill(out, 7f);
        x[g.inputSize() - 1] = Float.NEGATIVE_INFINITY;
        assertFalse(CpuConvFilter.group(g, x, 0, dy, 0, 0, 2, out, 0));
        for (float o : out) assertEquals(7f, o);
        assertTrue(CpuConvFilter.group(g, x, 0, dy, 0, 0, 1, out, 0), "the first image alone is finite");
    }
}
