package optlab.kernels.vendor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import optlab.kernels.LstmGeometry;
import optlab.kernels.Pool2dGeometry;

/**
 * What the cuDNN 9 binding ({@link Cudnn9}) passes to cuDNN, as plain Java so the CPU tests check it where no
 * cuDNN exists: the enum values it relies on (each with the cuDNN 9 header it comes from), status names, the
 * descriptor arguments of pooling, batch norm and the LSTM, and the map between the engine's LSTM weights and
 * cuDNN's weight space.
 *
 * <p>NOTE [cudnn-enums]: the values below are those of cuDNN 9's public headers (cudnn_graph.h, cudnn_ops.h,
 * cudnn_cnn.h, cudnn_adv.h; unchanged since cuDNN 7/8 for these enums except cudnnStatus_t, which cuDNN 9
 * renumbered into categories 1xxx-5xxx). First written from copies found with the project's code search; on
 * 2026-11-21 every one of them (and every status code) was checked by compiling a C program against the real
 * cuDNN 9.24.0 headers (the nvidia-cudnn-cu13 9.24.0.43 wheel, the version PyTorch's cu130 wheels use), and the
 * status names against cudnnGetErrorString of the real libraries (9.24.0, and 9.5.1 from Maven Central's
 * org.bytedeco:cuda:12.6-9.5-1.5.11:linux-x86_64-redist jar): all matched, except that
 * CUDNN_STATUS_NOT_SUPPORTED_INVALID_DYNAMIC_SHAPE (3014, new in 9.18) was missing. {@code CudnnArgsTest} pins
 * them so a change is deliberate; {@code CudnnLibraryTest} repeats the check wherever a cuDNN is given to it.
 */
final class CudnnArgs {
    private CudnnArgs() {}

    // cudnn_graph.h: typedef enum { CUDNN_DATA_FLOAT = 0, CUDNN_DATA_DOUBLE = 1, CUDNN_DATA_HALF = 2, ... } cudnnDataType_t
    static final int CUDNN_DATA_FLOAT = 0;
    // cudnn_graph.h: cudnnMathType_t { CUDNN_DEFAULT_MATH = 0, CUDNN_TENSOR_OP_MATH = 1,
    //                CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION = 2, CUDNN_FMA_MATH = 3 }
    static final int CUDNN_FMA_MATH = 3;
    // cudnn_graph.h: cudnnNanPropagation_t { CUDNN_NOT_PROPAGATE_NAN = 0, CUDNN_PROPAGATE_NAN = 1 }
    static final int CUDNN_NOT_PROPAGATE_NAN = 0, CUDNN_PROPAGATE_NAN = 1;
    // cudnn_graph.h (cudnn.h before cuDNN 8): cudnnTensorFormat_t { CUDNN_TENSOR_NCHW = 0, CUDNN_TENSOR_NHWC = 1, CUDNN_TENSOR_NCHW_VECT_C = 2 }
    static final int CUDNN_TENSOR_NCHW = 0;
    // cudnn_graph.h (cudnn.h before cuDNN 8): cudnnConvolutionMode_t { CUDNN_CONVOLUTION = 0, CUDNN_CROSS_CORRELATION = 1 }
    static final int CUDNN_CROSS_CORRELATION = 1;

    // cudnn_ops.h: cudnnPoolingMode_t { CUDNN_POOLING_MAX = 0, CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING = 1,
    //              CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING = 2, CUDNN_POOLING_MAX_DETERMINISTIC = 3 }
    static final int CUDNN_POOLING_MAX = 0, CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING = 1,
            CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING = 2, CUDNN_POOLING_MAX_DETERMINISTIC = 3;

    // cudnn_ops.h: cudnnBatchNormMode_t { CUDNN_BATCHNORM_PER_ACTIVATION = 0, CUDNN_BATCHNORM_SPATIAL = 1,
    //              CUDNN_BATCHNORM_SPATIAL_PERSISTENT = 2 }
    static final int CUDNN_BATCHNORM_SPATIAL = 1;
    // cudnn_ops.h (cuDNN 8 and 9): #define CUDNN_BN_MIN_EPSILON 0.0 (cuDNN 7 and older: 1e-5)
    static final double CUDNN_BN_MIN_EPSILON = 0.0;

