package optlab.kernels.vendor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.LstmGeometry;
import optlab.kernels.Pool2dGeometry;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The cuDNN binding against a real cuDNN 9, on any machine, GPU or not: everything cuDNN does without a handle
 * (a handle needs a GPU). Skips itself unless {@code -Doptlab.cudnn.dir=DIR} or {@code OPTLAB_CUDNN_DIR=DIR} names
 * a directory holding {@code libcudnn.so.9} and its sub-libraries (pip's nvidia-cudnn-cu13 wheel: .../nvidia/cudnn/lib),
 * or, where CUDA is usable, the engine itself finds one. With the library it checks, through the engine's own
 * descriptors ({@code Cudnn9.SIGNATURES}) and its own descriptor-building code:
 * <ul>
 *   <li>that every function the binding calls is exported (by the {@code libcudnn.so.9} shim, NOTE [cudnn9-libraries]);
 *   <li>{@code cudnnGetVersion} (9.x), and the binding's constructor;
 *   <li>{@code cudnnGetErrorString} against every status name of {@code CudnnArgs};
 *   <li>that a failed call is reported with its status and {@code cudnnGetLastErrorString}'s message;
 *   <li>the tensor, filter, convolution, pooling, batch-norm, RNN (v8) and RNN data descriptors the engine builds,
 *       read back with cuDNN's Get functions (so argument orders and enum values are understood as cuDNN does),
 *       and cuDNN's own output sizes of convolutions and pooling against the engine's.
 * </ul>
 * With {@code -Doptlab.cudnn.include=DIR} (or an {@code include} directory beside the library's, as in the wheel), every
 * prototype of {@code Cudnn9.SIGNATURES} and of the read-back functions here is compared with the headers'
 * declarations. {@code -Doptlab.cublas.dir=DIR} (pip's nvidia-cublas wheel: .../nvidia/cu13/lib) does the same for the
 * cuBLAS binding: its symbols, {@code cublasGetProperty}, {@code cublasGetStatusName}, and {@code cublas_api.h}
 * from {@code ../include} if there. Tagged "gpu" (without needing one) so that bin/gpu-run includes it. docs/GPU.md
 * says how to run it; bin/test (and so CI) unpacks the wheels where the machine has them, and skips without.
 */
@Tag("gpu")
class CudnnLibraryTest {
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong J = ValueLayout.JAVA_LONG;
    private static final AddressLayout P = ValueLayout.ADDRESS;

    // ------------------------------------------------------------------------------------------------
    // where the libraries are
    // ------------------------------------------------------------------------------------------------

    private static Path configured(String property, String env) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) v = System.getenv(env);
        return v == null || v.isBlank() ? null : Path.of(v);
    }

    private static Path cudnnDir() {
        Path dir = configured("optlab.cudnn.dir", "OPTLAB_CUDNN_DIR");
        if (dir != null) return dir;
        if (!Files.exists(Path.of("/dev/nvidiactl"))) return null; // no GPU: only a configured directory serves
        for (Path d : NativeLibrary.searchDirectories("cudnn")) if (Files.exists(d.resolve("libcudnn.so.9"))) return d;
        return null;
    }

    private static Cudnn9 cudnn;
    private static NativeLibrary shim;

    /** The binding of the given cuDNN (once per run), or a skip saying how to give one. */
    private static synchronized Cudnn9 cudnn() throws Throwable {
        if (cudnn != null) return cudnn;
        Path dir = cudnnDir();
        assumeTrue(dir != null, "no cuDNN given: set -Doptlab.cudnn.dir=DIR or OPTLAB_CUDNN_DIR=DIR (a directory with libcudnn.so.9)");
        Path file = dir.resolve("libcudnn.so.9");
        assertTrue(Files.exists(file), "optlab.cudnn.dir / OPTLAB_CUDNN_DIR names " + dir + ", which has no libcudnn.so.9");
        shim = NativeLibrary.at(file);
        cudnn = new Cudnn9(shim);
        System.out.println("CudnnLibraryTest: " + cudnn.description());
        return cudnn;
    }

    private static long version() throws Throwable {
        cudnn();
        return (long) fn("cudnnGetVersion").invokeExact();
    }

    /** A downcall handle for a read-back function (or any of Cudnn9.SIGNATURES), bound as the engine binds its own. */
    private static MethodHandle fn(String name) throws Throwable {
        cudnn();
        Cudnn9.Signature s = READBACK.containsKey(name) ? READBACK.get(name) : Cudnn9.SIGNATURES.get(name);
        assertNotNull(s, name);
        return new CudnnLibraries(shim).function(name, s.descriptor());
    }

    // ------------------------------------------------------------------------------------------------
    // cuDNN's Get functions, to read back what the engine set (prototypes from cuDNN 9.24.0's headers)
    // ------------------------------------------------------------------------------------------------

    static final Map<String, Cudnn9.Signature> READBACK = new LinkedHashMap<>();

    private static void readback(String name, FunctionDescriptor d, String prototype) {
        READBACK.put(name, new Cudnn9.Signature(name, d, prototype));
    }

    static {
        readback("cudnnGetTensor4dDescriptor", FunctionDescriptor.of(I, P, P, P, P, P, P, P, P, P, P),
                "cudnnStatus_t cudnnGetTensor4dDescriptor(const cudnnTensorDescriptor_t tensorDesc, cudnnDataType_t *dataType, int *n, int *c, int *h, int *w, int *nStride, int *cStride, int *hStride, int *wStride)");
        readback("cudnnGetFilter4dDescriptor", FunctionDescriptor.of(I, P, P, P, P, P, P, P),
                "cudnnStatus_t cudnnGetFilter4dDescriptor(const cudnnFilterDescriptor_t filterDesc, cudnnDataType_t *dataType, cudnnTensorFormat_t *format, int *k, int *c, int *h, int *w)");
        readback("cudnnGetConvolution2dDescriptor", FunctionDescriptor.of(I, P, P, P, P, P, P, P, P, P),
                "cudnnStatus_t cudnnGetConvolution2dDescriptor(const cudnnConvolutionDescriptor_t convDesc, int *pad_h, int *pad_w, int *u, int *v, int *dilation_h, int *dilation_w, cudnnConvolutionMode_t *mode, cudnnDataType_t *computeType)");
        readback("cudnnGetConvolutionMathType", FunctionDescriptor.of(I, P, P),
                "cudnnStatus_t cudnnGetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc, cudnnMathType_t *mathType)");
        readback("cudnnGetConvolution2dForwardOutputDim", FunctionDescriptor.of(I, P, P, P, P, P, P, P),
                "cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t inputTensorDesc, const cudnnFilterDescriptor_t filterDesc, int *n, int *c, int *h, int *w)");
        readback("cudnnGetPooling2dDescriptor", FunctionDescriptor.of(I, P, P, P, P, P, P, P, P, P),
                "cudnnStatus_t cudnnGetPooling2dDescriptor(const cudnnPoolingDescriptor_t poolingDesc, cudnnPoolingMode_t *mode, cudnnNanPropagation_t *maxpoolingNanOpt, int *windowHeight, int *windowWidth, int *verticalPadding, int *horizontalPadding, int *verticalStride, int *horizontalStride)");
        readback("cudnnGetPooling2dForwardOutputDim", FunctionDescriptor.of(I, P, P, P, P, P, P),
                "cudnnStatus_t cudnnGetPooling2dForwardOutputDim(const cudnnPoolingDescriptor_t poolingDesc, const cudnnTensorDescriptor_t inputTensorDesc, int *n, int *c, int *h, int *w)");
        readback("cudnnDeriveBNTensorDescriptor", FunctionDescriptor.of(I, P, P, I),
                "cudnnStatus_t cudnnDeriveBNTensorDescriptor(cudnnTensorDescriptor_t derivedBnDesc, const cudnnTensorDescriptor_t xDesc, cudnnBatchNormMode_t mode)");
        readback("cudnnGetRNNDescriptor_v8", FunctionDescriptor.of(I, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P),
                "cudnnStatus_t cudnnGetRNNDescriptor_v8(cudnnRNNDescriptor_t rnnDesc, cudnnRNNAlgo_t *algo, cudnnRNNMode_t *cellMode, cudnnRNNBiasMode_t *biasMode, cudnnDirectionMode_t *dirMode, cudnnRNNInputMode_t *inputMode, cudnnDataType_t *dataType, cudnnDataType_t *mathPrec, cudnnMathType_t *mathType, int32_t *inputSize, int32_t *hiddenSize, int32_t *projSize, int32_t *numLayers, cudnnDropoutDescriptor_t *dropoutDesc, uint32_t *auxFlags)");
        readback("cudnnGetRNNDataDescriptor", FunctionDescriptor.of(I, P, P, P, P, P, P, I, P, P),
                "cudnnStatus_t cudnnGetRNNDataDescriptor(cudnnRNNDataDescriptor_t rnnDataDesc, cudnnDataType_t *dataType, cudnnRNNDataLayout_t *layout, int *maxSeqLength, int *batchSize, int *vectorSize, int arrayLengthRequested, int seqLengthArray[], void *paddingFill)");
    }

    @Test
    void theReadBackDescriptorsMatchTheirPrototypes() {
        for (Cudnn9.Signature s : READBACK.values()) CudnnArgsTest.assertDescriptorMatchesPrototype(s);
    }

    /** Calls a Get function with {@code outs} int slots after {@code leading} arguments; returns the slots. */
    private static int[] ints(String function, int outs, Object... leading) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            List<Object> args = new ArrayList<>(List.of(leading));
            MemorySegment[] slots = new MemorySegment[outs];
            for (int i = 0; i < outs; i++) {
                slots[i] = arena.allocate(I);
                slots[i].set(I, 0, -12345);
                args.add(slots[i]);
            }
            int status = (int) fn(function).invokeWithArguments(args);
            cudnn.check(function, status);
            int[] out = new int[outs];
            for (int i = 0; i < outs; i++) out[i] = slots[i].get(I, 0);
            return out;
        }
    }

    private static int[] tensor4d(MemorySegment desc) throws Throwable {
        return ints("cudnnGetTensor4dDescriptor", 9, desc);
    }

    private static int[] cat(int first, int[] rest) {
        int[] a = new int[rest.length + 1];
        a[0] = first;
        System.arraycopy(rest, 0, a, 1, rest.length);
        return a;
    }

    private static int[] packedStrides(int[] nchw) {
        return new int[] {nchw[1] * nchw[2] * nchw[3], nchw[2] * nchw[3], nchw[3], 1};
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    // ------------------------------------------------------------------------------------------------
    // symbols, version, status names, errors
    // ------------------------------------------------------------------------------------------------

    @Test
    void everyFunctionTheBindingCallsIsExportedByTheShim() throws Throwable {
        cudnn();
        CudnnLibraries libs = new CudnnLibraries(shim);
        for (Cudnn9.Signature s : Cudnn9.SIGNATURES.values()) libs.function(s.name(), s.descriptor());
        for (Cudnn9.Signature s : READBACK.values()) libs.function(s.name(), s.descriptor());
        int all = Cudnn9.SIGNATURES.size() + READBACK.size();
        assertEquals("functions bound from libcudnn.so.9: " + all, libs.origins(), "NOTE [cudnn9-libraries]: the shim exports them all");
    }

    @Test
    void theVersionIsCudnn9s() throws Throwable {
        long v = version();
        assertTrue(v >= 90000 && v < 100000, "cudnnGetVersion: " + v);
        assertTrue(cudnn.description().contains("cuDNN version " + v + " (9."), cudnn.description());
    }

    /** cudnnStatus_t values newer than cuDNN 9.0, with the version that added each (cudnn_graph.h of 9.24.0: @since). */
    private static final Map<Integer, Long> SINCE = Map.of(1008, 90200L, 2011, 90500L, 3013, 90500L, 2012, 90600L, 3014, 91800L);

    @Test
    void everyStatusNameIsCudnnsOwn() throws Throwable {
        long v = version();
        MethodHandle errorString = fn("cudnnGetErrorString");
        List<String> unknownHere = new ArrayList<>();
        for (Map.Entry<Integer, String> e : CudnnArgs.statusNames().entrySet()) {
            String vendor = ((MemorySegment) errorString.invokeExact((int) e.getKey())).reinterpret(256).getString(0);
            if (vendor.equals("CUDNN_UNKNOWN_STATUS") && SINCE.getOrDefault(e.getKey(), 0L) > v) {
                unknownHere.add(e.getKey() + " " + e.getValue());
                continue;
            }
            assertEquals(e.getValue(), vendor, "cudnnGetErrorString(" + e.getKey() + ")");
        }
        String none = ((MemorySegment) errorString.invokeExact(9)).reinterpret(256).getString(0);
        assertEquals("CUDNN_UNKNOWN_STATUS", none, "cuDNN 8's numbering is not 9's");
        System.out.println("CudnnLibraryTest: statuses newer than cuDNN " + v + ": " + unknownHere);
    }

    @Test
    void aFailedCallNamesItsStatusAndCudnnsMessage() throws Throwable {
        Cudnn9 c = cudnn();
        var e = assertThrows(IllegalStateException.class, () -> c.tensor4d(new int[] {-1, 3, 4, 5}, "x"));
        String m = e.getMessage();
        assertTrue(m.startsWith("cuDNN: cudnnSetTensor4dDescriptor(x) returned CUDNN_STATUS_BAD_PARAM (2000); cudnnGetLastErrorString: "), m);
        assertTrue(m.length() > "cuDNN: cudnnSetTensor4dDescriptor(x) returned CUDNN_STATUS_BAD_PARAM (2000); cudnnGetLastErrorString: ".length(), m);
        assertTrue(!m.contains("[cudnnGetErrorString"), "cuDNN's name is the table's: " + m);
    }

    // ------------------------------------------------------------------------------------------------
    // descriptors, read back
    // ------------------------------------------------------------------------------------------------

    @Test
    void tensorDescriptorsAreWhatTheEngineMeans() throws Throwable {
        Cudnn9 c = cudnn();
        int[] dims = {2, 3, 4, 5};
        MemorySegment t = c.tensor4d(dims, "x");
        assertArrayEquals(cat(CudnnArgs.CUDNN_DATA_FLOAT, concat(dims, packedStrides(dims))), tensor4d(t));
        // the order of (format, dataType): both are 0 in the engine's calls, so set NHWC (1) once to tell them apart
        c.check("cudnnSetTensor4dDescriptor", (int) c.fn("cudnnSetTensor4dDescriptor").invokeExact(t, 1, CudnnArgs.CUDNN_DATA_FLOAT, 2, 3, 4, 5));
        assertArrayEquals(new int[] {CudnnArgs.CUDNN_DATA_FLOAT, 2, 3, 4, 5, 60, 1, 15, 3}, tensor4d(t), "NHWC strides, FLOAT");
        // and the Nd pair the LSTM uses for h and c
        LstmGeometry g = new LstmGeometry(4, 3, 5, 7);
        Cudnn9.RnnFns f = c.rnn();
        try (Arena arena = Arena.ofConfined()) {
            c.check("cudnnSetTensorNdDescriptor", (int) f.setTensorNd.invokeExact(t, CudnnArgs.CUDNN_DATA_FLOAT, 3,
                    arena.allocateFrom(I, CudnnArgs.stateDims(g)), arena.allocateFrom(I, CudnnArgs.stateStrides(g))));
            MemorySegment type = arena.allocate(I), nb = arena.allocate(I), d = arena.allocate(I, 8), s = arena.allocate(I, 8);
            c.check("cudnnGetTensorNdDescriptor", (int) f.getTensorNd.invokeExact(t, 8, type, nb, d, s));
            assertEquals(CudnnArgs.CUDNN_DATA_FLOAT, type.get(I, 0));
            assertEquals(3, nb.get(I, 0));
            assertArrayEquals(CudnnArgs.stateDims(g), java.util.Arrays.copyOf(d.toArray(I), 3));
            assertArrayEquals(CudnnArgs.stateStrides(g), java.util.Arrays.copyOf(s.toArray(I), 3));
        }
    }

    @Test
    void convolutionDescriptorsAndCudnnsOutputSize() throws Throwable {
        Cudnn9 c = cudnn();
        Cudnn9.ConvFns f = c.conv();
        for (Conv2dGeometry g : List.of(new Conv2dGeometry(2, 3, 9, 11, 4, 3, 2, 2, 1, 1, 0), new Conv2dGeometry(1, 16, 32, 32, 32, 3, 3, 1, 1, 1, 1),
                new Conv2dGeometry(8, 64, 7, 7, 128, 1, 1, 2, 2, 0, 0), new Conv2dGeometry(1, 1, 5, 5, 1, 5, 5, 1, 1, 2, 2))) {
            Cudnn9.ConvDescriptors d = c.convDescriptors(f, g);
            int[] x = {g.n(), g.c(), g.h(), g.w()}, y = {g.n(), g.k(), g.p(), g.q()};
            assertArrayEquals(cat(0, concat(x, packedStrides(x))), tensor4d(d.x()), g + ": x");
            assertArrayEquals(cat(0, concat(y, packedStrides(y))), tensor4d(d.y()), g + ": y");
            assertArrayEquals(new int[] {CudnnArgs.CUDNN_DATA_FLOAT, CudnnArgs.CUDNN_TENSOR_NCHW, g.k(), g.c(), g.r(), g.s()},
                    ints("cudnnGetFilter4dDescriptor", 6, d.w()), g + ": filter");
            assertArrayEquals(new int[] {g.padH(), g.padW(), g.strideH(), g.strideW(), 1, 1, CudnnArgs.CUDNN_CROSS_CORRELATION,
                    CudnnArgs.CUDNN_DATA_FLOAT}, ints("cudnnGetConvolution2dDescriptor", 8, d.conv()), g + ": convolution");
            assertArrayEquals(new int[] {CudnnArgs.CUDNN_FMA_MATH}, ints("cudnnGetConvolutionMathType", 1, d.conv()), g + ": math type");
            assertArrayEquals(y, ints("cudnnGetConvolution2dForwardOutputDim", 4, d.conv(), d.x(), d.w()), g + ": cuDNN's output size");
        }
    }

    @Test
    void poolingDescriptorsAndCudnnsOutputSize() throws Throwable {
        Cudnn9 c = cudnn();
        Cudnn9.PoolFns f = c.pool();
        int checked = 0;
        for (int h = 1; h <= 7; h++)
            for (int k = 1; k <= 4; k++)
                for (int s = 1; s <= 3; s++)
                    for (int p = 0; 2 * p <= k; p++) {
                        if (h + 2 * p < k) continue;
                        Pool2dGeometry g = new Pool2dGeometry(2, 3, h, h + 2, k, Math.max(1, k - 1), s, s == 1 ? 2 : 1, p, Math.min(p, Math.max(1, k - 1) / 2));
                        for (PoolKind kind : PoolKind.values()) {
                            Cudnn9.PoolPlan plan = c.poolPlan(f, g, kind);
                            CudnnArgs.PoolDescriptor want = CudnnArgs.pooling(g, kind);
                            assertArrayEquals(new int[] {want.mode(), want.nanOpt(), want.windowH(), want.windowW(), want.padH(), want.padW(),
                                    want.strideH(), want.strideW()}, ints("cudnnGetPooling2dDescriptor", 8, plan.pool()), g + " " + kind);
                            assertArrayEquals(CudnnArgs.poolOutputDims(g), ints("cudnnGetPooling2dForwardOutputDim", 4, plan.pool(), plan.x()),
                                    g + ": cuDNN's output size");
                            assertArrayEquals(cat(0, concat(CudnnArgs.poolInputDims(g), packedStrides(CudnnArgs.poolInputDims(g)))), tensor4d(plan.x()));
                            assertArrayEquals(cat(0, concat(CudnnArgs.poolOutputDims(g), packedStrides(CudnnArgs.poolOutputDims(g)))), tensor4d(plan.y()));
                            checked++;
                        }
                    }
        assertTrue(checked > 100, "geometries checked: " + checked);
    }

    @Test
    void batchNormDescriptorsAreCudnnsDerivedOnes() throws Throwable {
        Cudnn9 c = cudnn();
        Cudnn9.BnPlan p = c.bnPlan(c.bn(), 8, 16, 49);
        int[] x = CudnnArgs.bnDataDims(8, 16, 49), param = CudnnArgs.bnParamDims(16);
        assertArrayEquals(cat(0, concat(x, packedStrides(x))), tensor4d(p.x()));
        assertArrayEquals(cat(0, concat(param, packedStrides(param))), tensor4d(p.param()));
        MemorySegment derived = c.tensor4d(new int[] {1, 1, 1, 1}, "derived");
        c.check("cudnnDeriveBNTensorDescriptor", (int) fn("cudnnDeriveBNTensorDescriptor").invokeExact(derived, p.x(), CudnnArgs.CUDNN_BATCHNORM_SPATIAL));
        assertArrayEquals(java.util.Arrays.copyOfRange(tensor4d(p.param()), 0, 5), java.util.Arrays.copyOfRange(tensor4d(derived), 0, 5),
                "CUDNN_BATCHNORM_SPATIAL's scale/bias/mean/var descriptor is (1, c, 1, 1)");
    }

    @Test
    void lstmDescriptorsAreWhatTheEngineMeans() throws Throwable {
        Cudnn9 c = cudnn();
        Cudnn9.RnnFns f = c.rnn();
        // the engine sets its dropout descriptor (dropout 0) with a handle, which needs a GPU: an unset one stands in
        MemorySegment dropout = c.descriptor(f.createDropout, "cudnnCreateDropoutDescriptor");
        for (LstmGeometry g : List.of(new LstmGeometry(4, 3, 5, 7), new LstmGeometry(35, 20, 650, 650), new LstmGeometry(1, 1, 1, 1))) {
            Cudnn9.RnnDescriptors d = c.rnnDescriptors(f, g, dropout);
            CudnnArgs.RnnDescriptor want = CudnnArgs.lstm(g);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment[] o = new MemorySegment[14];
                for (int i = 0; i < 14; i++) o[i] = arena.allocate(J);
                c.check("cudnnGetRNNDescriptor_v8", (int) fn("cudnnGetRNNDescriptor_v8").invokeExact(d.rnn(), o[0], o[1], o[2], o[3], o[4], o[5],
                        o[6], o[7], o[8], o[9], o[10], o[11], o[12], o[13]));
                int[] got = new int[13];
                for (int i = 0, k = 0; i < 14; i++) if (i != 12) got[k++] = o[i].get(I, 0);
                assertArrayEquals(new int[] {want.algo(), want.cellMode(), want.biasMode(), want.dirMode(), want.inputMode(), want.dataType(),
                        want.mathPrec(), want.mathType(), want.inputSize(), want.hiddenSize(), want.projSize(), want.numLayers(), want.auxFlags()},
                        got, g + ": cudnnGetRNNDescriptor_v8");
                assertEquals(dropout.address(), o[12].get(P, 0).address(), "the dropout descriptor");

                for (boolean input : new boolean[] {true, false}) {
                    MemorySegment lengths = arena.allocate(I, g.n()), fill = arena.allocate(ValueLayout.JAVA_FLOAT), s = arena.allocate(I, 5);
                    MemorySegment data = input ? d.xData() : d.yData();
                    c.check("cudnnGetRNNDataDescriptor", (int) fn("cudnnGetRNNDataDescriptor").invokeExact(data,
                            s.asSlice(0, 4), s.asSlice(4, 4), s.asSlice(8, 4), s.asSlice(12, 4), s.asSlice(16, 4), g.n(), lengths, fill));
                    assertArrayEquals(new int[] {CudnnArgs.CUDNN_DATA_FLOAT, CudnnArgs.CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, g.t(), g.n(),
                            input ? g.input() : g.hidden()}, s.toArray(I), g + (input ? ": x" : ": y") + " data");
                    assertArrayEquals(CudnnArgs.sequenceLengths(g), java.util.Arrays.copyOf(lengths.toArray(I), g.n()),
                            "seqLengthArray, copied by cuDNN (the engine's array is freed by now)");
                }
            }
            MemorySegment t = d.state();
            int[] st = tensor4dNd(c, f, t);
            assertArrayEquals(concat(CudnnArgs.stateDims(g), CudnnArgs.stateStrides(g)), st, g + ": h and c");
        }
        // projSize = hiddenSize is how "no projection" is said: 0 (what 9.24.0's header comment suggests) is refused
        MemorySegment rnn = c.descriptor(f.createRnn, "cudnnCreateRNNDescriptor");
        CudnnArgs.RnnDescriptor d = CudnnArgs.lstm(new LstmGeometry(2, 2, 5, 7));
        int status = (int) f.setRnn.invokeExact(rnn, d.algo(), d.cellMode(), d.biasMode(), d.dirMode(), d.inputMode(), d.dataType(), d.mathPrec(),
                d.mathType(), d.inputSize(), d.hiddenSize(), 0, d.numLayers(), MemorySegment.NULL, d.auxFlags());
        assertEquals(2000, status, "projSize 0");
    }

    private static int[] tensor4dNd(Cudnn9 c, Cudnn9.RnnFns f, MemorySegment t) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment type = arena.allocate(I), nb = arena.allocate(I), d = arena.allocate(I, 8), s = arena.allocate(I, 8);
            c.check("cudnnGetTensorNdDescriptor", (int) f.getTensorNd.invokeExact(t, 8, type, nb, d, s));
            int n = nb.get(I, 0);
            return concat(java.util.Arrays.copyOf(d.toArray(I), n), java.util.Arrays.copyOf(s.toArray(I), n));
        }
    }

    // ------------------------------------------------------------------------------------------------
    // the prototypes against the headers, when they are there
    // ------------------------------------------------------------------------------------------------

    /** The declarations of a set of C headers: function name to (return type, parameter types), comments and macros gone. */
    static Map<String, List<String>> declarations(List<Path> headers) throws IOException {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (Path h : headers) {
            String text = Files.readString(h).replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\n]*", " ");
            StringBuilder code = new StringBuilder();
            for (String line : text.split("\n")) if (!line.strip().startsWith("#")) code.append(line).append('\n');
            String c = code.toString().replaceAll("\\b(CUDNNWINAPI|CUBLASWINAPI|CUBLASAPI|CUDNN_DEPRECATED)\\b", " ").replaceAll("\\s+", " ");
            Matcher m = Pattern.compile("([A-Za-z_][\\w \\*]*?)\\b(cu(?:dnn|blas)\\w+) ?\\(([^;{}()]*)\\) ?;").matcher(c);
            while (m.find()) {
                if (out.containsKey(m.group(2))) continue;
                List<String> types = new ArrayList<>();
                types.add(cType(m.group(1), false));
                String params = m.group(3).strip();
                if (!params.equals("void") && !params.isEmpty()) for (String p : params.split(",")) types.add(cType(p, true));
                out.put(m.group(2), types);
            }
        }
        return out;
    }

    /** A C type, normalized: no const, no parameter name, arrays as pointers, "long long int" as "long long". */
    static String cType(String decl, boolean named) {
        String t = decl.replace("[]", " *").replaceAll("\\bconst\\b", " ").replace("*", " * ").replaceAll("\\s+", " ").strip();
        if (named) {
            int sp = t.lastIndexOf(' ');
            if (sp > 0 && t.substring(sp + 1).matches("\\w+")) t = t.substring(0, sp).strip();
        }
        return t.replace("long long int", "long long").replace("static inline ", "").replace("extern ", "").strip();
    }

    static List<String> prototypeTypes(Cudnn9.Signature s) {
        String p = s.prototype();
        int open = p.indexOf(s.name() + "(");
        List<String> types = new ArrayList<>();
        types.add(cType(p.substring(0, open), false));
        String params = p.substring(open + s.name().length() + 1, p.lastIndexOf(')')).strip();
        if (!params.equals("void")) for (String q : params.split(",")) types.add(cType(q, true));
        return types;
    }

    private static Path includeDir(String property, String env, Path libDir, String header) {
        Path dir = configured(property, env);
        if (dir == null && libDir != null) dir = libDir.resolveSibling("include");
        return dir != null && Files.exists(dir.resolve(header)) ? dir : null;
    }

    @Test
    void theCudnnPrototypesAreTheHeaders() throws Throwable {
        Path include = includeDir("optlab.cudnn.include", "OPTLAB_CUDNN_INCLUDE", cudnnDir(), "cudnn_adv.h");
        assumeTrue(include != null, "no cuDNN headers given: set -Doptlab.cudnn.include=DIR (or put include/ beside the library's directory)");
        List<Path> headers = new ArrayList<>();
        for (String h : List.of("cudnn_graph.h", "cudnn_ops.h", "cudnn_cnn.h", "cudnn_adv.h")) headers.add(include.resolve(h));
        Map<String, List<String>> decl = declarations(headers);
        List<String> wrong = new ArrayList<>();
        List<Cudnn9.Signature> all = new ArrayList<>(Cudnn9.SIGNATURES.values());
        all.addAll(READBACK.values());
        for (Cudnn9.Signature s : all) {
            List<String> h = decl.get(s.name());
            if (h == null) wrong.add(s.name() + ": not declared in " + include);
            else if (!h.equals(prototypeTypes(s))) wrong.add(s.name() + ": header " + h + ", binding " + prototypeTypes(s));
        }
        if (!wrong.isEmpty()) fail("prototypes that differ from " + include + ":\n  " + String.join("\n  ", wrong));
        System.out.println("CudnnLibraryTest: " + all.size() + " prototypes match the headers in " + include);
    }

    // ------------------------------------------------------------------------------------------------
    // cuBLAS
    // ------------------------------------------------------------------------------------------------

    @Test
    void theCublasBindingAgainstARealCublas() throws Throwable {
        Path dir = configured("optlab.cublas.dir", "OPTLAB_CUBLAS_DIR");
        assumeTrue(dir != null, "no cuBLAS given: set -Doptlab.cublas.dir=DIR or OPTLAB_CUBLAS_DIR=DIR (a directory with libcublas.so.13 or .12)");
        Path file = Files.exists(dir.resolve("libcublas.so.13")) ? dir.resolve("libcublas.so.13") : dir.resolve("libcublas.so.12");
        NativeLibrary lib = NativeLibrary.at(file);
        for (Cudnn9.Signature s : Cublas.CUBLAS_SIGNATURES.values()) lib.function(s.name(), s.descriptor());
        // handle-free: cublasStatus_t cublasGetProperty(libraryPropertyType type, int *value); const char *cublasGetStatusName(cublasStatus_t)
        MethodHandle property = lib.function("cublasGetProperty", FunctionDescriptor.of(I, I, P));
        MethodHandle name = lib.function("cublasGetStatusName", FunctionDescriptor.of(P, I));
        int[] v = new int[3];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(I);
            for (int i = 0; i < 3; i++) {
                assertEquals(0, (int) property.invokeExact(i, out));
                v[i] = out.get(I, 0);
            }
        }
        assertEquals(file.getFileName().toString().endsWith(".13") ? 13 : 12, v[0], "cuBLAS major version of " + file);
        for (Map.Entry<Integer, String> e : Cublas.CUBLAS_STATUS.entrySet()) {
            assertEquals(e.getValue(), ((MemorySegment) name.invokeExact((int) e.getKey())).reinterpret(256).getString(0), "status " + e.getKey());
        }
        Path include = includeDir("optlab.cublas.include", "OPTLAB_CUBLAS_INCLUDE", dir, "cublas_api.h");
        if (include != null) {
            Map<String, List<String>> decl = declarations(List.of(include.resolve("cublas_api.h")));
            for (Cudnn9.Signature s : Cublas.CUBLAS_SIGNATURES.values()) {
                assertEquals(decl.get(s.name()), prototypeTypes(s), s.name() + " against " + include.resolve("cublas_api.h"));
            }
        }
        System.out.println("CudnnLibraryTest: cuBLAS " + v[0] + "." + v[1] + "." + v[2] + " at " + file + (include != null ? ", headers " + include : ""));
    }
}
