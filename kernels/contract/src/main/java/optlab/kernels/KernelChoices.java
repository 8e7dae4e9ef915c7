package optlab.kernels;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Modifier;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.TreeMap;
import optlab.kernels.family.BatchNormKernel;
import optlab.kernels.family.BinaryKernel;
import optlab.kernels.family.Conv2dKernel;
import optlab.kernels.family.EmbeddingKernel;
import optlab.kernels.family.GemmKernel;
import optlab.kernels.family.LstmKernel;
import optlab.kernels.family.Pool2dKernel;
import optlab.kernels.family.SoftmaxCrossEntropyKernel;
import optlab.kernels.family.UnaryKernel;

/**
 * Which kernel runs each op, as one immutable value: every op's built-in variants by name, one table of
 * defaults, and overrides parsed from a command line's {@code --kernels} or a config file, including a
 * user's own kernel with no rebuild: a compiled GPU kernel (a PTX, cubin or fatbin file plus a function
 * name) or, on the CPU, a Java class implementing the op family's interface.
 *
 * <p>NOTE [kernel-choices]: the value is parsed once and handed to the backend when it is opened
 * ({@link Backends#open}); the backend dispatches by it, reports it ({@link Backend#kernels()}) and
 * counts the calls each variant actually served ({@link Backend#kernelCalls()}). Nothing else reads
 * kernel choices: autograd asks the backend of the tensor at hand, and a run records the backend's
 * value and its counts, so what is recorded is what ran. A choice the opened backend cannot run
 * ({@code gemm=cublas} on the CPU, a Java kernel on CUDA) is refused when it is opened, never ignored.
 *
 * <p>Spec syntax (entries separated by commas, semicolons or newlines; {@code #} starts a comment in a
 * file):
 * <pre>
 *   gemm=own_tf32                                  a built-in variant (CUDA)
 *   conv2d=cudnn, pool2d=cudnn, batchnorm=cudnn, lstm=cudnn
 *   unary.relu=user:/path/relu.ptx:my_relu:backward=my_relu_bwd
 *   unary.exp=user:/path/k.fatbin:my_exp:forward-only
 *   gemm=user:/path/sgemm.cubin:my_sgemm:block=256:tile=128x128
 *   fused.adam_f32=user:/path/adam.ptx:my_adam     replaces Adam's fused kernel on the GPU
 *   conv2d=user:/path/conv.ptx:my_conv             my_conv_forward, my_conv_backward_data, my_conv_backward_filter
 *   pool2d=user:/path/pool.cubin:my_pool:forward-only   my_pool_max_forward, my_pool_avg_forward only
 *   binary.add=user:/path/k.ptx:my_add             one function, the ABI of elementwise.cu's binary_f32
 *   conv2d=java:/path/kernels.jar:my.pkg.MyConv    a Java kernel on the CPU (a jar or a classes directory)
 *   gemm=java:my.pkg.MyGemm                        ... or a class already on the class path
 *   fused.adam_f32=java:my.pkg.MyAdam              replaces Adam's fused kernel on the CPU
 * </pre>
 * A variant belongs to one target: {@code cpu*} variants and {@code java:} kernels to the CPU, the
 * others and {@code user:} kernels to CUDA. {@code fused.NAME} must name a real fused kernel
 * ({@link #fusedKernelNames()}, e.g. {@code adam_f32}); the ABI of each family is {@link #abi(String)}
 * and docs/KERNELS.md. A compiled kernel for a family of several primitives (conv2d, pool2d, batchnorm,
 * softmax_cross_entropy, lstm, embedding) is named by a function prefix: it provides {@code PREFIX_forward}
 * and the family's other functions ({@link #compiledFunctions}), each taking the arguments of the engine's own
 * kernel for that primitive, so that the built-in kernel's source is a starting point.
 *
 * <p>NOTE [user-kernel-gradients]: a user kernel for a differentiable op brings its backward or declares
 * itself forward-only. A compiled unary kernel names its backward ({@code :backward=FUNCTION}); a compiled
 * kernel named by a prefix provides the family's backward functions by the prefix; a Java kernel implements
 * its family's backward methods. {@code :forward-only} is accepted for both, and
 * {@link #checkGradient} refuses such a kernel in a graph that needs its gradient: autograd calls it when
 * it records the op with an input that requires a gradient. Ops whose backward is the same primitive
 * ({@code gemm}, {@code binary.*}) take no backward options; fused kernels are not differentiated.
 */
public final class KernelChoices {

    /** Which backend a variant runs on. */
    public enum Target {
        CPU, CUDA;

        /** The reference device runs Java like the CPU; its backend refuses any choice but the defaults. */
        public static Target of(Device device) {
            return device.kind() == Device.Kind.CUDA ? CUDA : CPU;
        }

        String lower() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** A built-in variant of an op. */
    public record Variant(String name, Target target, String description) {}

