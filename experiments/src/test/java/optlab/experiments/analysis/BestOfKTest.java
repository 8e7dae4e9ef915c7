package optlab.experiments.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** NOTE [best-of-k]: the exact distribution against brute force and against the Monte-Carlo bootstrap; steps to target. */
class BestOfKTest {
    /** Every one of the N^K equally likely draws, the chosen trial's reported value, tallied. */
    private static Map<Double, Double> bruteForce(double[] scores, double[] reported, int k) {
        int n = scores.length;
        Map<Double, Double> p = new TreeMap<>();
        int[] draw = new int[k];
        long total = (long) Math.pow(n, k);
        for (long code = 0; code < total; code++) {
            long c = code;
            for (int j = 0; j < k; j++) {
                draw[j] = (int) (c % n);
                c /= n;
            }
            int best = draw[0];
            for (int j = 1; j < k; j++) {
                int t = draw[j];
                // lower score wins; on a tie, the earlier trial
                if (scores[t] < scores[best] || (scores[t] == scores[best] && t < best)) best = t;
            }
            p.merge(reported[best], 1.0 / total, Double::sum);
        }
        return p;
    }

    private static Map<Double, Double> asMap(BestOfK.Distribution d) {
        Map<Double, Double> m = new TreeMap<>();
        for (int i = 0; i < d.values().length; i++) m.merge(d.values()[i], d.probabilities()[i], Double::sum);
        return m;
    }

    @Test
    void theExactDistributionIsTheEnumerationOfEveryDraw() {
        SplittableRandom r = new SplittableRandom(7);
        for (int n = 1; n <= 6; n++) {
            for (int k = 1; k <= 4; k++) {
                double[] scores = new double[n], reported = new double[n];
                for (int i = 0; i < n; i++) {
                    scores[i] = r.nextInt(4);          // ties on purpose
                    reported[i] = r.nextInt(10) / 10.0; // and equal reported values
                }
                if (n > 2) scores[1] = Double.POSITIVE_INFINITY; // a diverged trial
                Map<Double, Double> exact = asMap(BestOfK.exact(scores, reported, k)), brute = bruteForce(scores, reported, k);
                assertEquals(brute.keySet(), exact.keySet(), "n " + n + " k " + k);
                for (double v : brute.keySet()) assertEquals(brute.get(v), exact.get(v), 1e-12, "n " + n + " k " + k + " value " + v);
            }
        }
    }

    @Test
    void theMonteCarloBootstrapAgreesWithinItsNoise() {
        SplittableRandom r = new SplittableRandom(11);
        double[] scores = new double[40], reported = new double[40];
        for (int i = 0; i < 40; i++) {
            scores[i] = r.nextDouble();
            reported[i] = scores[i] + 0.1 * r.nextDouble();
        }
        int draws = 200_000;
        for (int k : new int[] {1, 2, 4, 8, 16}) {
            BestOfK.Distribution exact = BestOfK.exact(scores, reported, k), mc = BestOfK.monteCarlo(scores, reported, k, draws, 3);
            // the mean: within 5 standard errors of the Monte-Carlo mean (sd of the chosen value <= 0.6 here)
            assertEquals(exact.mean(), mc.mean(), 5 * 0.6 / Math.sqrt(draws), "k " + k);
            // every value's probability: within 5 binomial standard errors
            Map<Double, Double> e = asMap(exact), m = asMap(mc);
            for (double v : e.keySet()) {
                double p = e.get(v), se = Math.sqrt(p * (1 - p) / draws);
                assertEquals(p, m.getOrDefault(v, 0.0), 5 * se + 1e-9, "k " + k + " value " + v);
            }
            assertEquals(exact.median(), mc.median(), 0.05, "k " + k);
        }
    }

    @Test
    void quantilesAndBudgets() {
        BestOfK.Distribution d = new BestOfK.Distribution(new double[] {0.1, 0.2, 0.3}, new double[] {0.25, 0.5, 0.25});
        assertEquals(0.1, d.quantile(0.05));
        assertEquals(0.1, d.quantile(0.25));
        assertEquals(0.2, d.median());
        assertEquals(0.3, d.quantile(0.95));
        assertEquals(0.2, d.mean(), 1e-15);
        assertArrayEquals(new int[] {1, 2, 4, 8}, BestOfK.budgets(8));
        assertArrayEquals(new int[] {1, 2, 4, 8, 12}, BestOfK.budgets(12));
        assertArrayEquals(new int[] {1}, BestOfK.budgets(1));
        // K = 1 is the plain distribution of the trials; K large concentrates on the best trial
        double[] s = {3, 1, 2}, rep = {30, 10, 20};
        assertEquals(Map.of(10.0, 1 / 3.0, 20.0, 1 / 3.0, 30.0, 1 / 3.0).keySet(), asMap(BestOfK.exact(s, rep, 1)).keySet());
        assertTrue(BestOfK.exact(s, rep, 64).probabilities()[0] > 0.9999);
        assertEquals(10.0, BestOfK.exact(s, rep, 64).median());
        assertThrows(IllegalArgumentException.class, () -> BestOfK.exact(new double[] {Double.NaN}, new double[] {1}, 1));
        assertThrows(IllegalArgumentException.class, () -> BestOfK.exact(new double[0], new double[0], 1));
    }

    @Test
    void stepsToTargetOnHandMadeCurves() throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> curve = new ArrayList<>();
        double[] acc = {0.5, 0.7, 0.82, 0.79, 0.85};
        for (int i = 0; i < acc.length; i++) curve.add(json.readTree("{\"step\": " + (100 * (i + 1)) + ", \"valid_accuracy\": " + acc[i] + "}"));
        // error 0.2 is first reached at step 300 (0.18), not later: the first eval at or below counts
        assertEquals(300, Metrics.stepsToTarget(curve, "valid_error", 0.2));
        assertEquals(100, Metrics.stepsToTarget(curve, "valid_error", 0.5));     // at the target exactly
        assertEquals(500, Metrics.stepsToTarget(curve, "valid_error", 0.15 + 1e-12));
        assertEquals(Double.POSITIVE_INFINITY, Metrics.stepsToTarget(curve, "valid_error", 0.1)); // never
        assertEquals(Double.POSITIVE_INFINITY, Metrics.stepsToTarget(List.of(), "valid_error", 0.5));
        assertEquals(Double.POSITIVE_INFINITY, Metrics.stepsToTarget(curve, "valid_loss", 1.0), "a metric the evals lack is never reached");
        // best of K over steps: infinite trials are chosen only when every draw is one
        double[] steps = {300, Double.POSITIVE_INFINITY, 500};
        BestOfK.Distribution d = BestOfK.exact(steps, steps, 2);
        assertEquals(Map.of(300.0, 5 / 9.0, 500.0, 3 / 9.0, Double.POSITIVE_INFINITY, 1 / 9.0).keySet(), asMap(d).keySet());
        assertEquals(5 / 9.0, asMap(d).get(300.0), 1e-15);
        assertEquals(1 / 9.0, asMap(d).get(Double.POSITIVE_INFINITY), 1e-15);
    }
}
