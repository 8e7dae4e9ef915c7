package optlab.kernels;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Which kernel runs each op: every op's variants by name, one table of defaults, and overrides from a
 * config file, a system property or a command-line string, including a user's own compiled kernel (a PTX,
 * cubin or fatbin file plus a function name), with no rebuild.
 *
 * <p>NOTE [kernel-registry]: an immutable value. {@link #global()} is the process-wide one, built once
 * from {@code -Doptlab.kernels.file=PATH} and then {@code -Doptlab.kernels=SPEC} (later sources win); a
 * main that takes a {@code --kernels SPEC} option installs {@code global().with(spec, "command line")}
 * with {@link #setGlobal}. Backends read their choices from it; mains print {@link #summary} at start and
 * record {@link #record} with every result, so a number is never separated from the kernels that
 * produced it.
 *
 * <p>Spec syntax (entries separated by commas, semicolons or newlines; {@code #} starts a comment in a
 * file):
 * <pre>
 *   gemm=own_tf32                                  a built-in variant
 *   conv2d=cudnn
 *   pool2d=cudnn, batchnorm=cudnn, lstm=cudnn
 *   unary.relu=user:/path/relu.ptx:my_relu:backward=my_relu_bwd
 *   unary.exp=user:/path/k.fatbin:my_exp:forward-only
 *   gemm=user:/path/sgemm.cubin:my_sgemm:block=256:tile=128x128
 *   fused.adam_choi=user:/path/adam.ptx:my_adam     replaces an optimizer's fused kernel on the GPU
 * </pre>
 * A variant name belongs to one target (cpu_* to the CPU, the others to CUDA), so {@code gemm=own_tf32}
 * changes the GPU's choice and leaves the CPU's. User kernels run on CUDA only.
 *
 * <p>NOTE [user-kernel-gradients]: a user kernel for an op whose backward is a different computation
 * ({@code unary.*}) must name its backward ({@code :backward=FUNCTION}) or declare itself
 * {@code :forward-only}; the spec is refused otherwise. A forward-only kernel works in inference and under
 * no-grad, and {@link #checkGradient} refuses it in a graph that needs its gradient: autograd calls it when
 * it records such an op with an input that requires a gradient. Kernel ABIs are in
 * {@link #userKernelAbi(String)}.
 */
public final class KernelRegistry {

    /** Which backend a variant runs on. */
    public enum Target { CPU, CUDA }

    /** A built-in variant of an op. */
    public record Variant(String name, Target target, String description) {}

    /**
     * A user's compiled kernel.
     *
     * @param file             a .ptx, .cubin or .fatbin file (loaded with cuModuleLoadData; PTX is JIT-compiled
     *                         by the driver)
     * @param function         the extern "C" function name
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
     * The choice for one op on one target.
     *
     * @param variant the built-in variant's name, or {@code "user"}
     * @param user    the user kernel when variant is "user", else null
     * @param source  where the choice came from: "default", "file PATH", "-Doptlab.kernels", "command line", ...
     */
    public record Choice(String op, Target target, String variant, UserKernel user, String source) {
        public boolean isUser() {
            return user != null;
        }

        public boolean isDefault() {
            return source.equals("default");
        }

        /** {@code op=variant} (or the user kernel's spec). */
        @Override
        public String toString() {
            return op + "=" + (user != null ? user.toString() : variant);
        }
    }

    /** How an op family takes user kernels. */
    private enum UserPolicy {
        /** no user kernels */
        NONE,
        /** allowed; the op's backward runs the same primitive, so no separate backward is needed */
        SELF_DIFFERENTIABLE,
        /** allowed, with :backward=FUNCTION or :forward-only (NOTE [user-kernel-gradients]) */
        NEEDS_BACKWARD,
        /** allowed; not differentiated (optimizer updates) */
        NOT_DIFFERENTIATED
    }

    private record OpSpec(String op, List<Variant> variants, String cpuDefault, String cudaDefault, UserPolicy users,
                          String userAbi) {}

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

    private static final Map<String, OpSpec> OPS = new LinkedHashMap<>();

    private static void op(String op, String cpuDefault, String cudaDefault, UserPolicy users, String abi, Variant... variants) {
        OPS.put(op, new OpSpec(op, List.of(variants), cpuDefault, cudaDefault, users, abi));
    }

    private static Variant cpu(String name, String description) {
        return new Variant(name, Target.CPU, description);
    }

    private static Variant cuda(String name, String description) {
        return new Variant(name, Target.CUDA, description);
    }

    static {
        op("gemm", "cpu_sgemm", "own_tiled_fp32", UserPolicy.SELF_DIFFERENTIABLE, GEMM_ABI,
                cpu("cpu_sgemm", "cpu/Sgemm: blocked, Vector API, all cores"),
                cuda("own_tiled_fp32", "gemm.cu: shared-memory tiles 128x128 (64x64 for small problems), FP32 FMA"),
                cuda("own_tiled_fp32_v2", "gemm.cu: the 128x128 tiles in <= 128 registers (two blocks per SM; 64x64 for "
                        + "small problems), FP32 FMA; to compare with own_tiled_fp32 on a GPU"),
                cuda("own_naive", "gemm.cu: one thread per output, FP32"),
                cuda("own_tf32", "gemm.cu: WMMA tensor cores, operands rounded to TF32 (explicit numerics option)"),
                cuda("cublas", "cuBLAS SGEMM, FP32 math (pedantic: no TF32)"),
                cuda("cublas_tf32", "cuBLAS SGEMM with TF32 tensor-op math (explicit numerics option)"));
        op("conv2d", "cpu_im2col", "own_im2col", UserPolicy.NONE, null,
                cpu("cpu_im2col", "cpu/CpuConv: im2col + Sgemm"),
                cuda("own_im2col", "conv.cu im2col/col2im + the gemm op's kernel"),
                cuda("cudnn", "cuDNN 9 convolution forward/backward (FMA math, no TF32)"));
        op("pool2d", "cpu_direct", "own_direct", UserPolicy.NONE, null,
                cpu("cpu_direct", "cpu/CpuPool"),
                cuda("own_direct", "pool.cu: one thread per output (forward) / input (backward, gather)"),
                cuda("cudnn", "cuDNN 9 pooling forward/backward (max: CUDNN_POOLING_MAX_DETERMINISTIC; average with or without padding)"));
        op("batchnorm", "cpu_direct", "own_blockwise", UserPolicy.NONE, null,
                cpu("cpu_direct", "cpu/CpuBatchNorm"),
                cuda("own_blockwise", "batchnorm.cu: one block per channel, double statistics"),
                cuda("cudnn", "cuDNN 9 batch normalization, spatial mode (training with running statistics, inference, backward)"));
        op("lstm", "cpu_steps", "own_steps", UserPolicy.NONE, null,
                cpu("cpu_steps", "LstmSteps: one GEMM for the input projection, then per step a GEMM and the fused cell"),
                cuda("own_steps", "LstmSteps on the own kernels: gemm + lstm.cu's fused cell per step"),
                cuda("cudnn", "cuDNN 9 v8 RNN API (cudnnRNNForward, cudnnRNNBackwardData_v8/BackwardWeights_v8), FMA math"));
        for (UnaryOp u : UnaryOp.values()) {
            String name = "unary." + u.name().toLowerCase(Locale.ROOT);
            op(name, "cpu", "own", UserPolicy.NEEDS_BACKWARD, UNARY_ABI,
                    cpu("cpu", "cpu/CpuElementwise"), cuda("own", "elementwise.cu unary_f32"));
        }
    }

    /** The ops of the table, in order ({@code fused.*} ops are open-ended and not listed). */
    public static List<String> ops() {
        return List.copyOf(OPS.keySet());
    }

    /** The built-in variants of {@code op} (for {@code fused.NAME}: cpu "host" and cuda "own"). */
    public static List<Variant> variants(String op) {
        return spec(op).variants();
    }

    /** The C signature a user kernel for {@code op} must have, or null if the op takes none. */
    public static String userKernelAbi(String op) {
        return spec(op).userAbi();
    }

    private static OpSpec spec(String op) {
        OpSpec s = OPS.get(op);
        if (s != null) return s;
        if (op.startsWith("fused.") && op.length() > 6 && op.substring(6).matches("[A-Za-z0-9_.\\-]+")) {
            return new OpSpec(op, List.of(cpu("host", "the kernel's Java runHost"),
                    cuda("own", "the kernel's own CUDA function (FusedKernel#cuda)")), "host", "own",
                    UserPolicy.NOT_DIFFERENTIATED, FUSED_ABI);
        }
        throw new IllegalArgumentException("kernel registry: unknown op '" + op + "'; known ops: "
                + String.join(", ", OPS.keySet()) + ", fused.<kernel name>");
    }

    // ------------------------------------------------------------------------------------------------
    // Instances
    // ------------------------------------------------------------------------------------------------

    /** Overrides by (target, op); ops absent here use the table's default. */
    private final Map<Target, Map<String, Choice>> overrides;

    private KernelRegistry(Map<Target, Map<String, Choice>> overrides) {
        Map<Target, Map<String, Choice>> copy = new LinkedHashMap<>();
        for (Target t : Target.values()) copy.put(t, Collections.unmodifiableMap(new LinkedHashMap<>(overrides.getOrDefault(t, Map.of()))));
        this.overrides = Collections.unmodifiableMap(copy);
    }

    private static final KernelRegistry DEFAULTS = new KernelRegistry(Map.of());

    /** The table's defaults, no overrides. */
    public static KernelRegistry defaults() {
        return DEFAULTS;
    }

    private static volatile KernelRegistry global;

    /**
     * The process-wide registry: defaults, then {@code -Doptlab.kernels.file=PATH}, then
     * {@code -Doptlab.kernels=SPEC}. A bad spec throws here, loudly, the first time anything asks.
     */
    public static KernelRegistry global() {
        KernelRegistry g = global;
        if (g == null) {
            synchronized (KernelRegistry.class) {
                if (global == null) global = fromSystemProperties();
                g = global;
            }
        }
        return g;
    }

    /** Installs the process-wide registry (a main's --kernels option; tests restore the old one after). */
    public static synchronized void setGlobal(KernelRegistry registry) {
        global = Objects.requireNonNull(registry);
    }

    private static KernelRegistry fromSystemProperties() {
        KernelRegistry r = DEFAULTS;
        String file = System.getProperty("optlab.kernels.file");
        if (file != null && !file.isBlank()) r = r.withFile(Path.of(file));
        String spec = System.getProperty("optlab.kernels");
        if (spec != null && !spec.isBlank()) r = r.with(spec, "-Doptlab.kernels");
        return r;
    }

    /** This registry with the entries of a config file applied (the same syntax, one entry per line). */
    public KernelRegistry withFile(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("kernel registry: cannot read config file " + file + ": " + e.getMessage(), e);
        }
        return with(text, "file " + file);
    }

    /**
     * This registry with the entries of {@code spec} applied; {@code source} is recorded with each choice.
     * Throws {@link IllegalArgumentException} naming the entry, the op and the variant, and listing the
     * valid ones.
     */
    public KernelRegistry with(String spec, String source) {
        Map<Target, Map<String, Choice>> next = new LinkedHashMap<>();
        for (Target t : Target.values()) next.put(t, new LinkedHashMap<>(overrides.get(t)));
        for (String raw : spec.split("[,;\\n]")) {
            String entry = raw.strip();
            int hash = entry.indexOf('#');
            if (hash >= 0) entry = entry.substring(0, hash).strip();
            if (entry.isEmpty()) continue;
            Choice c = parseEntry(entry, source);
            next.get(c.target()).put(c.op(), c);
        }
        return new KernelRegistry(next);
    }

    private static Choice parseEntry(String entry, String source) {
        int eq = entry.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("kernel registry (" + source + "): entry '" + entry
                    + "' is not of the form op=variant");
        }
        String op = entry.substring(0, eq).strip();
        String value = entry.substring(eq + 1).strip();
        OpSpec s;
        try {
            s = spec(op);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + " (entry '" + entry + "' from " + source + ")", e);
        }
        if (value.startsWith("user:")) return parseUser(s, value, entry, source);
        for (Variant v : s.variants()) {
            if (v.name().equals(value)) return new Choice(op, v.target(), v.name(), null, source);
        }
        throw new IllegalArgumentException("kernel registry (" + source + "): op '" + op + "' has no variant '" + value
                + "'; valid: " + validList(s));
    }

    private static String validList(OpSpec s) {
        List<String> names = new ArrayList<>();
        for (Variant v : s.variants()) names.add(v.name() + " (" + v.target().name().toLowerCase(Locale.ROOT) + ")");
        if (s.users() != UserPolicy.NONE) {
            names.add("user:FILE:FUNCTION" + (s.users() == UserPolicy.NEEDS_BACKWARD ? "[:backward=FUNCTION|:forward-only]" : "")
                    + " (cuda)");
        }
        return String.join(", ", names);
    }

    private static Choice parseUser(OpSpec s, String value, String entry, String source) {
        String where = "kernel registry (" + source + "), entry '" + entry + "'";
        if (s.users() == UserPolicy.NONE) {
            List<String> takers = new ArrayList<>();
            for (OpSpec o : OPS.values()) if (o.users() != UserPolicy.NONE && !o.op().startsWith("unary.")) takers.add(o.op());
            takers.add("unary.*");
            takers.add("fused.*");
            throw new IllegalArgumentException(where + ": op '" + s.op() + "' does not take user kernels; ops that do: "
                    + String.join(", ", takers) + ". Valid variants of " + s.op() + ": " + validList(s));
        }
        String[] parts = value.split(":");
        if (parts.length < 3 || parts[1].isBlank() || parts[2].isBlank()) {
            throw new IllegalArgumentException(where + ": a user kernel is user:FILE:FUNCTION[:options], got '" + value + "'");
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
                        + (s.users() == UserPolicy.NEEDS_BACKWARD ? "backward=FUNCTION, forward-only, " : "")
                        + "block=THREADS" + (s.op().equals("gemm") ? ", tile=BMxBN" : ""));
            }
        }
        if (backward != null && forwardOnly) {
            throw new IllegalArgumentException(where + ": a user kernel cannot both name a backward and be forward-only");
        }
        if (s.users() == UserPolicy.NEEDS_BACKWARD && backward == null && !forwardOnly) {
            throw new IllegalArgumentException(where + ": op '" + s.op() + "' is differentiable and its backward is a different "
                    + "computation: name the backward (:backward=FUNCTION) or declare the kernel :forward-only "
                    + "(it is then refused in any graph that needs its gradient)");
        }
        if (s.users() != UserPolicy.NEEDS_BACKWARD && (backward != null || forwardOnly)) {
            throw new IllegalArgumentException(where + ": op '" + s.op() + "' takes no backward options ("
                    + (s.users() == UserPolicy.SELF_DIFFERENTIABLE ? "its backward runs the same primitive" : "it is not differentiated") + ")");
        }
        if (options.containsKey("tileM") != options.containsKey("block") && s.op().equals("gemm")) {
            throw new IllegalArgumentException(where + ": a tiled user gemm needs both tile=BMxBN and block=THREADS");
        }
        return new Choice(s.op(), Target.CUDA, "user", new UserKernel(file, function, backward, forwardOnly, options), source);
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

    /** The choice for {@code op} on {@code target}: an override, else the table's default. */
    public Choice choice(String op, Target target) {
        OpSpec s = spec(op);
        Choice c = overrides.get(target).get(op);
        if (c != null) return c;
        return new Choice(op, target, target == Target.CPU ? s.cpuDefault() : s.cudaDefault(), null, "default");
    }

    /** The choice on {@code device}'s target. */
    public Choice choice(String op, Device device) {
        return choice(op, targetOf(device));
    }

    public static Target targetOf(Device device) {
        return device.kind() == Device.Kind.CPU ? Target.CPU : Target.CUDA;
    }

    /** The overrides on {@code target}, in the order they were given. */
    public List<Choice> overrides(Target target) {
        return List.copyOf(overrides.get(target).values());
    }

    /**
     * NOTE [user-kernel-gradients]: throws if {@code op} runs a user kernel declared forward-only on
     * {@code device}. Autograd calls this when it records {@code op} in a graph that needs gradients.
     */
    public void checkGradient(String op, Device device) {
        Choice c = choice(op, device);
        if (c.isUser() && c.user().forwardOnly()) {
            throw new IllegalStateException("op " + op + " on " + device + " runs user kernel " + c.user().function() + " from "
                    + c.user().file() + ", declared forward-only (" + c.source() + "): it cannot be used in a graph that "
                    + "needs its gradient. Give it a backward (:backward=FUNCTION) or run this op under no-grad.");
        }
    }

    /**
     * One line per op with a choice (every table op except the unary ops left at their default, plus
     * every override), for mains to print at start: {@code kernels (cuda): gemm=own_tiled_fp32, ...}.
     */
    public String summary(Device device) {
        Target t = targetOf(device);
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, String> e : record(device).entrySet()) parts.add(e.getKey() + "=" + e.getValue());
        return "kernels (" + t.name().toLowerCase(Locale.ROOT) + "): " + String.join(", ", parts);
    }

    /**
     * The choices to record with a result: op to variant (user kernels as their spec; an override's source
     * in brackets). Unary ops and fused kernels appear only when overridden.
     */
    public Map<String, String> record(Device device) {
        Target t = targetOf(device);
        Map<String, String> out = new LinkedHashMap<>();
        for (String op : OPS.keySet()) {
            Choice c = choice(op, t);
            if (op.startsWith("unary.") && c.isDefault()) continue;
            out.put(op, describe(c));
        }
        Map<String, Choice> rest = new TreeMap<>(overrides.get(t));
        for (Choice c : rest.values()) if (!OPS.containsKey(c.op())) out.put(c.op(), describe(c));
        // say that the unary family is at its defaults, so a reader of a result knows it was not forgotten
        if (out.keySet().stream().noneMatch(k -> k.startsWith("unary."))) out.put("unary.*", t == Target.CPU ? "cpu" : "own");
        return out;
    }

    private static String describe(Choice c) {
        String v = c.isUser() ? c.user().toString() : c.variant();
        return c.isDefault() ? v : v + " [" + c.source() + "]";
    }

    @Override
    public String toString() {
        return summary(Device.CPU) + "; " + summary(Device.cuda(0));
    }
}
