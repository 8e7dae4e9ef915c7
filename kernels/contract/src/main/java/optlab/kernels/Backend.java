package optlab.kernels;

/**
 * The backend contract: the few dozen primitives everything above the kernels module is built from.
 *
 * <p>Rules every implementation follows:
 * <ul>
 *   <li>Arrays are passed as {@link Ptr}s into compact {@link Buffer}s of this backend. Views, strides and
 *       broadcasting are resolved once above this contract (in the tensor module); only {@link #copy}
 *       and {@link #binary} take strides.</li>
 *   <li>Shapes are given in the comments as {@code x is (n, c, h, w)}, row-major, last index fastest.</li>
 *   <li>Outputs are overwritten, except where a method says it accumulates.</li>
 *   <li>FLOAT32 is the working type; FLOAT64 must be supported by the CPU backend (gradient checks);
 *       labels and indices are INT32. Operands of one call share a dtype unless stated.</li>
 *   <li>Bad arguments throw {@link IllegalArgumentException} naming the primitive and the value.</li>
 *   <li>Each method's reference semantics are the plain implementations in
 *       {@code optlab.kernels.reference}; every backend is tested against them.</li>
 * </ul>
 *
 * <p>Ops the papers' models need that are not listed here are compositions: channel concatenation
 * and split are {@link #copy}s into and out of strided views; global average pooling is
 * {@link #reduce} with {@link ReduceOp#MEAN} over h*w, and its backward a broadcast {@link #binary}.
 */
public interface Backend {
    /** A short name for logs and results, e.g. {@code "cpu (2 threads)"}. */
    String name();

    Device device();

    /**
     * The kernel choices this backend was opened with and dispatches by (NOTE [kernel-choices]): the value a run
     * records, never a process-wide setting.
     */
    KernelChoices kernels();

    /** The calls each kernel variant served on this backend so far (what ran, to record beside {@link #kernels()}). */
    KernelCalls kernelCalls();

    /**
     * What a run records as this backend's kernels (config.json's {@code derived.kernels}): op to variant, as
     * {@link KernelChoices#record} gives them for this device's target; a backend that runs something else says so.
     */
    default java.util.Map<String, String> kernelRecord() {
        return kernels().record(KernelChoices.Target.of(device()));
    }

    /** {@link #kernelRecord()} as one line for mains to print at start: {@code kernels (cpu): gemm=cpu_sgemm, ...}. */
    default String kernelSummary() {
        java.util.List<String> parts = new java.util.ArrayList<>();
        kernelRecord().forEach((op, variant) -> parts.add(op + "=" + variant));
        String where = device().kind() == Device.Kind.CUDA ? "cuda" : device().toString();
        return "kernels (" + where + "): " + String.join(", ", parts);
    }

    // ------------------------------------------------------------------------------------------------
    // Memory and host transfers
    // ------------------------------------------------------------------------------------------------

    /**
     * A new buffer of {@code length} elements. Its contents are unspecified (NaN when the
     * {@code optlab.poison} system property is true, see NOTE [poison]).
     */
    Buffer allocate(DType dtype, int length);

    MemoryStats memoryStats();

    /** Copies host data into {@code dst}; dst must be FLOAT32. */
    void write(Ptr dst, float[] src, int srcOffset, int length);

    /** Copies host data into {@code dst}; dst must be FLOAT64. */
    void write(Ptr dst, double[] src, int srcOffset, int length);

    /** Copies host data into {@code dst}; dst must be INT32. */
    void write(Ptr dst, int[] src, int srcOffset, int length);

    /** Copies {@code length} elements of {@code src} to the host, converting to float. */
    void read(Ptr src, float[] dst, int dstOffset, int length);

    /** Copies {@code length} elements of {@code src} to the host, converting to double. */
    void read(Ptr src, double[] dst, int dstOffset, int length);

    /** Copies {@code length} elements of an INT32 {@code src} to the host. */
    void read(Ptr src, int[] dst, int dstOffset, int length);