    /**
     * A user's compiled GPU kernel.
     *
     * @param file             a .ptx, .cubin or .fatbin file (loaded with cuModuleLoadData; PTX is JIT-compiled
     *                         by the driver)
     * @param function         the extern "C" function name, or for a family of several functions (conv2d, pool2d,
     *                         batchnorm, softmax_cross_entropy, lstm, embedding) their common prefix: see
     *                         {@link #function(String)} and {@link #compiledFunctions}
     * @param backwardFunction the backward's function in the same file, or null
     * @param forwardOnly      declared forward-only (see NOTE [user-kernel-gradients])
     * @param options          launch options ({@code block}, {@code tile}), as given
     */
    public record UserKernel(Path file, String function, String backwardFunction, boolean forwardOnly,
                             Map<String, String> options) {
        public UserKernel {
            Objects.requireNonNull(file);
            Objects.requireNonNull(function);
            options = Collections.unmodifiableMap(new LinkedHashMap<>(options));
        }

        /** The module string a CUDA backend loads this file by ({@code "file:" + absolute path}). */
        public String module() {
            return "file:" + file.toAbsolutePath();
        }

        /** Function {@code PREFIX_suffix} of a family named by a prefix ({@code my_conv} + {@code backward_data}). */
        public String function(String suffix) {
            return function + "_" + suffix;
        }

        /** An integer launch option, or {@code orElse}. */
        public int intOption(String key, int orElse) {
            String v = options.get(key);
            return v == null ? orElse : Integer.parseInt(v);
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder("user:").append(file).append(':').append(function);
            if (backwardFunction != null) b.append(":backward=").append(backwardFunction);
            if (forwardOnly) b.append(":forward-only");
            options.forEach((k, v) -> b.append(':').append(k).append('=').append(v));
            return b.toString();
        }
    }

    /**
     * A user's Java kernel for the CPU: an instance of the op family's interface ({@link #abi(String)}),
     * made once with its public no-argument constructor when the spec is parsed. It must be stateless
     * between calls (the backend may call it from any thread, one call at a time per op).
     *
     * @param classPath   the jar or classes directory it was loaded from, or null (the class path)
     * @param className   its binary name
     * @param forwardOnly declared forward-only (NOTE [user-kernel-gradients])
     * @param instance    the kernel
     */
    public record JavaKernel(Path classPath, String className, boolean forwardOnly, Object instance) {
        @Override
        public String toString() {
            return "java:" + (classPath != null ? classPath + ":" : "") + className + (forwardOnly ? ":forward-only" : "");
        }
    }

    /**
     * The choice for one op on one target.
     *
     * @param variant the built-in variant's name, {@code "user"} or {@code "java"}
     * @param user    the compiled kernel when variant is "user", else null
     * @param java    the Java kernel when variant is "java", else null
     * @param source  where the choice came from: "default", "file PATH", "command line", ...
     */
    public record Choice(String op, Target target, String variant, UserKernel user, JavaKernel java, String source) {
        public boolean isUser() {
            return user != null || java != null;
        }

        public boolean isDefault() {
            return source.equals("default");
        }

        public boolean forwardOnly() {
            return user != null ? user.forwardOnly() : java != null && java.forwardOnly();
        }

        /** The variant as recorded with results: its name, or the user kernel's spec. */
        public String describe() {
            return user != null ? user.toString() : java != null ? java.toString() : variant;
        }

        /** {@code op=variant} (or the user kernel's spec). */
        @Override
        public String toString() {
            return op + "=" + describe();
        }
    }

    /** How an op's user kernels relate to its gradient (NOTE [user-kernel-gradients]). */
    private enum Gradient {
        /** the op's backward runs the same primitive: a user kernel needs no backward of its own */
        SAME_PRIMITIVE,
        /** the kernel brings its backward or declares itself forward-only */
        OWN_BACKWARD,
        /** not differentiated (optimizer updates) */
        NONE
    }

    /**
     * One op of the table.
     *
     * @param javaFamily the interface a Java kernel implements (CPU)
     * @param compiledAbi the C functions a compiled kernel provides and how they are launched (CUDA)
     */
    private record OpSpec(String op, List<Variant> variants, String cpuDefault, String cudaDefault, Gradient gradient,
                          Class<?> javaFamily, String compiledAbi) {}

    // ------------------------------------------------------------------------------------------------
    // The table of ops, variants and defaults
    // ------------------------------------------------------------------------------------------------

