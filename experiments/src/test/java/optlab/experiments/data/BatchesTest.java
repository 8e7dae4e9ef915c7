package optlab.experiments.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import optlab.tensor.Shape;
import org.junit.jupiter.api.Test;

class BatchesTest {
    /** 10 one-pixel 1x2x1 images whose pixels are (2i, 2i+1) and whose label is i % 3. */
    private static ImageDataset tiny() {
        byte[] px = new byte[20];
        int[] labels = new int[10];
        for (int i = 0; i < 10; i++) {
            px[2 * i] = (byte) (2 * i);
            px[2 * i + 1] = (byte) (2 * i + 1);
            labels[i] = i % 3;
        }
        return new ImageDataset("tiny", px, labels, 1, 2, 1, 3);
    }

    @Test
    void inOrderWithALastPartialBatch() {
        Batches b = new Batches(tiny(), 4, false);
        assertEquals(3, b.count());
        List<Integer> sizes = new ArrayList<>();
        for (Batches.Batch batch : b) {
            try (batch) {
                sizes.add(batch.size());
                if (sizes.size() == 1) {
                    assertEquals(Shape.of(4, 1, 2, 1), batch.images().shape());
                    assertArrayEquals(new float[] {0, 1 / 255f, 2 / 255f, 3 / 255f, 4 / 255f, 5 / 255f, 6 / 255f, 7 / 255f},
                            batch.images().toFloatArray());
                    assertArrayEquals(new int[] {0, 1, 2, 0}, batch.labels().toIntArray());
                }
            }
        }
        assertEquals(List.of(4, 4, 2), sizes);
        assertEquals(2, new Batches(tiny(), 4, true).count());
    }

    @Test
    void shuffledOrderIsAPermutationFixedBySeedAndEpoch() {
        int[] p = Batches.permutation(1000, 42), q = Batches.permutation(1000, 42), r = Batches.permutation(1000, 43);
        assertArrayEquals(p, q);
        assertNotEquals(Arrays.toString(p), Arrays.toString(r));
        int[] sorted = p.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < 1000; i++) assertEquals(i, sorted[i]);
    }
}
