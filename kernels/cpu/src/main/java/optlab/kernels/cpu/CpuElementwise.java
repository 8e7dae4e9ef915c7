package optlab.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import optlab.kernels.BinaryOp;
import optlab.kernels.ReduceOp;
import optlab.kernels.Strides;
import optlab.kernels.UnaryOp;

/**
 * Float32 elementwise kernels and reductions of the CPU backend. References:
 * {@link optlab.kernels.reference.RefElementwise}. The hot operations get their own loops (which the
 * JIT vectorizes; ReLU and its backward, whose selects it does not, are written with the Vector API); the rest
 * go through the op's reference definition element by element.
 */
final class CpuElementwise {
    private CpuElementwise() {}

    /** Elements per parallel chunk for memory-bound loops: below this, threading costs more than it saves. */
    static final int GRAIN = 1 << 15;

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    static void fill(float[] x, int xo, int n, float v) {
        Parallel.forRange(n, GRAIN, (a, b) -> java.util.Arrays.fill(x, xo + a, xo + b, v));
    }

    // ---------------------------------------------------------------------------------------------
    // Rows: every strided primitive is a loop over the outer dimensions around a 1-D inner loop.
    // ---------------------------------------------------------------------------------------------

    /** Receives the per-operand offsets of one row and its length (the innermost dimension). */
    @FunctionalInterface
    interface RowBody {
        void row(int[] offsets, int length);
    }

