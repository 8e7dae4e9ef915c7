package optlab.kernels.reference;

import optlab.kernels.BinaryOp;
import optlab.kernels.ReduceOp;
import optlab.kernels.UnaryOp;

/** Reference fill, strided copy, elementwise ops and reductions. */
public final class RefElementwise {
    private RefElementwise() {}

    /** x[xo : xo+n] = value */
    public static void fill(double[] x, int xo, int n, double value) {
        for (int i = 0; i < n; i++) x[xo + i] = value;
    }

    /**
     * Visits every index of {@code shape} in row-major order and reports, for each operand, the offset
     * {@code base + sum_d idx[d] * strides[d]}. The odometer loop behind strided copy and binary ops.
     */
    public static void forEachIndex(int[] shape, int[][] strides, int[] bases, OffsetVisitor visitor) {
        int rank = shape.length, k = strides.length;
        for (int d : shape) if (d == 0) return;
        int[] idx = new int[rank];
        int[] off = bases.clone();
        while (true) {
            visitor.visit(off);
            // advance the odometer: bump the last axis, carry into earlier axes
            int d = rank - 1;
            while (d >= 0) {
                idx[d]++;
                for (int j = 0; j < k; j++) off[j] += strides[j][d];
                if (idx[d] < shape[d]) break;
                for (int j = 0; j < k; j++) off[j] -= strides[j][d] * shape[d];
                idx[d] = 0;
                d--;
            }
            if (d < 0) return;
        }
    }

    /** Receives one offset per operand. */
    @FunctionalInterface
    public interface OffsetVisitor {
        void visit(int[] offsets);
    }

    /** dst[idx . ds] = src[idx . ss] over all idx of shape. */
    public static void copy(int[] shape, double[] dst, int dstOff, int[] ds, double[] src, int srcOff, int[] ss) {
        forEachIndex(shape, new int[][] {ds, ss}, new int[] {dstOff, srcOff}, o -> dst[o[0]] = src[o[1]]);
    }

    /** y[i] = op(x[i]; alpha) for i in [0, n). */
    public static void unary(UnaryOp op, double alpha, int n, double[] x, int xo, double[] y, int yo) {
        for (int i = 0; i < n; i++) y[yo + i] = op.apply(x[xo + i], alpha);
    }

    /** out[idx] = op(a[idx], b[idx]) with per-operand strides (0 broadcasts). */
    public static void binary(BinaryOp op, int[] shape, double[] out, int oo, int[] os,
                              double[] a, int ao, int[] as, double[] b, int bo, int[] bs) {
        forEachIndex(shape, new int[][] {os, as, bs}, new int[] {oo, ao, bo},
                o -> out[o[0]] = op.apply(a[o[1]], b[o[2]]));
    }

    /** x is (outer, size, inner); y is (outer, inner). MAX propagates NaN. */
    public static void reduce(ReduceOp op, int outer, int size, int inner, double[] x, int xo, double[] y, int yo) {
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                int base = xo + o * size * inner + i;
                double acc = op == ReduceOp.MAX ? Double.NEGATIVE_INFINITY : 0.0;
                for (int r = 0; r < size; r++) {
                    double v = x[base + r * inner];
                    acc = op == ReduceOp.MAX ? BinaryOp.MAX.apply(acc, v) : acc + v;
                }
                y[yo + o * inner + i] = op == ReduceOp.MEAN ? acc / size : acc;
            }
        }
    }

    /** x is (outer, size, inner); idx is (outer, inner): position of the first maximum (a NaN wins). */
    public static void argmax(int outer, int size, int inner, double[] x, int xo, int[] idx, int io) {
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                int base = xo + o * size * inner + i;
                int best = 0;
                double bestV = x[base];
                for (int r = 1; r < size && !Double.isNaN(bestV); r++) {
                    double v = x[base + r * inner];
                    if (v > bestV || Double.isNaN(v)) {
                        best = r;
                        bestV = v;
                    }
                }
                idx[io + o * inner + i] = best;
            }
        }
    }
}
