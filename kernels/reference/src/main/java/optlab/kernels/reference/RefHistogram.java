package optlab.kernels.reference;

/**
 * Reference power-of-two histogram ({@link optlab.kernels.Backend#log2Histogram}): the magnitude analysis of
 * Zhuang et al., which bins every coordinate's |update|, |gradient| or |parameter| by floor(log2 |v|).
 *
 * <p>NOTE [log2-bins]: for a finite nonzero v, floor(log2 |v|) is the one integer e with 2^e <= |v| < 2^(e+1).
 * For a normal number that is its unbiased exponent ({@link Math#getExponent}); for a subnormal it is the position
 * of the highest set bit of its significand minus 1074 (double; 149 for float), so e is exact over the whole
 * range, from -1074 up to 1023 (float: -149 up to 127), and a float lands where its widening to double does. The
 * bin is e clamped to [minExponent, maxExponent]; zero (either sign) counts in the lowest bin, and a NaN or an
 * infinity in the extra last slot. Every backend computes e from the bits of the value, with integer operations
 * only, so every implementation gives these counts exactly; counts are int and wrap as Java's int addition does.
 */
public final class RefHistogram {
    private RefHistogram() {}

    /** floor(log2 |v|) for a finite nonzero v, exact for subnormals too (NOTE [log2-bins]). */
    public static int floorLog2(double v) {
        int e = Math.getExponent(v);
        if (e >= Double.MIN_EXPONENT) return e; // normal: the unbiased exponent
        // subnormal: |v| = significand * 2^-1074 with the significand in [1, 2^52)
        long significand = Double.doubleToRawLongBits(v) & 0x000F_FFFF_FFFF_FFFFL;
        return (63 - Long.numberOfLeadingZeros(significand)) - 1074;
    }

    /**
     * The slot of v in a histogram over [minExponent, maxExponent]: {@code clamp(floorLog2(v)) - minExponent}, 0 for
     * a zero, {@code maxExponent - minExponent + 1} for a NaN or an infinity.
     */
    public static int slot(double v, int minExponent, int maxExponent) {
        if (!Double.isFinite(v)) return maxExponent - minExponent + 1;
        if (v == 0) return 0;
        int e = Math.min(Math.max(floorLog2(v), minExponent), maxExponent);
        return e - minExponent;
    }

    /**
     * counts[co + slot(x[xo + i])] += 1 for i in [0, n): ACCUMULATES into the maxExponent - minExponent + 2 counts at
     * co. A FLOAT32 input is passed widened to double, which keeps every slot.
     */
    public static void log2Histogram(int n, double[] x, int xo, int minExponent, int maxExponent, int[] counts, int co) {
        for (int i = 0; i < n; i++) counts[co + slot(x[xo + i], minExponent, maxExponent)]++;
    }
}
