package optlab.experiments.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** DeepOBS's batch-contiguous streams, on ids 0..n-1 (so an id is its position) and on a written text. */
class TokenStreamsTest {
    private static int[] iota(int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = i;
        return t;
    }

    @Test
    void theLayoutOfTolstoiPy() {
        // n = 27, B = 2, L = 3: numBatches = floor(26 / 6) = 4; x = tokens[0:24] as (2, 12)
        TokenStreams s = new TokenStreams(iota(27), 2, 3);
        assertEquals(4, s.batches());
        TokenStreams.Batch b0 = s.batch(0), b1 = s.batch(1), b3 = s.batch(3);
        assertArrayEquals(new int[] {0, 1, 2, 12, 13, 14}, b0.x());
        assertArrayEquals(new int[] {1, 2, 3, 13, 14, 15}, b0.y());
        assertArrayEquals(new int[] {3, 4, 5, 15, 16, 17}, b1.x());
        assertArrayEquals(new int[] {9, 10, 11, 21, 22, 23}, b3.x());
        assertArrayEquals(new int[] {10, 11, 12, 22, 23, 24}, b3.y()); // the last target is tokens[numBatches B L]
        assertEquals(2, b0.rows());
        assertEquals(3, b0.length());
    }

    @Test
    void eachRowContinuesAcrossBatchesAndYIsXShiftedByOne() {
        int n = 1000, rows = 7, len = 11;
        TokenStreams s = new TokenStreams(iota(n), rows, len);
        assertEquals((n - 1) / (rows * len), s.batches());
        int[] x = new int[rows * len], y = new int[rows * len], prevX = null;
        for (int k = 0; k < s.batches(); k++) {
            s.batch(k, x, y);
            for (int b = 0; b < rows; b++) {
                for (int t = 0; t < len; t++) assertEquals(x[b * len + t] + 1, y[b * len + t], "y is the next token, batch " + k);
                for (int t = 1; t < len; t++) assertEquals(x[b * len + t - 1] + 1, x[b * len + t], "a row is contiguous");
                if (prevX != null) assertEquals(prevX[b * len + len - 1] + 1, x[b * len], "row " + b + " of batch " + k + " continues batch " + (k - 1));
            }
            prevX = x.clone();
        }
        // the rows are the B equal consecutive stretches of tokens[0 : numBatches B L]
        int[] first = s.batch(0).x();
        for (int b = 0; b < rows; b++) assertEquals(b * s.batches() * len, first[b * len]);
    }

    @Test
    void aWrittenTextRoundTripsThroughTheStreams(@TempDir Path dir) throws IOException {
        String text = "In the beginning God created the heaven and the earth. And the earth was without form, and void.";
        CharCorpus c = CharCorpus.read(Files.writeString(dir.resolve("gen.txt"), text), 0, 0);
        TokenStreams s = new TokenStreams(c.train(), 3, 5);
        int per = s.batches() * 5;
        StringBuilder[] rows = {new StringBuilder(), new StringBuilder(), new StringBuilder()};
        for (int k = 0; k < s.batches(); k++) {
            TokenStreams.Batch b = s.batch(k);
            for (int r = 0; r < 3; r++) rows[r].append(c.decode(Arrays.copyOfRange(b.x(), r * 5, r * 5 + 5)));
        }
        for (int r = 0; r < 3; r++) assertEquals(text.substring(r * per, (r + 1) * per), rows[r].toString());
    }

    @Test
    void tooFewTokensAndBadArguments() {
        assertEquals("6 tokens make no batch of 2 rows x 3 steps: one needs B L + 1 = 7 tokens (floor((n - 1) / (B L)) = 0)",
                assertThrows(IllegalArgumentException.class, () -> new TokenStreams(iota(6), 2, 3)).getMessage());
        assertEquals(1, new TokenStreams(iota(7), 2, 3).batches());
        assertEquals("0 tokens make no batch of 1 rows x 1 steps: one needs B L + 1 = 2 tokens (floor((n - 1) / (B L)) = 0)",
                assertThrows(IllegalArgumentException.class, () -> new TokenStreams(new int[0], 1, 1)).getMessage());
        assertEquals("batch size and sequence length must be positive, got 0 and 3",
                assertThrows(IllegalArgumentException.class, () -> new TokenStreams(iota(50), 0, 3)).getMessage());
        TokenStreams s = new TokenStreams(iota(50), 2, 3);
        assertEquals("batch 8 is outside [0, 8)", assertThrows(IllegalArgumentException.class, () -> s.batch(8)).getMessage());
        assertEquals("x and y must hold B L = 6 ids each, got 5 and 6",
                assertThrows(IllegalArgumentException.class, () -> s.batch(0, new int[5], new int[6])).getMessage());
    }
}
