package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import optlab.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Both non-finite checks (the CPU host pass and the portable reduction) find the first bad element. */
class GradientCheckTest {
    @ParameterizedTest(name = "n={0} bad at {1} = {2}")
    @CsvSource({
        "1, -1, 0", "1, 0, NaN", "37, 36, Infinity", "37, 5, -Infinity", "20000, 19999, NaN", "20000, 0, NaN",
        "100003, 100002, Infinity", "100003, 40000, NaN", "100003, -1, 0", "16400, 16390, NaN",
        "100003, 2047, NaN" // the last element of a host call (RuleKernel.HOST_CHUNK), the later NaN in the next call
    })
    void findsTheFirstNonFiniteGradient(int n, int bad, float value) {
        float[] g = new float[n];
        for (int i = 0; i < n; i++) g[i] = (float) Math.sin(i) * 1e3f;
        if (bad >= 0) {
            g[bad] = value;
            if (bad + 3 < n) g[bad + 3] = Float.NaN; // a later one must not win
        }
        try (Tensor t = Tensor.of(g, n)) {
            assertEquals(bad, GradientCheck.firstNonFinite(t), "default (host pass)");
            assertEquals(bad, GradientCheck.byHostPass(t), "host pass");
            assertEquals(bad, GradientCheck.byReduction(t), "reduction");
        }
    }

    @ParameterizedTest(name = "float64 n={0} bad at {1} = {2}")
    @CsvSource({
        "1, -1, 0", "1, 0, NaN", "37, 36, Infinity", "37, 5, -Infinity", "20000, 19999, NaN", "100003, 40000, NaN",
        "100003, -1, 0", "16400, 16390, NaN", "100003, 2047, Infinity"
    })
    void findsTheFirstNonFiniteFloat64Gradient(int n, int bad, double value) {
        double[] g = new double[n];
        for (int i = 0; i < n; i++) g[i] = Math.sin(i) * 1e300; // finite in float64, infinite as float32
        if (bad >= 0) {
            g[bad] = value;
            if (bad + 3 < n) g[bad + 3] = Double.NaN; // a later one must not win
        }
        try (Tensor t = Tensor.of(g, n)) {
            assertEquals(bad, GradientCheck.firstNonFinite(t), "default (host pass)");
            assertEquals(bad, GradientCheck.byHostPass(t), "host pass");
            assertEquals(bad, GradientCheck.byReduction(t), "reduction");
        }
    }

    @ParameterizedTest(name = "n={0}")
    @CsvSource({"58", "20000"})
    void sumsThatOverflowAreNotNonFiniteGradients(int n) {
        float[] g = new float[n];
        java.util.Arrays.fill(g, 3e38f);
        try (Tensor t = Tensor.of(g, n)) {
            assertEquals(-1, GradientCheck.byHostPass(t));
            assertEquals(-1, GradientCheck.byReduction(t));
        }
    }
}
