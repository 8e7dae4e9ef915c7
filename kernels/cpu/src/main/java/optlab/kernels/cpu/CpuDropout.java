package optlab.kernels.cpu;

import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
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
 */
final class CpuDropout {
    private CpuDropout() {}

    private static final VectorSpecies<Long> S = LongVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final long LOW32 = 0xFFFFFFFFL;
    private static final long M0 = 0xD2511F53L, M1 = 0xCD9E8D57L, W0 = 0x9E3779B9L, W1 = 0xBB67AE85L;
    /** Elements whose words are made before they are applied (a multiple of every vector length). */
    private static final int BLOCK = 512;
    private static final ThreadLocal<long[]> WORDS = ThreadLocal.withInitial(() -> new long[BLOCK]);

    /** y[yo + i] = keep(counter + i) ? x[xo + i] * scale : 0 for i in [from, to); x may be y. */
    static void apply(long seed, long counter, int threshold, float scale, float[] x, int xo, float[] y, int yo, int from, int to) {
        long[] w = WORDS.get();
        for (int b = from; b < to; b += BLOCK) {
            int len = Math.min(BLOCK, to - b);
            words0(seed, counter + b, len, w);
            for (int i = 0; i < len; i++) y[yo + b + i] = (w[i] >>> 8) >= threshold ? x[xo + b + i] * scale : 0f;
        }
    }

    /**
     * w[i] = Philox word 0 (as an unsigned 32-bit value) of position {@code start + i}, draw 0, for i in [0, n) and up
     * to the next multiple of the vector length (w must have room).
     */
    static void words0(long seed, long start, int n, long[] w) {
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
            c0.intoArray(w, j);
        }
    }
}
