package optlab.experiments.data;

import optlab.kernels.DType;
import optlab.tensor.Tensor;

/**
 * One minibatch as plain host arrays, made by {@link ImageLoader} on any thread: pixels (b, c, h, w)
 * row-major as floats (FLOAT32) or doubles (FLOAT64), and b labels. It holds no tensor, so it may
 * cross threads; {@link #toTensors()} makes the tensors on the thread that calls it, which owns them
 * (NOTE [lifetimes]: a tensor belongs to the scope of the thread that creates it).
 */
public final class HostBatch {
    private final int epoch, index, channels, height, width;
    private final DType dtype;
    private final float[] floats;
    private final double[] doubles;
    private final int[] labels, images;

    HostBatch(int epoch, int index, DType dtype, int channels, int height, int width, float[] floats, double[] doubles, int[] labels,
            int[] images) {
        this.epoch = epoch;
        this.index = index;
        this.dtype = dtype;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.floats = floats;
        this.doubles = doubles;
        this.labels = labels;
        this.images = images;
    }

    /** The epoch (1-based) this batch belongs to. */
    public int epoch() {
        return epoch;
    }

    /** Its position in the epoch: 0 for the first batch. */
    public int index() {
        return index;
    }

    /** Number of images b. */
    public int size() {
        return labels.length;
    }

    public DType dtype() {
        return dtype;
    }

    /** {b, c, h, w}. */
    public int[] shape() {
        return new int[] {size(), channels, height, width};
    }

    /** The pixels (b, c, h, w) of a FLOAT32 batch; the array itself, not a copy. */
    public float[] floats() {
        if (floats == null) throw new IllegalStateException("batch " + index + " of epoch " + epoch + " holds FLOAT64 pixels: use doubles()");
        return floats;
    }

    /** The pixels (b, c, h, w) of a FLOAT64 batch; the array itself, not a copy. */
    public double[] doubles() {
        if (doubles == null) throw new IllegalStateException("batch " + index + " of epoch " + epoch + " holds FLOAT32 pixels: use floats()");
        return doubles;
    }

    /** The b labels; the array itself. */
    public int[] labels() {
        return labels;
    }

    /** Which images of the dataset the batch holds, in batch order; the array itself. */
    public int[] images() {
        return images;
    }

    /**
     * Images (b, c, h, w) of the batch's dtype and labels (b) INT32 as CPU tensors, created on (and so
     * owned by the current scope of) the calling thread. Closing the returned batch frees both.
     */
    public Batches.Batch toTensors() {
        int[] s = shape();
        Tensor x = floats != null ? Tensor.of(floats, s) : Tensor.of(doubles, s);
        try {
            return new Batches.Batch(x, Tensor.ofInts(labels, labels.length));
        } catch (RuntimeException | Error e) {
            x.close();
            throw e;
        }
    }
}