    /**
     * Calls body once per row of a coalesced iteration ({@link Strides#coalesce}): shape and strides
     * after coalescing, bases are the operands' offsets. Rows are split across threads.
     */
    static void forEachRow(int[] shape, int[][] strides, int[] bases, RowBody body) {
        int rank = shape.length, inner = shape[rank - 1];
        if (inner == 0) return;
        int rows = Strides.numel(shape) / inner;
        int k = strides.length;
        int grainRows = Math.max(1, GRAIN / inner);
        if (rows == 1) { // one long row: split the row itself
            Parallel.forRange(inner, GRAIN, (a, b) -> {
                int[] off = new int[k];
                for (int j = 0; j < k; j++) off[j] = bases[j] + a * strides[j][rank - 1];
                body.row(off, b - a);
            });
            return;
        }
        Parallel.forRange(rows, grainRows, (r0, r1) -> {
            int[] idx = new int[rank - 1];
            int[] off = new int[k];
            // position the odometer at row r0
            int rem = r0;
            for (int d = rank - 2; d >= 0; d--) {
                idx[d] = rem % shape[d];
                rem /= shape[d];
            }
            for (int j = 0; j < k; j++) {
                off[j] = bases[j];
                for (int d = 0; d < rank - 1; d++) off[j] += idx[d] * strides[j][d];
            }
            int[] rowOff = new int[k];
            for (int r = r0; r < r1; r++) {
                System.arraycopy(off, 0, rowOff, 0, k);
                body.row(rowOff, inner);
                for (int d = rank - 2; d >= 0; d--) { // advance to the next row
                    idx[d]++;
                    for (int j = 0; j < k; j++) off[j] += strides[j][d];
                    if (idx[d] < shape[d]) break;
                    for (int j = 0; j < k; j++) off[j] -= strides[j][d] * shape[d];
                    idx[d] = 0;
                }
            }
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Strided copy (same dtype; conversions go through CpuBackend's generic path)
    // ---------------------------------------------------------------------------------------------

    static void copy(int[] shape, Object dst, int dstOff, int[] ds, Object src, int srcOff, int[] ss) {
        int[][] c = Strides.coalesce(shape, ds, ss);
        int[] cs = c[0], cds = c[1], css = c[2];
        int last = cs.length - 1;
        int dStep = cds[last], sStep = css[last];
        forEachRow(cs, new int[][] {cds, css}, new int[] {dstOff, srcOff}, (o, len) -> {
            if (dStep == 1 && sStep == 1) {
                System.arraycopy(src, o[1], dst, o[0], len);
            } else {
                switch (dst) {
                    case float[] d -> {
                        float[] s = (float[]) src;
                        for (int i = 0; i < len; i++) d[o[0] + i * dStep] = s[o[1] + i * sStep];
                    }
                    case double[] d -> {
                        double[] s = (double[]) src;
                        for (int i = 0; i < len; i++) d[o[0] + i * dStep] = s[o[1] + i * sStep];
                    }
                    case int[] d -> {
                        int[] s = (int[]) src;
                        for (int i = 0; i < len; i++) d[o[0] + i * dStep] = s[o[1] + i * sStep];
                    }
                    default -> throw new AssertionError(dst);
                }
            }
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Unary
    // ---------------------------------------------------------------------------------------------

    static void unary(UnaryOp op, double alpha, int n, float[] x, int xo, float[] y, int yo) {
        float a = (float) alpha;
        Parallel.forRange(n, GRAIN, (from, to) -> {
            int len = to - from, xs = xo + from, ys = yo + from;
            switch (op) {
                case RELU -> relu(x, xs, y, ys, len);
                case NEG -> { for (int i = 0; i < len; i++) y[ys + i] = -x[xs + i]; }
                case MUL_SCALAR -> { for (int i = 0; i < len; i++) y[ys + i] = x[xs + i] * a; }
                case ADD_SCALAR -> { for (int i = 0; i < len; i++) y[ys + i] = x[xs + i] + a; }
                case RSUB_SCALAR -> { for (int i = 0; i < len; i++) y[ys + i] = a - x[xs + i]; }
                case SQUARE -> { for (int i = 0; i < len; i++) y[ys + i] = x[xs + i] * x[xs + i]; }
                case SQRT -> { for (int i = 0; i < len; i++) y[ys + i] = (float) Math.sqrt(x[xs + i]); }
                case ABS -> { for (int i = 0; i < len; i++) y[ys + i] = Math.abs(x[xs + i]); }
                case RECIPROCAL -> { for (int i = 0; i < len; i++) y[ys + i] = 1f / x[xs + i]; }
                default -> { for (int i = 0; i < len; i++) y[ys + i] = (float) op.apply(x[xs + i], alpha); }
            }
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Binary with broadcasting strides
    // ---------------------------------------------------------------------------------------------

    static void binary(BinaryOp op, int[] shape, float[] out, int oo, int[] os,
                       float[] a, int ao, int[] as, float[] b, int bo, int[] bs) {
        int[][] c = Strides.coalesce(shape, os, as, bs);
        int last = c[0].length - 1;
        int so = c[1][last], sa = c[2][last], sb = c[3][last];
        forEachRow(c[0], new int[][] {c[1], c[2], c[3]}, new int[] {oo, ao, bo}, (o, len) -> {
            if (so == 1 && sa == 1 && sb == 1) {
                contiguousRow(op, out, o[0], a, o[1], b, o[2], len);
            } else if (so == 1 && sa == 1 && sb == 0) {
                scalarRow(op, out, o[0], a, o[1], b[o[2]], len);
            } else {
                for (int i = 0; i < len; i++) {
                    out[o[0] + i * so] = apply(op, a[o[1] + i * sa], b[o[2] + i * sb]);
                }
            }
        });
    }

    private static void contiguousRow(BinaryOp op, float[] out, int oo, float[] a, int ao, float[] b, int bo, int len) {
        switch (op) {
            case ADD -> { for (int i = 0; i < len; i++) out[oo + i] = a[ao + i] + b[bo + i]; }
            case SUB -> { for (int i = 0; i < len; i++) out[oo + i] = a[ao + i] - b[bo + i]; }
            case MUL -> { for (int i = 0; i < len; i++) out[oo + i] = a[ao + i] * b[bo + i]; }
            case DIV -> { for (int i = 0; i < len; i++) out[oo + i] = a[ao + i] / b[bo + i]; }
            case RELU_BACKWARD -> reluBackward(out, oo, a, ao, b, bo, len);
            default -> { for (int i = 0; i < len; i++) out[oo + i] = apply(op, a[ao + i], b[bo + i]); }
        }
    }

    /**
     * y = relu(x) as the reference defines it ({@code x > 0 || x is NaN ? x : +0}), which is Math.max(x, +0)
     * (NaN stays NaN, -0 becomes +0): the Vector API's MAX has Math.max's semantics.
     */
    static void relu(float[] x, int xs, float[] y, int ys, int len) {
        int i = 0;
        for (int bound = S.loopBound(len); i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, xs + i).lanewise(VectorOperators.MAX, 0f).intoArray(y, ys + i);
        }
        for (; i < len; i++) y[ys + i] = Math.max(x[xs + i], 0f);
    }

    /** out = b > 0 ? a : +0 (a is the incoming gradient, b the ReLU's input; a NaN b gives 0). */
    static void reluBackward(float[] out, int oo, float[] a, int ao, float[] b, int bo, int len) {
        FloatVector zero = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(len); i < bound; i += S.length()) {
            FloatVector g = FloatVector.fromArray(S, a, ao + i);
            zero.blend(g, FloatVector.fromArray(S, b, bo + i).compare(VectorOperators.GT, 0f)).intoArray(out, oo + i);
        }
        for (; i < len; i++) out[oo + i] = b[bo + i] > 0 ? a[ao + i] : 0f;
    }

    private static void scalarRow(BinaryOp op, float[] out, int oo, float[] a, int ao, float bv, int len) {
        switch (op) {
            case ADD -> { for (int i = 0; i < len; i++) out[oo + i] = a[ao + i] + bv; }
            case SUB -> { for (int i = 0; i < len; i++) out[oo + i] = a[ao + i] - bv; }
            case MUL -> { for (int i = 0; i < len; i++) out[oo + i] = a[ao + i] * bv; }
            case DIV -> { for (int i = 0; i < len; i++) out[oo + i] = a[ao + i] / bv; }
            default -> { for (int i = 0; i < len; i++) out[oo + i] = apply(op, a[ao + i], bv); }
        }
    }

    /** One element in float arithmetic (the hot ops), or through the double reference. */
    private static float apply(BinaryOp op, float a, float b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case RELU_BACKWARD -> b > 0 ? a : 0f;
            default -> (float) op.apply(a, b);
        };
    }

    // ---------------------------------------------------------------------------------------------
    // Reductions: x is (outer, size, inner), accumulated in double
    // ---------------------------------------------------------------------------------------------

    /** Columns per chunk of a reduction over rows of more than one column, at least (a kilobyte of each row). */
    private static final int MIN_COLUMNS = 256;

    static void reduce(ReduceOp op, int outer, int size, int inner, float[] x, int xo, float[] y, int yo) {
        boolean max = op == ReduceOp.MAX;
        double scale = op == ReduceOp.MEAN ? 1.0 / size : 1.0;
        if (inner == 1) {
            Parallel.forRange(outer, Math.max(1, GRAIN / size), (o0, o1) -> {
                for (int o = o0; o < o1; o++) {
                    int base = xo + o * size;
                    if (max) {
                        float m = Float.NEGATIVE_INFINITY;
                        for (int r = 0; r < size; r++) {
                            float v = x[base + r];
                            if (v >= m || v != v) m = v;
                            if (m != m) break;
                        }
                        y[yo + o] = m;
                    } else {
                        double s = 0;
                        for (int r = 0; r < size; r++) s += x[base + r];
                        y[yo + o] = (float) (s * scale);
                    }
                }
            });
            return;
        }
        // inner > 1: accumulate whole inner rows, so the loads stay contiguous; chunks of at least MIN_COLUMNS columns
        // (or all of them), since a thread that sums a few columns reads a piece of a cache line per row: the LSTM's
        // bias gradient (2,500 rows of 512) took 0.42-0.85 ms on 2 threads in chunks of 13 columns, 0.17-0.26 on one
        int work = outer * inner;
        Parallel.forRange(work, Math.max(Math.min(inner, MIN_COLUMNS), GRAIN / size), (w0, w1) -> {
            double[] acc = new double[inner];
            for (int w = w0; w < w1; ) {
                int o = w / inner, i0 = w % inner, i1 = Math.min(inner, i0 + (w1 - w));
                int base = xo + o * size * inner;
                java.util.Arrays.fill(acc, i0, i1, max ? Double.NEGATIVE_INFINITY : 0.0);
                for (int r = 0; r < size; r++) {
                    int rb = base + r * inner;
                    if (max) {
                        for (int i = i0; i < i1; i++) {
                            double v = x[rb + i];
                            if (v >= acc[i] || v != v) acc[i] = Double.isNaN(acc[i]) ? acc[i] : v;
                        }
                    } else {
                        for (int i = i0; i < i1; i++) acc[i] += x[rb + i];
                    }
                }
                for (int i = i0; i < i1; i++) y[yo + o * inner + i] = (float) (acc[i] * scale);
                w += i1 - i0;
            }
        });
    }

    static void argmax(int outer, int size, int inner, float[] x, int xo, int[] idx, int io) {
        Parallel.forRange(outer * inner, Math.max(1, GRAIN / size), (w0, w1) -> {
            for (int w = w0; w < w1; w++) {
                int o = w / inner, i = w % inner;
                int base = xo + o * size * inner + i;
                int best = 0;
                float bestV = x[base];
                for (int r = 1; r < size && bestV == bestV; r++) {
                    float v = x[base + r * inner];
                    if (v > bestV || v != v) {
                        best = r;
                        bestV = v;
                    }
                }
                idx[io + w] = best;
            }
        });
    }
}