    // cudnn_adv.h: cudnnRNNAlgo_t { CUDNN_RNN_ALGO_STANDARD = 0, CUDNN_RNN_ALGO_PERSIST_STATIC = 1, ... }
    static final int CUDNN_RNN_ALGO_STANDARD = 0;
    // cudnn_adv.h: cudnnRNNMode_t { CUDNN_RNN_RELU = 0, CUDNN_RNN_TANH = 1, CUDNN_LSTM = 2, CUDNN_GRU = 3 }
    static final int CUDNN_LSTM = 2;
    // cudnn_adv.h: cudnnRNNBiasMode_t { CUDNN_RNN_NO_BIAS = 0, CUDNN_RNN_SINGLE_INP_BIAS = 1, CUDNN_RNN_DOUBLE_BIAS = 2,
    //              CUDNN_RNN_SINGLE_REC_BIAS = 3 }
    static final int CUDNN_RNN_DOUBLE_BIAS = 2;
    // cudnn_adv.h: cudnnDirectionMode_t { CUDNN_UNIDIRECTIONAL = 0, CUDNN_BIDIRECTIONAL = 1 }
    static final int CUDNN_UNIDIRECTIONAL = 0;
    // cudnn_adv.h: cudnnRNNInputMode_t { CUDNN_LINEAR_INPUT = 0, CUDNN_SKIP_INPUT = 1 }
    static final int CUDNN_LINEAR_INPUT = 0;
    // cudnn_adv.h: cudnnRNNDataLayout_t { CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED = 0,
    //              CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED = 1, CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED = 2 }
    // (one stub header found by the search swaps the first two: the values here are the vendor header's, 9.24.0's)
    static final int CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED = 1;
    // cudnn_adv.h: #define CUDNN_RNN_PADDED_IO_DISABLED 0, CUDNN_RNN_PADDED_IO_ENABLED (1U << 0)
    static final int CUDNN_RNN_PADDED_IO_DISABLED = 0;
    // cudnn_adv.h: cudnnForwardMode_t { CUDNN_FWD_MODE_INFERENCE = 0, CUDNN_FWD_MODE_TRAINING = 1 }
    static final int CUDNN_FWD_MODE_INFERENCE = 0, CUDNN_FWD_MODE_TRAINING = 1;
    // cudnn_adv.h: cudnnWgradMode_t { CUDNN_WGRAD_MODE_ADD = 0, CUDNN_WGRAD_MODE_SET = 1 }
    // (NVIDIA's API reference of cudnnRNNBackwardWeights_v8 names ADD as the only supported mode; 9.24.0's header
    // comment describes both. ADD into a zeroed gradient space is right either way.)
    static final int CUDNN_WGRAD_MODE_ADD = 0;

    // ------------------------------------------------------------------------------------------------
    // Status names (cudnn_graph.h of cuDNN 9.24.0; 0 is success; 2001 is the deprecated alias CUDNN_STATUS_INVALID_VALUE)
    // ------------------------------------------------------------------------------------------------

    private static final Map<Integer, String> STATUS;

