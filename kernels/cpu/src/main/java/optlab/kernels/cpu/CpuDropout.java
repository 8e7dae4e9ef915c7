package optlab.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import optlab.kernels.random.Philox;

/**
 * The CPU backend's float32 dropout: {@code y[i] = keep(counter + i) ? x[i] * scale : 0}, where keep is
 * {@link Philox#keep} (NOTE [philox]: position pos takes word {@code pos & 3} of the Philox4x32-10 block at counter
 * ({@code pos >>> 2}, 0, {@link Philox#DROPOUT_STREAM}) under the 64-bit seed, kept iff {@code (w >>> 8) >= threshold}).
 * Reference: {@link optlab.kernels.reference.RefRandom#dropout}.
 *
 * <p>The char LSTM's training step applies four dropouts to (t*n, 128) activations: 1.3 million elements a step.
 * The ten rounds run on vectors of 64-bit lanes, one block per lane, each 32-bit word held zero-extended in a long
 * so that the 32 x 32 -> 64-bit products of the rounds are plain long multiplications. Integer arithmetic only, so
 * every word equals {@link Philox#block}'s to the bit (CpuDropoutTest holds it to {@link Philox#keep}), whatever the
 * split between threads or the vector width. Until the fifth pass of issue 15 a position used word 0 of a block of
 * its own; four words a block cut the forward's dropout time by about 3 (docs/BENCHMARKS.md).
 *
 * <p>The keep-or-zero choice is vector integer arithmetic too: as a scalar branch it mispredicted on one element in five at
 * the LSTM's p = 0.2 and cost more than the rounds (1.8 ms against 0.5 ms for 320,000 elements on one thread).
 * Clearing the bits of a dropped element, unlike {@code x * scale * keep}, still gives +0 for a dropped NaN, as the
 * reference does. (A mask blend was slower still: its int-to-float mask cast is not compiled to one instruction.)
 */
final class CpuDropout {
    private CpuDropout() {}

    private static final VectorSpecies<Long> S = LongVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Ints and floats of the preferred width for the blend. */
    private static final VectorSpecies<Integer> SI = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> SF = FloatVector.SPECIES_PREFERRED;
    private static final long LOW32 = 0xFFFFFFFFL;
    private static final long M0 = 0xD2511F53L, M1 = 0xCD9E8D57L, W0 = 0x9E3779B9L, W1 = 0xBB67AE85L;
    /** Elements whose words are made before they are applied (a multiple of every vector length). */
    private static final int BLOCK = 512;
    /** Philox blocks a pass may need (BLOCK / 4, one more when the positions do not start a block), in whole vectors. */
    private static final int BLOCKS = (BLOCK / 4 + L) / L * L;
    /** A pass's words in element order. */
    private static final ThreadLocal<int[]> WORDS = ThreadLocal.withInitial(() -> new int[4 * BLOCKS]);
    /** Lane indexes into (lo, hi) that interleave them: lo[0] hi[0] lo[1] hi[1] ..., the first and second half. */
    private static final LongVector ZIP_LOW = LongVector.fromArray(S, zip(0), 0), ZIP_HIGH = LongVector.fromArray(S, zip(L / 2), 0);

    private static long[] zip(int from) {
        long[] idx = new long[L];
        for (int i = 0; i < L; i++) idx[i] = (i & 1) * L + from + i / 2;
        return idx;
    }

    /**
     * y[yo + i] = keep(counter + i) ? x[xo + i] * scale : 0 for i in [from, to); x may be y. With {@code record}
     * non-null, also sets bit i % 64 of record[i / 64] where element i is dropped (and clears it where kept), for
     * {@link #replay}: then from must be a multiple of 64 and to one or n (a thread owns whole words).
     */
    static void apply(long seed, long counter, int threshold, float scale, float[] x, int xo, float[] y, int yo, int from, int to,
                      long[] record) {
        int[] w = WORDS.get();
        for (int b = from; b < to; b += BLOCK) {
            int len = Math.min(BLOCK, to - b);
            long pos = counter + b;
            int skip = (int) pos & 3; // position pos is word skip of block pos >>> 2 (NOTE [philox])
            words(seed, pos >>> 2, (skip + len + 3) >>> 2, w);
            if (record == null) keep(w, skip, len, threshold, scale, x, xo + b, y, yo + b);
            else keepAndRecord(w, skip, len, threshold, scale, x, xo + b, y, yo + b, record, b);
        }
    }