    private static final String GEMM_ABI = "(int transA, int transB, int m, int n, int k, float alpha, const float* A, "
            + "int lda, long long strideA, const float* B, int ldb, long long strideB, float beta, float* C, int ldc, "
            + "long long strideC, int batch), row-major as Backend#gemm; launched 1-D grid-stride over batch*m*n with the "
            + "backend's block size, or with :tile=BMxBN:block=T on a (ceil(n/BN), ceil(m/BM), batch) grid of T threads";
    private static final String UNARY_ABI = "the FusedKernel ABI: forward (int n, const float* x, float* y, double alpha); "
            + "backward (int n, const float* x, const float* y, const float* dy, float* dx, double alpha); grid-stride";
    private static final String FUSED_ABI = "the FusedKernel ABI (int n, T0* op0, ..., double s0, ...), grid-stride "
            + "(see FusedKernel#cuda)";
    /** Launch of the compiled kernels of the families below, unless an ABI says otherwise. */
    private static final String LAUNCH = "1-D grid-stride launch of the backend's block size (optlab.cuda.block, 256) "
            + "or :block=N threads and at most optlab.cuda.maxBlocks blocks: correct for any grid";
    private static final String PER_BLOCK = "one block per item, grid-stride over items (at most optlab.cuda.maxBlocks "
            + "blocks) of the backend's block size or :block=N threads, any blockDim, blockDim*8 bytes of dynamic shared memory";
    private static final String CONV2D_ABI = "functions PREFIX_forward(ConvGeom g, const float* x, const float* w, float* y), "
            + "PREFIX_backward_data(ConvGeom g, const float* dy, const float* w, float* dx), "
            + "PREFIX_backward_filter(ConvGeom g, const float* x, const float* dy, float* dw); ConvGeom is conv.cu's "
            + "struct {int n, c, h, w, k, r, s, strideH, strideW, padH, padW, p, q} by value; each overwrites its output, "
            + LAUNCH + " over the output's elements (y, dx, dw)";
    private static final String POOL2D_ABI = "pool.cu's kernels as PREFIX_max_forward(PoolGeom g, const float* x, float* y), "
            + "PREFIX_max_backward(PoolGeom g, const float* x, const float* y, const float* dy, float* dx), "
            + "PREFIX_avg_forward(PoolGeom g, int countIncludePad, const float* x, float* y), "
            + "PREFIX_avg_backward(PoolGeom g, int countIncludePad, const float* dy, float* dx); PoolGeom is pool.cu's "
            + "struct {int n, c, h, w, kh, kw, strideH, strideW, padH, padW, p, q} by value; dx is overwritten; "
            + LAUNCH + " over y's elements (forwards) or dx's (backwards)";
    private static final String BATCHNORM_ABI = "the plain batch norm (the backend runs the fused epilogue, add and ReLU, "
            + "around it: Backend's NOTE [bn-epilogue]), batchnorm.cu's kernel bodies as PREFIX_forward_training(int n, int c, int hw, "
            + "const float* x, const float* gamma, const float* beta, double eps, double momentum, float* runningMean, "
            + "float* runningVar, float* y, float* saveMean, float* saveInvStd) and PREFIX_backward(int n, int c, int hw, "
            + "const float* x, const float* dy, const float* gamma, const float* saveMean, const float* saveInvStd, "
            + "float* dx, float* dgamma, float* dbeta): " + PER_BLOCK + " (an item is a channel); "
            + "PREFIX_forward_inference(int n, int c, int hw, const float* x, const float* gamma, const float* beta, "
            + "const float* runningMean, const float* runningVar, double eps, float* y): " + LAUNCH + " over n*c*hw; "
            + "runningMean and runningVar of the training forward may be null (not updated)";
    private static final String SOFTMAX_CROSS_ENTROPY_ABI = "loss.cu's kernels as PREFIX_forward(int n, int classes, "
            + "const float* logits, const int* labels, double smoothing, float* loss, float* probs, int* badFlag): "
            + PER_BLOCK + " (an item is a row); PREFIX_backward(int n, int classes, const float* probs, const int* labels, "
            + "double smoothing, const float* dLoss, float* dLogits, int* badFlag): " + LAUNCH + " over n*classes; a label "
            + "outside [0, classes) is reported with atomicMin(badFlag, row) (the backend then throws naming it)";
    private static final String EMBEDDING_ABI = "embedding.cu's kernels as PREFIX_forward(int n, int dim, int vocab, "
            + "const int* indices, const float* table, float* out, int* badFlag) (a bad index reported with "
            + "atomicMin(badFlag, i)) and PREFIX_backward(int groups, int dim, const int* order, const int* rows, "
            + "const int* starts, const float* dOut, float* dTable): dTable[rows[g]] += the dOut rows "
            + "order[starts[g]] .. order[starts[g+1]-1] (the host groups the positions by index, each group in increasing "
            + "position; dTable accumulates); " + LAUNCH + " over n*dim (forward) or groups*dim (backward)";
    private static final String LSTM_ABI = "PREFIX_forward(LstmGeom g, const float* x, const float* h0, const float* c0, "
            + "const float* wIh, const float* wHh, const float* bIh, const float* bHh, float* y, float* hT, float* cT, "
            + "float* reserve) and PREFIX_backward(LstmGeom g, const float* x, const float* h0, const float* c0, "
            + "const float* wIh, const float* wHh, const float* y, float* reserve, const float* dy, const float* dhT, "
            + "const float* dcT, float* dx, float* dh0, float* dc0, float* dwIh, float* dwHh, float* db), the operands of "
            + "Backend#lstmSequenceForward/Backward; LstmGeom is the struct {int t, n, input, hidden} by value; an "
            + "optional operand is null (an input: zero; an output: not wanted); reserve is never null, has "
            + "LstmGeometry#stepReserveSize floats and is the kernel's own (the backward may overwrite it); each is "
            + "launched as ONE block (grid 1x1x1) of the backend's block size or :block=N threads, which runs the "
            + "recurrence with __syncthreads between steps";
    private static final String BINARY_ABI = "elementwise.cu's binary_f32: (int op, int n, float* out, const float* a, "
            + "const float* b, Strided3 st), op the engine's code of the BinaryOp (CudaBackend#binaryCode: 0 ADD, 1 SUB, "
            + "2 MUL, 3 DIV, 4 MAX, 5 MIN, 6 RELU_BACKWARD, 7 TANH_BACKWARD, 8 SIGMOID_BACKWARD), st common.cuh's struct "
            + "{int rank; int shape[8], s0[8], s1[8], s2[8]} (the coalesced shape; strides of out, a, b; element i of "
            + "the row-major iteration) by value; " + LAUNCH + " over n; FLOAT32 only";

