package optlab.kernels.random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class PhiloxTest {
    /**
     * Known-answer vectors from Random123's kat_vectors file (D. E. Shaw Research; the lines
     * "philox4x32 10 ctr[4] key[2] expected[4]").
     */
    @Test
    void matchesRandom123KnownAnswers() {
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}, Philox.block(0, 0, 0, 0, 0, 0));
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}, Philox.block(-1, -1, -1, -1, -1, -1));
        assertArrayEquals(new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
                Philox.block(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0));
    }

    @Test
    void uniformIsExactInFloatAndInRange() {
        assertEquals(0.0, Philox.uniform24(0));
        assertEquals(1.0 - 0x1.0p-24, Philox.uniform24(-1));
        for (long i = 0; i < 1000; i++) {
            double u = Philox.uniform(7, i);
            assertEquals(u, (float) u, 0.0, "uniform24 must be representable in float");
        }
    }

    @Test
    void dropoutThresholdAndValidation() {
        assertEquals(0, Philox.threshold(0.0)); // p = 0 keeps everything
        assertEquals(1 << 23, Philox.threshold(0.5));
        var e = assertThrows(IllegalArgumentException.class, () -> Philox.threshold(1.0));
        assertEquals("dropout probability must be in [0, 1), got 1.0", e.getMessage());
    }
}