    /**
     * y[yo + i] = (w[wo + i] >>> 8) >= threshold ? x[xo + i] * scale : 0 for i < len (a method of its own, so inlined
     * whole).
     */
    private static void keep(int[] w, int wo, int len, int threshold, float scale, float[] x, int xo, float[] y, int yo) {
        int full = len - len % SF.length(), i = 0;
        for (; i < full; i += SF.length()) {
            // (w >>> 8) - threshold < 0 (both below 2^24) is a drop: its sign, spread over the lane, clears y
            IntVector drop = IntVector.fromArray(SI, w, wo + i).lanewise(VectorOperators.LSHR, 8).sub(threshold).lanewise(VectorOperators.ASHR, 31);
            FloatVector.fromArray(SF, x, xo + i).mul(scale).reinterpretAsInts().lanewise(VectorOperators.AND_NOT, drop)
                    .reinterpretAsFloats().intoArray(y, yo + i);
        }
        for (; i < len; i++) y[yo + i] = (w[wo + i] >>> 8) >= threshold ? x[xo + i] * scale : 0f;
    }

    /**
     * {@link #keep}, and bit (ro + i) % 64 of record[(ro + i) / 64] set where element i is dropped; ro is a multiple of 64
     * and the vector length divides 64, so each vector's mask lands whole in one word.
     */
    private static void keepAndRecord(int[] w, int wo, int len, int threshold, float scale, float[] x, int xo, float[] y, int yo, long[] record,
                                      int ro) {
        int full = len - len % SF.length(), i = 0;
        long bits = 0;
        for (; i < full; i += SF.length()) {
            IntVector drop = IntVector.fromArray(SI, w, wo + i).lanewise(VectorOperators.LSHR, 8).sub(threshold).lanewise(VectorOperators.ASHR, 31);
            FloatVector.fromArray(SF, x, xo + i).mul(scale).reinterpretAsInts().lanewise(VectorOperators.AND_NOT, drop)
                    .reinterpretAsFloats().intoArray(y, yo + i);
            bits |= drop.compare(VectorOperators.NE, 0).toLong() << (i & 63);
            if (((i + SF.length()) & 63) == 0) {
                record[(ro + i) >>> 6] = bits;
                bits = 0;
            }
        }
        for (; i < len; i++) {
            int drop = ((w[wo + i] >>> 8) - threshold) >> 31;
            y[yo + i] = drop == 0 ? x[xo + i] * scale : 0f;
            bits |= (long) (drop & 1) << (i & 63);
        }
        if ((i & 63) != 0) record[(ro + i - 1) >>> 6] = bits;
    }

    /**
     * y[yo + i] = x[xo + i] * scale where {@link #apply} recorded element i kept, else 0, for i in [from, to); from a
     * multiple of 64.
     */
    static void replay(long[] record, float scale, float[] x, int xo, float[] y, int yo, int from, int to) {
        int i = from;
        FloatVector zero = FloatVector.zero(SF);
        for (int full = to - (to - from) % SF.length(); i < full; i += SF.length()) {
            VectorMask<Float> dropped = VectorMask.fromLong(SF, record[i >>> 6] >>> (i & 63));
            FloatVector.fromArray(SF, x, xo + i).mul(scale).blend(zero, dropped).intoArray(y, yo + i);
        }
        for (; i < to; i++) y[yo + i] = (record[i >>> 6] >>> (i & 63) & 1) == 0 ? x[xo + i] * scale : 0f;
    }

