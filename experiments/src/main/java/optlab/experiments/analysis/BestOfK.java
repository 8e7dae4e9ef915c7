package optlab.experiments.analysis;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;

/**
 * Choi et al.'s tuning curves: the outcome of tuning with a budget of K trials, estimated from N trials by resampling
 * (a bootstrap over trials, not over data). Draw K of the N trials with replacement, keep the one with the best
 * selection score (say, final validation error), report its other metric (say, its test error).
 *
 * <p>NOTE [best-of-k]: no Monte Carlo is needed (EXPERIMENTS.md section 4). Order the N trials from worst to best
 * score, s(1) worst. The best of K draws is among the first i exactly when all K draws are, so P(chosen is among the
 * first i) = (i/N)^K, and the chosen trial is the i-th with probability (i/N)^K - ((i - 1)/N)^K. Its reported value
 * therefore has that discrete distribution; {@link #exact} returns it, {@link #monteCarlo} the seeded resampling it
 * replaces (BestOfKTest holds the two together, and the exact one against brute-force enumeration of all N^K draws).
 *
 * <p>Ties: a lower score is better; between equal scores the trial earlier in the table is better (a fixed rule, so
 * the distribution is well defined and both methods agree). A trial that diverged or failed has score +infinity: it is
 * chosen only when every draw is such a trial, and then reports whatever value the caller gave it (the papers plot a
 * diverged run's error as 1 or 1.1).
 */
public final class BestOfK {
    private BestOfK() {}

    /** A discrete distribution: values sorted ascending with their probabilities (summing to 1). */
    public record Distribution(double[] values, double[] probabilities) {
        /** The smallest value v with P(X <= v) >= q (the lower quantile: a value the distribution takes). */
        public double quantile(double q) {
            if (!(q >= 0 && q <= 1)) throw new IllegalArgumentException("quantile q must be in [0, 1], got " + q);
            double c = 0;
            for (int i = 0; i < values.length; i++) {
                c += probabilities[i];
                if (c >= q - 1e-12) return values[i];
            }
            return values[values.length - 1];
        }

        public double median() {
            return quantile(0.5);
        }

        public double mean() {
            double m = 0;
            for (int i = 0; i < values.length; i++) m += values[i] * probabilities[i];
            return m;
        }
    }

    /** Trial positions from worst to best score (ties: later table rows are worse, so earlier ones win). */
    static Integer[] worstToBest(double[] scores) {
        Integer[] idx = new Integer[scores.length];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        Comparator<Integer> better = Comparator.<Integer>comparingDouble(i -> scores[i]).thenComparingInt(i -> i);
        Arrays.sort(idx, better.reversed());
        return idx;
    }

    private static void check(double[] scores, double[] reported, int k) {
        if (scores.length == 0) throw new IllegalArgumentException("best-of-K needs at least one trial");
        if (scores.length != reported.length) throw new IllegalArgumentException(scores.length + " scores for " + reported.length + " reported values");
        if (k < 1) throw new IllegalArgumentException("K must be >= 1, got " + k);
        for (double s : scores) if (Double.isNaN(s)) throw new IllegalArgumentException("a selection score is NaN: give +infinity for trials that cannot be chosen");
    }

    /** The exact distribution of the reported value of the best of K draws (NOTE [best-of-k]). */
    public static Distribution exact(double[] scores, double[] reported, int k) {
        check(scores, reported, k);
        int n = scores.length;
        Integer[] order = worstToBest(scores);
        double[] v = new double[n], p = new double[n];
        double prev = 0;
        for (int i = 1; i <= n; i++) {
            double cum = Math.pow((double) i / n, k);
            v[i - 1] = reported[order[i - 1]];
            p[i - 1] = cum - prev;
            prev = cum;
        }
        return collect(v, p);
    }

    /** The same by seeded resampling: {@code draws} times, K trials with replacement, the best one's reported value. */
    public static Distribution monteCarlo(double[] scores, double[] reported, int k, int draws, long seed) {
        check(scores, reported, k);
        if (draws < 1) throw new IllegalArgumentException("draws must be >= 1, got " + draws);
        int n = scores.length;
        Integer[] order = worstToBest(scores);
        int[] rank = new int[n]; // higher is better
        for (int i = 0; i < n; i++) rank[order[i]] = i;
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[draws], p = new double[draws];
        for (int d = 0; d < draws; d++) {
            int best = -1;
            for (int j = 0; j < k; j++) {
                int t = r.nextInt(n);
                if (best < 0 || rank[t] > rank[best]) best = t;
            }
            v[d] = reported[best];
            p[d] = 1.0 / draws;
        }
        return collect(v, p);
    }

    /** Merges equal values and sorts ascending. */
    private static Distribution collect(double[] v, double[] p) {
        Integer[] idx = new Integer[v.length];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        Arrays.sort(idx, Comparator.comparingDouble(i -> v[i]));
        double[] vs = new double[v.length], ps = new double[v.length];
        int m = 0;
        for (Integer i : idx) {
            if (p[i] == 0) continue;
            if (m > 0 && Double.compare(vs[m - 1], v[i]) == 0) {
                ps[m - 1] += p[i];
            } else {
                vs[m] = v[i];
                ps[m] = p[i];
                m++;
            }
        }
        return new Distribution(Arrays.copyOf(vs, m), Arrays.copyOf(ps, m));
    }

    /** The budgets of a tuning curve: 1, 2, 4, ... up to n (n itself last when not a power of two). */
    public static int[] budgets(int n) {
        int count = 0;
        for (int k = 1; k <= n; k *= 2) count++;
        boolean extra = Integer.bitCount(n) != 1;
        int[] out = new int[count + (extra ? 1 : 0)];
        int i = 0;
        for (int k = 1; k <= n; k *= 2) out[i++] = k;
        if (extra) out[i] = n;
        return out;
    }
}
