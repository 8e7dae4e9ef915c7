package optlab.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import optlab.kernels.random.Philox;

/**
 * The CPU backend's float32 dropout: {@code y[i] = keep(counter + i) ? x[i] * scale : 0}, where keep is
 * {@link Philox#keep} (NOTE [philox]: word 0 of Philox4x32-10 at counter (position, draw 0) under the 64-bit seed,
 * kept iff {@code (w0 >>> 8) >= threshold}). Reference: {@link optlab.kernels.reference.RefRandom#dropout}.
 *
 * <p>The char LSTM's training step applies four dropouts to (t*n, 128) activations and regenerates each mask in the
 * backward: 2.6 million Philox blocks a step, which the scalar {@link Philox#keep} (an int[4] per element) made the
 * largest cost of the step after the LSTM itself got fast. Here the ten rounds run on vectors of 64-bit lanes, one
 * element per lane, each 32-bit word held zero-extended in a long so that the 32 x 32 -> 64-bit products of the
 * rounds are plain long multiplications. Integer arithmetic only, so every word equals {@link Philox#block}'s to the
 * bit (CpuDropoutTest holds it to {@link Philox#keep}), whatever the split between threads or the vector width.
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
    /** Ints of S's lane count (word 0 of each lane), and ints and floats of the preferred width for the blend. */
    private static final VectorSpecies<Integer> SH = VectorSpecies.of(int.class, VectorShape.forBitSize(S.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> SI = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> SF = FloatVector.SPECIES_PREFERRED;
    private static final long LOW32 = 0xFFFFFFFFL;
    private static final long M0 = 0xD2511F53L, M1 = 0xCD9E8D57L, W0 = 0x9E3779B9L, W1 = 0xBB67AE85L;
    /** Elements whose words are made before they are applied (a multiple of every vector length). */
    private static final int BLOCK = 512;
    private static final ThreadLocal<int[]> WORDS = ThreadLocal.withInitial(() -> new int[BLOCK]);

    /**
     * y[yo + i] = keep(counter + i) ? x[xo + i] * scale : 0 for i in [from, to); x may be y. With {@code record}
     * non-null, also record[i] = 0 (kept) or -1 (dropped) for i in [from, to), for {@link #replay}.
     */
    static void apply(long seed, long counter, int threshold, float scale, float[] x, int xo, float[] y, int yo, int from, int to,
                      int[] record) {
        int[] w = WORDS.get();
        for (int b = from; b < to; b += BLOCK) {
            int len = Math.min(BLOCK, to - b);
            words0(seed, counter + b, len, w);
            if (record == null) keep(w, len, threshold, scale, x, xo + b, y, yo + b);
            else keepAndRecord(w, len, threshold, scale, x, xo + b, y, yo + b, record, b);
        }
    }

    /** y[yo + i] = (w[i] >>> 8) >= threshold ? x[xo + i] * scale : 0 for i < len (a method of its own, so inlined whole). */
    private static void keep(int[] w, int len, int threshold, float scale, float[] x, int xo, float[] y, int yo) {
        int full = len - len % SF.length(), i = 0;
        for (; i < full; i += SF.length()) {
            // (w >>> 8) - threshold < 0 (both below 2^24) is a drop: its sign, spread over the lane, clears y
            IntVector drop = IntVector.fromArray(SI, w, i).lanewise(VectorOperators.LSHR, 8).sub(threshold).lanewise(VectorOperators.ASHR, 31);
            FloatVector.fromArray(SF, x, xo + i).mul(scale).reinterpretAsInts().lanewise(VectorOperators.AND_NOT, drop)
                    .reinterpretAsFloats().intoArray(y, yo + i);
        }
        for (; i < len; i++) y[yo + i] = (w[i] >>> 8) >= threshold ? x[xo + i] * scale : 0f;
    }

    /** {@link #keep}, and record[ro + i] = 0 (kept) or -1 (dropped). */
    private static void keepAndRecord(int[] w, int len, int threshold, float scale, float[] x, int xo, float[] y, int yo, int[] record, int ro) {
        int full = len - len % SF.length(), i = 0;
        for (; i < full; i += SF.length()) {
            IntVector drop = IntVector.fromArray(SI, w, i).lanewise(VectorOperators.LSHR, 8).sub(threshold).lanewise(VectorOperators.ASHR, 31);
            FloatVector.fromArray(SF, x, xo + i).mul(scale).reinterpretAsInts().lanewise(VectorOperators.AND_NOT, drop)
                    .reinterpretAsFloats().intoArray(y, yo + i);
            drop.intoArray(record, ro + i);
        }
        for (; i < len; i++) {
            int drop = ((w[i] >>> 8) - threshold) >> 31;
            y[yo + i] = drop == 0 ? x[xo + i] * scale : 0f;
            record[ro + i] = drop;
        }
    }

    /** y[yo + i] = record[i] == 0 ? x[xo + i] * scale : 0 for i in [from, to): a mask {@link #apply} recorded. */
    static void replay(int[] record, float scale, float[] x, int xo, float[] y, int yo, int from, int to) {
        int i = from;
        for (int full = to - (to - from) % SF.length(); i < full; i += SF.length()) {
            FloatVector.fromArray(SF, x, xo + i).mul(scale).reinterpretAsInts().lanewise(VectorOperators.AND_NOT, IntVector.fromArray(SI, record, i))
                    .reinterpretAsFloats().intoArray(y, yo + i);
        }
        for (; i < to; i++) y[yo + i] = record[i] == 0 ? x[xo + i] * scale : 0f;
    }

    /**
     * w[i] = Philox word 0 (its 32 bits in an int) of position {@code start + i}, draw 0, for i in [0, n) and up
     * to the next multiple of the vector length (w must have room).
     */
    static void words0(long seed, long start, int n, int[] w) {
        long key0 = seed & LOW32, key1 = (seed >>> 32) & LOW32;
        LongVector iota = LongVector.zero(S).addIndex(1), zero = LongVector.zero(S);
        for (int j = 0; j < n; j += L) {
            LongVector pos = iota.add(start + j);
            // counter words: (position low, position high, draw = 0, 0)
            LongVector c0 = pos.and(LOW32), c1 = pos.lanewise(VectorOperators.LSHR, 32), c2 = zero, c3 = zero;
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
            ((IntVector) c0.convertShape(VectorOperators.L2I, SH, 0)).intoArray(w, j);
        }
    }

    /**
     * The masks of the latest float32 dropout calls, by (seed, counter, n, threshold). A mask is a pure function of
     * these, and autograd's dropout backward calls the op again with the forward's key on dy: it then replays the
     * recorded mask (an int an element) instead of running Philox's ten rounds again. At most {@link #MAX_MASKS}
     * masks and {@link #MAX_BYTES} bytes are kept, the least recently used going first; larger masks are not
     * recorded. Evicted arrays are reused for the next masks of their size (a training step records the same sizes
     * every step).
     */
    static final class Masks {
        static final int MAX_MASKS = 16;
        static final long MAX_BYTES = 64L << 20;

        private record Key(long seed, long counter, int n, int threshold) {}

        private final java.util.LinkedHashMap<Key, int[]> masks = new java.util.LinkedHashMap<>(32, 0.75f, true);
        private final java.util.ArrayDeque<int[]> spare = new java.util.ArrayDeque<>();
        private long bytes;

        /** The recorded mask of this call, or null. */
        synchronized int[] get(long seed, long counter, int n, int threshold) {
            return masks.get(new Key(seed, counter, n, threshold));
        }

        /** An array of n ints to record this call's mask into (then {@link #put}), or null when it would be too large. */
        synchronized int[] recorder(int n) {
            if (4L * n > MAX_BYTES / 4) return null;
            for (var it = spare.iterator(); it.hasNext(); ) {
                int[] b = it.next();
                if (b.length == n) {
                    it.remove();
                    return b;
                }
            }
            return new int[n];
        }

        synchronized void put(long seed, long counter, int n, int threshold, int[] mask) {
            int[] old = masks.put(new Key(seed, counter, n, threshold), mask);
            bytes += 4L * mask.length - (old == null ? 0 : 4L * old.length);
            var it = masks.values().iterator();
            while (masks.size() > MAX_MASKS || bytes > MAX_BYTES) {
                int[] evicted = it.next();
                bytes -= 4L * evicted.length;
                it.remove();
                spare.addFirst(evicted);
                if (spare.size() > MAX_MASKS / 2) spare.removeLast();
            }
        }
    }
}