    /**
     * w[4j + k] = word k (its 32 bits in an int) of dropout's Philox block {@code first + j} (counter (first + j, 0,
     * {@link Philox#DROPOUT_STREAM}), NOTE [philox]) for j in [0, blocks), blocks at most {@link #BLOCKS}. The rounds
     * run one block per 64-bit lane; the four words of each lane are then zipped into element order.
     */
    static void words(long seed, long first, int blocks, int[] w) {
        long key0 = seed & LOW32, key1 = (seed >>> 32) & LOW32;
        LongVector iota = LongVector.zero(S).addIndex(1), zero = LongVector.zero(S), stream = LongVector.broadcast(S, Philox.DROPOUT_STREAM);
        for (int j = 0; j < blocks; j += L) {
            LongVector ctr = iota.add(first + j).and(-1L >>> 2); // positions wrap at 2^64, so blocks at 2^62
            // counter words: (block low, block high, 0, DROPOUT_STREAM)
            LongVector c0 = ctr.and(LOW32), c1 = ctr.lanewise(VectorOperators.LSHR, 32), c2 = zero, c3 = stream;
            long k0 = key0, k1 = key1;
            for (int round = 0; round < 10; round++) {
                if (round > 0) {
                    k0 = (k0 + W0) & LOW32;
                    k1 = (k1 + W1) & LOW32;
                }
                LongVector p0 = c0.mul(M0), p1 = c2.mul(M1); // exact: both factors are below 2^32
                LongVector n0 = p1.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, c1.lanewise(VectorOperators.XOR, k0));
                LongVector n2 = p0.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, c3.lanewise(VectorOperators.XOR, k1));
                c1 = p1.and(LOW32);
                c3 = p0.and(LOW32);
                c0 = n0;
                c2 = n2;
            }
            // block j's words (w0, w1) and (w2, w3) as longs (little-endian int order), then zipped: w0 w1 w2 w3 per block
            LongVector lo = c0.lanewise(VectorOperators.OR, c1.lanewise(VectorOperators.LSHL, 32));
            LongVector hi = c2.lanewise(VectorOperators.OR, c3.lanewise(VectorOperators.LSHL, 32));
            ZIP_LOW.selectFrom(lo, hi).reinterpretAsInts().intoArray(w, 4 * j);
            ZIP_HIGH.selectFrom(lo, hi).reinterpretAsInts().intoArray(w, 4 * j + 2 * L);
        }
    }

    /**
     * The masks of the latest float32 dropout calls, by (seed, counter, n, threshold). A mask is a pure function of
     * these, and autograd's dropout backward calls the op again with the forward's key on dy: it then replays the
     * recorded mask (a bit an element, 64 to a long) instead of running Philox's ten rounds again. At most {@link #MAX_MASKS}
     * masks and {@link #MAX_BYTES} bytes are kept, the least recently used going first; larger masks are not
     * recorded. Evicted arrays are reused for the next masks of their size (a training step records the same sizes
     * every step).
     */
    static final class Masks {
        static final int MAX_MASKS = 16;
        static final long MAX_BYTES = 64L << 20;

        private record Key(long seed, long counter, int n, int threshold) {}

        private final java.util.LinkedHashMap<Key, long[]> masks = new java.util.LinkedHashMap<>(32, 0.75f, true);
        private final java.util.ArrayDeque<long[]> spare = new java.util.ArrayDeque<>();
        private long bytes;

        /** The recorded mask of this call, or null. */
        synchronized long[] get(long seed, long counter, int n, int threshold) {
            return masks.get(new Key(seed, counter, n, threshold));
        }

        /** A mask of n bits to record this call's into (then {@link #put}), or null when it would be too large. */
        synchronized long[] recorder(int n) {
            int words = (n + 63) >>> 6;
            if (8L * words > MAX_BYTES / 4) return null;
            for (var it = spare.iterator(); it.hasNext(); ) {
                long[] b = it.next();
                if (b.length == words) {
                    it.remove();
                    return b;
                }
            }
            return new long[words];
        }

        synchronized void put(long seed, long counter, int n, int threshold, long[] mask) {
            long[] old = masks.put(new Key(seed, counter, n, threshold), mask);
            bytes += 8L * mask.length - (old == null ? 0 : 8L * old.length);
            var it = masks.values().iterator();
            while (masks.size() > MAX_MASKS || bytes > MAX_BYTES) {
                long[] evicted = it.next();
                bytes -= 8L * evicted.length;
                it.remove();
                spare.addFirst(evicted);
                if (spare.size() > MAX_MASKS / 2) spare.removeLast();
            }
        }
    }
}
