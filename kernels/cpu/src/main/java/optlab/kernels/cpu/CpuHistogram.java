package optlab.kernels.cpu;

import optlab.kernels.reference.RefHistogram;

/**
 * The CPU backend's power-of-two histogram ({@link optlab.kernels.Backend#log2Histogram}; reference
 * {@link RefHistogram}, NOTE [log2-bins]). Parallel over contiguous chunks of x, each counting into its own array,
 * merged into counts at the end: integer counts, so the result does not depend on the chunking or on the order of
 * the merges. FLOAT32 reads the exponent from the float's bits (as histogram.cu's f32 kernel does); FLOAT64 runs the
 * reference on each chunk.
 */
final class CpuHistogram {
    private CpuHistogram() {}

    /** Elements per chunk, as the other memory-bound loops: below this, a thread costs more than the loop. */
    static final int GRAIN = CpuElementwise.GRAIN;

    /** The slot of a float (RefHistogram#slot of its widening to double), from its bits alone. */
    static int slot(float v, int minExponent, int maxExponent) {
        int bits = Float.floatToRawIntBits(v) & 0x7FFF_FFFF; // |v|
        int field = bits >>> 23;
        if (field == 0xFF) return maxExponent - minExponent + 1; // NaN or infinity
        if (bits == 0) return 0;                                  // +-0: the lowest bin
        // normal: the unbiased exponent; subnormal: |v| = bits * 2^-149, so the highest set bit's position - 149
        int e = field != 0 ? field - 127 : (31 - Integer.numberOfLeadingZeros(bits)) - 149;
        return Math.min(Math.max(e, minExponent), maxExponent) - minExponent;
    }

    static void log2Histogram(int n, float[] x, int xo, int minExponent, int maxExponent, int[] counts, int co) {
        int slots = maxExponent - minExponent + 2;
        Object lock = new Object();
        Parallel.forRange(n, GRAIN, (from, to) -> {
            int[] local = new int[slots];
            for (int i = from; i < to; i++) local[slot(x[xo + i], minExponent, maxExponent)]++;
            merge(lock, local, counts, co);
        });
    }

    static void log2Histogram(int n, double[] x, int xo, int minExponent, int maxExponent, int[] counts, int co) {
        int slots = maxExponent - minExponent + 2;
        Object lock = new Object();
        Parallel.forRange(n, GRAIN, (from, to) -> {
            int[] local = new int[slots];
            RefHistogram.log2Histogram(to - from, x, xo + from, minExponent, maxExponent, local, 0);
            merge(lock, local, counts, co);
        });
    }

    private static void merge(Object lock, int[] local, int[] counts, int co) {
        synchronized (lock) {
            for (int s = 0; s < local.length; s++) counts[co + s] += local[s];
        }
    }
}
