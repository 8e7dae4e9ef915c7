package optlab.kernels.vendor;

import static optlab.kernels.vendor.CudnnArgs.CUDNN_BATCHNORM_SPATIAL;
import static optlab.kernels.vendor.CudnnArgs.CUDNN_CROSS_CORRELATION;
import static optlab.kernels.vendor.CudnnArgs.CUDNN_DATA_FLOAT;
import static optlab.kernels.vendor.CudnnArgs.CUDNN_FMA_MATH;
import static optlab.kernels.vendor.CudnnArgs.CUDNN_FWD_MODE_INFERENCE;
import static optlab.kernels.vendor.CudnnArgs.CUDNN_FWD_MODE_TRAINING;
import static optlab.kernels.vendor.CudnnArgs.CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED;
import static optlab.kernels.vendor.CudnnArgs.CUDNN_TENSOR_NCHW;
import static optlab.kernels.vendor.CudnnArgs.CUDNN_WGRAD_MODE_ADD;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import optlab.kernels.Buffer;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.DType;
import optlab.kernels.LstmGeometry;
import optlab.kernels.Pool2dGeometry;
import optlab.kernels.vendor.CudnnArgs.PoolDescriptor;
import optlab.kernels.vendor.CudnnArgs.WeightBlock;

/**
 * cuDNN 9 through Java's foreign-function API (NOTE [vendor-ffm] in package optlab.kernels.vendor): the legacy
 * descriptor API for convolutions, pooling and batch normalization, and the v8 RNN API for the LSTM. Every
 * call's cudnnStatus_t is checked; a failure names the function, the status (CudnnArgs#statusName) and cuDNN's
 * last error message. Argument values come from {@link CudnnArgs} (NOTE [cudnn-enums]); each family of functions
 * is bound on its first use, so a missing symbol fails only the op that needs it, naming it
 * (NOTE [cudnn9-libraries]).
 *
 * <p>Descriptors and plans are cached per geometry for the life of the process; workspaces, weight spaces and
 * the device copy of the sequence lengths come from the backend's caching allocator per call and are freed
 * after their calls are queued (one stream: NOTE [one-stream]). Nothing here has run on a GPU yet; what needs no
 * GPU has run against real cuDNN 9.24.0 and 9.5.1 libraries on 2026-11-21 (CudnnLibraryTest: every symbol, the
 * version, the status names, a failed call's report, and every descriptor the engine builds read back with
 * cuDNN's Get functions, with cuDNN's own output sizes of convolutions and pooling).
 */
public final class Cudnn9 implements Dnn {
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong J = ValueLayout.JAVA_LONG;
    private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final AddressLayout P = ValueLayout.ADDRESS;
    private static final MemorySegment NULL = MemorySegment.NULL;

    /**
     * cudnnConvolution*AlgoPerf_t: {int algo; int status; float time; size_t memory; int determinism; int mathType; int reserved[3]}:
     * 48 bytes, algo at 0 and status at 4 in all three (sizeof and offsetof compiled against cuDNN 9.24.0's cudnn_cnn.h).
     */
    private static final long PERF_BYTES = 48;
    private static final int MAX_ALGOS = 8;

    /** A cuDNN function: its FFM descriptor and its C prototype, as cuDNN 9's headers declare it. */
    record Signature(String name, FunctionDescriptor descriptor, String prototype) {}

    private static Signature sig(String name, FunctionDescriptor descriptor, String prototype) {
        return new Signature(name, descriptor, prototype);
    }

    /**
     * Every function this binding calls, with the C prototype it was transcribed from (cudnn_graph.h,
     * cudnn_ops.h, cudnn_cnn.h, cudnn_adv.h of cuDNN 9; NVIDIA's API reference gives the same). CudnnArgsTest
     * parses each prototype and checks that the FFM descriptor has the same arguments (int and enums as int;
     * size_t and unsigned long long as long; pointers, handles and descriptors as addresses).
     *
     * <p>Checked on 2026-11-21 against the real headers of cuDNN 9.24.0 (the nvidia-cudnn-cu13 9.24.0.43 wheel:
     * argument count, order and C types, return type, by CudnnLibraryTest#theCudnnPrototypesAreTheHeaders and by
     * the preprocessed headers) and against the exports of libcudnn.so.9 9.24.0 and 9.5.1: all 42 match, every
     * symbol is exported by the shim. Every convolution function, the filter and pooling descriptor functions,
     * pooling and batch norm are marked CUDNN_DEPRECATED in cuDNN 9's headers (the graph API replaces them): still
     * exported and working in 9.24, but a future major version may drop them. The handle, error-string, tensor and
     * dropout descriptor functions and the v8 RNN API are not deprecated.
     */
    static final Map<String, Signature> SIGNATURES;

