package optlab.experiments.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SplitTest {
    /** n 1x1x1 images whose pixel is the image's index and whose label is index % 7. */
    private static ImageDataset numbered(int n) {
        byte[] px = new byte[n];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            px[i] = (byte) i;
            labels[i] = i % 7;
        }
        return new ImageDataset("numbered", px, labels, 1, 1, 1, 7);
    }

    private static int[] ids(ImageDataset d) {
        int[] out = new int[d.size()];
        for (int i = 0; i < out.length; i++) out[i] = d.pixels()[i] & 0xFF;
        return out;
    }

    @Test
    void theValidationPartIsTheSeededPermutationsHeadAndBothPartsKeepTheirOrder() {
        ImageDataset full = numbered(200);
        Split s = Split.holdOut(full, 0.1, 17);
        assertEquals(180, s.train().size());
        assertEquals(20, s.valid().size());
        int[] expected = Arrays.copyOf(Batches.permutation(200, 17), 20);
        Arrays.sort(expected);
        assertArrayEquals(expected, ids(s.valid()));
        int[] train = ids(s.train()), all = new int[200];
        for (int i = 1; i < train.length; i++) assertEquals(true, train[i - 1] < train[i], "training part out of order at " + i);
        for (int i : train) all[i]++;
        for (int i : ids(s.valid())) all[i]++;
        for (int i = 0; i < 200; i++) assertEquals(1, all[i], "image " + i + " must be in exactly one part");
        for (int i = 0; i < s.valid().size(); i++) assertEquals(ids(s.valid())[i] % 7, s.valid().labels()[i]);
        assertArrayEquals(ids(s.valid()), ids(Split.holdOut(full, 0.1, 17).valid()));
        assertNotEquals(Arrays.toString(ids(s.valid())), Arrays.toString(ids(Split.holdOut(full, 0.1, 18).valid())));
    }

    @Test
    void theCountIsRounded() {
        assertEquals(3, Split.holdOut(numbered(10), 0.25, 0).valid().size()); // 2.5 rounds up
        assertEquals(2, Split.holdOut(numbered(10), 0.24, 0).valid().size());
    }

    @Test
    void fractionZeroGivesTheFullSetAndAnEmptyValidationSet() {
        ImageDataset full = numbered(9);
        Split s = Split.holdOut(full, 0, 3);
        assertArrayEquals(full.pixels(), s.train().pixels());
        assertArrayEquals(full.labels(), s.train().labels());
        assertEquals(0, s.valid().size());
        assertEquals(0, s.valid().pixels().length);
    }

    @Test
    void fractionsOutsideZeroToOneAreRefused() {
        for (double f : new double[] {-0.1, 1, 1.5, Double.NaN}) {
            var e = assertThrows(IllegalArgumentException.class, () -> Split.holdOut(numbered(10), f, 0));
            assertEquals("numbered: the validation fraction must be in [0, 1), got " + f, e.getMessage());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> Split.holdOut(numbered(10), 0.96, 0));
        assertEquals("numbered: holding out 0.96 of 10 images leaves none to train on", e.getMessage());
    }

    @Test
    void subsetCopiesTheNamedImagesAndRefusesBadIndices() {
        ImageDataset d = numbered(5).subset(new int[] {4, 0, 4}, "picked");
        assertEquals("picked", d.name());
        assertArrayEquals(new int[] {4, 0, 4}, ids(d));
        assertArrayEquals(new int[] {4, 0, 4}, d.labels());
        var e = assertThrows(IllegalArgumentException.class, () -> numbered(5).subset(new int[] {1, 5}, "x"));
        assertEquals("numbered: subset index 5 (position 1) is outside [0, 5)", e.getMessage());
    }
}
