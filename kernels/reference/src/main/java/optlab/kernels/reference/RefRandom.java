package optlab.kernels.reference;

import optlab.kernels.RandomDistribution;
import optlab.kernels.random.Philox;

/** Reference random fills and dropout, element i drawing from Philox position counter + i. */
public final class RefRandom {
    private RefRandom() {}

    public static void fill(double[] x, int xo, int n, RandomDistribution dist, double a, double b, long seed, long counter) {
        for (int i = 0; i < n; i++) x[xo + i] = sample(dist, a, b, seed, counter + i);
    }

    /** One draw: uniform on [a, b), or normal / truncated normal with mean a and standard deviation b. */
    public static double sample(RandomDistribution dist, double a, double b, long seed, long position) {
        return switch (dist) {
            case UNIFORM -> a + (b - a) * Philox.uniform(seed, position);
            case NORMAL -> a + b * Philox.normal(seed, position, 0);
            case TRUNCATED_NORMAL -> a + b * Philox.truncatedNormal(seed, position);
        };
    }

    /** y[i] = keep_i ? x[i] / (1 - p) : 0 (see {@link Philox#keep}). */
    public static void dropout(int n, double p, long seed, long counter, double[] x, int xo, double[] y, int yo) {
        int threshold = Philox.threshold(p);
        double scale = 1.0 / (1.0 - p);
        for (int i = 0; i < n; i++) y[yo + i] = Philox.keep(seed, counter + i, threshold) ? x[xo + i] * scale : 0.0;
    }
}
