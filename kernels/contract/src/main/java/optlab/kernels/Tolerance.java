package optlab.kernels;

/**
 * The one tolerance rule: {@code actual} matches {@code expected} iff
 * {@code |actual - expected| <= atol + rtol * |expected|} (equal infinities match, NaN matches only
 * NaN). Defaults per precision live here; a test that loosens one says why in a comment.
 */
public record Tolerance(double atol, double rtol) {
    /** float32 kernels against the double reference: a few float ulps of well-conditioned results. */
    public static final Tolerance FLOAT32 = new Tolerance(1e-5, 1e-4);
    /** float64 against float64, different summation order. */
    public static final Tolerance FLOAT64 = new Tolerance(1e-12, 1e-10);
    /** Central differences in double precision: torch.autograd.gradcheck's defaults (atol 1e-5, rtol 1e-3). */
    public static final Tolerance GRADCHECK = new Tolerance(1e-5, 1e-3);

    public Tolerance {
        if (!(atol >= 0) || !(rtol >= 0)) throw new IllegalArgumentException("tolerances must be >= 0: " + atol + ", " + rtol);
    }

    public static Tolerance of(DType dtype) {
        return dtype == DType.FLOAT64 ? FLOAT64 : FLOAT32;
    }

    /** This tolerance with both bounds multiplied by {@code factor}. */
    public Tolerance times(double factor) {
        return new Tolerance(atol * factor, rtol * factor);
    }

    public boolean close(double actual, double expected) {
        if (Double.isNaN(actual) || Double.isNaN(expected)) return Double.isNaN(actual) && Double.isNaN(expected);
        if (actual == expected) return true; // also equal infinities
        if (Double.isInfinite(actual) || Double.isInfinite(expected)) return false;
        return Math.abs(actual - expected) <= atol + rtol * Math.abs(expected);
    }

    /** Throws an {@link AssertionError} describing the first mismatch, the count and the worst error. */
    public void assertClose(String what, double[] actual, double[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError(what + ": length " + actual.length + " != expected " + expected.length);
        }
        int bad = 0, first = -1;
        double worst = 0;
        for (int i = 0; i < actual.length; i++) {
            if (!close(actual[i], expected[i])) {
                if (first < 0) first = i;
                bad++;
                worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
            }
        }
        if (bad > 0) {
            throw new AssertionError(String.format(
                    "%s: %d of %d elements differ beyond atol=%g rtol=%g; first at [%d]: actual %s, expected %s; "
                            + "largest |difference| %g", what, bad, actual.length, atol, rtol, first,
                    actual[first], expected[first], worst));
        }
    }

    /**
     * The normwise form of the rule, for results whose rounding differences are spread over many elements
     * (a whole training step on two devices, different summation orders):
     * {@code ||actual - expected||_2 <= atol * sqrt(n) + rtol * ||expected||_2}. NaN anywhere fails. Returns
     * the measured {@code ||actual - expected||_2 / ||expected||_2}, for the log.
     */
    public double assertNormClose(String what, float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError(what + ": length " + actual.length + " != expected " + expected.length);
        }
        double diff = 0, norm = 0;
        int worstAt = -1;
        double worst = -1;
        for (int i = 0; i < actual.length; i++) {
            double d = (double) actual[i] - expected[i];
            if (Double.isNaN(d)) throw new AssertionError(what + ": NaN at [" + i + "]: actual " + actual[i] + ", expected " + expected[i]);
            diff += d * d;
            norm += (double) expected[i] * expected[i];
            if (Math.abs(d) > worst) {
                worst = Math.abs(d);
                worstAt = i;
            }
        }
        diff = Math.sqrt(diff);
        norm = Math.sqrt(norm);
        double bound = atol * Math.sqrt(actual.length) + rtol * norm;
        if (!(diff <= bound)) {
            throw new AssertionError(String.format("%s: ||actual - expected||_2 = %g exceeds %g (atol=%g * sqrt(%d) + rtol=%g * ||expected||_2 = %g); "
                    + "largest difference at [%d]: actual %s, expected %s", what, diff, bound, atol, actual.length, rtol, norm, worstAt,
                    actual[worstAt], expected[worstAt]));
        }
        return norm == 0 ? diff : diff / norm;
    }

    public void assertClose(String what, float[] actual, double[] expected) {
        double[] a = new double[actual.length];
        for (int i = 0; i < a.length; i++) a[i] = actual[i];
        assertClose(what, a, expected);
    }
}