    static {
        Map<Integer, String> m = new TreeMap<>();
        String[] names = {
                "0 CUDNN_STATUS_SUCCESS",
                "1001 CUDNN_STATUS_NOT_INITIALIZED", "1002 CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH",
                "1003 CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH", "1004 CUDNN_STATUS_DEPRECATED", "1005 CUDNN_STATUS_LICENSE_ERROR",
                "1006 CUDNN_STATUS_RUNTIME_IN_PROGRESS", "1007 CUDNN_STATUS_RUNTIME_FP_OVERFLOW",
                "1008 CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED",
                "2000 CUDNN_STATUS_BAD_PARAM", "2001 CUDNN_STATUS_INVALID_VALUE", "2002 CUDNN_STATUS_BAD_PARAM_NULL_POINTER",
                "2003 CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER", "2004 CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED",
                "2005 CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND", "2006 CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT",
                "2007 CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH", "2008 CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH",
                "2009 CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES", "2010 CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE",
                "2011 CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH", "2012 CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE",
                "3000 CUDNN_STATUS_NOT_SUPPORTED", "3001 CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN",
                "3002 CUDNN_STATUS_NOT_SUPPORTED_SHAPE", "3003 CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE",
                "3004 CUDNN_STATUS_NOT_SUPPORTED_LAYOUT", "3005 CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER",
                "3006 CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART", "3007 CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH",
                "3008 CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING",
                "3009 CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE",
                "3010 CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT", "3011 CUDNN_STATUS_NOT_SUPPORTED_PADDING",
                "3012 CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM", "3013 CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API",
                "3014 CUDNN_STATUS_NOT_SUPPORTED_INVALID_DYNAMIC_SHAPE",
                "4000 CUDNN_STATUS_INTERNAL_ERROR", "4001 CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED",
                "4002 CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE", "4003 CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED",
                "4004 CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED", "4005 CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM",
                "4006 CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED",
                "5000 CUDNN_STATUS_EXECUTION_FAILED", "5001 CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER",
                "5002 CUDNN_STATUS_EXECUTION_FAILED_CUBLAS", "5003 CUDNN_STATUS_EXECUTION_FAILED_CUDART",
                "5004 CUDNN_STATUS_EXECUTION_FAILED_CURAND",
        };
        for (String s : names) {
            int sp = s.indexOf(' ');
            m.put(Integer.parseInt(s.substring(0, sp)), s.substring(sp + 1));
        }
        STATUS = Collections.unmodifiableMap(m);
    }

    /** Every status code this table names, with its name (CudnnLibraryTest compares them with cudnnGetErrorString). */
    static Map<Integer, String> statusNames() {
        return STATUS;
    }

    /** The cuDNN 9 name of {@code status}, or "unknown cudnnStatus_t N" (a newer cuDNN, or cuDNN 8's numbering). */
    static String statusName(int status) {
        String s = STATUS.get(status);
        return s != null ? s : "unknown cudnnStatus_t " + status;
    }

    /** "cudnnX returned CUDNN_STATUS_Y (code)", plus cuDNN's own message when it gave one. */
    static String failure(String function, int status, String lastError) {
        String m = function + " returned " + statusName(status) + " (" + status + ")";
        if (lastError != null && !lastError.isBlank()) m += "; cudnnGetLastErrorString: " + lastError.strip();
        return m;
    }

    // ------------------------------------------------------------------------------------------------
    // Pooling
    // ------------------------------------------------------------------------------------------------

    /**
     * The arguments of {@code cudnnSetPooling2dDescriptor(desc, mode, maxpoolingNanOpt, windowHeight, windowWidth,
     * verticalPadding, horizontalPadding, verticalStride, horizontalStride)}.
     */
    record PoolDescriptor(int mode, int nanOpt, int windowH, int windowW, int padH, int padW, int strideH, int strideW) {}

    /**
     * Max pooling is CUDNN_POOLING_MAX_DETERMINISTIC: its backward gives each window's gradient to the first
     * position whose x equals y, the engine's rule (RefPool#maxBackward), deterministically; NaN propagates, as
     * in RefPool#maxForward. Averages: the engine's divisor with padding counted is always kh*kw (in floor mode
     * with padding at most half the window, no window passes the padding: Pool2dGeometry), which is
     * CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING; without, the count of positions inside the input, which is
     * CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING.
     */
    static PoolDescriptor pooling(Pool2dGeometry g, PoolKind kind) {
        int mode = switch (kind) {
            case MAX -> CUDNN_POOLING_MAX_DETERMINISTIC;
            case AVG_INCLUDE_PAD -> CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING;
            case AVG_EXCLUDE_PAD -> CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
        };
        return new PoolDescriptor(mode, CUDNN_PROPAGATE_NAN, g.kh(), g.kw(), g.padH(), g.padW(), g.strideH(), g.strideW());
    }

