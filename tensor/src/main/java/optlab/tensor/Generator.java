package optlab.tensor;

/**
 * A seeded source of random numbers: a Philox key (the seed) and a counter
 * (NOTE [philox] in {@link optlab.kernels.random.Philox}). Every draw of n numbers takes the next n
 * counter positions, so a generator's whole state is (seed, counter): it can be saved in a checkpoint
 * and restored exactly, and a tensor drawn on the GPU equals the one drawn on the CPU.
 */
public final class Generator {
    private final long seed;
    private long counter;

    public Generator(long seed) {
        this(seed, 0);
    }

    public Generator(long seed, long counter) {
        if (counter < 0) throw new IllegalArgumentException("generator counter must be >= 0, got " + counter);
        this.seed = seed;
        this.counter = counter;
    }

    public long seed() {
        return seed;
    }

    /** The position of the next draw. */
    public synchronized long counter() {
        return counter;
    }

    /** Reserves n positions and returns the first. */
    public synchronized long take(long n) {
        long first = counter;
        counter += n;
        return first;
    }

    /** A generator for a separate purpose (dropout, data order) derived from this one's seed. */
    public Generator fork(long stream) {
        return new Generator(seed * 0x9E3779B97F4A7C15L + stream * 0xBF58476D1CE4E5B9L + 1);
    }

    @Override
    public String toString() {
        return "Generator(seed=" + seed + ", counter=" + counter() + ")";
    }
}
