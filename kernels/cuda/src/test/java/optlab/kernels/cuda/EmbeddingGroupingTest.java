package optlab.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link CudaBackend#groupByIndex}, the host half of the deterministic embedding backward (embedding.cu), on every
 * machine: the packed layout, the order within groups, and the index check. The kernel half is covered on a GPU (and
 * the emulator) by BackendConformanceTest#embeddingMatchesReference, which asserts bitwise equality with the CPU.
 */
class EmbeddingGroupingTest {
    @Test
    void aSmallCaseByHand() {
        // positions 0..5 with indices 4, 1, 4, 0, 1, 4: index 0 at {3}, index 1 at {1, 4}, index 4 at {0, 2, 5}
        int[] packed = CudaBackend.groupByIndex(new int[] {4, 1, 4, 0, 1, 4}, 5);
        assertArrayEquals(new int[] {3, 1, 4, 0, 2, 5, /* rows */ 0, 1, 4, /* starts */ 0, 1, 3, 6}, packed);
    }

    @Test
    void randomIndicesGroupInIncreasingIndexThenPosition() {
        Random r = new Random(7);
        for (int n : new int[] {1, 2, 100, 5000}) {
            int vocab = 1 + r.nextInt(50);
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) idx[i] = r.nextInt(vocab);
            int[] packed = CudaBackend.groupByIndex(idx, vocab);
            int groups = (packed.length - n - 1) / 2;
            assertEquals(n + 2 * groups + 1, packed.length);
            // the expected grouping, built the obvious way
            List<Integer> order = new ArrayList<>(), rows = new ArrayList<>(), starts = new ArrayList<>();
            for (int v = 0; v < vocab; v++) {
                boolean first = true;
                for (int i = 0; i < n; i++) {
                    if (idx[i] != v) continue;
                    if (first) { rows.add(v); starts.add(order.size()); first = false; }
                    order.add(i);
                }
            }
            starts.add(n);
            List<Integer> expected = new ArrayList<>(order);
            expected.addAll(rows);
            expected.addAll(starts);
            assertArrayEquals(expected.stream().mapToInt(Integer::intValue).toArray(), packed, "n = " + n);
        }
    }

    @Test
    void aBadIndexIsNamedWithItsPosition() {
        var e = assertThrows(IllegalArgumentException.class, () -> CudaBackend.groupByIndex(new int[] {0, 2, -1, 9}, 3));
        assertTrue(e.getMessage().contains("index -1 at position 2 is outside [0, 3)"), e.getMessage());
    }
}
