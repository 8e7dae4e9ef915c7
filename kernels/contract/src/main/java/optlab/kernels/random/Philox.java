package optlab.kernels.random;

/**
 * Philox4x32-10, the counter-based generator of Salmon et al. (SC'11, "Parallel random numbers: as
 * easy as 1, 2, 3"), the same one cuRAND and PyTorch's CUDA generator use.
 *
 * <p>NOTE [philox]: a random number is a pure function of (key, counter), so element {@code i} of a
 * tensor can be drawn by any thread, on any backend, in any order, and come out the same. OptLab uses
 * the key for the 64-bit seed. The random fills use counter words 0-1 for the 64-bit element position
 * {@code counter + i} and word 2 to number redraws (truncated normal), word 3 = 0. Dropout uses all four
 * output words of a block, as cuRAND and PyTorch do: position {@code pos} takes word {@code pos & 3} of the
 * block at counter ({@code pos >>> 2}, 0, {@link #DROPOUT_STREAM}), so a mask costs a quarter of the blocks;
 * word 3 = {@link #DROPOUT_STREAM} keeps those blocks apart from every fill's. The CUDA kernels implement
 * this class bit for bit.
 *
 * <p>Values are derived from the 32-bit words as follows (identical on every backend):
 * <ul>
 *   <li>{@code uniform24(w) = (w >>> 8) * 2^-24}, exactly representable in float, in [0, 1).</li>
 *   <li>normal: Box-Muller on words 0 and 1, in double precision:
 *       {@code sqrt(-2 ln(1 - u0)) * cos(2 pi u1)}.</li>
 *   <li>dropout keeps position pos iff {@code (w >>> 8) >= threshold(p)}, w its word (above), with {@code threshold(p) =
 *       ceil(p * 2^24)}, an integer comparison, so CPU and GPU masks agree exactly.</li>
 * </ul>
 */
public final class Philox {
    private Philox() {}

    private static final int M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    /** Counter word 3 of dropout's blocks (the fills' is 0): see NOTE [philox]. */
    public static final int DROPOUT_STREAM = 1;
    private static final int W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /** The four output words for counter (c0, c1, c2, c3) and key (k0, k1). */
    public static int[] block(int c0, int c1, int c2, int c3, int k0, int k1) {
        int[] out = new int[4];
        block(c0, c1, c2, c3, k0, k1, out);
        return out;
    }

    /** As {@link #block(int, int, int, int, int, int)}, writing into {@code out}. */
    public static void block(int c0, int c1, int c2, int c3, int k0, int k1, int[] out) {
        for (int round = 0; round < 10; round++) {
            if (round > 0) {
                k0 += W0;
                k1 += W1;
            }
            long p0 = (M0 & 0xFFFFFFFFL) * (c0 & 0xFFFFFFFFL);
            long p1 = (M1 & 0xFFFFFFFFL) * (c2 & 0xFFFFFFFFL);
            int hi0 = (int) (p0 >>> 32), lo0 = (int) p0;
            int hi1 = (int) (p1 >>> 32), lo1 = (int) p1;
            int n0 = hi1 ^ c1 ^ k0;
            int n2 = hi0 ^ c3 ^ k1;
            c0 = n0;
            c1 = lo1;
            c2 = n2;
            c3 = lo0;
        }
        out[0] = c0;
        out[1] = c1;
        out[2] = c2;
        out[3] = c3;
    }

    /** Word 0 for element position {@code position} and redraw {@code draw} under {@code seed}. */
    public static int word0(long seed, long position, int draw) {
        return firstWords(seed, position, draw)[0];
    }

    private static int[] firstWords(long seed, long position, int draw) {
        return block((int) position, (int) (position >>> 32), draw, 0, (int) seed, (int) (seed >>> 32));
    }

    /** (w >>> 8) * 2^-24: uniform on [0, 1) with 24 bits, exact in float. */
    public static double uniform24(int w) {
        return (w >>> 8) * 0x1.0p-24;
    }

    /** Uniform on [0, 1) for element {@code position}. */
    public static double uniform(long seed, long position) {
        return uniform24(word0(seed, position, 0));
    }

    /** Standard normal for element {@code position}, redraw {@code draw} (Box-Muller on words 0 and 1). */
    public static double normal(long seed, long position, int draw) {
        int[] w = firstWords(seed, position, draw);
        double u0 = uniform24(w[0]), u1 = uniform24(w[1]);
        return Math.sqrt(-2.0 * Math.log(1.0 - u0)) * Math.cos(2.0 * Math.PI * u1);
    }

    /** Standard normal redrawn (draw = 0, 1, ...) until |z| <= 2: TensorFlow's truncated_normal. */
    public static double truncatedNormal(long seed, long position) {
        for (int draw = 0; ; draw++) {
            double z = normal(seed, position, draw);
            if (Math.abs(z) <= 2.0) return z;
        }
    }

    /** The dropout threshold: an element is kept iff {@code (word0 >>> 8) >= threshold(p)}. */
    public static int threshold(double p) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        return (int) Math.ceil(p * 0x1.0p24);
    }

    /**
     * Whether dropout keeps element {@code position}, given {@code threshold(p)}: word {@code position & 3} of the
     * block at counter ({@code position >>> 2}, 0, {@link #DROPOUT_STREAM}) (NOTE [philox]).
     */
    public static boolean keep(long seed, long position, int threshold) {
        long block = position >>> 2;
        int[] w = block((int) block, (int) (block >>> 32), 0, DROPOUT_STREAM, (int) seed, (int) (seed >>> 32));
        return (w[(int) position & 3] >>> 8) >= threshold;
    }
}
