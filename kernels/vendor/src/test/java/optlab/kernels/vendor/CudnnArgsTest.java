package optlab.kernels.vendor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import optlab.kernels.LstmGeometry;
import optlab.kernels.Pool2dGeometry;
import optlab.kernels.Tolerance;
import optlab.kernels.reference.RefLstm;
import optlab.kernels.vendor.CudnnArgs.LstmParam;
import optlab.kernels.vendor.CudnnArgs.WeightBlock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the cuDNN binding passes to cuDNN, checked on the CPU (no cuDNN exists here): the enum values and status
 * names it relies on, the FFM descriptors against the C prototypes, the pooling, batch-norm and LSTM descriptor
 * arguments, the LSTM weight map (feeding cuDNN's documented LSTM equations from a weight space laid out unlike the
 * engine's), and how libraries and symbols are looked up and reported when missing.
 */
class CudnnArgsTest {

    @Test
    void theEnumValuesAreCudnn9s() {
        // NOTE [cudnn-enums]: pinned so that a change is deliberate; each value's header is named in CudnnArgs
        int[] values = {CudnnArgs.CUDNN_DATA_FLOAT, CudnnArgs.CUDNN_FMA_MATH, CudnnArgs.CUDNN_NOT_PROPAGATE_NAN, CudnnArgs.CUDNN_PROPAGATE_NAN,
                CudnnArgs.CUDNN_TENSOR_NCHW, CudnnArgs.CUDNN_CROSS_CORRELATION, CudnnArgs.CUDNN_POOLING_MAX,
                CudnnArgs.CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING, CudnnArgs.CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING,
                CudnnArgs.CUDNN_POOLING_MAX_DETERMINISTIC, CudnnArgs.CUDNN_BATCHNORM_SPATIAL, CudnnArgs.CUDNN_RNN_ALGO_STANDARD,
                CudnnArgs.CUDNN_LSTM, CudnnArgs.CUDNN_RNN_DOUBLE_BIAS, CudnnArgs.CUDNN_UNIDIRECTIONAL, CudnnArgs.CUDNN_LINEAR_INPUT,
                CudnnArgs.CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, CudnnArgs.CUDNN_RNN_PADDED_IO_DISABLED, CudnnArgs.CUDNN_FWD_MODE_INFERENCE,
                CudnnArgs.CUDNN_FWD_MODE_TRAINING, CudnnArgs.CUDNN_WGRAD_MODE_ADD};
        assertArrayEquals(new int[] {0, 3, 0, 1, 0, 1, 0, 1, 2, 3, 1, 0, 2, 2, 0, 0, 1, 0, 0, 1, 0}, values);
        assertEquals(0.0, CudnnArgs.CUDNN_BN_MIN_EPSILON);
    }

    @Test
    void statusesAreNamedWithCudnn9sNumbers() {
        assertEquals("CUDNN_STATUS_SUCCESS", CudnnArgs.statusName(0));
        assertEquals("CUDNN_STATUS_BAD_PARAM", CudnnArgs.statusName(2000));
        assertEquals("CUDNN_STATUS_NOT_SUPPORTED", CudnnArgs.statusName(3000));
        assertEquals("CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED", CudnnArgs.statusName(1008));
        assertEquals("CUDNN_STATUS_EXECUTION_FAILED", CudnnArgs.statusName(5000));
        assertEquals("unknown cudnnStatus_t 9", CudnnArgs.statusName(9)); // cuDNN 8's NOT_SUPPORTED: not 9's numbering
        assertEquals("CUDNN_STATUS_NOT_SUPPORTED_INVALID_DYNAMIC_SHAPE", CudnnArgs.statusName(3014)); // new in 9.18
        assertEquals(49, CudnnArgs.statusNames().size(), "cudnnStatus_t of cuDNN 9.24.0: 48 values and the deprecated alias 2001");
        String m = CudnnArgs.failure("cudnnPoolingForward", 2000, "CUDNN_BACKEND_API_FAILED: x has 3 dims");
        assertEquals("cudnnPoolingForward returned CUDNN_STATUS_BAD_PARAM (2000); cudnnGetLastErrorString: CUDNN_BACKEND_API_FAILED: x has 3 dims", m);
        assertEquals("cudnnRNNForward returned CUDNN_STATUS_NOT_SUPPORTED_SHAPE (3002)", CudnnArgs.failure("cudnnRNNForward", 3002, ""));
    }

    // ------------------------------------------------------------------------------------------------
    // the FFM descriptors against the C prototypes
    // ------------------------------------------------------------------------------------------------

    private static final Pattern PROTOTYPE = Pattern.compile("^(.*?)\\b(cu\\w+)\\((.*)\\)$");

    /** The FFM layout of a C parameter or return type, as the bindings' rules say; fails on a type it does not know. */
    private static Optional<MemoryLayout> layout(String cType, String where) {
        String t = cType.replace("const ", "").replaceAll("\\s+", " ").strip();
        if (t.equals("void")) return Optional.empty();
        if (t.contains("*") || t.endsWith("[]")) return Optional.of(ValueLayout.ADDRESS);
        MemoryLayout l = switch (t) {
            case "int", "int32_t", "uint32_t" -> ValueLayout.JAVA_INT;
            case "size_t", "unsigned long long", "long long int", "long long", "int64_t" -> ValueLayout.JAVA_LONG;
            case "double" -> ValueLayout.JAVA_DOUBLE;
            case "float" -> ValueLayout.JAVA_FLOAT;
            default -> {
                if (t.endsWith("Descriptor_t") || t.equals("cudnnHandle_t") || t.equals("cublasHandle_t") || t.equals("cudaStream_t")) {
                    yield ValueLayout.ADDRESS;
                }
                if ((t.startsWith("cudnn") || t.startsWith("cublas")) && t.endsWith("_t")) yield ValueLayout.JAVA_INT; // an enum
                throw new AssertionError(where + ": unknown C type '" + cType + "'");
            }
        };
        return Optional.of(l);
    }

    /**
     * Parses {@code s}'s C prototype and checks that its FFM descriptor has the same arguments (int and enums as int;
     * size_t, long long and unsigned long long as long; pointers, arrays, handles and descriptors as addresses) and
     * return type. Used for Cudnn9.SIGNATURES, Cublas.CUBLAS_SIGNATURES and CudnnLibraryTest's read-back
     * functions.
     */
    static void assertDescriptorMatchesPrototype(Cudnn9.Signature s) {
        Matcher m = PROTOTYPE.matcher(s.prototype());
        assertTrue(m.matches(), "not a prototype: " + s.prototype());
        assertEquals(s.name(), m.group(2), "the prototype's function name");
        List<MemoryLayout> args = new ArrayList<>();
        String params = m.group(3).strip();
        if (!params.equals("void")) {
            for (String p : params.split(",")) {
                String q = p.strip();
                boolean array = q.endsWith("[]");
                if (array) q = q.substring(0, q.length() - 2);
                Matcher name = Pattern.compile("(\\w+)$").matcher(q);
                assertTrue(name.find(), s.prototype());
                String type = q.substring(0, name.start()).strip() + (array ? "[]" : "");
                args.add(layout(type, s.name()).orElseThrow(() -> new AssertionError(s.name() + ": a void parameter")));
            }
        }
        FunctionDescriptor d = s.descriptor();
        assertEquals(args, d.argumentLayouts(), s.name() + ": arguments of " + s.prototype());
        assertEquals(layout(m.group(1).strip(), s.name()), d.returnLayout(), s.name() + ": return type of " + s.prototype());
    }

    @Test
    void everyDescriptorHasItsPrototypesArguments() {
        assertTrue(Cudnn9.SIGNATURES.size() >= 40, "the binding's functions: " + Cudnn9.SIGNATURES.keySet());
        for (Map.Entry<String, Cudnn9.Signature> e : Cudnn9.SIGNATURES.entrySet()) {
            assertEquals(e.getKey(), e.getValue().name());
            assertDescriptorMatchesPrototype(e.getValue());
        }
        assertEquals(List.of("cublasCreate_v2", "cublasSetStream_v2", "cublasSetMathMode", "cublasGetVersion_v2", "cublasSgemmStridedBatched"),
                List.copyOf(Cublas.CUBLAS_SIGNATURES.keySet()));
        for (Cudnn9.Signature s : Cublas.CUBLAS_SIGNATURES.values()) assertDescriptorMatchesPrototype(s);
    }

    @Test
    void cublasValuesAndStatusNames() {
        // cublas_api.h of cuBLAS 13.1.1 (and 12): cublasOperation_t, cublasMath_t, cublasStatus_t
        assertArrayEquals(new int[] {0, 1, 0, 3}, new int[] {Cublas.CUBLAS_OP_N, Cublas.CUBLAS_OP_T,
                Cublas.CUBLAS_DEFAULT_MATH, Cublas.CUBLAS_TF32_TENSOR_OP_MATH});
        assertEquals(10, Cublas.CUBLAS_STATUS.size());
        assertEquals("cublasSgemmStridedBatched returned CUBLAS_STATUS_INVALID_VALUE (7)", Cublas.cublasFailure("cublasSgemmStridedBatched", 7));
        assertEquals("cublasCreate_v2 returned unknown cublasStatus_t 2 (2)", Cublas.cublasFailure("cublasCreate_v2", 2));
    }

    // ------------------------------------------------------------------------------------------------
    // pooling and batch norm
    // ------------------------------------------------------------------------------------------------

    @Test
    void poolingDescriptorsFollowTheEngine() {
        Pool2dGeometry g = new Pool2dGeometry(2, 3, 7, 9, 3, 2, 2, 1, 1, 0);
        CudnnArgs.PoolDescriptor max = CudnnArgs.pooling(g, PoolKind.MAX);
        assertEquals(new CudnnArgs.PoolDescriptor(CudnnArgs.CUDNN_POOLING_MAX_DETERMINISTIC, CudnnArgs.CUDNN_PROPAGATE_NAN, 3, 2, 1, 0, 2, 1), max);
        assertEquals(CudnnArgs.CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING, CudnnArgs.pooling(g, PoolKind.AVG_INCLUDE_PAD).mode());
        assertEquals(CudnnArgs.CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING, CudnnArgs.pooling(g, PoolKind.AVG_EXCLUDE_PAD).mode());
        assertArrayEquals(new int[] {2, 3, 7, 9}, CudnnArgs.poolInputDims(g));
        assertArrayEquals(new int[] {2, 3, g.p(), g.q()}, CudnnArgs.poolOutputDims(g));
        // every geometry the engine accepts has cuDNN's output size (floor mode)
        for (int h = 1; h <= 9; h++)
            for (int k = 1; k <= 4; k++)
                for (int s = 1; s <= 3; s++)
                    for (int p = 0; 2 * p <= k; p++) {
                        if (h + 2 * p < k) continue;
                        Pool2dGeometry gg = new Pool2dGeometry(1, 1, h, h + 1, k, k, s, s, p, p);
                        int[] out = CudnnArgs.poolOutputDims(gg);
                        assertEquals(gg.p(), out[2], gg.toString());
                        assertEquals(gg.q(), out[3], gg.toString());
                    }
    }

    /**
     * The engine's average divisor with padding counted (RefPool#divisor) is always the full window, which is what
     * CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING divides by; without, it is the count inside the input.
     */
    @Test
    void theEnginesAverageDivisorsAreCudnns() {
        for (int h = 1; h <= 8; h++)
            for (int k = 1; k <= 4; k++)
                for (int s = 1; s <= 3; s++)
                    for (int p = 0; 2 * p <= k; p++) {
                        if (h + 2 * p < k) continue;
                        Pool2dGeometry g = new Pool2dGeometry(1, 1, h, h, k, k, s, s, p, p);
                        for (int i = 0; i < g.p(); i++)
                            for (int j = 0; j < g.q(); j++) {
                                assertEquals(k * k, optlab.kernels.reference.RefPool.divisor(g, true, i, j), g + " window " + i + "," + j);
                                int rows = 0, cols = 0;
                                for (int r = i * s - p; r < i * s - p + k; r++) if (r >= 0 && r < h) rows++;
                                for (int c = j * s - p; c < j * s - p + k; c++) if (c >= 0 && c < h) cols++;
                                assertEquals(rows * cols, optlab.kernels.reference.RefPool.divisor(g, false, i, j), g.toString());
                            }
                    }
    }

    @Test
    void batchNormArgumentsAndTheirChecks() {
        assertArrayEquals(new int[] {8, 16, 49, 1}, CudnnArgs.bnDataDims(8, 16, 49));
        assertArrayEquals(new int[] {1, 16, 1, 1}, CudnnArgs.bnParamDims(16));
        assertEquals(1e-5, CudnnArgs.bnEpsilon("bn", 1e-5));
        assertEquals(0.0, CudnnArgs.bnEpsilon("bn", 0.0));
        var e = assertThrows(IllegalArgumentException.class, () -> CudnnArgs.bnEpsilon("batchNormForwardTraining", -1e-3));
        assertTrue(e.getMessage().contains("-0.001") && e.getMessage().contains("CUDNN_BN_MIN_EPSILON"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CudnnArgs.bnEpsilon("bn", Double.NaN));
        assertEquals(0.1, CudnnArgs.bnExponentialAverageFactor("bn", 0.1), "NOTE [bn-running-stats]: the factor is the momentum");
        var m = assertThrows(IllegalArgumentException.class, () -> CudnnArgs.bnExponentialAverageFactor("batchNormForwardTraining", 1.5));
        assertTrue(m.getMessage().contains("1.5"), m.getMessage());
    }

    // ------------------------------------------------------------------------------------------------
    // LSTM
    // ------------------------------------------------------------------------------------------------

    @Test
    void lstmDescriptorArguments() {
        LstmGeometry g = new LstmGeometry(35, 20, 650, 650);
        assertEquals(new CudnnArgs.RnnDescriptor(0, 2, 2, 0, 0, 0, 0, 3, 650, 650, 650, 1, 0), CudnnArgs.lstm(g));
        int[] lengths = CudnnArgs.sequenceLengths(g);
        assertEquals(20, lengths.length);
        for (int l : lengths) assertEquals(35, l);
        assertArrayEquals(new int[] {1, 20, 650}, CudnnArgs.stateDims(g));
        assertArrayEquals(new int[] {20 * 650, 650, 1}, CudnnArgs.stateStrides(g));
    }

    @Test
    void theWeightBlocksCoverEveryParameterOnce() {
        LstmGeometry g = new LstmGeometry(2, 3, 5, 7);
        int[][] seen = {new int[g.weightIhSize()], new int[g.weightHhSize()], new int[g.biasSize()], new int[g.biasSize()]};
        for (WeightBlock b : CudnnArgs.lstmWeightBlocks(g)) {
            assertEquals(b.matrix() ? (b.param() == LstmParam.W_IH ? g.input() : g.hidden()) : 1, b.cols(), b.toString());
            assertEquals(g.hidden(), b.rows());
            boolean input = b.param() == LstmParam.W_IH || b.param() == LstmParam.B_IH;
            assertEquals(input, b.linLayerId() < 4, "linLayerID 0-3 are the input side, 4-7 the recurrent one: " + b);
            assertEquals(b.engineOffset(), (b.linLayerId() % 4) * b.count(), "gate k is row block k: " + b);
            for (int i = 0; i < b.count(); i++) seen[b.param().ordinal()][b.engineOffset() + i]++;
        }
        for (int[] s : seen) for (int v : s) assertEquals(1, v);
    }

    @Test
    void weightBlockChecksNameWhatIsWrong() {
        WeightBlock w = CudnnArgs.lstmWeightBlocks(new LstmGeometry(1, 1, 5, 7)).get(1);
        CudnnArgs.checkBlockDims(w, new int[] {1, 7, 5});
        var e = assertThrows(IllegalStateException.class, () -> CudnnArgs.checkBlockDims(w, new int[] {1, 5, 7}));
        assertTrue(e.getMessage().contains("linLayerID 1 matrix has dimensions [1, 5, 7]") && e.getMessage().contains("[1, 7, 5]"), e.getMessage());
        assertEquals(10, CudnnArgs.spaceOffset(w, 0x1000, 0x1028, 4096));
        var m = assertThrows(IllegalStateException.class, () -> CudnnArgs.spaceOffset(w, 0x1000, 0x1002, 4096));
        assertTrue(m.getMessage().contains("0x1002") && m.getMessage().contains("4096 bytes"), m.getMessage());
        assertThrows(IllegalStateException.class, () -> CudnnArgs.spaceOffset(w, 0x1000, 0x1000 + 4096 - 4, 4096)); // runs past the end
        assertThrows(IllegalStateException.class, () -> CudnnArgs.spaceOffset(w, 0x1000, 0, 4096)); // NULL: no such block
    }

    private static double[] uniform(long seed, int n, double k) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = r.nextDouble(-k, k);
        return a;
    }

    private static double sigmoid(double v) {
        return 1 / (1 + Math.exp(-v));
    }

    /**
     * NOTE [lstm-weights]: the engine's weights go into a weight space laid out unlike the engine's (blocks in
     * reverse order, with gaps), through the binding's own map; then cuDNN's LSTM equations as documented, reading
     * that space by linLayerID, give the reference's outputs. And the gradient map reads the input matrices, the
     * recurrent matrices and the input biases back out of a gradient space.
     */
    @Test
    void cudnnsDocumentedEquationsOnTheMappedWeightsGiveTheReference() {
        LstmGeometry g = new LstmGeometry(4, 3, 5, 6);
        int h = g.hidden(), in = g.input(), n = g.n();
        double k = 1 / Math.sqrt(h);
        double[] x = uniform(1, g.inputSize(), 1), h0 = uniform(2, g.stateSize(), 1), c0 = uniform(3, g.stateSize(), 1);
        double[][] engine = {uniform(4, g.weightIhSize(), k), uniform(5, g.weightHhSize(), k), uniform(6, g.biasSize(), k),
                uniform(7, g.biasSize(), k)};
        List<WeightBlock> blocks = CudnnArgs.lstmWeightBlocks(g);
        long[] offsets = new long[blocks.size()];
        long at = 7;
        for (int i = blocks.size() - 1; i >= 0; i--) {
            offsets[i] = at;
            at += blocks.get(i).count() + 3;
        }
        double[] space = new double[(int) at];
        CudnnArgs.forEachBlock(g, offsets, true, true, (param, eo, so, count) -> System.arraycopy(engine[param.ordinal()], eo, space, (int) so, count));

        // where linLayerID `id`'s matrix or bias starts in the space
        java.util.function.BiFunction<Integer, Boolean, Integer> where = (id, matrix) -> {
            for (int i = 0; i < blocks.size(); i++) {
                if (blocks.get(i).linLayerId() == id && blocks.get(i).matrix() == matrix) return (int) offsets[i];
            }
            throw new AssertionError("no block " + id);
        };
        double[] y = new double[g.outputSize()], hs = h0.clone(), cs = c0.clone();
        for (int s = 0; s < g.t(); s++) {
            double[] hNew = new double[g.stateSize()], cNew = new double[g.stateSize()];
            for (int b = 0; b < n; b++)
                for (int j = 0; j < h; j++) {
                    double[] z = new double[4];
                    for (int gate = 0; gate < 4; gate++) {
                        int w = where.apply(gate, true), r = where.apply(4 + gate, true);
                        double v = space[where.apply(gate, false) + j] + space[where.apply(4 + gate, false) + j];
                        for (int i = 0; i < in; i++) v += space[w + j * in + i] * x[(s * n + b) * in + i]; // W (hidden, input) row-major
                        for (int i = 0; i < h; i++) v += space[r + j * h + i] * hs[b * h + i];            // R (hidden, hidden)
                        z[gate] = v;
                    }
                    double ig = sigmoid(z[0]), fg = sigmoid(z[1]), gg = Math.tanh(z[2]), og = sigmoid(z[3]);
                    cNew[b * h + j] = fg * cs[b * h + j] + ig * gg;
                    hNew[b * h + j] = og * Math.tanh(cNew[b * h + j]);
                }
            System.arraycopy(hNew, 0, y, s * g.stateSize(), g.stateSize());
            hs = hNew;
            cs = cNew;
        }
        double[] ey = new double[g.outputSize()], ehT = new double[g.stateSize()], ecT = new double[g.stateSize()];
        RefLstm.sequenceForward(g, x, h0, c0, engine[0], engine[1], engine[2], engine[3], ey, ehT, ecT, null);
        Tolerance.FLOAT64.assertClose("y from cuDNN's equations on the mapped weights", y, ey);
        Tolerance.FLOAT64.assertClose("hT", hs, ehT);
        Tolerance.FLOAT64.assertClose("cT", cs, ecT);

        // gradients: cuDNN writes dW_k, dR_k, dbW_k, dbR_k at the same places; the binding reads W, R and bW back
        double[] dspace = uniform(8, space.length, 1);
        double[][] back = {new double[g.weightIhSize()], new double[g.weightHhSize()], new double[g.biasSize()], null};
        CudnnArgs.forEachBlock(g, offsets, true, false, (param, eo, so, count) -> {
            assertNotNull(back[param.ordinal()], "the recurrent bias's gradient is not read (it equals the input bias's)");
            System.arraycopy(dspace, (int) so, back[param.ordinal()], eo, count);
        });
        for (int gate = 0; gate < 4; gate++)
            for (int j = 0; j < h; j++) {
                for (int i = 0; i < in; i++) assertEquals(dspace[where.apply(gate, true) + j * in + i], back[0][(gate * h + j) * in + i]);
                for (int i = 0; i < h; i++) assertEquals(dspace[where.apply(4 + gate, true) + j * h + i], back[1][(gate * h + j) * h + i]);
                assertEquals(dspace[where.apply(gate, false) + j], back[2][gate * h + j]);
            }
    }

    @Test
    void absentBiasesAreSkipped() {
        LstmGeometry g = new LstmGeometry(1, 1, 2, 3);
        long[] offsets = new long[16];
        List<LstmParam> visited = new ArrayList<>();
        CudnnArgs.forEachBlock(g, offsets, false, true, (param, eo, so, count) -> visited.add(param));
        assertEquals(12, visited.size());
        assertTrue(!visited.contains(LstmParam.B_IH) && visited.contains(LstmParam.B_HH), visited.toString());
        var e = assertThrows(IllegalArgumentException.class, () -> CudnnArgs.forEachBlock(g, new long[3], true, true, (p, a, b, c) -> {}));
        assertTrue(e.getMessage().contains("3 offsets for 16 blocks"), e.getMessage());
    }

    // ------------------------------------------------------------------------------------------------
    // libraries and symbols (NOTE [cudnn9-libraries]), with stand-in libraries that exist on every Linux
    // ------------------------------------------------------------------------------------------------

    @Test
    void symbolsComeFromTheShimElseFromASublibraryBesideIt(@TempDir Path dir) throws IOException {
        Path libm = Path.of("/lib/x86_64-linux-gnu/libm.so.6"), libz = Path.of("/lib/x86_64-linux-gnu/libz.so.1");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(libm) && Files.exists(libz), "needs libm.so.6 and libz.so.1 as stand-ins");
        Files.createSymbolicLink(dir.resolve("libcudnn.so.9"), libm);      // the shim: exports cos
        Files.createSymbolicLink(dir.resolve("libcudnn_ops.so.9"), libz);  // a sub-library beside it: exports deflateEnd
        Files.createSymbolicLink(dir.resolve("liboptlab_standin.so.9"), libm);
        // open() finds a library in a directory when the name alone does not (a name no linker path holds)
        List<String> tried = new ArrayList<>();
        NativeLibrary found = NativeLibrary.open(List.of("liboptlab_standin.so.9"), List.of(dir), tried);
        assertNotNull(found, tried.toString());
        assertEquals(dir.resolve("liboptlab_standin.so.9"), found.path);
        // The shim is opened at its path: open() would try the name libcudnn.so.9 first, which resolves to a real
        // cuDNN where one is on the linker's path or already loaded in this JVM (CudnnLibraryTest loads one).
        NativeLibrary shim = NativeLibrary.at(dir.resolve("libcudnn.so.9"));
        assertEquals(dir.resolve("libcudnn.so.9"), shim.path);
        CudnnLibraries libs = new CudnnLibraries(shim);
        libs.function("cos", FunctionDescriptor.of(ValueLayout.JAVA_DOUBLE, ValueLayout.JAVA_DOUBLE));
        libs.function("deflateEnd", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        assertTrue(libs.has("deflateEnd") && !libs.has("cudnnOptlabNoSuchFunction"));
        String origins = libs.origins();
        assertTrue(origins.contains("libcudnn.so.9: 1") && origins.contains("libcudnn_ops.so.9: 1 [deflateEnd]"), origins);

        var e = assertThrows(IllegalStateException.class, () -> libs.function("cudnnOptlabNoSuchFunction", FunctionDescriptor.ofVoid()));
        String m = e.getMessage();
        assertTrue(m.startsWith("cuDNN: no library exports cudnnOptlabNoSuchFunction"), m);
        assertTrue(m.contains(dir.resolve("libcudnn.so.9") + ": no such symbol"), m);
        assertTrue(m.contains(dir.resolve("libcudnn_ops.so.9") + ": no such symbol"), m);
        for (String sub : List.of("libcudnn_cnn.so.9", "libcudnn_adv.so.9", "libcudnn_graph.so.9")) {
            // not beside the stand-in shim; by name it opens only where a real cuDNN is on the linker's path
            assertTrue(m.contains(sub + ": did not open (" + dir.resolve(sub) + ": no such file; " + sub + " by name")
                    || m.contains(sub + " (found by the dynamic linker): no such symbol"), m);
        }
    }

    @Test
    void aMissingCudnnIsReportedWithEveryPlaceLookedIn(@TempDir Path dir) {
        List<String> tried = new ArrayList<>();
        String soname = "libcudnn_optlab_absent.so.9";
        assertEquals(null, NativeLibrary.open(List.of(soname), List.of(dir), tried));
        String all = String.join("\n", tried);
        assertTrue(all.contains(soname + " by name (LD_LIBRARY_PATH, ld.so.cache)"), all);
        assertTrue(all.contains("not in any of: [" + dir + "]"), all);
    }
}
