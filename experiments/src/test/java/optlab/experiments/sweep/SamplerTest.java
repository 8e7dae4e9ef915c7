package optlab.experiments.sweep;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.math3.random.SobolSequenceGenerator;
import org.junit.jupiter.api.Test;

/** The quasi-random sampler (EXPERIMENTS.md section 2: test coverage, correlation, determinism, prefix stability, mapping). */
class SamplerTest {
    /**
     * Sobol's points 0..63 fall exactly 4 times into each of 16 equal bins of every dimension; ours are points 1..64
     * (the zero point skipped), which moves at most one point from one bin to another: every bin holds 3 to 5.
     */
    @Test
    void everyDimensionIsCoveredEvenly() {
        double[][] p = QuasiRandom.points(6, 64);
        for (int d = 0; d < 6; d++) {
            int[] bins = new int[16];
            for (double[] x : p) bins[(int) (x[d] * 16)]++;
            for (int b = 0; b < 16; b++) assertTrue(bins[b] >= 3 && bins[b] <= 5, "dimension " + d + " bin " + b + ": " + bins[b]);
            // and the range is spanned: the extreme bins of 64 are hit
            int[] fine = new int[64];
            for (double[] x : p) fine[(int) (x[d] * 64)]++;
            int empty = 0;
            for (int c : fine) if (c == 0) empty++;
            // 64 points from index 1 leave at most one of 64 bins empty (the index-0 point's bin, 0)
            assertTrue(empty <= 1, "dimension " + d + ": " + empty + " empty bins of 64");
        }
    }

    /** The trap of EXPERIMENTS.md (Vizier issue 541): dimensions must not move together. */
    @Test
    void dimensionsAreNearlyUncorrelated() {
        double[][] p = QuasiRandom.points(5, 100);
        for (int a = 0; a < 5; a++) {
            for (int b = a + 1; b < 5; b++) {
                double r = correlation(p, a, b);
                // independent uniform samples of 100 give |r| ~ 0.1; a low-discrepancy set should do no worse than 0.2
                assertTrue(Math.abs(r) < 0.2, "dimensions " + a + ", " + b + ": r = " + r);
            }
        }
    }

    private static double correlation(double[][] p, int a, int b) {
        double ma = 0, mb = 0;
        for (double[] x : p) {
            ma += x[a];
            mb += x[b];
        }
        ma /= p.length;
        mb /= p.length;
        double sab = 0, saa = 0, sbb = 0;
        for (double[] x : p) {
            sab += (x[a] - ma) * (x[b] - mb);
            saa += (x[a] - ma) * (x[a] - ma);
            sbb += (x[b] - mb) * (x[b] - mb);
        }
        return sab / Math.sqrt(saa * sbb);
    }

    @Test
    void theAllZeroPointIsSkippedAndTheRestIsSobolInOrder() {
        double[][] p = QuasiRandom.points(3, 10);
        SobolSequenceGenerator g = new SobolSequenceGenerator(3);
        assertArrayEquals(new double[3], g.nextVector(), "Sobol's first point is zero");
        for (double[] x : p) {
            assertArrayEquals(g.nextVector(), x);
            boolean allZero = true;
            for (double v : x) allZero &= v == 0;
            assertFalse(allZero);
        }
        assertArrayEquals(new double[] {0.5, 0.5, 0.5}, p[0]);
    }

    @Test
    void deterministicAndPrefixStable() {
        double[][] a = QuasiRandom.points(4, 16), b = QuasiRandom.points(4, 16), longer = QuasiRandom.points(4, 40);
        for (int i = 0; i < 16; i++) {
            assertArrayEquals(a[i], b[i]);
            assertArrayEquals(a[i], longer[i]);
        }
    }

    @Test
    void logLinearAndFeasibleMappings() {
        SweepSpec.Range log = new SweepSpec.Range(1e-4, 1e-1, "log", null, null);
        assertEquals(1e-4, (double) log.map(0), 1e-18);
        assertEquals(Math.sqrt(1e-4 * 1e-1), (double) log.map(0.5), 1e-15); // the geometric middle
        assertEquals(1e-3, (double) log.map(1.0 / 3), 1e-15);
        SweepSpec.Range lin = new SweepSpec.Range(0.5, 1.0, "linear", null, null);
        assertEquals(0.75, (double) lin.map(0.5), 0);
        SweepSpec.Range pts = new SweepSpec.Range(null, null, null, List.of(0.5, 0.75, 1.0), null);
        assertEquals(0.5, pts.map(0.0));
        assertEquals(0.75, pts.map(0.34));
        assertEquals(1.0, pts.map(0.99));
    }

    /** one_minus_beta1 searched on a log scale becomes beta1 = 1 - value in the trial's resolved config. */
    @Test
    void oneMinusDimensionsMapToTheirHyperparameter() {
        LinkedHashMap<String, SweepSpec.Range> space = new LinkedHashMap<>();
        space.put("lr", new SweepSpec.Range(1e-5, 1e-1, "log", null, null));
        space.put("one_minus_beta1", new SweepSpec.Range(1e-3, 1.0, "log", null, null));
        space.put("one_minus_beta2", new SweepSpec.Range(1e-4, 1e-1, "log", null, null));
        SweepSpec spec = new SweepSpec("t", null, Map.of("workload", "fmnist_2c2d", "steps", 5), 0L, null, null, null,
                List.of(new SweepSpec.Search("adam", "choi.adam", null, null, new SweepSpec.QuasiRandom(8, space), null)));
        spec.check("spec");
        for (TrialTable.Trial t : TrialTable.plan(spec, null)) {
            double omb1 = ((Number) t.params().get("one_minus_beta1")).doubleValue();
            assertTrue(omb1 >= 1e-3 && omb1 < 1, "" + omb1);
            assertEquals(1 - omb1, ((Number) t.config().get("beta1")).doubleValue(), 0);
            assertEquals(1 - ((Number) t.params().get("one_minus_beta2")).doubleValue(), ((Number) t.config().get("beta2")).doubleValue(), 0);
            assertFalse(t.config().containsKey("one_minus_beta1"));
            double u = t.point().get(1);
            assertEquals(Math.exp(Math.log(1e-3) + u * (Math.log(1.0) - Math.log(1e-3))), omb1, 1e-15);
        }
    }
}