    /** x as cudnnSetTensor4dDescriptor's (n, c, h, w). */
    static int[] poolInputDims(Pool2dGeometry g) {
        return new int[] {g.n(), g.c(), g.h(), g.w()};
    }

    /**
     * y as (n, c, p, q). cuDNN's output size (cudnnGetPooling2dForwardOutputDim) is 1 + (h + 2*padH - kh)/strideH,
     * floor division, like Pool2dGeometry#p; this throws, naming both, if they ever disagree.
     */
    static int[] poolOutputDims(Pool2dGeometry g) {
        int p = 1 + (g.h() + 2 * g.padH() - g.kh()) / g.strideH(), q = 1 + (g.w() + 2 * g.padW() - g.kw()) / g.strideW();
        if (p != g.p() || q != g.q()) {
            throw new IllegalStateException("pool2d: cuDNN's output size " + p + "x" + q + " differs from the engine's " + g.p() + "x"
                    + g.q() + " for " + g);
        }
        return new int[] {g.n(), g.c(), p, q};
    }

    // ------------------------------------------------------------------------------------------------
    // Batch norm
    // ------------------------------------------------------------------------------------------------

    /** x and y, (n, c, hw) in the engine, as a 4-D NCHW tensor (n, c, hw, 1). */
    static int[] bnDataDims(int n, int c, int hw) {
        return new int[] {n, c, hw, 1};
    }

    /** bnScaleBiasMeanVarDesc of CUDNN_BATCHNORM_SPATIAL: (1, c, 1, 1), what cudnnDeriveBNTensorDescriptor gives. */
    static int[] bnParamDims(int c) {
        return new int[] {1, c, 1, 1};
    }

    /**
     * The epsilon passed to cuDNN: the engine's own. cuDNN requires {@code epsilon >= CUDNN_BN_MIN_EPSILON}
     * (0.0 in cuDNN 8 and 9); a smaller or non-finite one is refused here, naming it, rather than by cuDNN as
     * CUDNN_STATUS_BAD_PARAM.
     */
    static double bnEpsilon(String op, double eps) {
        if (!(eps >= CUDNN_BN_MIN_EPSILON) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException(op + ": cuDNN needs epsilon >= CUDNN_BN_MIN_EPSILON (" + CUDNN_BN_MIN_EPSILON
                    + ") and finite, got " + eps);
        }
        return eps;
    }

