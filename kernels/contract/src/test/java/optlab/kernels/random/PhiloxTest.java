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

    /**
     * Dropout position pos reads word pos & 3 of the block at counter (pos >>> 2, 0, DROPOUT_STREAM): at the threshold
     * equal to that word's top 24 bits the element is kept, one above it dropped. Positions across a low-word carry
     * and the 2^64 wrap, with both key words set.
     */
    @Test
    void dropoutReadsEveryWordOfItsOwnStream() {
        long seed = 0xDEADBEEFCAFEF00DL;
        for (long pos : new long[] {0, 1, 2, 3, 4, 7, (1L << 34) - 1, 1L << 34, -1L, -4L}) {
            long b = pos >>> 2;
            int w = Philox.block((int) b, (int) (b >>> 32), 0, Philox.DROPOUT_STREAM, (int) seed, (int) (seed >>> 32))[(int) pos & 3];
            assertEquals(true, Philox.keep(seed, pos, w >>> 8), "position " + pos);
            assertEquals(false, Philox.keep(seed, pos, (w >>> 8) + 1), "position " + pos);
        }
        assertEquals(1, Philox.DROPOUT_STREAM, "the fills use counter word 3 = 0; dropout must not");
    }

    @Test
    void dropoutThresholdAndValidation() {
        assertEquals(0, Philox.threshold(0.0)); // p = 0 keeps everything
        assertEquals(1 << 23, Philox.threshold(0.5));
        var e = assertThrows(IllegalArgumentException.class, () -> Philox.threshold(1.0));
        assertEquals("dropout probability must be in [0, 1), got 1.0", e.getMessage());
    }
}
