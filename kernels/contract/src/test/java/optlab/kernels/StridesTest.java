package optlab.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

class StridesTest {
    @Test
    void contiguousStrides() {
        assertArrayEquals(new int[] {12, 4, 1}, Strides.contiguous(new int[] {2, 3, 4}));
        assertArrayEquals(new int[] {}, Strides.contiguous(new int[] {}));
    }

    @Test
    void coalesceMergesContiguousRunsAndDropsOnes() {
        // (2, 3, 4) compact for both operands: one dimension of 24
        int[][] c = Strides.coalesce(new int[] {2, 3, 4}, new int[] {12, 4, 1}, new int[] {12, 4, 1});
        assertArrayEquals(new int[] {24}, c[0]);
        assertArrayEquals(new int[] {1}, c[1]);
        // bias per channel of (n, c, h, w) = (2, 3, 4, 5): b strides (0, 1, 0, 0) -> (2, 3, 20) with b (0, 1, 0)
        c = Strides.coalesce(new int[] {2, 3, 4, 5}, new int[] {60, 20, 5, 1}, new int[] {0, 1, 0, 0});
        assertArrayEquals(new int[] {2, 3, 20}, c[0]);
        assertArrayEquals(new int[] {60, 20, 1}, c[1]);
        assertArrayEquals(new int[] {0, 1, 0}, c[2]);
        // size-1 dimensions vanish; a single element stays rank 1
        c = Strides.coalesce(new int[] {1, 1}, new int[] {1, 1});
        assertArrayEquals(new int[] {1}, c[0]);
        // a transposed operand blocks merging
        c = Strides.coalesce(new int[] {3, 4}, new int[] {4, 1}, new int[] {1, 3});
        assertArrayEquals(new int[] {3, 4}, c[0]);
    }
}