    /** Waits until all queued work has finished (a no-op on the CPU). */
    void synchronize();

    // ------------------------------------------------------------------------------------------------
    // Fill, random numbers, copy
    // ------------------------------------------------------------------------------------------------

    /** dst[0:n] = value. */
    void fill(Ptr dst, int n, double value);

    /**
     * dst[i] ~ dist(a, b) for i in [0, n), element i drawn from Philox counter {@code counter + i}
     * under key {@code seed}. Floating dtypes only.
     */
    void fillRandom(Ptr dst, int n, RandomDistribution dist, double a, double b, long seed, long counter);

    /**
     * Strided copy with dtype conversion: {@code dst[idx . dstStrides] = src[idx . srcStrides]} for every
     * index {@code idx} of {@code shape}. Source and destination must not overlap.
     */
    void copy(int[] shape, Ptr dst, int[] dstStrides, Ptr src, int[] srcStrides);

    // ------------------------------------------------------------------------------------------------
    // Elementwise
    // ------------------------------------------------------------------------------------------------

    /** y[0:n] = op(x[0:n]; alpha). y may be x (in place). */
    void unary(UnaryOp op, double alpha, int n, Ptr x, Ptr y);

    /**
     * {@code out[idx] = op(a[idx], b[idx])} for every index of {@code shape}, each operand addressed
     * through its own strides (a stride of 0 broadcasts). out may alias a or b with the same strides.
     */
    void binary(BinaryOp op, int[] shape, Ptr out, int[] outStrides, Ptr a, int[] aStrides, Ptr b, int[] bStrides);

    // ------------------------------------------------------------------------------------------------
    // Reductions
    // ------------------------------------------------------------------------------------------------

    /** x is (outer, size, inner); y is (outer, inner) = op over the middle axis. size >= 1. */
    void reduce(ReduceOp op, int outer, int size, int inner, Ptr x, Ptr y);

    /** x is (outer, size, inner); indices (INT32) is (outer, inner): position of the first maximum. */
    void argmax(int outer, int size, int inner, Ptr x, Ptr indices);

    /**
     * Adds to counts the power-of-two histogram of |x[0..n)|: for each finite x_i, bin e = floor(log2 |x_i|) clamped to
     * [minExponent, maxExponent] (so 0, and anything below 2^minExponent, counts in minExponent's bin; anything at or above
     * 2^(maxExponent+1) in maxExponent's), counts[e - minExponent] += 1; a NaN or an infinity counts in the last slot,
     * counts[maxExponent - minExponent + 1]. x is FLOAT32 or FLOAT64; counts is INT32 of length maxExponent - minExponent + 2,
     * accumulated into (not overwritten), so one call per layer can build a whole-model histogram too.
     *
     * <p>floor(log2 |v|) is exact (NOTE [log2-bins] in {@link optlab.kernels.reference.RefHistogram}): the unbiased
     * exponent of a normal v ({@link Math#getExponent}), and for a subnormal the position of its highest significand bit
     * minus 1074 (float: 149), so 2^e <= |v| < 2^(e+1) always and a float falls where its widening to double does. The
     * counts are integers and every backend gives exactly the reference's ({@code RefHistogram#log2Histogram}), computed
     * where x lives (on a GPU by a kernel, nothing copied to the host). 0 <= n; -1100 <= minExponent <= maxExponent <= 1100
     * (floor(log2 |v|) of any double lies in [-1074, 1023]); counts holds at least maxExponent - minExponent + 2 elements
     * from its offset; x and counts are on this backend. A count wraps as int addition does.
     */
    void log2Histogram(int n, Ptr x, int minExponent, int maxExponent, Ptr counts);

    // ------------------------------------------------------------------------------------------------
    // Matrix multiply
    // ------------------------------------------------------------------------------------------------

