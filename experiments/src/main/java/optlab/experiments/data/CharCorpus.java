package optlab.experiments.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

/**
 * A character-level language-modelling corpus: a UTF-8 text as ids of its characters (Unicode code
 * points), cut by position into a training, a validation and a test part.
 * <pre>
 *   |<------------------ train ------------------>|<-- valid -->|<------ test ------>|
 *                                                  round(v n)     round(t n) characters at the end
 * </pre>
 * DeepOBS's tolstoi (War and Peace) is 80% train and 20% test; the stand-in here is Debian's KJV
 * bible text (see {@link #read}). The vocabulary is the sorted set of the training part's code points,
 * id i being the i-th smallest. A character of the validation or test part that the training part
 * lacks maps to one extra id, {@value #UNK}, after the characters; it exists only when such a
 * character occurs, and {@link #unknownCount()} says how many.
 */
public final class CharCorpus {
    /** The vocabulary's name for the id of characters unseen in training. */
    public static final String UNK = "<unk>";

    private final String name;
    private final int[] vocab; // sorted code points of the training part
    private final boolean hasUnk;
    private final int[] train, valid, test;
    private final int unknownValid, unknownTest;

    private CharCorpus(String name, int[] codePoints, double validFraction, double testFraction) {
        this.name = name;
        checkFraction(name, "validation", validFraction);
        checkFraction(name, "test", testFraction);
        int n = codePoints.length;
        int nTest = (int) Math.round(testFraction * n), nValid = (int) Math.round(validFraction * n), nTrain = n - nValid - nTest;
        if (nTrain < 1) {
            throw new IllegalArgumentException(name + ": " + n + " characters leave no training part with validation fraction "
                    + validFraction + " (" + nValid + ") and test fraction " + testFraction + " (" + nTest + ")");
        }
        vocab = Arrays.stream(codePoints, 0, nTrain).distinct().sorted().toArray();
        train = encode(codePoints, 0, nTrain, null);
        int[] unknown = new int[1];
        valid = encode(codePoints, nTrain, nTrain + nValid, unknown);
        unknownValid = unknown[0];
        unknown[0] = 0;
        test = encode(codePoints, nTrain + nValid, n, unknown);
        unknownTest = unknown[0];
        hasUnk = unknownValid + unknownTest > 0;
    }

    private static void checkFraction(String name, String part, double f) {
        if (!(f >= 0 && f < 1)) throw new IllegalArgumentException(name + ": the " + part + " fraction must be in [0, 1), got " + f);
    }

    /** Ids of codePoints[from, to); characters outside the vocabulary become vocab.length, counted in unknown[0]. */
    private int[] encode(int[] codePoints, int from, int to, int[] unknown) {
        int[] ids = new int[to - from];
        for (int i = from; i < to; i++) {
            int id = Arrays.binarySearch(vocab, codePoints[i]);
            if (id < 0) {
                id = vocab.length;
                unknown[0]++;
            }
            ids[i - from] = id;
        }
        return ids;
    }