    /**
     * NOTE [bn-running-stats]: cuDNN documents {@code running = running*(1 - factor) + batchStat*factor} for
     * cudnnBatchNormalizationForwardTraining's exponentialAverageFactor, and its running variance uses the
     * unbiased batch variance (m/(m-1) times the biased one it normalizes with), as PyTorch, whose cuDNN path
     * passes momentum as the factor. That is the engine's convention (RefBatchNorm#forwardTraining), so the factor
     * is the engine's momentum unchanged. resultSaveInvVariance is 1/sqrt(biased variance + epsilon), the engine's
     * saveInvStd. The GPU test BackendConformanceTest#batchNormMatchesReference (run by the Cudnn nested class of
     * CudaBackendConformanceTest) checks all of this against the reference.
     */
    static double bnExponentialAverageFactor(String op, double momentum) {
        if (!(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException(op + ": momentum must be in [0, 1] (cuDNN's exponentialAverageFactor), got " + momentum);
        }
        return momentum;
    }

    // ------------------------------------------------------------------------------------------------
    // LSTM (the v8 RNN API)
    // ------------------------------------------------------------------------------------------------

    /**
     * The arguments of {@code cudnnSetRNNDescriptor_v8(rnnDesc, algo, cellMode, biasMode, dirMode, inputMode,
     * dataType, mathPrec, mathType, inputSize, hiddenSize, projSize, numLayers, dropoutDesc, auxFlags)}, less the
     * descriptors.
     */
    record RnnDescriptor(int algo, int cellMode, int biasMode, int dirMode, int inputMode, int dataType, int mathPrec,
                         int mathType, int inputSize, int hiddenSize, int projSize, int numLayers, int auxFlags) {}

    /**
     * One unidirectional LSTM layer with two biases (PyTorch's b_ih and b_hh), FP32 data and math, FMA math (no
     * TF32, as the convolutions: results compare with the own kernels at FP32 tolerance), no projection (projSize
     * = hiddenSize, as NVIDIA's API reference and PyTorch say; 9.24.0's header comment says "0 to disable", but
     * its cudnnSetRNNDescriptor_v8 refuses 0 with CUDNN_STATUS_BAD_PARAM "projSize <= 0", checked on the real
     * library), and packed sequence-major data: with every sequence of the full length t, the packed layout
     * is plain (t, n, vector) memory, and padded I/O stays disabled.
     */
    static RnnDescriptor lstm(LstmGeometry g) {
        return new RnnDescriptor(CUDNN_RNN_ALGO_STANDARD, CUDNN_LSTM, CUDNN_RNN_DOUBLE_BIAS, CUDNN_UNIDIRECTIONAL,
                CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, CUDNN_FMA_MATH, g.input(), g.hidden(), g.hidden(), 1,
                CUDNN_RNN_PADDED_IO_DISABLED);
    }

    /** seqLengthArray of cudnnSetRNNDataDescriptor (and the device copy devSeqLengths): n sequences of length t. */
    static int[] sequenceLengths(LstmGeometry g) {
        int[] lengths = new int[g.n()];
        java.util.Arrays.fill(lengths, g.t());
        return lengths;
    }

    /** hDesc and cDesc of the v8 RNN calls: (numLayers * directions, n, hidden), fully packed. */
    static int[] stateDims(LstmGeometry g) {
        return new int[] {1, g.n(), g.hidden()};
    }

    static int[] stateStrides(LstmGeometry g) {
        return new int[] {g.n() * g.hidden(), g.hidden(), 1};
    }

    /** The engine's LSTM parameter arrays. */
    enum LstmParam { W_IH, W_HH, B_IH, B_HH }

    /**
     * One contiguous run of floats that moves between an engine array and cuDNN's weight space: the matrix or the
     * bias of cuDNN linear layer {@code linLayerId} (pseudo-layer 0).
     *
     * @param matrix       a matrix (true) or a bias (false)
     * @param param        the engine array it lives in
     * @param engineOffset its first element there
     * @param rows         hidden
     * @param cols         input (input matrices), hidden (recurrent ones) or 1 (biases)
     */
    record WeightBlock(int linLayerId, boolean matrix, LstmParam param, int engineOffset, int rows, int cols) {
        int count() {
            return rows * cols;
        }
    }

    /**
     * NOTE [lstm-weights]: cuDNN's LSTM (cudnn_adv.h, cudnnRNNMode_t CUDNN_LSTM) computes
     * <pre>
     *   i = sigmoid(W_0 x + R_4 h + bW_0 + bR_4)      linLayerID 0 and 4: the input gate
     *   f = sigmoid(W_1 x + R_5 h + bW_1 + bR_5)      1 and 5: the forget gate
     *   g = tanh   (W_2 x + R_6 h + bW_2 + bR_6)      2 and 6: the new memory (cell candidate)
     *   o = sigmoid(W_3 x + R_7 h + bW_3 + bR_7)      3 and 7: the output gate
     *   c' = f*c + i*g,  h' = o*tanh(c')
     * </pre>
     * with each matrix row-major (hidden, columns) (cudnnGetRNNWeightParams describes it as [1, hidden, columns])
     * and each bias (hidden). The engine (PyTorch's layout) stacks the same gates in the same order [i | f | g | o]
     * as row blocks of wIh (4h, input) and wHh (4h, h), and of bIh and bHh (4h). So gate k's input matrix is rows
     * [k*h, (k+1)*h) of wIh, linLayerID k; its recurrent matrix the same rows of wHh, linLayerID 4 + k; its biases
     * bIh[k*h ..] (bW) and bHh[k*h ..] (bR). No transposition; the copies are contiguous. Where cuDNN puts each
     * block in its weight space is asked with cudnnGetRNNWeightParams, never assumed.
     */
    static List<WeightBlock> lstmWeightBlocks(LstmGeometry g) {
        int h = g.hidden(), in = g.input();
        List<WeightBlock> blocks = new ArrayList<>();
        for (int k = 0; k < 4; k++) blocks.add(new WeightBlock(k, true, LstmParam.W_IH, k * h * in, h, in));
        for (int k = 0; k < 4; k++) blocks.add(new WeightBlock(4 + k, true, LstmParam.W_HH, k * h * h, h, h));
        for (int k = 0; k < 4; k++) blocks.add(new WeightBlock(k, false, LstmParam.B_IH, k * h, h, 1));
        for (int k = 0; k < 4; k++) blocks.add(new WeightBlock(4 + k, false, LstmParam.B_HH, k * h, h, 1));
        return blocks;
    }

    /**
     * Checks the dimensions cudnnGetRNNWeightParams reported for {@code block} (via cudnnGetTensorNdDescriptor):
     * a matrix is [1, hidden, columns], a bias [1, hidden, 1]. Throws naming the block and both shapes.
     */
    static void checkBlockDims(WeightBlock block, int[] dims) {
        int[] expected = {1, block.rows(), block.cols()};
        if (!java.util.Arrays.equals(dims, expected)) {
            throw new IllegalStateException("cudnnGetRNNWeightParams: linLayerID " + block.linLayerId() + " " + (block.matrix() ? "matrix"
                    : "bias") + " has dimensions " + java.util.Arrays.toString(dims) + ", the engine's layout expects "
                    + java.util.Arrays.toString(expected) + " (NOTE [lstm-weights])");
        }
    }

    /**
     * The element offset of a block inside the weight space, from the address cudnnGetRNNWeightParams returned;
     * throws naming the addresses if it is outside the space or not float-aligned.
     */
    static long spaceOffset(WeightBlock block, long base, long address, long spaceBytes) {
        long bytes = address - base;
        if (address == 0 || bytes < 0 || bytes % 4 != 0 || bytes + 4L * block.count() > spaceBytes) {
            throw new IllegalStateException("cudnnGetRNNWeightParams: linLayerID " + block.linLayerId() + " " + (block.matrix() ? "matrix"
                    : "bias") + " at 0x" + Long.toHexString(address) + " does not lie float-aligned inside the weight space at 0x"
                    + Long.toHexString(base) + " of " + spaceBytes + " bytes");
        }
        return bytes / 4;
    }

    /** A copy between an engine array and the weight space, in elements. */
    interface BlockCopy {
        void copy(LstmParam param, int engineOffset, long spaceOffset, int count);
    }

    /**
     * Visits every block with its weight-space offset ({@code spaceOffsets[i]} for {@code lstmWeightBlocks(g).get(i)}),
     * skipping the biases whose engine array is absent. The device code and the CPU test both move weights through
     * this, so the test checks the map that runs.
     */
    static void forEachBlock(LstmGeometry g, long[] spaceOffsets, boolean hasBIh, boolean hasBHh, BlockCopy copy) {
        List<WeightBlock> blocks = lstmWeightBlocks(g);
        if (spaceOffsets.length != blocks.size()) {
            throw new IllegalArgumentException("lstm weights: " + spaceOffsets.length + " offsets for " + blocks.size() + " blocks");
        }
        for (int i = 0; i < blocks.size(); i++) {
            WeightBlock b = blocks.get(i);
            if (b.param() == LstmParam.B_IH && !hasBIh || b.param() == LstmParam.B_HH && !hasBHh) continue;
            copy.copy(b.param(), b.engineOffset(), spaceOffsets[i], b.count());
        }
    }
}
