package optlab.kernels;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ToleranceTest {
    @Test
    void theRule() {
        Tolerance t = new Tolerance(1e-3, 1e-2);
        assertTrue(t.close(1.0105, 1.0)); // |d| = 0.0105 <= 0.001 + 0.01
        assertFalse(t.close(1.012, 1.0));
        assertTrue(t.close(Double.NaN, Double.NaN));
        assertFalse(t.close(Double.NaN, 0));
        assertTrue(t.close(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY));
        assertFalse(t.close(Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY));
    }

    @Test
    void assertCloseNamesTheFirstMismatch() {
        var e = assertThrows(AssertionError.class,
                () -> Tolerance.FLOAT32.assertClose("thing", new double[] {1, 2, 3}, new double[] {1, 2.5, 3}));
        assertTrue(e.getMessage().startsWith("thing: 1 of 3 elements differ"), e.getMessage());
        assertTrue(e.getMessage().contains("first at [1]: actual 2.0, expected 2.5"), e.getMessage());
    }
}
