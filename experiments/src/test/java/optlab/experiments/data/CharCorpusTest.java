package optlab.experiments.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The character corpus on text files written here, and on Debian's KJV text where it is installed. */
class CharCorpusTest {
    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text, StandardCharsets.UTF_8);
    }

    @Test
    void aTextRoundTripsThroughItsIdsCodePointsAndAll() throws IOException {
        String text = "Héllo, wörld: ∑ 𝄞 and a\ttab\nnew line.";
        CharCorpus c = CharCorpus.read(write("t.txt", text), 0, 0);
        assertEquals(text, c.decode(c.train()));
        assertEquals(text.codePointCount(0, text.length()), c.train().length); // 𝄞 is one character, two Java chars
        assertEquals(0, c.valid().length);
        assertEquals(0, c.test().length);
        List<String> v = c.vocabulary();
        assertEquals(text.codePoints().distinct().count(), v.size());
        for (int i = 1; i < v.size(); i++) assertTrue(v.get(i - 1).codePointAt(0) < v.get(i).codePointAt(0), "vocabulary not sorted at " + i);
        assertEquals("\t", v.get(0));
        assertEquals("𝄞", v.get(v.size() - 1));
        assertEquals(OptionalInt.empty(), c.unkId());
        assertEquals(dir.resolve("t.txt").toString(), c.name());
    }

    @Test
    void thePartsAreCutByPositionTestLast() throws IOException {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 100; i++) s.append((char) ('a' + i % 26));
        CharCorpus c = CharCorpus.read(write("abc.txt", s.toString()), 0.1, 0.2);
        assertEquals(70, c.train().length);
        assertEquals(10, c.valid().length);
        assertEquals(20, c.test().length);
        assertEquals(s.substring(0, 70), c.decode(c.train()));
        assertEquals(s.substring(70, 80), c.decode(c.valid()));
        assertEquals(s.substring(80), c.decode(c.test()));
        // rounding: 0.25 of 10 characters is 2.5, rounded to 3
        CharCorpus r = CharCorpus.of("ten", "abcdefgabc", 0, 0.25);
        assertEquals(3, r.test().length);
        assertEquals("abc", r.decode(r.test()));
    }

    @Test
    void charactersUnseenInTrainingMapToOneUnkIdThatIsCounted() throws IOException {
        // train "aabbc" (5), valid "zab" (3), test "yya" (3): 11 characters
        CharCorpus c = CharCorpus.read(write("u.txt", "aabbczabyya"), 3 / 11.0, 3 / 11.0);
        assertEquals(List.of("a", "b", "c", CharCorpus.UNK), c.vocabulary());
        assertEquals(4, c.vocabSize());
        assertEquals(OptionalInt.of(3), c.unkId());
        assertArrayEquals(new int[] {0, 0, 1, 1, 2}, c.train());
        assertArrayEquals(new int[] {3, 0, 1}, c.valid());
        assertArrayEquals(new int[] {3, 3, 0}, c.test());
        assertEquals(1, c.unknownValid());
        assertEquals(2, c.unknownTest());
        assertEquals(3, c.unknownCount());
        assertEquals("<unk><unk>a", c.decode(c.test()));
        // no unseen character: no unk id
        CharCorpus known = CharCorpus.of("known", "abcabc", 0, 0.5);
        assertEquals(3, known.vocabSize());
        assertEquals(OptionalInt.empty(), known.unkId());
        assertEquals(0, known.unknownCount());
    }

    @Test
    void unigramEntropyOfTheTrainingPart() {
        assertEquals(Math.log(2), CharCorpus.of("ab", "aabb", 0, 0).unigramEntropyNats(), 1e-15);
        assertEquals(0, CharCorpus.of("a", "aaaa" + "bcd", 0, 3 / 7.0).unigramEntropyNats(), 0); // the test part does not count
        double p = 0.75, q = 0.25;
        assertEquals(-(p * Math.log(p) + q * Math.log(q)), CharCorpus.of("aaab", "aaab", 0, 0).unigramEntropyNats(), 1e-15);
    }

    @Test
    void malformedUtf8NamesTheFileAndTheByteOffset() throws IOException {
        Path bad = dir.resolve("bad.txt");
        Files.write(bad, new byte[] {'a', 'b', (byte) 0xC3, '(', 'c'});
        var e = assertThrows(DataFileException.class, () -> CharCorpus.read(bad, 0, 0));
        assertEquals(bad + ": malformed UTF-8 at byte offset 2 (1 byte: 0xC3); the text must be UTF-8", e.getMessage());
        // a multi-byte character cut at the end of the file
        Path cut = dir.resolve("cut.txt");
        Files.write(cut, new byte[] {'x', 'y', 'z', (byte) 0xE2, (byte) 0x88});
        e = assertThrows(DataFileException.class, () -> CharCorpus.read(cut, 0, 0));
        assertTrue(e.getMessage().startsWith(cut + ": malformed UTF-8 at byte offset 3 ("), e.getMessage());
        // Latin-1 text is not UTF-8
        Path latin = dir.resolve("latin1.txt");
        Files.write(latin, "café au lait".getBytes(StandardCharsets.ISO_8859_1));
        e = assertThrows(DataFileException.class, () -> CharCorpus.read(latin, 0, 0));
        assertEquals(latin + ": malformed UTF-8 at byte offset 3 (1 byte: 0xE9); the text must be UTF-8", e.getMessage());
    }

    @Test
    void missingEmptyAndTooShortFilesAndBadFractions() throws IOException {
        Path missing = dir.resolve("kjv.txt");
        var e = assertThrows(DataFileException.class, () -> CharCorpus.read(missing, 0, 0.2));
        assertEquals(missing + ": file not found. Any UTF-8 text file can be used; Debian's King James bible (the stand-in for DeepOBS's "
                + "War and Peace) is made with: apt-get install bible-kjv; bible 'gen1:1-rev22:21' > FILE", e.getMessage());
        Path empty = write("empty.txt", "");
        assertEquals(empty + ": file is empty", assertThrows(DataFileException.class, () -> CharCorpus.read(empty, 0, 0)).getMessage());
        Path two = write("two.txt", "ab");
        assertEquals(two + ": 2 characters leave no training part with validation fraction 0.4 (1) and test fraction 0.5 (1)",
                assertThrows(IllegalArgumentException.class, () -> CharCorpus.read(two, 0.4, 0.5)).getMessage());
        assertEquals(two + ": the test fraction must be in [0, 1), got 1.0",
                assertThrows(IllegalArgumentException.class, () -> CharCorpus.read(two, 0, 1)).getMessage());
        assertEquals(two + ": the validation fraction must be in [0, 1), got -0.1",
                assertThrows(IllegalArgumentException.class, () -> CharCorpus.read(two, -0.1, 0)).getMessage());
    }

    /**
     * Debian's KJV text, made as the javadoc says: 4,298,239 characters, 73 distinct, unigram entropy
     * 3.07 nats over the whole text (computed independently with Python's collections.Counter: 3.0740).
     * With DeepOBS's 80/20 split every test character occurs in training. Skipped where the bible
     * command (package bible-kjv) is missing.
     */
    @Test
    void theKingJamesBible() throws IOException, InterruptedException {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/bible")), "bible-kjv is not installed");
        Path kjv = dir.resolve("kjv.txt");
        Process p = new ProcessBuilder("/usr/bin/bible", "gen1:1-rev22:21").redirectOutput(kjv.toFile()).start();
        assertEquals(0, p.waitFor());
        CharCorpus all = CharCorpus.read(kjv, 0, 0);
        assertEquals(4_298_239, all.train().length);
        assertEquals(73, all.vocabSize());
        assertEquals(3.0740, all.unigramEntropyNats(), 5e-5);
        CharCorpus split = CharCorpus.read(kjv, 0, 0.2);
        assertEquals(859_648, split.test().length); // round(0.2 * 4,298,239)
        assertEquals(0, split.unknownCount());
        assertEquals(73, split.vocabSize());
    }
}