    /**
     * Strided-batched GEMM, row-major: for each b in [0, batch),
     * {@code C_b = alpha * op(A_b) * op(B_b) + beta * C_b} where C_b is (m, n) with leading dimension
     * ldc, op(A_b) is (m, k), op(B_b) is (k, n); {@code op(X) = X^T} when its trans flag is set. A_b
     * starts at {@code a + b*strideA}, and likewise for B and C. beta = 0 ignores C's old contents
     * (even NaN).
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
              Ptr a, int lda, Ptr b, int ldb, double beta, Ptr c, int ldc,
              int batch, int strideA, int strideB, int strideC);

    // ------------------------------------------------------------------------------------------------
    // Convolution and pooling (NCHW)
    // ------------------------------------------------------------------------------------------------

    /** x is (n, c, h, w), w is (k, c, r, s); y is (n, k, p, q) = cross-correlation of x with w. No bias. */
    void conv2dForward(Conv2dGeometry g, Ptr x, Ptr w, Ptr y);

    /** dy is (n, k, p, q), w is (k, c, r, s); dx is (n, c, h, w) = d(loss)/dx. */
    void conv2dBackwardData(Conv2dGeometry g, Ptr dy, Ptr w, Ptr dx);

    /** x is (n, c, h, w), dy is (n, k, p, q); dw is (k, c, r, s) = d(loss)/dw. */
    void conv2dBackwardFilter(Conv2dGeometry g, Ptr x, Ptr dy, Ptr dw);

    /** x is (n, c, h, w); y is (n, c, p, q) = max over each window (padding never wins). */
    void maxPool2dForward(Pool2dGeometry g, Ptr x, Ptr y);

    /** dx is (n, c, h, w): each window's dy goes to the first position where x equals y; summed over windows. */
    void maxPool2dBackward(Pool2dGeometry g, Ptr x, Ptr y, Ptr dy, Ptr dx);

    /** y = mean over each window; padded positions count in the divisor iff countIncludePad. */
    void avgPool2dForward(Pool2dGeometry g, boolean countIncludePad, Ptr x, Ptr y);

    /** dx is (n, c, h, w): each window spreads dy / divisor over its positions; summed over windows. */
    void avgPool2dBackward(Pool2dGeometry g, boolean countIncludePad, Ptr dy, Ptr dx);

    // ------------------------------------------------------------------------------------------------
    // Batch normalization: per channel over (n, h*w); x and y are (n, c, hw), parameters are (c)
    // ------------------------------------------------------------------------------------------------
    //
    // NOTE [bn-epilogue]: each primitive carries an optional epilogue, fused into its passes over memory:
    //   forward   y = act(bn(x) + z)    z (n, c, hw) or null (no add); act = ReLU when relu, else the identity
    //   backward  g = relu ? (y > 0 ? dy : 0) : dy, with y the forward's output; dz = g when dz is not null;
    //             dx, dgamma, dbeta are batch norm's gradients for g
    // ResNet's bn -> ReLU and bn + shortcut -> ReLU are then one call each way instead of three (the add's and the
    // ReLU's passes over memory and their tensors go), as cuDNN's BN_ADD_ACTIVATION ops. The epilogue's float
    // arithmetic is the unfused ops' (bn, then the float add, then ReLU as UnaryOp.RELU; the mask as
    // BinaryOp.RELU_BACKWARD on the sum, whose sign y keeps), so a fused call gives the same bits as those ops run one
    // after another (BackendConformanceTest). The family's user kernels (BatchNormKernel, the compiled ABI) and cuDNN
    // compute the plain batch norm; the backend runs the epilogue around them as elementwise ops (BatchNormEpilogue).
    // The short forms are the plain batch norm (no z, no ReLU).

    /**
     * Training mode: with per-channel batch mean mu and biased variance var,
     * {@code y = act(gamma * (x - mu) / sqrt(var + eps) + beta + z)} (the epilogue above);
     * saveMean = mu, saveInvStd = 1/sqrt(var + eps); if runningMean is not null,
     * {@code running = (1 - momentum) * running + momentum * batchStat} with the unbiased variance (PyTorch's convention).
     */
    void batchNormForwardTraining(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta, double eps, double momentum,
                                  Ptr runningMean, Ptr runningVar, Ptr y, Ptr saveMean, Ptr saveInvStd, Ptr z, boolean relu);