    /**
     * Reads a UTF-8 text file (any text will do). Debian's KJV text, the stand-in for War and Peace,
     * is made with {@code apt-get install bible-kjv; bible 'gen1:1-rev22:21' > FILE}.
     *
     * @param validFraction in [0, 1): the share of the characters before the test part that is validation
     * @param testFraction  in [0, 1): the share of the characters at the end that is test (DeepOBS: 0.2)
     */
    public static CharCorpus read(Path file, double validFraction, double testFraction) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new DataFileException(file, "file not found. Any UTF-8 text file can be used; Debian's King James bible (the stand-in "
                    + "for DeepOBS's War and Peace) is made with: apt-get install bible-kjv; bible 'gen1:1-rev22:21' > FILE");
        } catch (IOException e) {
            throw new DataFileException(file, "cannot read (" + e + ")", e);
        }
        if (bytes.length == 0) throw new DataFileException(file, "file is empty");
        String text = decodeUtf8(file, bytes);
        return new CharCorpus(file.toString(), text.codePoints().toArray(), validFraction, testFraction);
    }

    /** The corpus of {@code text} (for tests and for texts already in memory), named {@code name} in messages. */
    public static CharCorpus of(String name, String text, double validFraction, double testFraction) {
        if (text.isEmpty()) throw new IllegalArgumentException(name + ": the text is empty");
        return new CharCorpus(name, text.codePoints().toArray(), validFraction, testFraction);
    }

    /** Strict UTF-8: malformed input (including encoded surrogates and overlong forms) is an error giving its byte offset. */
    private static String decodeUtf8(Path file, byte[] bytes) {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length); // UTF-8 never needs more chars than bytes
        CoderResult r = d.decode(in, out, true);
        if (!r.isError()) r = d.flush(out);
        if (r.isError()) {
            int at = in.position(), len = r.length();
            StringBuilder hex = new StringBuilder();
            for (int i = at; i < Math.min(bytes.length, at + len); i++) hex.append(String.format(" 0x%02X", bytes[i] & 0xFF));
            throw new DataFileException(file, "malformed UTF-8 at byte offset " + at + " (" + len + " byte" + (len == 1 ? "" : "s") + ":"
                    + hex + "); the text must be UTF-8", errorOf(r));
        }
        out.flip();
        return out.toString();
    }

    private static CharacterCodingException errorOf(CoderResult r) {
        try {
            r.throwException();
        } catch (CharacterCodingException e) {
            return e;
        }
        return null;
    }

    /** The file (or the name given to {@link #of}). */
    public String name() {
        return name;
    }

    /** Number of ids: the training part's distinct characters, plus one for {@value #UNK} when it exists. */
    public int vocabSize() {
        return vocab.length + (hasUnk ? 1 : 0);
    }

    /** Entry i is the character (as a string: a code point may be two Java chars) of id i; {@value #UNK} last when it exists. */
    public List<String> vocabulary() {
        List<String> out = new ArrayList<>(vocabSize());
        for (int cp : vocab) out.add(Character.toString(cp));
        if (hasUnk) out.add(UNK);
        return out;
    }

    /** The id of {@value #UNK}, present only when the validation or test part has a character unseen in training. */
    public OptionalInt unkId() {
        return hasUnk ? OptionalInt.of(vocab.length) : OptionalInt.empty();
    }

    /** Characters of the validation part mapped to {@value #UNK}. */
    public int unknownValid() {
        return unknownValid;
    }

    /** Characters of the test part mapped to {@value #UNK}. */
    public int unknownTest() {
        return unknownTest;
    }

    /** Characters of the validation and test parts mapped to {@value #UNK}. */
    public int unknownCount() {
        return unknownValid + unknownTest;
    }

    /** The training part's ids; the array itself, not a copy. */
    public int[] train() {
        return train;
    }

    /** The validation part's ids (possibly empty); the array itself. */
    public int[] valid() {
        return valid;
    }

    /** The test part's ids (possibly empty); the array itself. */
    public int[] test() {
        return test;
    }

    /** The text of {@code ids}, {@value #UNK} spelled out. */
    public String decode(int[] ids) {
        List<String> v = vocabulary();
        StringBuilder s = new StringBuilder(ids.length);
        for (int id : ids) {
            if (id < 0 || id >= v.size()) throw new IllegalArgumentException(name + ": id " + id + " is outside [0, " + v.size() + ")");
            s.append(v.get(id));
        }
        return s.toString();
    }

    /**
     * The entropy, in nats, of the training part's character frequencies: {@code -sum_c p(c) ln p(c)}
     * with {@code p(c) = count(c) / length}. A model that ignores context can do no better than this
     * cross-entropy per character; the whole KJV text gives 3.07.
     */
    public double unigramEntropyNats() {
        long[] counts = new long[vocab.length];
        for (int id : train) counts[id]++;
        double h = 0, n = train.length;
        for (long c : counts) h -= c / n * Math.log(c / n);
        return h;
    }
}
