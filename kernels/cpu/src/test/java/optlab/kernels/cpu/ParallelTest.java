package optlab.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class ParallelTest {
    @Test
    void everyIndexRunsExactlyOnceAtAwkwardSizes() {
        for (int n : new int[] {1, 2, 3, 7, 1023, 100_003}) {
            AtomicIntegerArray hits = new AtomicIntegerArray(n);
            Parallel.forRange(n, 1, (a, b) -> {
                for (int i = a; i < b; i++) hits.incrementAndGet(i);
            });
            for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "index " + i + " of " + n);
        }
    }

    @Test
    void nestedLoopsRunSeriallyAndComplete() {
        AtomicIntegerArray hits = new AtomicIntegerArray(64);
        Parallel.forRange(8, 1, (a, b) -> {
            for (int i = a; i < b; i++) {
                int row = i;
                Parallel.forRange(8, 1, (c, d) -> {
                    for (int j = c; j < d; j++) hits.incrementAndGet(row * 8 + j);
                });
            }
        });
        for (int i = 0; i < 64; i++) assertEquals(1, hits.get(i));
    }

    @Test
    void aFailureInAnyChunkReachesTheCaller() {
        var e = assertThrows(IllegalStateException.class, () -> Parallel.forRange(1000, 1, (a, b) -> {
            if (b == 1000) throw new IllegalStateException("last chunk failed");
        }));
        assertEquals("last chunk failed", e.getMessage());
    }
}
