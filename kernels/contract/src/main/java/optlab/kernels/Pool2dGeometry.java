package optlab.kernels;

/**
 * The shape of a 2-D pooling window over NCHW: x is (n, c, h, w), y is (n, c, p, q) with
 * {@code p = (h + 2*padH - kh)/strideH + 1} (floor mode, as PyTorch's default). Padding must not
 * exceed half the window, as in PyTorch, so every window overlaps the input.
 */
public record Pool2dGeometry(int n, int c, int h, int w, int kh, int kw,
                             int strideH, int strideW, int padH, int padW) {
    public Pool2dGeometry {
        Checks.positive("pool2d", "n", n, "c", c, "h", h, "w", w, "kh", kh, "kw", kw,
                "strideH", strideH, "strideW", strideW);
        if (padH < 0 || padW < 0 || 2 * padH > kh || 2 * padW > kw) {
            throw new IllegalArgumentException("pool2d: padding (" + padH + ", " + padW
                    + ") must be >= 0 and at most half the window " + kh + "x" + kw);
        }
        if (h + 2 * padH < kh || w + 2 * padW < kw) {
            throw new IllegalArgumentException("pool2d: window " + kh + "x" + kw + " larger than padded input "
                    + (h + 2 * padH) + "x" + (w + 2 * padW));
        }
    }

    public int p() {
        return (h + 2 * padH - kh) / strideH + 1;
    }

    public int q() {
        return (w + 2 * padW - kw) / strideW + 1;
    }

    public int inputSize() {
        return n * c * h * w;
    }

    public int outputSize() {
        return n * c * p() * q();
    }
}