    static {
        Map<String, Signature> m = new java.util.LinkedHashMap<>();
        for (Signature s : List.of(
            sig("cudnnGetVersion", FunctionDescriptor.of(J),
                    "size_t cudnnGetVersion(void)"),
            sig("cudnnCreate", FunctionDescriptor.of(I, P),
                    "cudnnStatus_t cudnnCreate(cudnnHandle_t *handle)"),
            sig("cudnnSetStream", FunctionDescriptor.of(I, P, P),
                    "cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId)"),
            sig("cudnnGetErrorString", FunctionDescriptor.of(P, I),
                    "const char *cudnnGetErrorString(cudnnStatus_t status)"),
            sig("cudnnGetLastErrorString", FunctionDescriptor.ofVoid(P, J),
                    "void cudnnGetLastErrorString(char *message, size_t max_size)"),
            sig("cudnnCreateTensorDescriptor", FunctionDescriptor.of(I, P),
                    "cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *tensorDesc)"),
            sig("cudnnSetTensor4dDescriptor", FunctionDescriptor.of(I, P, I, I, I, I, I, I),
                    "cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t tensorDesc, cudnnTensorFormat_t format, cudnnDataType_t dataType, int n, int c, int h, int w)"),
            sig("cudnnSetTensorNdDescriptor", FunctionDescriptor.of(I, P, I, I, P, P),
                    "cudnnStatus_t cudnnSetTensorNdDescriptor(cudnnTensorDescriptor_t tensorDesc, cudnnDataType_t dataType, int nbDims, const int dimA[], const int strideA[])"),
            sig("cudnnGetTensorNdDescriptor", FunctionDescriptor.of(I, P, I, P, P, P, P),
                    "cudnnStatus_t cudnnGetTensorNdDescriptor(const cudnnTensorDescriptor_t tensorDesc, int nbDimsRequested, cudnnDataType_t *dataType, int *nbDims, int dimA[], int strideA[])"),
            sig("cudnnCreateFilterDescriptor", FunctionDescriptor.of(I, P),
                    "cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *filterDesc)"),
            sig("cudnnSetFilter4dDescriptor", FunctionDescriptor.of(I, P, I, I, I, I, I, I),
                    "cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t filterDesc, cudnnDataType_t dataType, cudnnTensorFormat_t format, int k, int c, int h, int w)"),
            sig("cudnnCreateConvolutionDescriptor", FunctionDescriptor.of(I, P),
                    "cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *convDesc)"),
            sig("cudnnSetConvolution2dDescriptor", FunctionDescriptor.of(I, P, I, I, I, I, I, I, I, I),
                    "cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t convDesc, int pad_h, int pad_w, int u, int v, int dilation_h, int dilation_w, cudnnConvolutionMode_t mode, cudnnDataType_t computeType)"),
            sig("cudnnSetConvolutionMathType", FunctionDescriptor.of(I, P, I),
                    "cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc, cudnnMathType_t mathType)"),
            sig("cudnnGetConvolutionForwardAlgorithm_v7", FunctionDescriptor.of(I, P, P, P, P, P, I, P, P),
                    "cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc, const cudnnFilterDescriptor_t filterDesc, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t destDesc, const int requestedAlgoCount, int *returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t *perfResults)"),
            sig("cudnnGetConvolutionBackwardDataAlgorithm_v7", FunctionDescriptor.of(I, P, P, P, P, P, I, P, P),
                    "cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t handle, const cudnnFilterDescriptor_t filterDesc, const cudnnTensorDescriptor_t diffDesc, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t gradDesc, const int requestedAlgoCount, int *returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t *perfResults)"),
            sig("cudnnGetConvolutionBackwardFilterAlgorithm_v7", FunctionDescriptor.of(I, P, P, P, P, P, I, P, P),
                    "cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc, const cudnnTensorDescriptor_t diffDesc, const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t gradDesc, const int requestedAlgoCount, int *returnedAlgoCount, cudnnConvolutionBwdFilterAlgoPerf_t *perfResults)"),
            sig("cudnnGetConvolutionForwardWorkspaceSize", FunctionDescriptor.of(I, P, P, P, P, P, I, P),
                    "cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const cudnnFilterDescriptor_t wDesc, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc, cudnnConvolutionFwdAlgo_t algo, size_t *sizeInBytes)"),
            sig("cudnnGetConvolutionBackwardDataWorkspaceSize", FunctionDescriptor.of(I, P, P, P, P, P, I, P),
                    "cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc, const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc, cudnnConvolutionBwdDataAlgo_t algo, size_t *sizeInBytes)"),
            sig("cudnnGetConvolutionBackwardFilterWorkspaceSize", FunctionDescriptor.of(I, P, P, P, P, P, I, P),
                    "cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t gradDesc, cudnnConvolutionBwdFilterAlgo_t algo, size_t *sizeInBytes)"),
            sig("cudnnConvolutionForward", FunctionDescriptor.of(I, P, P, P, P, P, P, P, I, P, J, P, P, P),
                    "cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo, void *workSpace, size_t workSpaceSizeInBytes, const void *beta, const cudnnTensorDescriptor_t yDesc, void *y)"),
            sig("cudnnConvolutionBackwardData", FunctionDescriptor.of(I, P, P, P, P, P, P, P, I, P, J, P, P, P),
                    "cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void *alpha, const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnTensorDescriptor_t dyDesc, const void *dy, const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionBwdDataAlgo_t algo, void *workSpace, size_t workSpaceSizeInBytes, const void *beta, const cudnnTensorDescriptor_t dxDesc, void *dx)"),
            sig("cudnnConvolutionBackwardFilter", FunctionDescriptor.of(I, P, P, P, P, P, P, P, I, P, J, P, P, P),
                    "cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t dyDesc, const void *dy, const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionBwdFilterAlgo_t algo, void *workSpace, size_t workSpaceSizeInBytes, const void *beta, const cudnnFilterDescriptor_t dwDesc, void *dw)"),
            sig("cudnnCreatePoolingDescriptor", FunctionDescriptor.of(I, P),
                    "cudnnStatus_t cudnnCreatePoolingDescriptor(cudnnPoolingDescriptor_t *poolingDesc)"),
            sig("cudnnSetPooling2dDescriptor", FunctionDescriptor.of(I, P, I, I, I, I, I, I, I, I),
                    "cudnnStatus_t cudnnSetPooling2dDescriptor(cudnnPoolingDescriptor_t poolingDesc, cudnnPoolingMode_t mode, cudnnNanPropagation_t maxpoolingNanOpt, int windowHeight, int windowWidth, int verticalPadding, int horizontalPadding, int verticalStride, int horizontalStride)"),
            sig("cudnnPoolingForward", FunctionDescriptor.of(I, P, P, P, P, P, P, P, P),
                    "cudnnStatus_t cudnnPoolingForward(cudnnHandle_t handle, const cudnnPoolingDescriptor_t poolingDesc, const void *alpha, const cudnnTensorDescriptor_t xDesc, const void *x, const void *beta, const cudnnTensorDescriptor_t yDesc, void *y)"),
            sig("cudnnPoolingBackward", FunctionDescriptor.of(I, P, P, P, P, P, P, P, P, P, P, P, P),
                    "cudnnStatus_t cudnnPoolingBackward(cudnnHandle_t handle, const cudnnPoolingDescriptor_t poolingDesc, const void *alpha, const cudnnTensorDescriptor_t yDesc, const void *y, const cudnnTensorDescriptor_t dyDesc, const void *dy, const cudnnTensorDescriptor_t xDesc, const void *x, const void *beta, const cudnnTensorDescriptor_t dxDesc, void *dx)"),
            sig("cudnnBatchNormalizationForwardTraining", FunctionDescriptor.of(I, P, I, P, P, P, P, P, P, P, P, P, D, P, P, D, P, P),
                    "cudnnStatus_t cudnnBatchNormalizationForwardTraining(cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void *alpha, const void *beta, const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t yDesc, void *y, const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void *bnScale, const void *bnBias, double exponentialAverageFactor, void *resultRunningMean, void *resultRunningVariance, double epsilon, void *resultSaveMean, void *resultSaveInvVariance)"),
            sig("cudnnBatchNormalizationForwardInference", FunctionDescriptor.of(I, P, I, P, P, P, P, P, P, P, P, P, P, P, D),
                    "cudnnStatus_t cudnnBatchNormalizationForwardInference(cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void *alpha, const void *beta, const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t yDesc, void *y, const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void *bnScale, const void *bnBias, const void *estimatedMean, const void *estimatedVariance, double epsilon)"),
            sig("cudnnBatchNormalizationBackward", FunctionDescriptor.of(I, P, I, P, P, P, P, P, P, P, P, P, P, P, P, P, P, D, P, P),
                    "cudnnStatus_t cudnnBatchNormalizationBackward(cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void *alphaDataDiff, const void *betaDataDiff, const void *alphaParamDiff, const void *betaParamDiff, const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t dyDesc, const void *dy, const cudnnTensorDescriptor_t dxDesc, void *dx, const cudnnTensorDescriptor_t dBnScaleBiasDesc, const void *bnScale, void *dBnScaleResult, void *dBnBiasResult, double epsilon, const void *savedMean, const void *savedInvVariance)"),
            sig("cudnnCreateDropoutDescriptor", FunctionDescriptor.of(I, P),
                    "cudnnStatus_t cudnnCreateDropoutDescriptor(cudnnDropoutDescriptor_t *dropoutDesc)"),
            sig("cudnnSetDropoutDescriptor", FunctionDescriptor.of(I, P, P, F, P, J, J),
                    "cudnnStatus_t cudnnSetDropoutDescriptor(cudnnDropoutDescriptor_t dropoutDesc, cudnnHandle_t handle, float dropout, void *states, size_t stateSizeInBytes, unsigned long long seed)"),
            sig("cudnnCreateRNNDescriptor", FunctionDescriptor.of(I, P),
                    "cudnnStatus_t cudnnCreateRNNDescriptor(cudnnRNNDescriptor_t *rnnDesc)"),
            sig("cudnnSetRNNDescriptor_v8", FunctionDescriptor.of(I, P, I, I, I, I, I, I, I, I, I, I, I, I, P, I),
                    "cudnnStatus_t cudnnSetRNNDescriptor_v8(cudnnRNNDescriptor_t rnnDesc, cudnnRNNAlgo_t algo, cudnnRNNMode_t cellMode, cudnnRNNBiasMode_t biasMode, cudnnDirectionMode_t dirMode, cudnnRNNInputMode_t inputMode, cudnnDataType_t dataType, cudnnDataType_t mathPrec, cudnnMathType_t mathType, int32_t inputSize, int32_t hiddenSize, int32_t projSize, int32_t numLayers, cudnnDropoutDescriptor_t dropoutDesc, uint32_t auxFlags)"),
            sig("cudnnCreateRNNDataDescriptor", FunctionDescriptor.of(I, P),
                    "cudnnStatus_t cudnnCreateRNNDataDescriptor(cudnnRNNDataDescriptor_t *rnnDataDesc)"),
            sig("cudnnSetRNNDataDescriptor", FunctionDescriptor.of(I, P, I, I, I, I, I, P, P),
                    "cudnnStatus_t cudnnSetRNNDataDescriptor(cudnnRNNDataDescriptor_t rnnDataDesc, cudnnDataType_t dataType, cudnnRNNDataLayout_t layout, int maxSeqLength, int batchSize, int vectorSize, const int seqLengthArray[], void *paddingFill)"),
            sig("cudnnGetRNNWeightSpaceSize", FunctionDescriptor.of(I, P, P, P),
                    "cudnnStatus_t cudnnGetRNNWeightSpaceSize(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc, size_t *weightSpaceSize)"),
            sig("cudnnGetRNNWeightParams", FunctionDescriptor.of(I, P, P, I, J, P, I, P, P, P, P),
                    "cudnnStatus_t cudnnGetRNNWeightParams(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc, int32_t pseudoLayer, size_t weightSpaceSize, const void *weightSpace, int32_t linLayerID, cudnnTensorDescriptor_t mDesc, void **mAddr, cudnnTensorDescriptor_t bDesc, void **bAddr)"),
            sig("cudnnGetRNNTempSpaceSizes", FunctionDescriptor.of(I, P, P, I, P, P, P),
                    "cudnnStatus_t cudnnGetRNNTempSpaceSizes(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc, cudnnForwardMode_t fwdMode, cudnnRNNDataDescriptor_t xDesc, size_t *workSpaceSize, size_t *reserveSpaceSize)"),
            sig("cudnnRNNForward", FunctionDescriptor.of(I, P, P, I, P, P, P, P, P, P, P, P, P, P, P, J, P, J, P, J, P),
                    "cudnnStatus_t cudnnRNNForward(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc, cudnnForwardMode_t fwdMode, const int32_t devSeqLengths[], cudnnRNNDataDescriptor_t xDesc, const void *x, cudnnRNNDataDescriptor_t yDesc, void *y, cudnnTensorDescriptor_t hDesc, const void *hx, void *hy, cudnnTensorDescriptor_t cDesc, const void *cx, void *cy, size_t weightSpaceSize, const void *weightSpace, size_t workSpaceSize, void *workSpace, size_t reserveSpaceSize, void *reserveSpace)"),
            sig("cudnnRNNBackwardData_v8", FunctionDescriptor.of(I, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, J, P, J, P, J, P),
                    "cudnnStatus_t cudnnRNNBackwardData_v8(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc, const int32_t devSeqLengths[], cudnnRNNDataDescriptor_t yDesc, const void *y, const void *dy, cudnnRNNDataDescriptor_t xDesc, void *dx, cudnnTensorDescriptor_t hDesc, const void *hx, const void *dhy, void *dhx, cudnnTensorDescriptor_t cDesc, const void *cx, const void *dcy, void *dcx, size_t weightSpaceSize, const void *weightSpace, size_t workSpaceSize, void *workSpace, size_t reserveSpaceSize, void *reserveSpace)"),
            sig("cudnnRNNBackwardWeights_v8", FunctionDescriptor.of(I, P, P, I, P, P, P, P, P, P, P, J, P, J, P, J, P),
                    "cudnnStatus_t cudnnRNNBackwardWeights_v8(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc, cudnnWgradMode_t addGrad, const int32_t devSeqLengths[], cudnnRNNDataDescriptor_t xDesc, const void *x, cudnnTensorDescriptor_t hDesc, const void *hx, cudnnRNNDataDescriptor_t yDesc, const void *y, size_t weightSpaceSize, void *dweightSpace, size_t workSpaceSize, void *workSpace, size_t reserveSpaceSize, void *reserveSpace)"))) m.put(s.name(), s);
        SIGNATURES = java.util.Collections.unmodifiableMap(m);
    }

