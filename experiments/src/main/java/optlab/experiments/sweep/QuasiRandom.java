package optlab.experiments.sweep;

import org.apache.commons.math3.random.SobolSequenceGenerator;

/**
 * The points of a quasi-random search (Bousquet et al. 2017, as Choi et al. use): the Sobol sequence of
 * commons-math3 in d dimensions, point k of a search being Sobol point k + 1: the sequence's first point, the all-zero
 * vector (every log range's minimum at once), is skipped. Sobol rather than Halton: unscrambled Halton with large prime
 * bases puts 100 points of each dimension into one narrow band, perfectly correlated across dimensions (the trap of
 * EXPERIMENTS.md, OSS Vizier issue 541); Sobol's first 2^m points fall once into each of 2^m equal bins of every
 * dimension. Deterministic, and prefix-stable by construction: the first N points of N + M are the N points.
 */
public final class QuasiRandom {
    private QuasiRandom() {}

    /** The first Sobol index used: index 0 is the all-zero point. */
    public static final int FIRST_INDEX = 1;

    /** Points {@code FIRST_INDEX .. FIRST_INDEX + n - 1} of the d-dimensional Sobol sequence, each in [0, 1)^d. */
    public static double[][] points(int dimensions, int n) {
        if (dimensions < 1 || dimensions > 1000) throw new IllegalArgumentException("Sobol dimensions must be in [1, 1000], got " + dimensions);
        if (n < 0) throw new IllegalArgumentException("point count must be >= 0, got " + n);
        SobolSequenceGenerator g = new SobolSequenceGenerator(dimensions);
        double[][] out = new double[n][];
        if (n == 0) return out;
        out[0] = g.skipTo(FIRST_INDEX);
        for (int i = 1; i < n; i++) out[i] = g.nextVector();
        return out;
    }
}