    /**
     * The functions a compiled kernel of a family named by a prefix provides, as suffixes: {forward functions,
     * backward functions} ({@code :forward-only} needs only the first). Families absent here name one function.
     */
    private static final Map<String, List<List<String>>> PREFIX_FUNCTIONS = Map.of(
            "conv2d", List.of(List.of("forward"), List.of("backward_data", "backward_filter")),
            "pool2d", List.of(List.of("max_forward", "avg_forward"), List.of("max_backward", "avg_backward")),
            "batchnorm", List.of(List.of("forward_training", "forward_inference"), List.of("backward")),
            "softmax_cross_entropy", List.of(List.of("forward"), List.of("backward")),
            "lstm", List.of(List.of("forward"), List.of("backward")),
            "embedding", List.of(List.of("forward"), List.of("backward")));

    private static final Map<String, OpSpec> OPS = new LinkedHashMap<>();

    private static void op(String op, String cpuDefault, String cudaDefault, Gradient gradient, Class<?> javaFamily,
                           String compiledAbi, Variant... variants) {
        OPS.put(op, new OpSpec(op, List.of(variants), cpuDefault, cudaDefault, gradient, javaFamily, compiledAbi));
    }

    private static Variant cpu(String name, String description) {
        return new Variant(name, Target.CPU, description);
    }

    private static Variant cuda(String name, String description) {
        return new Variant(name, Target.CUDA, description);
    }

    static {
        op("gemm", "cpu_sgemm", "own_tiled_fp32", Gradient.SAME_PRIMITIVE, GemmKernel.class, GEMM_ABI,
                cpu("cpu_sgemm", "cpu/Sgemm: blocked, Vector API, all cores"),
                cuda("own_tiled_fp32", "gemm.cu: shared-memory tiles 128x128 (64x64 for small problems), FP32 FMA"),
                cuda("own_tiled_fp32_v2", "gemm.cu: the 128x128 tiles in <= 128 registers (two blocks per SM; 64x64 for "
                        + "small problems), FP32 FMA; to compare with own_tiled_fp32 on a GPU"),
                cuda("own_naive", "gemm.cu: one thread per output, FP32"),
                cuda("own_tf32", "gemm.cu: WMMA tensor cores, operands rounded to TF32 (explicit numerics option)"),
                cuda("cublas", "cuBLAS SGEMM, FP32 math (pedantic: no TF32)"),
                cuda("cublas_tf32", "cuBLAS SGEMM with TF32 tensor-op math (explicit numerics option)"));
        op("conv2d", "cpu_implicit_gemm", "own_im2col", Gradient.OWN_BACKWARD, Conv2dKernel.class, CONV2D_ABI,
                cpu("cpu_implicit_gemm", "cpu/CpuConv: implicit GEMM, col panels gathered from the image into Sgemm"),
                cuda("own_im2col", "conv.cu im2col/col2im + the gemm op's kernel"),
                cuda("cudnn", "cuDNN 9 convolution forward/backward (FMA math, no TF32)"));
        op("pool2d", "cpu_direct", "own_direct", Gradient.OWN_BACKWARD, Pool2dKernel.class, POOL2D_ABI,
                cpu("cpu_direct", "cpu/CpuPool"),
                cuda("own_direct", "pool.cu: one thread per output (forward) / input (backward, gather)"),
                cuda("cudnn", "cuDNN 9 pooling forward/backward (max: CUDNN_POOLING_MAX_DETERMINISTIC; average with or without padding)"));
        op("batchnorm", "cpu_direct", "own_blockwise", Gradient.OWN_BACKWARD, BatchNormKernel.class, BATCHNORM_ABI,
                cpu("cpu_direct", "cpu/CpuBatchNorm"),
                cuda("own_blockwise", "batchnorm.cu: one block per channel, double statistics"),
                cuda("cudnn", "cuDNN 9 batch normalization, spatial mode (training with running statistics, inference, backward)"));
        op("softmax_cross_entropy", "cpu_reference", "own", Gradient.OWN_BACKWARD, SoftmaxCrossEntropyKernel.class, SOFTMAX_CROSS_ENTROPY_ABI,
                cpu("cpu_reference", "reference/RefLoss, widened to double"),
                cuda("own", "loss.cu: one block per row"));
        op("lstm", "cpu_steps", "own_steps", Gradient.OWN_BACKWARD, LstmKernel.class, LSTM_ABI,
                cpu("cpu_steps", "CpuLstm (float32; LstmSteps in float64): the input projection as one GEMM, then per chunk of batch rows a GEMM and the fused cell per step"),
                cuda("own_steps", "LstmSteps on the own kernels: gemm + lstm.cu's fused cell per step"),
                cuda("cudnn", "cuDNN 9 v8 RNN API (cudnnRNNForward, cudnnRNNBackwardData_v8/BackwardWeights_v8), FMA math"));
        op("embedding", "cpu_reference", "own", Gradient.OWN_BACKWARD, EmbeddingKernel.class, EMBEDDING_ABI,
                cpu("cpu_reference", "reference/RefEmbedding"),
                cuda("own", "embedding.cu: gather forward; backward grouped by index, in double"));
        for (UnaryOp u : UnaryOp.values()) {
            op(unaryOp(u), "cpu", "own", Gradient.OWN_BACKWARD, UnaryKernel.class, UNARY_ABI,
                    cpu("cpu", "cpu/CpuElementwise"), cuda("own", "elementwise.cu unary_f32"));
        }
        for (BinaryOp b : BinaryOp.values()) {
            op(binaryOp(b), "cpu", "own", Gradient.SAME_PRIMITIVE, BinaryKernel.class, BINARY_ABI,
                    cpu("cpu", "cpu/CpuElementwise"), cuda("own", "elementwise.cu binary kernels"));
        }
    }