    /** A downcall handle for {@code name} with its descriptor from {@link #SIGNATURES}. */
    MethodHandle fn(String name) {
        Signature s = SIGNATURES.get(name);
        if (s == null) throw new IllegalArgumentException("Cudnn9: no signature for " + name);
        return lib.function(name, s.descriptor());
    }

    private final CudnnLibraries lib;
    private final long version;
    private final MethodHandle create, setStream, errorString, lastErrorString, createTensor, setTensor4d;
    private final Map<Integer, MemorySegment> handles = new HashMap<>();

    Cudnn9(NativeLibrary shim) throws Throwable {
        lib = new CudnnLibraries(shim);
        // cudnn_graph.h: size_t cudnnGetVersion(void)
        version = (long) fn("cudnnGetVersion").invokeExact();
        if (version < 90000) {
            throw new IllegalStateException(shim.where() + " reports cuDNN version " + version + "; this binding is for cuDNN 9 (90000 or newer)");
        }
        // cudnn_graph.h: cudnnCreate(cudnnHandle_t*), cudnnSetStream(handle, cudaStream_t),
        // const char* cudnnGetErrorString(cudnnStatus_t), void cudnnGetLastErrorString(char* message, size_t max_size)
        create = fn("cudnnCreate");
        setStream = fn("cudnnSetStream");
        errorString = fn("cudnnGetErrorString");
        lastErrorString = lib.has("cudnnGetLastErrorString") ? fn("cudnnGetLastErrorString") : null;
        // cudnn_ops.h: cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t*),
        // cudnnSetTensor4dDescriptor(desc, cudnnTensorFormat_t format, cudnnDataType_t dataType, int n, int c, int h, int w)
        createTensor = fn("cudnnCreateTensorDescriptor");
        setTensor4d = fn("cudnnSetTensor4dDescriptor");
    }

    @Override
    public String description() {
        return "FFM binding of " + lib.shim.where() + ", cuDNN version " + version + " (" + version / 10000 + "." + (version / 100) % 100
                + "." + version % 100 + "); " + lib.origins();
    }

    // ------------------------------------------------------------------------------------------------
    // Status checks, handles, descriptors
    // ------------------------------------------------------------------------------------------------

    private static MemorySegment at(long address) {
        return address == 0 ? NULL : MemorySegment.ofAddress(address);
    }

    private static final Map<String, java.util.concurrent.atomic.LongAdder> CALLS = new java.util.concurrent.ConcurrentHashMap<>();

    /** How many calls of {@code function} this process has made and checked (tests use it to see that cuDNN ran). */
    public static long calls(String function) {
        java.util.concurrent.atomic.LongAdder a = CALLS.get(function);
        return a == null ? 0 : a.sum();
    }

