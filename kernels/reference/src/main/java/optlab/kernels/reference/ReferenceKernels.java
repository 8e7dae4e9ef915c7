package optlab.kernels.reference;

import optlab.kernels.BinaryOp;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.DType;
import optlab.kernels.LstmGeometry;
import optlab.kernels.Pool2dGeometry;
import optlab.kernels.Ptr;
import optlab.kernels.UnaryOp;
import optlab.kernels.family.BatchNormKernel;
import optlab.kernels.family.BinaryKernel;
import optlab.kernels.family.Conv2dKernel;
import optlab.kernels.family.EmbeddingKernel;
import optlab.kernels.family.GemmKernel;
import optlab.kernels.family.HostArrays;
import optlab.kernels.family.LstmKernel;
import optlab.kernels.family.Pool2dKernel;
import optlab.kernels.family.SoftmaxCrossEntropyKernel;
import optlab.kernels.family.UnaryKernel;

/**
 * A Java user kernel for every op family, each the plain reference of {@code optlab.kernels.reference} in double on
 * copies of its operands, rounded once to the operands' dtype: the worked example of docs/KERNELS.md, and what the
 * tests put in a training step in place of the built-in kernels. Choose one with its class's binary name, e.g.
 * {@code conv2d=java:optlab.kernels.reference.ReferenceKernels$Conv2d} (or with a dot for the {@code $}). Slow: for
 * checking, not for training.
 */
public final class ReferenceKernels {
    private ReferenceKernels() {}

    /** {@code n} elements of p as doubles (null for a null p). */
    static double[] in(Ptr p, int n) {
        if (p == null) return null;
        double[] d = new double[n];
        if (p.dtype() == DType.FLOAT64) {
            System.arraycopy(HostArrays.f64(p), p.offset(), d, 0, n);
        } else {
            float[] a = HostArrays.f32(p);
            for (int i = 0; i < n; i++) d[i] = a[p.offset() + i];
        }
        return d;
    }

    /** Writes the first {@code n} elements of d into p, rounded to p's dtype (nothing for a null p). */
    static void out(double[] d, Ptr p, int n) {
        if (p == null) return;
        if (p.dtype() == DType.FLOAT64) {
            System.arraycopy(d, 0, HostArrays.f64(p), p.offset(), n);
        } else {
            float[] a = HostArrays.f32(p);
            for (int i = 0; i < n; i++) a[p.offset() + i] = (float) d[i];
        }
    }

    /** {@code n} INT32 elements of p. */
    static int[] ints(Ptr p, int n) {
        int[] d = new int[n];
        System.arraycopy(HostArrays.i32(p), p.offset(), d, 0, n);
        return d;
    }

