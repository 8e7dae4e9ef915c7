package optlab.kernels;

/**
 * The shape of a 2-D convolution (cross-correlation, as in every DL framework), NCHW layout.
 * x is (n, c, h, w); the filter w is (k, c, r, s); y is (n, k, p, q) with
 * {@code p = (h + 2*padH - r)/strideH + 1} and {@code q = (w + 2*padW - s)/strideW + 1}.
 */
public record Conv2dGeometry(int n, int c, int h, int w, int k, int r, int s,
                             int strideH, int strideW, int padH, int padW) {
    public Conv2dGeometry {
        Checks.positive("conv2d", "n", n, "c", c, "h", h, "w", w, "k", k, "r", r, "s", s,
                "strideH", strideH, "strideW", strideW);
        if (padH < 0 || padW < 0) {
            throw new IllegalArgumentException("conv2d: padding must be >= 0, got (" + padH + ", " + padW + ")");
        }
        if (h + 2 * padH < r || w + 2 * padW < s) {
            throw new IllegalArgumentException("conv2d: kernel " + r + "x" + s + " larger than padded input "
                    + (h + 2 * padH) + "x" + (w + 2 * padW));
        }
    }

    /** Output height. */
    public int p() {
        return (h + 2 * padH - r) / strideH + 1;
    }

    /** Output width. */
    public int q() {
        return (w + 2 * padW - s) / strideW + 1;
    }

    public int inputSize() {
        return n * c * h * w;
    }

    public int filterSize() {
        return k * c * r * s;
    }

    public int outputSize() {
        return n * k * p() * q();
    }

    /** Multiply-adds of the forward pass, times two. */
    public double flops() {
        return 2.0 * n * k * p() * q() * c * r * s;
    }
}