    /** The choices' name of a unary op: {@code unary.relu}. */
    public static String unaryOp(UnaryOp op) {
        return "unary." + op.name().toLowerCase(Locale.ROOT);
    }

    /** The choices' name of a binary op: {@code binary.add}. */
    public static String binaryOp(BinaryOp op) {
        return "binary." + op.name().toLowerCase(Locale.ROOT);
    }

    /** The choices' name of a fused kernel: {@code fused.adam_f32}. */
    public static String fusedOp(String kernelName) {
        return "fused." + kernelName;
    }

    /** The ops of the table, in order ({@code fused.*} ops are those of {@link #fusedKernelNames()}). */
    public static List<String> ops() {
        return List.copyOf(OPS.keySet());
    }

    /** The built-in variants of {@code op} (for {@code fused.NAME}: cpu "host" and cuda "own"). */
    public static List<Variant> variants(String op) {
        return spec(op).variants();
    }

    /**
     * What a user kernel for {@code op} must be: the Java interface it implements on the CPU, and the C
     * signature of a compiled one on CUDA where the op takes one.
     */
    public static String abi(String op) {
        OpSpec s = spec(op);
        return "java: implements " + s.javaFamily().getName() + "; user (CUDA): " + userSyntax(op) + ", " + s.compiledAbi();
    }

    /**
     * The names of every fused kernel on the class path, from the {@link FusedKernel.Catalog}s that
     * {@link ServiceLoader} finds (the optimizers' update kernels, for one): what {@code fused.NAME} may name.
     */
    public static synchronized List<String> fusedKernelNames() {
        return List.copyOf(fusedKernels().keySet());
    }

    /** The built-in fused kernel of that name (a catalog's, see {@link #fusedKernelNames()}); refuses any other name. */
    public static FusedKernel fusedKernel(String name) {
        FusedKernel k = fusedKernels().get(name);
        if (k == null) {
            throw new IllegalArgumentException("unknown fused kernel '" + name + "'; fused kernels: " + String.join(", ", fusedKernelNames()));
        }
        return k;
    }

    private static synchronized Map<String, FusedKernel> fusedKernels() {
        if (fused == null) {
            TreeMap<String, FusedKernel> byName = new TreeMap<>();
            for (FusedKernel.Catalog c : ServiceLoader.load(FusedKernel.Catalog.class, KernelChoices.class.getClassLoader())) {
                for (FusedKernel k : c.kernels()) byName.putIfAbsent(k.name(), k);
            }
            fused = Collections.unmodifiableMap(byName);
        }
        return fused;
    }

    private static Map<String, FusedKernel> fused;

    private static OpSpec spec(String op) {
        OpSpec s = OPS.get(op);
        if (s != null) return s;
        if (op.startsWith("fused.")) {
            String name = op.substring(6);
            if (!fusedKernelNames().contains(name)) {
                throw new IllegalArgumentException("kernel choices: unknown fused kernel '" + name + "'; fused kernels: "
                        + String.join(", ", fusedKernelNames()));
            }
            return new OpSpec(op, List.of(cpu("host", "the kernel's Java runHost"),
                    cuda("own", "the kernel's own CUDA function (FusedKernel#cuda)")), "host", "own",
                    Gradient.NONE, FusedKernel.class, FUSED_ABI);
        }
        throw new IllegalArgumentException("kernel choices: unknown op '" + op + "'; known ops: "
                + String.join(", ", families()) + " (" + String.join(", ", OPS.keySet()) + ")");
    }

    /** The op names with the unary, binary and fused families collapsed to {@code unary.*}, ... */
    private static List<String> families() {
        List<String> out = new ArrayList<>();
        for (String op : OPS.keySet()) {
            String f = op.startsWith("unary.") ? "unary.*" : op.startsWith("binary.") ? "binary.*" : op;
            if (!out.contains(f)) out.add(f);
        }
        out.add("fused.<kernel name>");
        return out;
    }

    // ------------------------------------------------------------------------------------------------
    // Instances
    // ------------------------------------------------------------------------------------------------

    /** Overrides by op, in the order given; ops absent here use the table's default on either target. */
    private final Map<String, Choice> overrides;

    private KernelChoices(Map<String, Choice> overrides) {
        this.overrides = Collections.unmodifiableMap(new LinkedHashMap<>(overrides));
    }

    private static final KernelChoices DEFAULTS = new KernelChoices(Map.of());

    /** The table's defaults, no overrides. */
    public static KernelChoices defaults() {
        return DEFAULTS;
    }

    /** The defaults with {@code spec} applied (command line). */
    public static KernelChoices parse(String spec) {
        return DEFAULTS.with(spec, "command line");
    }

