package optlab.kernels.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import optlab.kernels.Backend;
import optlab.kernels.Buffer;
import optlab.kernels.DType;

/**
 * The buffers one kernels test allocates, and the seeded host data it fills them from. A test makes one once its
 * backends are known, allocates through it, and calls {@link #freeAndCheckLeaks()} after: that frees every buffer
 * and asserts that the counted backend has as many live buffers as when this was made.
 */
public final class TestBuffers {
    private final Backend counted;
    private final long liveAtStart;
    private final List<Buffer> buffers = new ArrayList<>();

    /** Counts the live buffers of {@code counted} from now. */
    public TestBuffers(Backend counted) {
        this.counted = counted;
        this.liveAtStart = counted.memoryStats().liveBuffers();
    }

    /** A new buffer of {@code n} elements of {@code be}, contents unspecified (NaN-poisoned in tests). */
    public Buffer empty(Backend be, DType dtype, int n) {
        Buffer b = be.allocate(dtype, n);
        buffers.add(b);
        return b;
    }

    /** A new FLOAT32 buffer of {@code be}, contents unspecified. */
    public Buffer empty(Backend be, int n) {
        return empty(be, DType.FLOAT32, n);
    }

    /** A new FLOAT32 buffer of {@code be} holding {@code data}. */
    public Buffer upload(Backend be, float[] data) {
        Buffer b = empty(be, DType.FLOAT32, data.length);
        be.write(b.ptr(), data, 0, data.length);
        return b;
    }

    /** A new FLOAT64 buffer of {@code be} holding {@code data}. */
    public Buffer upload(Backend be, double[] data) {
        Buffer b = empty(be, DType.FLOAT64, data.length);
        be.write(b.ptr(), data, 0, data.length);
        return b;
    }

    /** Frees every buffer allocated through this, then asserts that none of the counted backend's leaked. */
    public void freeAndCheckLeaks() {
        for (Buffer b : buffers) b.close();
        buffers.clear();
        assertEquals(liveAtStart, counted.memoryStats().liveBuffers(), "buffers leaked");
    }

    /** The whole of {@code b}, as floats. */
    public static float[] download(Backend be, Buffer b) {
        float[] out = new float[b.length()];
        be.read(b.ptr(), out, 0, out.length);
        return out;
    }

    /** The whole of {@code b}, as doubles. */
    public static double[] downloadDoubles(Backend be, Buffer b) {
        double[] out = new double[b.length()];
        be.read(b.ptr(), out, 0, out.length);
        return out;
    }

    /** n standard normal floats from {@code seed}. */
    public static float[] randn(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    /** n floats uniform in [lo, hi) from {@code seed}. */
    public static float[] uniform(long seed, int n, double lo, double hi) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextDouble(lo, hi);
        return a;
    }

    /** {@code a} widened to double, for the reference. */
    public static double[] wide(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