    /** The plain training forward: {@code batchNormForwardTraining(..., z = null, relu = false)}. */
    default void batchNormForwardTraining(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta, double eps, double momentum,
                                          Ptr runningMean, Ptr runningVar, Ptr y, Ptr saveMean, Ptr saveInvStd) {
        batchNormForwardTraining(n, c, hw, x, gamma, beta, eps, momentum, runningMean, runningVar, y, saveMean, saveInvStd, null, false);
    }

    /** Inference mode: {@code y = act(gamma * (x - runningMean) / sqrt(runningVar + eps) + beta + z)}. */
    void batchNormForwardInference(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta,
                                   Ptr runningMean, Ptr runningVar, double eps, Ptr y, Ptr z, boolean relu);

    /** The plain inference forward: {@code batchNormForwardInference(..., z = null, relu = false)}. */
    default void batchNormForwardInference(int n, int c, int hw, Ptr x, Ptr gamma, Ptr beta,
                                           Ptr runningMean, Ptr runningVar, double eps, Ptr y) {
        batchNormForwardInference(n, c, hw, x, gamma, beta, runningMean, runningVar, eps, y, null, false);
    }

    /**
     * Backward of the training-mode forward with its epilogue: writes dx, dgamma and dbeta, and dz when not null.
     * y (the forward's output) is needed when relu, and not read otherwise (it may then be null).
     */
    void batchNormBackward(int n, int c, int hw, Ptr x, Ptr dy, Ptr gamma, Ptr saveMean, Ptr saveInvStd,
                           Ptr dx, Ptr dgamma, Ptr dbeta, Ptr y, boolean relu, Ptr dz);

    /** The plain backward: {@code batchNormBackward(..., y = null, relu = false, dz = null)}. */
    default void batchNormBackward(int n, int c, int hw, Ptr x, Ptr dy, Ptr gamma, Ptr saveMean, Ptr saveInvStd,
                                   Ptr dx, Ptr dgamma, Ptr dbeta) {
        batchNormBackward(n, c, hw, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, null, false, null);
    }

    // ------------------------------------------------------------------------------------------------
    // Softmax cross-entropy: logits are (n, classes), labels (INT32) are (n)
    // ------------------------------------------------------------------------------------------------

    /**
     * loss[i] = -sum_j q_ij log softmax(logits_i)_j with target q_i = (1 - smoothing) * onehot(label_i)
     * + smoothing / classes (PyTorch's label smoothing); probs (n, classes) = softmax(logits), saved for
     * the backward. A label outside [0, classes) is an error naming it.
     */
    void softmaxCrossEntropyForward(int n, int classes, Ptr logits, Ptr labels, double smoothing, Ptr loss, Ptr probs);

    /** dLogits[i, j] = dLoss[i] * (probs[i, j] - q_ij). */
    void softmaxCrossEntropyBackward(int n, int classes, Ptr probs, Ptr labels, double smoothing, Ptr dLoss, Ptr dLogits);

    // ------------------------------------------------------------------------------------------------
    // Dropout, embedding, LSTM (the pointwise cell, and one layer over a sequence)
    // ------------------------------------------------------------------------------------------------

    /**
     * y[i] = keep_i ? x[i] / (1 - p) : 0, where keep_i = uniform24(seed, counter + i) >= p (see
     * {@link optlab.kernels.random.Philox#keep}). Being linear in x with a mask that depends only on
     * (seed, counter), the same call with dy in place of x is its backward.
     */
    void dropout(int n, double p, long seed, long counter, Ptr x, Ptr y);

    /** indices (INT32) is (n), table is (vocab, dim); out is (n, dim) = table[indices]. */
    void embeddingForward(int n, int dim, int vocab, Ptr indices, Ptr table, Ptr out);