    /** These choices with the entries of a config file applied (the same syntax, one entry per line). */
    public KernelChoices withFile(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("kernel choices: cannot read config file " + file + ": " + e.getMessage(), e);
        }
        return with(text, "file " + file);
    }

    /**
     * These choices with the entries of {@code spec} applied; {@code source} is recorded with each choice.
     * A later entry for an op replaces an earlier one. Throws {@link IllegalArgumentException} naming the
     * entry, the op and the variant, and listing the valid ones.
     */
    public KernelChoices with(String spec, String source) {
        Map<String, Choice> next = new LinkedHashMap<>(overrides);
        for (String raw : spec.split("[,;\\n]")) {
            String entry = raw.strip();
            int hash = entry.indexOf('#');
            if (hash >= 0) entry = entry.substring(0, hash).strip();
            if (entry.isEmpty()) continue;
            Choice c = parseEntry(entry, source);
            next.remove(c.op());
            next.put(c.op(), c);
        }
        return new KernelChoices(next);
    }

    private static Choice parseEntry(String entry, String source) {
        int eq = entry.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("kernel choices (" + source + "): entry '" + entry + "' is not of the form op=variant");
        }
        String op = entry.substring(0, eq).strip();
        String value = entry.substring(eq + 1).strip();
        OpSpec s;
        try {
            s = spec(op);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + " (entry '" + entry + "' from " + source + ")", e);
        }
        String where = "kernel choices (" + source + "), entry '" + entry + "'";
        if (value.startsWith("user:")) return parseUser(s, value, where, source);
        if (value.startsWith("java:")) return parseJava(s, value, where, source);
        for (Variant v : s.variants()) {
            if (v.name().equals(value)) return new Choice(op, v.target(), v.name(), null, null, source);
        }
        throw new IllegalArgumentException("kernel choices (" + source + "): op '" + op + "' has no variant '" + value
                + "'; valid: " + validList(s));
    }

    private static String validList(OpSpec s) {
        List<String> names = new ArrayList<>();
        for (Variant v : s.variants()) names.add(v.name() + " (" + v.target().lower() + ")");
        String backward = s.gradient() == Gradient.OWN_BACKWARD ? "[:forward-only]" : "";
        names.add("java:[JAR_OR_DIR:]CLASS" + backward + " (cpu)");
        names.add(userSyntax(s.op()) + " (cuda)");
        return String.join(", ", names);
    }

    /** How a compiled kernel for {@code op} is written: {@code user:FILE:PREFIX[:forward-only]}, ... */
    private static String userSyntax(String op) {
        if (PREFIX_FUNCTIONS.containsKey(op)) return "user:FILE:PREFIX[:forward-only]";
        OpSpec s = OPS.get(op);
        boolean own = s != null && s.gradient() == Gradient.OWN_BACKWARD;
        return "user:FILE:FUNCTION" + (own ? "[:backward=FUNCTION|:forward-only]" : "");
    }

    /**
     * The functions compiled kernel {@code user} for {@code op} must provide: its function, or for a family named by
     * a prefix ({@code conv2d=user:FILE:my_conv}) {@code PREFIX_suffix} for each forward function of the family and,
     * unless it is forward-only, each backward one; a unary kernel's backward where it names one.
     */
    public static List<String> compiledFunctions(String op, UserKernel user) {
        List<List<String>> f = PREFIX_FUNCTIONS.get(op);
        List<String> out = new ArrayList<>();
        if (f == null) {
            out.add(user.function());
            if (user.backwardFunction() != null) out.add(user.backwardFunction());
            return out;
        }
        for (String suffix : f.get(0)) out.add(user.function(suffix));
        if (!user.forwardOnly()) for (String suffix : f.get(1)) out.add(user.function(suffix));
        return out;
    }

    private static Choice parseUser(OpSpec s, String value, String where, String source) {
        boolean prefixed = PREFIX_FUNCTIONS.containsKey(s.op());
        String[] parts = value.split(":");
        if (parts.length < 3 || parts[1].isBlank() || parts[2].isBlank()) {
            throw new IllegalArgumentException(where + ": a compiled user kernel is user:FILE:FUNCTION[:options], got '" + value + "'");
        }
        Path file = Path.of(parts[1]);
        String lower = parts[1].toLowerCase(Locale.ROOT);
        if (!(lower.endsWith(".ptx") || lower.endsWith(".cubin") || lower.endsWith(".fatbin"))) {
            throw new IllegalArgumentException(where + ": user kernel file '" + parts[1]
                    + "' must be a .ptx, .cubin or .fatbin (what cuModuleLoadData loads)");
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(where + ": user kernel file '" + file.toAbsolutePath() + "' for op '"
                    + s.op() + "' does not exist");
        }
        String function = parts[2];
        if (!function.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw new IllegalArgumentException(where + ": '" + function + "' is not a C function name");
        }
        String backward = null;
        boolean forwardOnly = false;
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 3; i < parts.length; i++) {
            String p = parts[i].strip();
            if (p.equals("forward-only")) {
                forwardOnly = true;
            } else if (p.startsWith("backward=") && prefixed) {
                throw new IllegalArgumentException(where + ": op '" + s.op() + "' names its functions by a prefix ("
                        + String.join(", ", compiledFunctions(s.op(), new UserKernel(file, "PREFIX", null, false, Map.of())))
                        + "): it takes no backward=FUNCTION; give them all, or declare the kernel :forward-only");
            } else if (p.startsWith("backward=")) {
                backward = p.substring("backward=".length());
                if (!backward.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                    throw new IllegalArgumentException(where + ": backward '" + backward + "' is not a C function name");
                }
            } else if (p.startsWith("block=")) {
                int b = parsePositive(where, p);
                if (b > 1024) throw new IllegalArgumentException(where + ": block=" + b + " exceeds CUDA's 1024 threads");
                options.put("block", Integer.toString(b));
            } else if (p.startsWith("tile=") && s.op().equals("gemm")) {
                String[] mn = p.substring(5).split("x");
                if (mn.length != 2) throw new IllegalArgumentException(where + ": tile must be BMxBN, got '" + p + "'");
                options.put("tileM", Integer.toString(parsePositive(where, "tile=" + mn[0])));
                options.put("tileN", Integer.toString(parsePositive(where, "tile=" + mn[1])));
            } else {
                throw new IllegalArgumentException(where + ": unknown user-kernel option '" + p + "'; options: "
                        + (prefixed ? "forward-only, " : s.gradient() == Gradient.OWN_BACKWARD ? "backward=FUNCTION, forward-only, " : "")
                        + "block=THREADS" + (s.op().equals("gemm") ? ", tile=BMxBN" : ""));
            }
        }
        if (backward != null && forwardOnly) {
            throw new IllegalArgumentException(where + ": a user kernel cannot both name a backward and be forward-only");
        }
        if (s.gradient() == Gradient.OWN_BACKWARD && !prefixed && backward == null && !forwardOnly) {
            throw new IllegalArgumentException(where + ": op '" + s.op() + "' is differentiable and its backward is a different "
                    + "computation: name the backward (:backward=FUNCTION) or declare the kernel :forward-only "
                    + "(it is then refused in any graph that needs its gradient)");
        }
        if (s.gradient() != Gradient.OWN_BACKWARD && (backward != null || forwardOnly)) {
            throw new IllegalArgumentException(where + ": op '" + s.op() + "' takes no backward options ("
                    + (s.gradient() == Gradient.SAME_PRIMITIVE ? "its backward runs the same primitive" : "it is not differentiated") + ")");
        }
        if (options.containsKey("tileM") != options.containsKey("block") && s.op().equals("gemm")) {
            throw new IllegalArgumentException(where + ": a tiled user gemm needs both tile=BMxBN and block=THREADS");
        }
        return new Choice(s.op(), Target.CUDA, "user", new UserKernel(file, function, backward, forwardOnly, options), null, source);
    }

    /** {@code java:[JAR_OR_DIR:]CLASS[:forward-only]}: loads and instantiates the class (NOTE [kernel-choices]). */
    private static Choice parseJava(OpSpec s, String value, String where, String source) {
        List<String> parts = new ArrayList<>(List.of(value.substring("java:".length()).split(":")));
        boolean forwardOnly = parts.size() > 1 && parts.get(parts.size() - 1).equals("forward-only");
        if (forwardOnly) parts.remove(parts.size() - 1);
        if (parts.isEmpty() || parts.size() > 2 || parts.stream().anyMatch(String::isBlank)) {
            throw new IllegalArgumentException(where + ": a Java kernel is java:[JAR_OR_DIR:]CLASS[:forward-only], got '" + value + "'");
        }
        if (forwardOnly && s.gradient() != Gradient.OWN_BACKWARD) {
            throw new IllegalArgumentException(where + ": op '" + s.op() + "' takes no backward options ("
                    + (s.gradient() == Gradient.SAME_PRIMITIVE ? "its backward runs the same primitive" : "it is not differentiated") + ")");
        }
        Path classPath = parts.size() == 2 ? Path.of(parts.get(0)) : null;
        String className = parts.get(parts.size() - 1);
        ClassLoader loader = KernelChoices.class.getClassLoader();
        if (classPath != null) {
            if (!Files.exists(classPath)) {
                throw new IllegalArgumentException(where + ": '" + classPath.toAbsolutePath() + "' (the jar or classes directory of "
                        + className + ") does not exist");
            }
            try {
                loader = new URLClassLoader(new URL[] {classPath.toUri().toURL()}, loader);
            } catch (MalformedURLException e) {
                throw new IllegalArgumentException(where + ": bad class path '" + classPath + "': " + e.getMessage(), e);
            }
        }
        Class<?> type = load(className, loader);
        if (type == null) {
            throw new IllegalArgumentException(where + ": cannot load class '" + className + "' from "
                    + (classPath != null ? classPath.toAbsolutePath() : "the class path"));
        }
        if (!s.javaFamily().isAssignableFrom(type)) {
            throw new IllegalArgumentException(where + ": class " + className + " does not implement " + s.javaFamily().getName()
                    + ", the interface of op '" + s.op() + "' (" + abi(s.op()) + ")");
        }
        Object instance;
        try {
            Constructor<?> c = type.getDeclaredConstructor();
            if (!Modifier.isPublic(c.getModifiers()) || !Modifier.isPublic(type.getModifiers())) throw new NoSuchMethodException("not public");
            instance = c.newInstance();
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalArgumentException(where + ": cannot make a " + className + " with a public no-argument constructor: " + e, e);
        }
        return new Choice(s.op(), Target.CPU, "java", null, new JavaKernel(classPath, type.getName(), forwardOnly, instance), source);
    }

    /** The class of binary name {@code name}, also written with dots for nested classes (a.B.C for a.B$C); null if none. */
    private static Class<?> load(String name, ClassLoader loader) {
        String n = name;
        while (true) {
            try {
                return Class.forName(n, true, loader);
            } catch (ClassNotFoundException | LinkageError e) {
                int dot = n.lastIndexOf('.');
                if (dot < 0) return null;
                n = n.substring(0, dot) + '$' + n.substring(dot + 1);
            }
        }
    }

    private static int parsePositive(String where, String keyValue) {
        String v = keyValue.substring(keyValue.indexOf('=') + 1);
        try {
            int i = Integer.parseInt(v);
            if (i > 0) return i;
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new IllegalArgumentException(where + ": '" + keyValue + "' needs a positive integer");
    }

    // ------------------------------------------------------------------------------------------------
    // Queries
    // ------------------------------------------------------------------------------------------------

    /**
     * The choice for {@code op} on {@code target}: an override for that target, else the table's default.
     * An override for the other target is not consulted here; {@link #requireRunnableOn} refuses it.
     */
    public Choice choice(String op, Target target) {
        OpSpec s = spec(op);
        Choice c = overrides.get(op);
        if (c != null && c.target() == target) return c;
        return new Choice(op, target, target == Target.CPU ? s.cpuDefault() : s.cudaDefault(), null, null, "default");
    }

    /** The choice on {@code device}'s target. */
    public Choice choice(String op, Device device) {
        return choice(op, Target.of(device));
    }

    /** The overrides, in the order they were given. */
    public List<Choice> overrides() {
        return List.copyOf(overrides.values());
    }

    /**
     * Refuses any override that a backend for {@code target} cannot run, naming it, where it came from and
     * what that op's choices on {@code target} are: a backend calls this when it is opened, so no request is
     * silently dropped (NOTE [kernel-choices]).
     */
    public void requireRunnableOn(Target target) {
        for (Choice c : overrides.values()) {
            if (c.target() == target) continue;
            OpSpec s = spec(c.op());
            List<String> valid = new ArrayList<>();
            for (Variant v : s.variants()) if (v.target() == target) valid.add(v.name());
            if (target == Target.CPU) valid.add("java:[JAR_OR_DIR:]CLASS");
            else valid.add(userSyntax(s.op()));
            throw new IllegalArgumentException("kernel choice " + c + " (" + c.source() + ") runs on " + c.target().lower()
                    + ", not on the " + target.lower() + " backend being opened; " + c.op() + "'s choices on "
                    + target.lower() + ": " + String.join(", ", valid));
        }
    }

    /**
     * NOTE [user-kernel-gradients]: throws if {@code op} runs a user kernel declared forward-only on
     * {@code device}. Autograd calls this when it records {@code op} in a graph that needs gradients.
     */
    public void checkGradient(String op, Device device) {
        Choice c = choice(op, device);
        if (c.forwardOnly()) {
            throw new IllegalStateException("op " + op + " on " + device + " runs user kernel " + c.describe() + ", declared "
                    + "forward-only (" + c.source() + "): it cannot be used in a graph that needs its gradient. Give it a "
                    + "backward or run this op under no-grad.");
        }
    }

    /**
     * One line for mains to print at start: {@code kernels (cuda): gemm=own_tiled_fp32, ...} (see
     * {@link #record}).
     */
    public String summary(Target t) {
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, String> e : record(t).entrySet()) parts.add(e.getKey() + "=" + e.getValue());
        return "kernels (" + t.lower() + "): " + String.join(", ", parts);
    }

    /**
     * The choices to record with a result: op to variant (user kernels as their spec; an override's source
     * in brackets). Unary and binary ops and fused kernels appear only when overridden, their families
     * otherwise as {@code unary.*} and {@code binary.*}.
     */
    public Map<String, String> record(Target t) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String op : OPS.keySet()) {
            Choice c = choice(op, t);
            boolean family = op.startsWith("unary.") || op.startsWith("binary.");
            if (family && c.isDefault()) continue;
            out.put(op, describe(c));
        }
        Map<String, Choice> rest = new TreeMap<>();
        for (Choice c : overrides.values()) if (c.target() == t && !OPS.containsKey(c.op())) rest.put(c.op(), c);
        for (Choice c : rest.values()) out.put(c.op(), describe(c));
        // say that a family is at its defaults, so a reader of a result knows it was not forgotten
        for (String f : List.of("unary", "binary")) {
            if (out.keySet().stream().noneMatch(k -> k.startsWith(f + "."))) out.put(f + ".*", t == Target.CPU ? "cpu" : "own");
        }
        return out;
    }

    private static String describe(Choice c) {
        return c.isDefault() ? c.describe() : c.describe() + " [" + c.source() + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KernelChoices k && k.overrides.equals(overrides);
    }

    @Override
    public int hashCode() {
        return overrides.hashCode();
    }

    @Override
    public String toString() {
        return summary(Target.CPU) + "; " + summary(Target.CUDA);
    }
}
