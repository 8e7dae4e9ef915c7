package optlab.tensor;

import java.util.Locale;
import optlab.kernels.DType;
import optlab.kernels.Device;

/**
 * Prints tensors the way PyTorch does: nested brackets, one common number format, and "..." in the
 * middle of any dimension longer than 6 when the tensor has more than 1000 elements.
 */
final class TensorFormatter {
    private TensorFormatter() {}

    private static final int SUMMARIZE_ABOVE = 1000, EDGE = 3;

    static String format(Tensor t) {
        double[] v = t.toDoubleArray();
        int[] shape = t.shape().toArray();
        boolean summarize = v.length > SUMMARIZE_ABOVE;
        String fmt = numberFormat(v, t.dtype());
        int width = 0;
        for (double x : v) width = Math.max(width, String.format(Locale.ROOT, fmt, x).length());
        StringBuilder sb = new StringBuilder("tensor(");
        if (shape.length == 0) {
            sb.append(String.format(Locale.ROOT, fmt, v[0]));
        } else {
            append(sb, v, shape, 0, 0, fmt, width, summarize, "tensor(".length());
        }
        if (t.dtype() != DType.FLOAT32) sb.append(", dtype=").append(t.dtype().name().toLowerCase(Locale.ROOT));
        if (!t.device().equals(Device.CPU)) sb.append(", device='").append(t.device()).append('\'');
        if (summarize || shape.length == 0) sb.append(", shape=").append(t.shape());
        return sb.append(')').toString();
    }

    private static void append(StringBuilder sb, double[] v, int[] shape, int dim, int base, String fmt, int width,
                               boolean summarize, int indent) {
        int n = shape[dim], stride = 1;
        for (int d = dim + 1; d < shape.length; d++) stride *= shape[d];
        sb.append('[');
        for (int i = 0; i < n; i++) {
            if (summarize && n > 2 * EDGE && i == EDGE) {
                sb.append(dim == shape.length - 1 ? "..." : "...");
                i = n - EDGE - 1;
                sb.append(separator(dim, shape.length, indent));
                continue;
            }
            if (dim == shape.length - 1) {
                String s = String.format(Locale.ROOT, fmt, v[base + i]);
                sb.append(" ".repeat(width - s.length())).append(s);
            } else {
                append(sb, v, shape, dim + 1, base + i * stride, fmt, width, summarize, indent + 1);
            }
            if (i < n - 1) sb.append(separator(dim, shape.length, indent));
        }
        sb.append(']');
    }

    private static String separator(int dim, int rank, int indent) {
        if (dim == rank - 1) return ", ";
        return ",\n".repeat(rank - 1 - dim) + " ".repeat(indent + 1);
    }

    /** Integers print as "3", fixed-point "%.4f" when magnitudes allow, else scientific "%.4e". */
    private static String numberFormat(double[] v, DType dtype) {
        if (dtype == DType.INT32) return "%.0f";
        boolean integral = true;
        double maxAbs = 0, minAbs = Double.MAX_VALUE;
        for (double x : v) {
            if (!Double.isFinite(x)) continue;
            if (x != Math.rint(x)) integral = false;
            double a = Math.abs(x);
            maxAbs = Math.max(maxAbs, a);
            if (a > 0) minAbs = Math.min(minAbs, a);
        }
        if (integral && maxAbs < 1e8) return "%.0f.";
        if (maxAbs >= 1e8 || minAbs < 1e-4) return "%.4e";
        return "%.4f";
    }
}