    /** The elements a strided operand of {@code shape} spans from its offset: 1 + sum of (size - 1) * stride. */
    static int extent(int[] shape, int[] strides) {
        int e = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 0) return 0;
            e += (shape[i] - 1) * strides[i];
        }
        return e;
    }

    /** {@code gemm}: {@link RefGemm#gemm} per batch entry. */
    public static final class Gemm implements GemmKernel {
        @Override
        public void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, Ptr a, int lda, Ptr b, int ldb, double beta,
                         Ptr c, int ldc, int batch, int strideA, int strideB, int strideC) {
            int aLen = span(transA ? k : m, transA ? m : k, lda), bLen = span(transB ? n : k, transB ? k : n, ldb), cLen = span(m, n, ldc);
            for (int i = 0; i < batch; i++) {
                Ptr ai = a.plus(i * strideA), bi = b.plus(i * strideB), ci = c.plus(i * strideC);
                double[] cd = in(ci, cLen);
                RefGemm.gemm(transA, transB, m, n, k, alpha, in(ai, aLen), 0, lda, in(bi, bLen), 0, ldb, beta, cd, 0, ldc);
                out(cd, ci, cLen);
            }
        }

        private static int span(int rows, int cols, int ld) {
            return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;
        }
    }

    /** {@code conv2d}: {@link RefConv}. */
    public static final class Conv2d implements Conv2dKernel {
        @Override
        public void forward(Conv2dGeometry g, Ptr x, Ptr w, Ptr y) {
            double[] yd = new double[g.outputSize()];
            RefConv.forward(g, in(x, g.inputSize()), 0, in(w, g.filterSize()), 0, yd, 0);
            out(yd, y, g.outputSize());
        }

        @Override
        public void backwardData(Conv2dGeometry g, Ptr dy, Ptr w, Ptr dx) {
            double[] dxd = new double[g.inputSize()];
            RefConv.backwardData(g, in(dy, g.outputSize()), 0, in(w, g.filterSize()), 0, dxd, 0);
            out(dxd, dx, g.inputSize());
        }

        @Override
        public void backwardFilter(Conv2dGeometry g, Ptr x, Ptr dy, Ptr dw) {
            double[] dwd = new double[g.filterSize()];
            RefConv.backwardFilter(g, in(x, g.inputSize()), 0, in(dy, g.outputSize()), 0, dwd, 0);
            out(dwd, dw, g.filterSize());
        }
    }

    /** {@code pool2d}: {@link RefPool}. */
    public static final class Pool2d implements Pool2dKernel {
        @Override
        public void maxForward(Pool2dGeometry g, Ptr x, Ptr y) {
            double[] yd = new double[g.outputSize()];
            RefPool.maxForward(g, in(x, g.inputSize()), 0, yd, 0);
            out(yd, y, g.outputSize());
        }

        @Override
        public void maxBackward(Pool2dGeometry g, Ptr x, Ptr y, Ptr dy, Ptr dx) {
            double[] dxd = new double[g.inputSize()];
            RefPool.maxBackward(g, in(x, g.inputSize()), 0, in(y, g.outputSize()), 0, in(dy, g.outputSize()), 0, dxd, 0);
            out(dxd, dx, g.inputSize());
        }

        @Override
        public void avgForward(Pool2dGeometry g, boolean countIncludePad, Ptr x, Ptr y) {
            double[] yd = new double[g.outputSize()];
            RefPool.avgForward(g, countIncludePad, in(x, g.inputSize()), 0, yd, 0);
            out(yd, y, g.outputSize());
        }

        @Override
        public void avgBackward(Pool2dGeometry g, boolean countIncludePad, Ptr dy, Ptr dx) {
            double[] dxd = new double[g.inputSize()];
            RefPool.avgBackward(g, countIncludePad, in(dy, g.outputSize()), 0, dxd, 0);
            out(dxd, dx, g.inputSize());
        }
    }

    /** {@code batchnorm}: {@link RefBatchNorm}. */
    public static final class BatchNorm implements BatchNormKernel {
        @Override
        public void forwardTraining(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta, double eps, double momentum, Ptr runningMean,
                                    Ptr runningVar, Ptr y, Ptr saveMean, Ptr saveInvStd) {
            int size = n * c * hw;
            double[] rm = in(runningMean, c), rv = in(runningVar, c), yd = new double[size], sm = new double[c], si = new double[c];
            RefBatchNorm.forwardTraining(n, c, hw, in(x, size), 0, in(gamma, c), 0, in(beta, c), 0, eps, momentum, rm, 0, rv, 0, yd, 0,
                    sm, 0, si, 0);
            out(yd, y, size);
            out(sm, saveMean, c);
            out(si, saveInvStd, c);
            out(rm, runningMean, c);
            out(rv, runningVar, c);
        }

        @Override
        public void forwardInference(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta, Ptr runningMean, Ptr runningVar, double eps,
                                     Ptr y) {
            int size = n * c * hw;
            double[] yd = new double[size];
            RefBatchNorm.forwardInference(n, c, hw, in(x, size), 0, in(gamma, c), 0, in(beta, c), 0, in(runningMean, c), 0,
                    in(runningVar, c), 0, eps, yd, 0);
            out(yd, y, size);
        }

        @Override
        public void backward(int n, int c, int hw, Ptr x, Ptr dy, Ptr gamma, Ptr saveMean, Ptr saveInvStd, Ptr dx, Ptr dgamma,
                             Ptr dbeta) {
            int size = n * c * hw;
            double[] dxd = new double[size], dg = new double[c], db = new double[c];
            RefBatchNorm.backward(n, c, hw, in(x, size), 0, in(dy, size), 0, in(gamma, c), 0, in(saveMean, c), 0, in(saveInvStd, c), 0,
                    dxd, 0, dg, 0, db, 0);
            out(dxd, dx, size);
            out(dg, dgamma, c);
            out(db, dbeta, c);
        }
    }

    /** {@code softmax_cross_entropy}: {@link RefLoss}. */
    public static final class SoftmaxCrossEntropy implements SoftmaxCrossEntropyKernel {
        @Override
        public void forward(int n, int classes, Ptr logits, Ptr labels, double smoothing, Ptr loss, Ptr probs) {
            double[] l = new double[n], p = new double[n * classes];
            RefLoss.softmaxCrossEntropyForward(n, classes, in(logits, n * classes), 0, ints(labels, n), 0, smoothing, l, 0, p, 0);
            out(l, loss, n);
            out(p, probs, n * classes);
        }

        @Override
        public void backward(int n, int classes, Ptr probs, Ptr labels, double smoothing, Ptr dLoss, Ptr dLogits) {
            double[] dz = new double[n * classes];
            RefLoss.softmaxCrossEntropyBackward(n, classes, in(probs, n * classes), 0, ints(labels, n), 0, smoothing, in(dLoss, n), 0, dz, 0);
            out(dz, dLogits, n * classes);
        }
    }

    /** {@code embedding}: {@link RefEmbedding}; the backward accumulates into dTable, as the contract says. */
    public static final class Embedding implements EmbeddingKernel {
        @Override
        public void forward(int n, int dim, int vocab, Ptr indices, Ptr table, Ptr out) {
            double[] o = new double[n * dim];
            RefEmbedding.forward(n, dim, vocab, ints(indices, n), 0, in(table, vocab * dim), 0, o, 0);
            out(o, out, n * dim);
        }

        @Override
        public void backward(int n, int dim, int vocab, Ptr indices, Ptr dOut, Ptr dTable) {
            double[] t = in(dTable, vocab * dim);
            RefEmbedding.backward(n, dim, vocab, ints(indices, n), 0, in(dOut, n * dim), 0, t, 0);
            out(t, dTable, vocab * dim);
        }
    }

    /** {@code lstm}: {@link RefLstm#sequenceForward} and {@link RefLstm#sequenceBackward}, with the step reserve. */
    public static final class Lstm implements LstmKernel {
        @Override
        public int reserveSize(LstmGeometry g) {
            return g.stepReserveSize();
        }

        @Override
        public void sequenceForward(LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr bIh, Ptr bHh, Ptr y, Ptr hT, Ptr cT,
                                    Ptr reserve) {
            int state = g.stateSize();
            double[] yd = new double[g.outputSize()], h = new double[state], c = new double[state];
            double[] r = reserve == null ? null : new double[g.stepReserveSize()];
            RefLstm.sequenceForward(g, in(x, g.inputSize()), in(h0, state), in(c0, state), in(wIh, g.weightIhSize()),
                    in(wHh, g.weightHhSize()), in(bIh, g.biasSize()), in(bHh, g.biasSize()), yd, h, c, r);
            out(yd, y, g.outputSize());
            out(h, hT, state);
            out(c, cT, state);
            if (r != null) out(r, reserve, r.length);
        }

        @Override
        public void sequenceBackward(LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr y, Ptr reserve, Ptr dy, Ptr dhT,
                                     Ptr dcT, Ptr dx, Ptr dh0, Ptr dc0, Ptr dwIh, Ptr dwHh, Ptr db) {
            int state = g.stateSize();
            double[] dxd = dx == null ? null : new double[g.inputSize()], dh = dh0 == null ? null : new double[state];
            double[] dc = dc0 == null ? null : new double[state];
            double[] dwi = new double[g.weightIhSize()], dwh = new double[g.weightHhSize()], dbd = new double[g.biasSize()];
            RefLstm.sequenceBackward(g, in(x, g.inputSize()), in(h0, state), in(c0, state), in(wIh, g.weightIhSize()),
                    in(wHh, g.weightHhSize()), in(y, g.outputSize()), in(reserve, g.stepReserveSize()), in(dy, g.outputSize()),
                    in(dhT, state), in(dcT, state), dxd, dh, dc, dwi, dwh, dbd);
            out(dxd, dx, g.inputSize());
            out(dh, dh0, state);
            out(dc, dc0, state);
            out(dwi, dwIh, dwi.length);
            out(dwh, dwHh, dwh.length);
            out(dbd, db, dbd.length);
        }
    }

    /** {@code unary.NAME}: {@link RefElementwise#unary}; the backward is the op's derivative (for the ops models use). */
    public static final class Unary implements UnaryKernel {
        @Override
        public void forward(UnaryOp op, double alpha, int n, Ptr x, Ptr y) {
            double[] yd = new double[n];
            RefElementwise.unary(op, alpha, n, in(x, n), 0, yd, 0);
            out(yd, y, n);
        }

        /** dx = dy * f'(x) ({@link ReferenceKernels#derivative}). */
        @Override
        public void backward(UnaryOp op, double alpha, int n, Ptr x, Ptr y, Ptr dy, Ptr dx) {
            double[] xd = in(x, n), yd = in(y, n), g = in(dy, n), dxd = new double[n];
            for (int i = 0; i < n; i++) dxd[i] = g[i] * derivative(op, alpha, xd[i], yd[i]);
            out(dxd, dx, n);
        }
    }

    /**
     * f'(x) of unary op f at x, given y = f(x; alpha), for the ops the models differentiate through; throws
     * {@link UnsupportedOperationException} naming any other.
     */
    public static double derivative(UnaryOp op, double alpha, double x, double y) {
        return switch (op) {
            case RELU -> x > 0 ? 1 : 0;
            case TANH -> 1 - y * y;
            case SIGMOID -> y * (1 - y);
            case EXP -> y;
            case LOG -> 1 / x;
            case SQRT -> 0.5 / y;
            case MUL_SCALAR -> alpha;
            case ADD_SCALAR -> 1;
            case NEG -> -1;
            case SQUARE -> 2 * x;
            case POW_SCALAR -> alpha * Math.pow(x, alpha - 1);
            default -> throw new UnsupportedOperationException("no reference derivative of unary " + op);
        };
    }

    /** {@code binary.NAME}: {@link RefElementwise#binary} over the strided operands. */
    public static final class Binary implements BinaryKernel {
        @Override
        public void apply(BinaryOp op, int[] shape, Ptr out, int[] outStrides, Ptr a, int[] aStrides, Ptr b, int[] bStrides) {
            int oLen = extent(shape, outStrides);
            double[] od = in(out, oLen);
            RefElementwise.binary(op, shape, od, 0, outStrides, in(a, extent(shape, aStrides)), 0, aStrides, in(b, extent(shape, bStrides)),
                    0, bStrides);
            out(od, out, oLen);
        }
    }
}