    /** Throws naming {@code function} and the status unless {@code status} is CUDNN_STATUS_SUCCESS. */
    void check(String function, int status) {
        CALLS.computeIfAbsent(function, f -> new java.util.concurrent.atomic.LongAdder()).increment();
        if (status == 0) return;
        String last = null;
        if (lastErrorString != null) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(1024);
                lastErrorString.invokeExact(buf, 1024L);
                last = buf.getString(0);
            } catch (Throwable e) {
                last = null;
            }
        }
        String vendorName = null;
        try {
            vendorName = ((MemorySegment) errorString.invokeExact(status)).reinterpret(256).getString(0);
        } catch (Throwable e) {
            // the table's name is enough
        }
        String message = CudnnArgs.failure(function, status, last);
        if (vendorName != null && !vendorName.equals(CudnnArgs.statusName(status))) message += " [cudnnGetErrorString: " + vendorName + "]";
        throw new IllegalStateException("cuDNN: " + message);
    }

    private MemorySegment handle(VendorContext be) throws Throwable {
        be.enterDevice();
        synchronized (handles) {
            MemorySegment h = handles.get(be.deviceIndex());
            if (h == null) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment out = arena.allocate(P);
                    check("cudnnCreate", (int) create.invokeExact(out));
                    h = out.get(P, 0);
                }
                check("cudnnSetStream", (int) setStream.invokeExact(h, at(be.streamAddress())));
                handles.put(be.deviceIndex(), h);
            }
            return h;
        }
    }

    MemorySegment descriptor(MethodHandle creator, String what) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(P);
            check(what, (int) creator.invokeExact(out));
            return out.get(P, 0);
        }
    }

    MemorySegment tensor4d(int[] nchw, String what) throws Throwable {
        MemorySegment t = descriptor(createTensor, "cudnnCreateTensorDescriptor");
        check("cudnnSetTensor4dDescriptor(" + what + ")",
                (int) setTensor4d.invokeExact(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, nchw[0], nchw[1], nchw[2], nchw[3]));
        return t;
    }

    private static Buffer scratch(VendorContext be, long bytes) {
        if ((bytes + 3) / 4 > Integer.MAX_VALUE) throw new IllegalStateException("cuDNN asked for " + bytes + " bytes of scratch, more than a buffer holds");
        return be.allocate(DType.FLOAT32, (int) Math.max(1, (bytes + 3) / 4));
    }

    /** Runs a body that may throw anything, wrapping checked throwables with the function's name. */
    private interface Body {
        void run(Arena arena) throws Throwable;
    }

    private static void call(String what, Body body) {
        try (Arena arena = Arena.ofConfined()) {
            body.run(arena);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("cuDNN " + what + " failed: " + e, e);
        }
    }

    private static MemorySegment one(Arena arena) {
        return arena.allocateFrom(F, 1f);
    }

    private static MemorySegment zero(Arena arena) {
        return arena.allocateFrom(F, 0f);
    }

    // ------------------------------------------------------------------------------------------------
    // Convolutions
    // ------------------------------------------------------------------------------------------------

    /**
     * Convolutions: NCHW FLOAT32 tensors, cross-correlation, CUDNN_FMA_MATH (no TF32, so results compare with the
     * own kernels at FP32 tolerance), algorithms from the cudnnGet*Algorithm_v7 heuristics (the first one that
     * reports success), workspaces from the backend's caching allocator.
     */
    final class ConvFns {
        final MethodHandle createFilter, setFilter4d, createConv, setConv2d, setConvMath, fwdAlgo, bwdDataAlgo, bwdFilterAlgo, fwdWs,
                bwdDataWs, bwdFilterWs, fwd, bwdData, bwdFilter;
        final Map<Conv2dGeometry, ConvPlan> plans = new HashMap<>();

        ConvFns() {
            createFilter = fn("cudnnCreateFilterDescriptor");
            setFilter4d = fn("cudnnSetFilter4dDescriptor");
            createConv = fn("cudnnCreateConvolutionDescriptor");
            setConv2d = fn("cudnnSetConvolution2dDescriptor");
            setConvMath = fn("cudnnSetConvolutionMathType");
            fwdAlgo = fn("cudnnGetConvolutionForwardAlgorithm_v7");
            bwdDataAlgo = fn("cudnnGetConvolutionBackwardDataAlgorithm_v7");
            bwdFilterAlgo = fn("cudnnGetConvolutionBackwardFilterAlgorithm_v7");
            fwdWs = fn("cudnnGetConvolutionForwardWorkspaceSize");
            bwdDataWs = fn("cudnnGetConvolutionBackwardDataWorkspaceSize");
            bwdFilterWs = fn("cudnnGetConvolutionBackwardFilterWorkspaceSize");
            // (handle, *alpha, xDesc, x, wDesc, w, convDesc, algo, ws, wsBytes, *beta, yDesc, y)
            fwd = fn("cudnnConvolutionForward");
            bwdData = fn("cudnnConvolutionBackwardData");
            bwdFilter = fn("cudnnConvolutionBackwardFilter");
        }
    }

    private record ConvPlan(MemorySegment x, MemorySegment w, MemorySegment y, MemorySegment conv,
                            int fwdAlgo, long fwdWs, int bwdDataAlgo, long bwdDataWs, int bwdFilterAlgo, long bwdFilterWs) {}

    private ConvFns convFns;

    synchronized ConvFns conv() {
        if (convFns == null) convFns = new ConvFns();
        return convFns;
    }

    /** The first algorithm whose heuristic entry reports success. */
    private int pick(MethodHandle heuristic, MemorySegment h, MemorySegment a, MemorySegment b, MemorySegment conv,
                     MemorySegment c, String what) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(I);
            MemorySegment perf = arena.allocate(PERF_BYTES * MAX_ALGOS, 8);
            check(what, (int) heuristic.invokeExact(h, a, b, conv, c, MAX_ALGOS, count, perf));
            for (int i = 0; i < count.get(I, 0); i++) {
                long base = i * PERF_BYTES;
                if (perf.get(I, base + 4) == 0) return perf.get(I, base);
            }
            throw new IllegalStateException("cuDNN " + what + ": no algorithm reports success for this convolution");
        }
    }

    private long workspace(MethodHandle size, MemorySegment h, MemorySegment a, MemorySegment b, MemorySegment conv,
                           MemorySegment c, int algo, String what) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(J);
            check(what, (int) size.invokeExact(h, a, b, conv, c, algo, out));
            return out.get(J, 0);
        }
    }

    /** A convolution's descriptors: x, w, y and the convolution itself. */
    record ConvDescriptors(MemorySegment x, MemorySegment w, MemorySegment y, MemorySegment conv) {}

    /**
     * The descriptors of a convolution, which need no handle (so CudnnLibraryTest builds them with a real cuDNN on a
     * machine without a GPU and reads them back). Not cached: {@link #convPlan} caches them with the algorithms.
     */
    ConvDescriptors convDescriptors(ConvFns f, Conv2dGeometry g) throws Throwable {
        MemorySegment x = tensor4d(new int[] {g.n(), g.c(), g.h(), g.w()}, "x");
        MemorySegment y = tensor4d(new int[] {g.n(), g.k(), g.p(), g.q()}, "y");
        MemorySegment w = descriptor(f.createFilter, "cudnnCreateFilterDescriptor");
        MemorySegment conv = descriptor(f.createConv, "cudnnCreateConvolutionDescriptor");
        check("cudnnSetFilter4dDescriptor", (int) f.setFilter4d.invokeExact(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, g.k(), g.c(), g.r(), g.s()));
        check("cudnnSetConvolution2dDescriptor", (int) f.setConv2d.invokeExact(conv, g.padH(), g.padW(), g.strideH(), g.strideW(),
                1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
        check("cudnnSetConvolutionMathType", (int) f.setConvMath.invokeExact(conv, CUDNN_FMA_MATH));
        return new ConvDescriptors(x, w, y, conv);
    }

    private ConvPlan convPlan(VendorContext be, Conv2dGeometry g) throws Throwable {
        ConvFns f = conv();
        synchronized (f) {
            ConvPlan p = f.plans.get(g);
            if (p != null) return p;
            MemorySegment h = handle(be);
            ConvDescriptors d = convDescriptors(f, g);
            MemorySegment x = d.x(), w = d.w(), y = d.y(), conv = d.conv();
            int fa = pick(f.fwdAlgo, h, x, w, conv, y, "cudnnGetConvolutionForwardAlgorithm_v7");
            int da = pick(f.bwdDataAlgo, h, w, y, conv, x, "cudnnGetConvolutionBackwardDataAlgorithm_v7");
            int wa = pick(f.bwdFilterAlgo, h, x, y, conv, w, "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
            p = new ConvPlan(x, w, y, conv, fa, workspace(f.fwdWs, h, x, w, conv, y, fa, "cudnnGetConvolutionForwardWorkspaceSize"),
                    da, workspace(f.bwdDataWs, h, w, y, conv, x, da, "cudnnGetConvolutionBackwardDataWorkspaceSize"),
                    wa, workspace(f.bwdFilterWs, h, x, y, conv, w, wa, "cudnnGetConvolutionBackwardFilterWorkspaceSize"));
            f.plans.put(g, p);
            return p;
        }
    }

    private interface ConvCall {
        int run(MemorySegment h, ConvPlan p, MemorySegment alpha, MemorySegment beta, MemorySegment ws, long wsBytes) throws Throwable;
    }

    private void convRun(VendorContext be, Conv2dGeometry g, String what, java.util.function.ToLongFunction<ConvPlan> wsBytes, ConvCall c) {
        call(what, arena -> {
            ConvPlan p = convPlan(be, g);
            MemorySegment h = handle(be);
            long bytes = wsBytes.applyAsLong(p);
            try (Buffer ws = scratch(be, bytes)) {
                check(what, c.run(h, p, one(arena), zero(arena), at(be.address(ws.ptr())), bytes));
            }
        });
    }

    @Override
    public void convForward(VendorContext be, Conv2dGeometry g, long x, long w, long y) {
        ConvFns f = conv();
        convRun(be, g, "cudnnConvolutionForward", ConvPlan::fwdWs, (h, p, al, bt, ws, n) ->
                (int) f.fwd.invokeExact(h, al, p.x(), at(x), p.w(), at(w), p.conv(), p.fwdAlgo(), ws, n, bt, p.y(), at(y)));
    }

    @Override
    public void convBackwardData(VendorContext be, Conv2dGeometry g, long dy, long w, long dx) {
        ConvFns f = conv();
        convRun(be, g, "cudnnConvolutionBackwardData", ConvPlan::bwdDataWs, (h, p, al, bt, ws, n) ->
                (int) f.bwdData.invokeExact(h, al, p.w(), at(w), p.y(), at(dy), p.conv(), p.bwdDataAlgo(), ws, n, bt, p.x(), at(dx)));
    }

    @Override
    public void convBackwardFilter(VendorContext be, Conv2dGeometry g, long x, long dy, long dw) {
        ConvFns f = conv();
        convRun(be, g, "cudnnConvolutionBackwardFilter", ConvPlan::bwdFilterWs, (h, p, al, bt, ws, n) ->
                (int) f.bwdFilter.invokeExact(h, al, p.x(), at(x), p.y(), at(dy), p.conv(), p.bwdFilterAlgo(), ws, n, bt, p.w(), at(dw)));
    }

    // ------------------------------------------------------------------------------------------------
    // Pooling (cudnn_ops.h)
    // ------------------------------------------------------------------------------------------------

    final class PoolFns {
        final MethodHandle createPooling, setPooling2d, forward, backward;
        final Map<List<Object>, PoolPlan> plans = new HashMap<>();

        PoolFns() {
            // cudnnCreatePoolingDescriptor(cudnnPoolingDescriptor_t*)
            createPooling = fn("cudnnCreatePoolingDescriptor");
            // cudnnSetPooling2dDescriptor(desc, cudnnPoolingMode_t mode, cudnnNanPropagation_t maxpoolingNanOpt,
            //     int windowHeight, int windowWidth, int verticalPadding, int horizontalPadding, int verticalStride, int horizontalStride)
            setPooling2d = fn("cudnnSetPooling2dDescriptor");
            // cudnnPoolingForward(handle, poolingDesc, const void* alpha, xDesc, const void* x, const void* beta, yDesc, void* y)
            forward = fn("cudnnPoolingForward");
            // cudnnPoolingBackward(handle, poolingDesc, alpha, yDesc, y, dyDesc, dy, xDesc, x, beta, dxDesc, dx)
            backward = fn("cudnnPoolingBackward");
        }
    }

    record PoolPlan(MemorySegment pool, MemorySegment x, MemorySegment y) {}

    private PoolFns poolFns;

    synchronized PoolFns pool() {
        if (poolFns == null) poolFns = new PoolFns();
        return poolFns;
    }

    PoolPlan poolPlan(PoolFns f, Pool2dGeometry g, PoolKind kind) throws Throwable {
        synchronized (f) {
            List<Object> key = List.of(g, kind);
            PoolPlan p = f.plans.get(key);
            if (p != null) return p;
            PoolDescriptor d = CudnnArgs.pooling(g, kind);
            MemorySegment pd = descriptor(f.createPooling, "cudnnCreatePoolingDescriptor");
            check("cudnnSetPooling2dDescriptor", (int) f.setPooling2d.invokeExact(pd, d.mode(), d.nanOpt(), d.windowH(), d.windowW(),
                    d.padH(), d.padW(), d.strideH(), d.strideW()));
            p = new PoolPlan(pd, tensor4d(CudnnArgs.poolInputDims(g), "pooling x"), tensor4d(CudnnArgs.poolOutputDims(g), "pooling y"));
            f.plans.put(key, p);
            return p;
        }
    }

    @Override
    public void poolForward(VendorContext be, Pool2dGeometry g, PoolKind kind, long x, long y) {
        PoolFns f = pool();
        call("cudnnPoolingForward", arena -> {
            PoolPlan p = poolPlan(f, g, kind);
            check("cudnnPoolingForward", (int) f.forward.invokeExact(handle(be), p.pool(), one(arena), p.x(), at(x), zero(arena), p.y(), at(y)));
        });
    }

    /**
     * For the averages the engine's backward has neither x nor y (the contract's avgPool2dBackward): dy and dx
     * stand in for them, with the right descriptors. cuDNN's average backward spreads dy over each window and
     * reads neither (its max modes do, and get the real ones).
     */
    @Override
    public void poolBackward(VendorContext be, Pool2dGeometry g, PoolKind kind, long x, long y, long dy, long dx) {
        PoolFns f = pool();
        long xs = kind == PoolKind.MAX ? x : dx, ys = kind == PoolKind.MAX ? y : dy;
        call("cudnnPoolingBackward", arena -> {
            PoolPlan p = poolPlan(f, g, kind);
            check("cudnnPoolingBackward", (int) f.backward.invokeExact(handle(be), p.pool(), one(arena), p.y(), at(ys), p.y(), at(dy),
                    p.x(), at(xs), zero(arena), p.x(), at(dx)));
        });
    }

    // ------------------------------------------------------------------------------------------------
    // Batch normalization (cudnn_ops.h), CUDNN_BATCHNORM_SPATIAL
    // ------------------------------------------------------------------------------------------------

    final class BnFns {
        final MethodHandle forwardTraining, forwardInference, backward;
        final Map<List<Integer>, BnPlan> plans = new HashMap<>();

        BnFns() {
            // cudnnBatchNormalizationForwardTraining(handle, cudnnBatchNormMode_t mode, const void* alpha, const void* beta,
            //     xDesc, const void* x, yDesc, void* y, bnScaleBiasMeanVarDesc, const void* bnScale, const void* bnBias,
            //     double exponentialAverageFactor, void* resultRunningMean, void* resultRunningVariance, double epsilon,
            //     void* resultSaveMean, void* resultSaveInvVariance)
            forwardTraining = fn("cudnnBatchNormalizationForwardTraining");
            // cudnnBatchNormalizationForwardInference(handle, mode, alpha, beta, xDesc, x, yDesc, y, bnScaleBiasMeanVarDesc,
            //     bnScale, bnBias, const void* estimatedMean, const void* estimatedVariance, double epsilon)
            forwardInference = fn("cudnnBatchNormalizationForwardInference");
            // cudnnBatchNormalizationBackward(handle, mode, alphaDataDiff, betaDataDiff, alphaParamDiff, betaParamDiff,
            //     xDesc, x, dyDesc, dy, dxDesc, dx, bnScaleBiasDiffDesc, bnScale, resultBnScaleDiff, resultBnBiasDiff,
            //     double epsilon, const void* savedMean, const void* savedInvVariance)
            backward = fn("cudnnBatchNormalizationBackward");
        }
    }

    record BnPlan(MemorySegment x, MemorySegment param) {}

    private BnFns bnFns;

    synchronized BnFns bn() {
        if (bnFns == null) bnFns = new BnFns();
        return bnFns;
    }

    BnPlan bnPlan(BnFns f, int n, int c, int hw) throws Throwable {
        synchronized (f) {
            List<Integer> key = List.of(n, c, hw);
            BnPlan p = f.plans.get(key);
            if (p != null) return p;
            p = new BnPlan(tensor4d(CudnnArgs.bnDataDims(n, c, hw), "batch norm x"), tensor4d(CudnnArgs.bnParamDims(c), "batch norm parameters"));
            f.plans.put(key, p);
            return p;
        }
    }

    /** NOTE [bn-running-stats] in CudnnArgs: the factor is the engine's momentum; a null running pair is NULL, NULL. */
    @Override
    public void bnForwardTraining(VendorContext be, int n, int c, int hw, long x, long gamma, long beta, double eps, double momentum,
                                  long runningMean, long runningVar, long y, long saveMean, long saveInvStd) {
        String op = "batchNormForwardTraining";
        double epsilon = CudnnArgs.bnEpsilon(op, eps), factor = CudnnArgs.bnExponentialAverageFactor(op, momentum);
        BnFns f = bn();
        call("cudnnBatchNormalizationForwardTraining", arena -> {
            BnPlan p = bnPlan(f, n, c, hw);
            check("cudnnBatchNormalizationForwardTraining", (int) f.forwardTraining.invokeExact(handle(be), CUDNN_BATCHNORM_SPATIAL,
                    one(arena), zero(arena), p.x(), at(x), p.x(), at(y), p.param(), at(gamma), at(beta), factor, at(runningMean),
                    at(runningVar), epsilon, at(saveMean), at(saveInvStd)));
        });
    }

    @Override
    public void bnForwardInference(VendorContext be, int n, int c, int hw, long x, long gamma, long beta, long runningMean,
                                   long runningVar, double eps, long y) {
        double epsilon = CudnnArgs.bnEpsilon("batchNormForwardInference", eps);
        BnFns f = bn();
        call("cudnnBatchNormalizationForwardInference", arena -> {
            BnPlan p = bnPlan(f, n, c, hw);
            check("cudnnBatchNormalizationForwardInference", (int) f.forwardInference.invokeExact(handle(be), CUDNN_BATCHNORM_SPATIAL,
                    one(arena), zero(arena), p.x(), at(x), p.x(), at(y), p.param(), at(gamma), at(beta), at(runningMean), at(runningVar),
                    epsilon));
        });
    }

    /**
     * The engine's backward has no epsilon (Backend#batchNormBackward): it gives the saved mean and inverse
     * standard deviation, and cuDNN uses those when both are given (its recomputation from x, the only use of
     * epsilon in the backward, happens when they are NULL). CUDNN_BN_MIN_EPSILON is passed to satisfy the check.
     * The GPU conformance test runs the forward with epsilon 1e-5 and would see a difference if cuDNN used it here.
     */
    @Override
    public void bnBackward(VendorContext be, int n, int c, int hw, long x, long dy, long gamma, long saveMean, long saveInvStd,
                           long dx, long dgamma, long dbeta) {
        BnFns f = bn();
        call("cudnnBatchNormalizationBackward", arena -> {
            BnPlan p = bnPlan(f, n, c, hw);
            MemorySegment one = one(arena), zero = zero(arena);
            check("cudnnBatchNormalizationBackward", (int) f.backward.invokeExact(handle(be), CUDNN_BATCHNORM_SPATIAL, one, zero, one,
                    zero, p.x(), at(x), p.x(), at(dy), p.x(), at(dx), p.param(), at(gamma), at(dgamma), at(dbeta),
                    CudnnArgs.CUDNN_BN_MIN_EPSILON, at(saveMean), at(saveInvStd)));
        });
    }

    // ------------------------------------------------------------------------------------------------
    // LSTM: the v8 RNN API (cudnn_adv.h; the dropout descriptor is cudnn_ops.h's)
    // ------------------------------------------------------------------------------------------------

    final class RnnFns {
        final MethodHandle createDropout, setDropout, createRnn, setRnn, createData, setData, setTensorNd, getTensorNd, weightSpaceSize,
                weightParams, tempSpaceSizes, forward, backwardData, backwardWeights;
        final Map<LstmGeometry, RnnPlan> plans = new HashMap<>();

        RnnFns() {
            // cudnnCreateDropoutDescriptor(cudnnDropoutDescriptor_t*); cudnnSetDropoutDescriptor(desc, handle, float dropout,
            //     void* states, size_t stateSizeInBytes, unsigned long long seed)
            createDropout = fn("cudnnCreateDropoutDescriptor");
            setDropout = fn("cudnnSetDropoutDescriptor");
            // cudnnCreateRNNDescriptor(cudnnRNNDescriptor_t*)
            createRnn = fn("cudnnCreateRNNDescriptor");
            // cudnnSetRNNDescriptor_v8(rnnDesc, cudnnRNNAlgo_t algo, cudnnRNNMode_t cellMode, cudnnRNNBiasMode_t biasMode,
            //     cudnnDirectionMode_t dirMode, cudnnRNNInputMode_t inputMode, cudnnDataType_t dataType, cudnnDataType_t mathPrec,
            //     cudnnMathType_t mathType, int32_t inputSize, int32_t hiddenSize, int32_t projSize, int32_t numLayers,
            //     cudnnDropoutDescriptor_t dropoutDesc, uint32_t auxFlags)
            setRnn = fn("cudnnSetRNNDescriptor_v8");
            // cudnnCreateRNNDataDescriptor(cudnnRNNDataDescriptor_t*); cudnnSetRNNDataDescriptor(desc, cudnnDataType_t dataType,
            //     cudnnRNNDataLayout_t layout, int maxSeqLength, int batchSize, int vectorSize, const int seqLengthArray[],
            //     void* paddingFill)
            createData = fn("cudnnCreateRNNDataDescriptor");
            setData = fn("cudnnSetRNNDataDescriptor");
            // cudnnSetTensorNdDescriptor(desc, cudnnDataType_t dataType, int nbDims, const int dimA[], const int strideA[])
            setTensorNd = fn("cudnnSetTensorNdDescriptor");
            // cudnnGetTensorNdDescriptor(desc, int nbDimsRequested, cudnnDataType_t* dataType, int* nbDims, int dimA[], int strideA[])
            getTensorNd = fn("cudnnGetTensorNdDescriptor");
            // cudnnGetRNNWeightSpaceSize(handle, rnnDesc, size_t* weightSpaceSize)
            weightSpaceSize = fn("cudnnGetRNNWeightSpaceSize");
            // cudnnGetRNNWeightParams(handle, rnnDesc, int32_t pseudoLayer, size_t weightSpaceSize, const void* weightSpace,
            //     int32_t linLayerID, cudnnTensorDescriptor_t mDesc, void** mAddr, cudnnTensorDescriptor_t bDesc, void** bAddr)
            weightParams = fn("cudnnGetRNNWeightParams");
            // cudnnGetRNNTempSpaceSizes(handle, rnnDesc, cudnnForwardMode_t fwdMode, cudnnRNNDataDescriptor_t xDesc,
            //     size_t* workSpaceSize, size_t* reserveSpaceSize)
            tempSpaceSizes = fn("cudnnGetRNNTempSpaceSizes");
            // cudnnRNNForward(handle, rnnDesc, cudnnForwardMode_t fwdMode, const int32_t devSeqLengths[], xDesc, const void* x,
            //     yDesc, void* y, hDesc, const void* hx, void* hy, cDesc, const void* cx, void* cy, size_t weightSpaceSize,
            //     const void* weightSpace, size_t workSpaceSize, void* workSpace, size_t reserveSpaceSize, void* reserveSpace)
            forward = fn("cudnnRNNForward");
            // cudnnRNNBackwardData_v8(handle, rnnDesc, const int32_t devSeqLengths[], yDesc, const void* y, const void* dy,
            //     xDesc, void* dx, hDesc, const void* hx, const void* dhy, void* dhx, cDesc, const void* cx, const void* dcy,
            //     void* dcx, size_t weightSpaceSize, const void* weightSpace, size_t workSpaceSize, void* workSpace,
            //     size_t reserveSpaceSize, void* reserveSpace)
            backwardData = fn("cudnnRNNBackwardData_v8");
            // cudnnRNNBackwardWeights_v8(handle, rnnDesc, cudnnWgradMode_t addGrad, const int32_t devSeqLengths[], xDesc,
            //     const void* x, hDesc, const void* hx, yDesc, const void* y, size_t weightSpaceSize, void* dweightSpace,
            //     size_t workSpaceSize, void* workSpace, size_t reserveSpaceSize, void* reserveSpace)
            backwardWeights = fn("cudnnRNNBackwardWeights_v8");
        }
    }

    /**
     * Everything cuDNN needs for one LSTM geometry: the descriptors, the weight-space size and where each weight
     * block lies in it (element offsets, in CudnnArgs#lstmWeightBlocks order), and the scratch sizes of each mode.
     */
    private record RnnPlan(MemorySegment rnn, MemorySegment xData, MemorySegment yData, MemorySegment state, long weightBytes,
                           long[] offsets, long trainWorkBytes, long reserveBytes, long inferWorkBytes) {}

    private RnnFns rnnFns;

    synchronized RnnFns rnn() {
        if (rnnFns == null) rnnFns = new RnnFns();
        return rnnFns;
    }

    /** The RNN descriptor, the RNN data descriptors of x and y, and the tensor descriptor of h and c. */
    record RnnDescriptors(MemorySegment rnn, MemorySegment xData, MemorySegment yData, MemorySegment state) {}

    /**
     * The descriptors of one LSTM geometry, which need no handle (the dropout descriptor, set with one, is given), so
     * CudnnLibraryTest builds them with a real cuDNN on a machine without a GPU and reads them back. cuDNN copies
     * seqLengthArray into the data descriptors (cudnnGetRNNDataDescriptor returns it after the array is freed).
     */
    RnnDescriptors rnnDescriptors(RnnFns f, LstmGeometry g, MemorySegment dropout) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            CudnnArgs.RnnDescriptor d = CudnnArgs.lstm(g);
            MemorySegment rnn = descriptor(f.createRnn, "cudnnCreateRNNDescriptor");
            check("cudnnSetRNNDescriptor_v8", (int) f.setRnn.invokeExact(rnn, d.algo(), d.cellMode(), d.biasMode(), d.dirMode(),
                    d.inputMode(), d.dataType(), d.mathPrec(), d.mathType(), d.inputSize(), d.hiddenSize(), d.projSize(),
                    d.numLayers(), dropout, d.auxFlags()));
            MemorySegment lengths = arena.allocateFrom(I, CudnnArgs.sequenceLengths(g));
            MemorySegment xData = descriptor(f.createData, "cudnnCreateRNNDataDescriptor");
            check("cudnnSetRNNDataDescriptor(x)", (int) f.setData.invokeExact(xData, CUDNN_DATA_FLOAT,
                    CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, g.t(), g.n(), g.input(), lengths, NULL));
            MemorySegment yData = descriptor(f.createData, "cudnnCreateRNNDataDescriptor");
            check("cudnnSetRNNDataDescriptor(y)", (int) f.setData.invokeExact(yData, CUDNN_DATA_FLOAT,
                    CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, g.t(), g.n(), g.hidden(), lengths, NULL));
            MemorySegment state = descriptor(createTensor, "cudnnCreateTensorDescriptor");
            check("cudnnSetTensorNdDescriptor(h, c)", (int) f.setTensorNd.invokeExact(state, CUDNN_DATA_FLOAT, 3,
                    arena.allocateFrom(I, CudnnArgs.stateDims(g)), arena.allocateFrom(I, CudnnArgs.stateStrides(g))));
            return new RnnDescriptors(rnn, xData, yData, state);
        }
    }

    private long[] sizes(RnnFns f, MemorySegment h, MemorySegment rnn, int mode, MemorySegment xData, Arena arena) throws Throwable {
        MemorySegment ws = arena.allocate(J), rs = arena.allocate(J);
        check("cudnnGetRNNTempSpaceSizes", (int) f.tempSpaceSizes.invokeExact(h, rnn, mode, xData, ws, rs));
        return new long[] {ws.get(J, 0), rs.get(J, 0)};
    }

    private RnnPlan rnnPlan(VendorContext be, LstmGeometry g) throws Throwable {
        RnnFns f = rnn();
        synchronized (f) {
            RnnPlan plan = f.plans.get(g);
            if (plan != null) return plan;
            MemorySegment h = handle(be);
            try (Arena arena = Arena.ofConfined()) {
                // no dropout (one layer): a descriptor with dropout 0 and no state buffer
                MemorySegment dropout = descriptor(f.createDropout, "cudnnCreateDropoutDescriptor");
                check("cudnnSetDropoutDescriptor", (int) f.setDropout.invokeExact(dropout, h, 0f, NULL, 0L, 0L));
                RnnDescriptors d = rnnDescriptors(f, g, dropout);
                MemorySegment rnn = d.rnn(), xData = d.xData(), yData = d.yData(), state = d.state();
                MemorySegment wsSize = arena.allocate(J);
                check("cudnnGetRNNWeightSpaceSize", (int) f.weightSpaceSize.invokeExact(h, rnn, wsSize));
                long weightBytes = wsSize.get(J, 0);
                long[] offsets = weightOffsets(be, f, h, rnn, g, weightBytes, arena);
                long[] train = sizes(f, h, rnn, CUDNN_FWD_MODE_TRAINING, xData, arena);
                long[] infer = sizes(f, h, rnn, CUDNN_FWD_MODE_INFERENCE, xData, arena);
                plan = new RnnPlan(rnn, xData, yData, state, weightBytes, offsets, train[0], train[1], infer[0]);
                f.plans.put(g, plan);
                return plan;
            }
        }
    }

    /**
     * Asks cudnnGetRNNWeightParams where each block of CudnnArgs#lstmWeightBlocks lies, against a scratch weight
     * space, and checks each block's dimensions (NOTE [lstm-weights]).
     */
    private long[] weightOffsets(VendorContext be, RnnFns f, MemorySegment h, MemorySegment rnn, LstmGeometry g, long weightBytes,
                                 Arena arena) throws Throwable {
        List<WeightBlock> blocks = CudnnArgs.lstmWeightBlocks(g);
        long[] offsets = new long[blocks.size()];
        MemorySegment mDesc = descriptor(createTensor, "cudnnCreateTensorDescriptor");
        MemorySegment bDesc = descriptor(createTensor, "cudnnCreateTensorDescriptor");
        MemorySegment mAddr = arena.allocate(P), bAddr = arena.allocate(P);
        MemorySegment type = arena.allocate(I), nb = arena.allocate(I), dims = arena.allocate(I, 8), strides = arena.allocate(I, 8);
        try (Buffer space = scratch(be, weightBytes)) {
            long base = be.address(space.ptr());
            for (int i = 0; i < blocks.size(); i++) {
                WeightBlock b = blocks.get(i);
                check("cudnnGetRNNWeightParams(linLayerID " + b.linLayerId() + ")", (int) f.weightParams.invokeExact(h, rnn, 0, weightBytes,
                        at(base), b.linLayerId(), mDesc, mAddr, bDesc, bAddr));
                MemorySegment desc = b.matrix() ? mDesc : bDesc;
                check("cudnnGetTensorNdDescriptor", (int) f.getTensorNd.invokeExact(desc, 8, type, nb, dims, strides));
                int[] got = new int[nb.get(I, 0)];
                for (int k = 0; k < got.length; k++) got[k] = dims.getAtIndex(I, k);
                CudnnArgs.checkBlockDims(b, got);
                long address = (b.matrix() ? mAddr : bAddr).get(P, 0).address();
                offsets[i] = CudnnArgs.spaceOffset(b, base, address, weightBytes);
            }
        }
        return offsets;
    }

    /** A cuDNN weight space holding the engine's weights (absent biases as zeros). The caller closes it. */
    private Buffer packWeights(VendorContext be, LstmGeometry g, RnnPlan p, long wIh, long wHh, long bIh, long bHh) {
        Buffer space = scratch(be, p.weightBytes());
        be.fill(space.ptr(), space.length(), 0.0);
        long base = be.address(space.ptr());
        CudnnArgs.forEachBlock(g, p.offsets(), bIh != 0, bHh != 0, (param, engineOffset, spaceOffset, count) -> {
            long src = switch (param) {
                case W_IH -> wIh;
                case W_HH -> wHh;
                case B_IH -> bIh;
                case B_HH -> bHh;
            };
            be.copyDeviceToDevice(base + 4 * spaceOffset, src + 4L * engineOffset, 4L * count);
        });
        return space;
    }

    @Override
    public int lstmReserveSize(VendorContext be, LstmGeometry g) {
        long[] bytes = new long[1];
        call("cudnnGetRNNTempSpaceSizes", arena -> bytes[0] = rnnPlan(be, g).reserveBytes());
        long elements = Math.max(1, (bytes[0] + 3) / 4);
        if (elements > Integer.MAX_VALUE) throw new IllegalStateException("lstm: cuDNN's reserve of " + bytes[0] + " bytes exceeds a buffer");
        return (int) elements;
    }

    /** A device array of n sequence lengths, all t (devSeqLengths). The caller closes it. */
    private static Buffer deviceLengths(VendorContext be, LstmGeometry g) {
        Buffer lengths = be.allocate(DType.INT32, g.n());
        be.fill(lengths.ptr(), g.n(), g.t());
        return lengths;
    }

    @Override
    public void lstmForward(VendorContext be, LstmGeometry g, long x, long h0, long c0, long wIh, long wHh, long bIh, long bHh,
                            long y, long hT, long cT, long reserve) {
        call("cudnnRNNForward", arena -> {
            RnnFns f = rnn();
            RnnPlan p = rnnPlan(be, g);
            boolean training = reserve != 0;
            long workBytes = training ? p.trainWorkBytes() : p.inferWorkBytes();
            try (Buffer space = packWeights(be, g, p, wIh, wHh, bIh, bHh); Buffer lengths = deviceLengths(be, g);
                 Buffer work = scratch(be, workBytes)) {
                check("cudnnRNNForward", (int) f.forward.invokeExact(handle(be), p.rnn(), training ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE,
                        at(be.address(lengths.ptr())), p.xData(), at(x), p.yData(), at(y), p.state(), at(h0), at(hT), p.state(), at(c0), at(cT),
                        p.weightBytes(), at(be.address(space.ptr())), workBytes, at(be.address(work.ptr())),
                        training ? p.reserveBytes() : 0L, at(reserve)));
            }
        });
    }

    /**
     * cudnnRNNBackwardData_v8, then cudnnRNNBackwardWeights_v8 (in that order, as cuDNN requires: the first
     * leaves in the reserve what the second reads), with one workspace. cuDNN accumulates weight gradients
     * (CUDNN_WGRAD_MODE_ADD, the only mode it supports there) into a zeroed gradient space, from which dwIh, dwHh
     * and db (the input bias's gradient; the recurrent bias's is the same sum) are copied out.
     */
    @Override
    public void lstmBackward(VendorContext be, LstmGeometry g, long x, long h0, long c0, long wIh, long wHh, long y, long reserve,
                             long dy, long dhT, long dcT, long dx, long dh0, long dc0, long dwIh, long dwHh, long db) {
        call("cudnnRNNBackwardData_v8", arena -> {
            RnnFns f = rnn();
            RnnPlan p = rnnPlan(be, g);
            MemorySegment h = handle(be);
            try (Buffer space = packWeights(be, g, p, wIh, wHh, 0, 0); Buffer grads = scratch(be, p.weightBytes());
                 Buffer lengths = deviceLengths(be, g); Buffer work = scratch(be, p.trainWorkBytes());
                 Buffer dxScratch = dx == 0 ? be.allocate(DType.FLOAT32, g.inputSize()) : null) {
                long dxAddr = dx != 0 ? dx : be.address(dxScratch.ptr());
                MemorySegment seq = at(be.address(lengths.ptr())), ws = at(be.address(space.ptr())), wk = at(be.address(work.ptr()));
                check("cudnnRNNBackwardData_v8", (int) f.backwardData.invokeExact(h, p.rnn(), seq, p.yData(), at(y), at(dy), p.xData(),
                        at(dxAddr), p.state(), at(h0), at(dhT), at(dh0), p.state(), at(c0), at(dcT), at(dc0), p.weightBytes(), ws,
                        p.trainWorkBytes(), wk, p.reserveBytes(), at(reserve)));
                be.fill(grads.ptr(), grads.length(), 0.0);
                long gBase = be.address(grads.ptr());
                check("cudnnRNNBackwardWeights_v8", (int) f.backwardWeights.invokeExact(h, p.rnn(), CUDNN_WGRAD_MODE_ADD, seq, p.xData(),
                        at(x), p.state(), at(h0), p.yData(), at(y), p.weightBytes(), at(gBase), p.trainWorkBytes(), wk, p.reserveBytes(),
                        at(reserve)));
                CudnnArgs.forEachBlock(g, p.offsets(), true, false, (param, engineOffset, spaceOffset, count) -> {
                    long dst = switch (param) {
                        case W_IH -> dwIh;
                        case W_HH -> dwHh;
                        case B_IH -> db;
                        case B_HH -> throw new IllegalStateException("unreachable: the recurrent bias is skipped");
                    };
                    be.copyDeviceToDevice(dst + 4L * engineOffset, gBase + 4 * spaceOffset, 4L * count);
                });
            }
        });
    }

    /**
     * Loads cuDNN 9 (JCudnn is tried and reported first, NOTE [vendor-ffm]); returns null where it does not load, having
     * added one line per attempt to {@code tried}. {@code noGpu} is why no GPU is usable, or null where one is.
     */
    public static Dnn load(List<String> tried, String noGpu) {
        try {
            long v = jcuda.jcudnn.JCudnn.cudnnGetVersion();
            tried.add("JCudnn 11.7.0 loaded and reports cuDNN " + v + ", but the cudnn variants use the cuDNN 9 FFM binding");
        } catch (LinkageError | RuntimeException e) {
            tried.add("JCudnn 11.7.0 (libJCudnn -> libcudnn.so.8, symbols versioned libcudnn.so.8): " + NativeLibrary.summarize(e)
                    + (String.valueOf(e.getMessage()).contains("JCudnn-12") ? " [JCuda's loader names the natives after the core jcuda "
                    + "version (12.6.0), but jcudnn-natives 11.7.0 holds libJCudnn-11.7.0; and that library would need libcudnn.so.8]" : ""));
        }
        if (noGpu != null) {
            tried.add(noGpu);
            return null;
        }
        NativeLibrary lib = NativeLibrary.open(List.of("libcudnn.so.9"), NativeLibrary.searchDirectories("cudnn"), tried);
        if (lib == null) return null;
        try {
            Dnn d = new Cudnn9(lib);
            tried.add("FFM binding of " + lib.where() + ": loaded");
            return d;
        } catch (Throwable e) {
            tried.add("FFM binding of " + lib.where() + ": " + NativeLibrary.summarize(e));
            return null;
        }
    }
}