    /**
     * dTable[indices[i]] += dOut[i] for each i: ACCUMULATES into dTable, which is (vocab, dim). Deterministic: each
     * row's additions are made in increasing i, in double, and rounded once to dTable's dtype (RefEmbedding#backward,
     * narrowed), whatever the backend. An index outside [0, vocab) throws, naming it and its position, and leaves
     * dTable as it was.
     */
    void embeddingBackward(int n, int dim, int vocab, Ptr indices, Ptr dOut, Ptr dTable);

    /**
     * The pointwise part of an LSTM step (the matrix products are {@link #gemm}s). gates is (n, 4h),
     * pre-activations in PyTorch's order i, f, g, o; cPrev is (n, h). Writes act (n, 4h) = (sigmoid(i),
     * sigmoid(f), tanh(g), sigmoid(o)), {@code c = f*cPrev + i*g} and {@code h = o*tanh(c)}, both (n, h).
     */
    void lstmCellForward(int n, int hidden, Ptr gates, Ptr cPrev, Ptr act, Ptr h, Ptr c);

    /**
     * Backward of {@link #lstmCellForward}: given dh and dc (dc may be null, meaning zero) writes
     * dGates (n, 4h) with respect to the pre-activations, and dcPrev (n, h).
     */
    void lstmCellBackward(int n, int hidden, Ptr act, Ptr cPrev, Ptr c, Ptr dh, Ptr dc, Ptr dGates, Ptr dcPrev);

    /**
     * Elements (of the operands' dtype) of the reserve that {@link #lstmSequenceForward} fills for
     * {@link #lstmSequenceBackward} under this backend's current kernel choice: {@link LstmGeometry#stepReserveSize()}
     * for the step-by-step implementations; a vendor variant (cuDNN) may need another size, and its reserve's
     * contents are its own (NOTE [lstm-reserve]).
     */
    int lstmReserveSize(LstmGeometry g);

    /**
     * One LSTM layer over a whole sequence, as one layer of {@code torch.nn.LSTM} (see {@link LstmGeometry} for
     * the shapes): for s = 0 .. t-1, {@code gates_s = x_s wIh^T + bIh + h_{s-1} wHh^T + bHh} then the cell of
     * {@link #lstmCellForward} gives h_s = y_s and c_s, from h_{-1} = h0 and c_{-1} = c0. h0, c0, bIh and bHh may
     * be null (zero). Writes y (t, n, h), the final state hT and cT (n, h), and, unless {@code reserve} is null
     * (inference), the reserve ({@link #lstmReserveSize} elements) that the backward reads. The reference is
     * {@link optlab.kernels.reference.RefLstm#sequenceForward}, the cell applied step by step.
     */
    void lstmSequenceForward(LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr bIh, Ptr bHh,
                             Ptr y, Ptr hT, Ptr cT, Ptr reserve);

    /**
     * Backward of {@link #lstmSequenceForward}, given its x, h0, c0 (null if they were null), weights, output y and
     * reserve, under the same kernel choice, and the gradients dy (t, n, h), dhT and dcT (n, h; null: zero).
     * Writes (overwrites) dwIh, dwHh and db (4h), the gradient of each bias (bIh and bHh get the same one), and
     * dx, dh0, dc0 where they are not null. Call it once per forward: a vendor variant may use its reserve as
     * scratch.
     */
    void lstmSequenceBackward(LstmGeometry g, Ptr x, Ptr h0, Ptr c0, Ptr wIh, Ptr wHh, Ptr y, Ptr reserve,
                              Ptr dy, Ptr dhT, Ptr dcT, Ptr dx, Ptr dh0, Ptr dc0, Ptr dwIh, Ptr dwHh, Ptr db);

    // ------------------------------------------------------------------------------------------------
    // Fused programs
    // ------------------------------------------------------------------------------------------------

    /** Runs {@code kernel} over elements [0, n) of every operand in one pass (see {@link FusedKernel}). */
    void fused(FusedKernel kernel, int n, Ptr[] operands, double[] scalars);
}
