package optlab.optim;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.FusedKernel;
import optlab.kernels.Ptr;
import optlab.nn.ParameterArena;
import optlab.optim.Numerics.StatePrecision;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/**
 * An update rule over a model's flat {@link ParameterArena} (NOTE [flat-arena]): every state buffer is
 * a flat tensor at the arena's offsets, so a step is one fused launch ({@link FusedKernel}) per
 * parameter group, each over a contiguous range of the arena and the same range of every state buffer.
 *
 * <p>A step, in order ({@link #step()}):
 * <ol>
 *   <li>the non-finite check: one reduction over the gradients; a NaN or infinity is reported with its
 *       parameter's name and, by default, the step is skipped before anything is written
 *       ({@link NonFinitePolicy});</li>
 *   <li>eta_t from the schedule;</li>
 *   <li>per group: the rule's scalars for step t (bias corrections, decay factors, ...) computed in
 *       double on the host, then one fused launch over the group's range.</li>
 * </ol>
 *
 * <p>NOTE [optimizer-math]: each rule's per-element math is a plain static {@code step} method in
 * float32 and one in float64, commented with its formula: a function of x and g that updates the state
 * and returns the new x. The fused host kernel calls it over a range (NOTE [rule-kernels] in
 * {@link UpdateKernels}); the CUDA kernel in {@code kernels/cuda/src/main/cuda/optim_<rule>.cu} does the same
 * operations in the same order with round-to-nearest intrinsics (no FMA contraction), and the tests hold
 * the fused pass to a per-parameter loop over the reference, bit for bit. The float64 math serves both
 * float64 kernels: the float32-parameter kernel with float64 state rounds its result to float when it
 * stores x, the float64-parameter kernel stores it as is. The scalars are one record per rule in double
 * ({@code Args}, NOTE [kernel-args] in {@link RuleKernel}); the float32 math rounds each once as it reads it.
 *
 * <p>NOTE [float64-parameters]: an arena of FLOAT64 parameters (a model converted with
 * {@code Module.to(DType.FLOAT64)}, for a numerics study) is updated by each rule's host kernel
 * {@code <rule>_f64} ({@code sgd_f64}, {@code momentum_f64}, {@code rmsprop_f64}, {@code adam_f64}):
 * parameters, gradients, state and arithmetic all float64. Two choices:
 * <ul>
 *   <li>CPU only: the float64 kernels have no CUDA function (none was written: the studies this serves
 *       run the whole model in the CPU's double-precision reference kernels anyway). An optimizer over
 *       a FLOAT64 arena on another device is refused when it is built, before any state is allocated;
 *       a device backend would refuse the kernel too, naming it ({@code FusedKernel#cuda()} null).</li>
 *   <li>The state must be float64 as well (state_precision float64; SGD has no state). float32 state
 *       with float64 parameters is refused rather than silently widened: the setting a result records
 *       must be the one that ran, and float32 moments would make the float64 run not a float64 run.</li>
 * </ul>
 * The float64 kernels are plain scalar loops over {@code update}, not Vector API passes (NOTE
 * [vectorized-host]): next to the double-precision reference forward and backward they cost nothing.
 *
 * <p>NOTE [update-probe]: {@link #computeUpdate} writes, after a step, the update u that step applied
 * (for Zhuang et al.'s update histograms). u is what the rule subtracts from x, before decoupled or
 * proximal decay act on x; an L2 term is part of it, through the gradient (the {@code u} of each
 * rule's class comment, the argument of {@code WeightDecay.apply}). Each rule
 * writes its math of u once, as a pure function {@code u} that its {@code step} and its update kernel
 * {@code <rule>_update_<precision>} both call. The update kernel reads the state the step left (the
 * new m, v, ...), the gradients still in the arena and a copy of x from before the step (for the L2
 * term), and recomputes u with the step's operations and scalars: bit for bit the u the step
 * computed. Operands (out, xOld, g, state...), scalars exactly the step's. It runs only at the steps a
 * caller probes, so its host kernels are scalar loops over the reference even where the step's pass
 * is vectorized (NOTE [vectorized-host] guarantees the same bits).
 */
public abstract class Optimizer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Optimizer.class.getName());

    protected final ParameterArena arena;
    protected final OptimizerConfig config;
    private final UpdateKernels.Family<?> kernels;
    private final List<ResolvedGroup> groups;
    private final Map<String, Tensor> state = new LinkedHashMap<>();
    private long step;
    private long skipped;
    private NonFiniteGradientException lastSkipped;
    /** Why {@link #computeUpdate} has no update to compute now, or null when the last step() applied one. */
    private String noUpdate = "no step has been taken yet";

    /**
     * One parameter group as the optimizer runs it: the arena range and the resolved hyperparameters
     * (the group's overrides, else the optimizer-wide values).
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonPropertyOrder({"name", "offset", "numel", "lr", "weight_decay", "parameters"})
    public record ResolvedGroup(String name, int offset, int numel, double lr, double weightDecay, List<String> parameters) {}

    /**
     * Everything a result must record about its optimizer: the setting, the groups with their ranges
     * and resolved values, the kernel, and the state buffers with their element types.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonPropertyOrder({"config", "kernel", "state", "groups"})
    public record Settings(OptimizerConfig config, String kernel, Map<String, String> state, List<ResolvedGroup> groups) {
        /** As pretty JSON. */
        public String toJson() {
            try {
                return OptimizerConfig.JSON.writeValueAsString(this);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("cannot write optimizer settings as JSON: " + e.getMessage(), e);
            }
        }
    }

    /**
     * @param kernels the rule's entry in {@link UpdateKernels}: its kernels, their {@link #args} type
     * @param rules   the rules this class runs ({@code config.rule()} must be one)
     */
    protected Optimizer(ParameterArena arena, OptimizerConfig config, UpdateKernels.Family<?> kernels, Rule... rules) {
        this.arena = arena;
        this.config = config;
        this.kernels = kernels;
        if (!List.of(rules).contains(config.rule())) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " runs " + List.of(rules) + ", not " + config.rule());
        }
        checkParameters(getClass().getSimpleName(), arena.values().dtype(), arena.values().device(), config.numerics().statePrecision());
        for (OptimizerConfig.GroupSettings g : config.groups()) arena.group(g.name()); // throws naming an unknown group
        List<ResolvedGroup> gs = new ArrayList<>();
        for (ParameterArena.Group g : arena.groups()) {
            OptimizerConfig.GroupSettings o = config.group(g.name());
            double lr = o != null && o.lr() != null ? o.lr() : config.lr();
            double wd = o != null && o.weightDecay() != null ? o.weightDecay() : config.weightDecay();
            gs.add(new ResolvedGroup(g.name(), g.offset(), g.numel(), lr, wd, g.parameters()));
        }
        this.groups = List.copyOf(gs);
    }

    /**
     * Refuses parameters the update rules cannot run on (NOTE [float64-parameters]): anything but FLOAT32
     * or FLOAT64, FLOAT64 off the CPU, FLOAT64 with float32 state. {@code statePrecision} is null for a
     * rule without state.
     */
    static void checkParameters(String optimizer, DType dtype, Device device, StatePrecision statePrecision) {
        if (dtype == DType.FLOAT32) return;
        if (dtype != DType.FLOAT64) {
            throw new IllegalArgumentException(optimizer + ": parameters are " + dtype + "; the update rules run on FLOAT32 or FLOAT64 parameters");
        }
        if (!device.equals(Device.CPU)) {
            throw new IllegalArgumentException(optimizer + ": parameters are FLOAT64 on " + device + ", but FLOAT64 parameters are updated "
                    + "on the CPU only (the float64 kernels have no CUDA version): keep a float64 model on the CPU, or train in FLOAT32 "
                    + "with state_precision float64");
        }
        if (statePrecision == StatePrecision.FLOAT32) {
            throw new IllegalArgumentException(optimizer + ": parameters are FLOAT64 but state_precision is float32; a FLOAT64 arena "
                    + "needs float64 state: set state_precision float64 (Builder.statePrecision(StatePrecision.FLOAT64))");
        }
    }

    /**
     * Applies one update from the gradients in the arena, at step t = {@link #stepCount()} + 1. Returns
     * false when the step was skipped for a non-finite gradient (the weights, the state and the step
     * count are then untouched; see {@link #lastSkipped()}).
     *
     * @throws NonFiniteGradientException under {@link NonFinitePolicy#THROW}, before anything is written
     */
    public final boolean step() {
        long t = step + 1;
        noUpdate = "the last step() (step " + t + ") threw before applying an update";
        if (config.nonFiniteGradients() != NonFinitePolicy.UNCHECKED) {
            int bad = GradientCheck.firstNonFinite(arena.grads());
            if (bad >= 0) {
                boolean skip = config.nonFiniteGradients() == NonFinitePolicy.SKIP;
                NonFiniteGradientException e = GradientCheck.report(arena, bad, t,
                        skip ? "step skipped: weights and optimizer state unchanged" : "nothing was written");
                if (!skip) throw e;
                skipped++;
                lastSkipped = e;
                noUpdate = "the last step() (step " + t + ") was skipped for a non-finite gradient: it applied no update";
                LOG.log(System.Logger.Level.WARNING, e.getMessage());
                return false;
            }
        }
        double eta = config.schedule().multiplier(t);
        Tensor[] ops = operands();
        for (ResolvedGroup g : groups) {
            if (g.numel() == 0) continue;
            Ptr[] ptrs = new Ptr[ops.length];
            for (int j = 0; j < ops.length; j++) ptrs[j] = ops[j].ptr().plus(g.offset());
            ops[0].backend().fused(kernel(), g.numel(), ptrs, scalars(t, eta, g));
        }
        step = t;
        noUpdate = null;
        return true;
    }

    /**
     * Writes into {@code out} the update u that the step just taken (step t = {@link #stepCount()})
     * applied to every coordinate of the arena, for update histograms (Zhuang et al.'s
     * {@code draw_histogram.py}; NOTE [update-probe]). u is what the rule subtracts from x before weight
     * decay acts, so by weight-decay mode, with d the per-step decay of {@link WeightDecay}:
     * <pre>
     *   NONE, L2     x_t = x_{t-1} - u              u is the whole update; under L2 it includes the L2 term
     *                                               (the rule saw g + lambda x_{t-1})
     *   DECOUPLED    x_t = (1 - d) x_{t-1} - u      u is the update WITHOUT the decoupled decay
     *   PROXIMAL     x_t = (x_{t-1} - u) / (1 + d)  u is the update WITHOUT the proximal shrinking
     * </pre>
     * and per rule (g' the gradient the rule saw, the state the step's new state):
     * Adam/NAdam {@code (s n) / den} (0/0 = 0, NOTE [zero-over-zero]); SGD {@code lr_t g'}; Momentum
     * {@code lr_t v}; Nesterov {@code lr_t (gamma v + g')}; RMSProp the new m (which holds lr_t).
     * The values are bit for bit the u the step computed, with step t's scalars for each parameter group
     * (its lr and weight decay, the schedule's eta_t): in float32 for float32 state, computed in double
     * and rounded once to float32 for float32 parameters with float64 state (the step subtracted the
     * unrounded u, so there x_{t-1} - u need not round to x_t), in double for float64 parameters.
     * One fused launch per group ({@code <rule>_update_<precision>}, on the arena's device).
     *
     * <p>Call it right after a {@link #step()} that returned true: it reads the gradients still in the
     * arena, which must be those of that step (zeroing or overwriting them first gives a wrong u, and
     * only {@link #zeroGrad()} is detected), and the state as the step left it.
     *
     * @param xOld the arena's values before the step: a copy taken before {@link #step()} (not a view of
     *             the arena); read for the L2 term of the gradient
     * @param out  receives u: both the parameters' dtype, shape (arena size), contiguous, on the arena's
     *             device; out may not share storage with xOld, the arena or the optimizer's state
     * @return true once u is written; false, writing nothing, for a rule that provides no update kernel
     *         (every rule of this package provides one)
     * @throws IllegalStateException when there is no step to describe: no step taken yet, the last step()
     *         skipped (a non-finite gradient under {@link NonFinitePolicy#SKIP}: it applied no update) or
     *         threw, the step count restored from a checkpoint with no step since, or {@link #zeroGrad()}
     *         called since the step
     * @throws IllegalArgumentException for an xOld or out of the wrong dtype, shape, layout or device, an
     *         xOld that is a view of the arena's values, or an out that shares storage with another operand
     */
    public final boolean computeUpdate(Tensor xOld, Tensor out) {
        FusedKernel k = updateKernel();
        if (k == null) return false;
        if (noUpdate != null) {
            throw new IllegalStateException(getClass().getSimpleName() + ".computeUpdate: no update to compute: " + noUpdate
                    + "; call it right after a step() that returned true, with that step's gradients still in the arena");
        }
        Tensor values = arena.values();
        checkUpdateOperand("xOld", xOld, values);
        checkUpdateOperand("out", out, values);
        Tensor[] ops = operands();
        String me = getClass().getSimpleName() + ".computeUpdate: ";
        if (xOld.sharesStorageWith(values)) {
            throw new IllegalArgumentException(me + "xOld is a view of the arena's values, which hold x_t after the step; "
                    + "pass a copy of them taken before step()");
        }
        if (out.sharesStorageWith(xOld)) throw new IllegalArgumentException(me + "out and xOld share storage");
        for (Tensor o : ops) {
            if (out.sharesStorageWith(o)) {
                throw new IllegalArgumentException(me + "out shares storage with "
                        + (o == values ? "the arena's values" : o == arena.grads() ? "the arena's gradients" : "the optimizer's state")
                        + "; give it a scratch tensor of its own");
            }
        }
        // the update kernel's operands: out, xOld, then the step's operands after x (g, the state)
        Tensor[] uops = new Tensor[ops.length + 1];
        uops[0] = out;
        uops[1] = xOld;
        System.arraycopy(ops, 1, uops, 2, ops.length - 1);
        long t = step;
        double eta = config.schedule().multiplier(t);
        for (ResolvedGroup g : groups) {
            if (g.numel() == 0) continue;
            Ptr[] ptrs = new Ptr[uops.length];
            for (int j = 0; j < uops.length; j++) ptrs[j] = uops[j].ptr().plus(g.offset());
            values.backend().fused(k, g.numel(), ptrs, scalars(t, eta, g));
        }
        return true;
    }

    private void checkUpdateOperand(String name, Tensor a, Tensor values) {
        String what = getClass().getSimpleName() + ".computeUpdate: " + name;
        if (a.dtype() != values.dtype()) {
            throw new IllegalArgumentException(what + " is " + a.dtype() + " but the parameters are " + values.dtype());
        }
        if (!a.shape().equals(Shape.of(arena.size()))) {
            throw new IllegalArgumentException(what + " has shape " + a.shape() + "; it must be the flat arena's, " + Shape.of(arena.size()));
        }
        if (!a.isContiguous()) throw new IllegalArgumentException(what + " is not contiguous (strides " + Arrays.toString(a.strides()) + ")");
        if (!a.device().equals(values.device())) {
            throw new IllegalArgumentException(what + " is on " + a.device() + " but the arena is on " + values.device());
        }
    }

    /** The precision variant of this optimizer's kernels: of its parameters, and of its state where it has some. */
    private UpdateKernels.Precision precision() {
        return float64Parameters() ? UpdateKernels.Precision.F64
                : float64State() && !state.isEmpty() ? UpdateKernels.Precision.F32_F64STATE : UpdateKernels.Precision.F32;
    }

    /** The fused kernel this optimizer launches (chosen for its parameters' and state's precision). */
    protected final FusedKernel kernel() {
        return kernels.step(precision());
    }

    /**
     * The kernel {@link #computeUpdate} launches, or null for a rule without one (NOTE [update-probe]):
     * operands (out, xOld, then {@link #operands()} after x), the step's {@link #scalars}.
     */
    protected FusedKernel updateKernel() {
        return kernels.update(precision());
    }

    /** The kernel's operands over the whole arena, in the kernel's order: x, g, then the state buffers as registered. */
    private Tensor[] operands() {
        List<Tensor> ops = new ArrayList<>(List.of(arena.values(), arena.grads()));
        ops.addAll(state.values());
        return ops.toArray(Tensor[]::new);
    }

    /**
     * The kernel arguments for group {@code g} at step t with schedule multiplier {@code eta}, computed in double:
     * the rule's {@code Args} record (NOTE [kernel-args]), whose last component is {@link #decay}'s.
     */
    protected abstract Record args(long t, double eta, ResolvedGroup g);

    /** {@link #args} as the kernel's scalars. */
    final double[] scalars(long t, double eta, ResolvedGroup g) {
        return kernels.scalars(args(t, eta, g));
    }

    /**
     * The fused kernel {@link #step()} launches (for benchmarks, other backends and inspection).
     */
    public final FusedKernel fusedKernel() {
        return kernel();
    }

    /**
     * The kernel scalars {@link #step()} passes for group {@code g} at step {@code t}, with the
     * schedule's eta_t: every number the update uses besides the operands.
     */
    public final double[] kernelScalars(long t, ResolvedGroup g) {
        return scalars(t, config.schedule().multiplier(t), g);
    }

    /** The weight-decay arguments for group g with schedule multiplier eta (see {@link WeightDecay}). */
    final WeightDecay.Args decay(ResolvedGroup g, double eta) {
        Numerics n = config.numerics();
        return WeightDecay.args(n.weightDecayMode(), n.decayConvention(), g.weightDecay(), g.lr() * eta, eta);
    }

    /** Steps taken so far (skipped steps do not count). */
    public final long stepCount() {
        return step;
    }

    /** Steps refused for a non-finite gradient under {@link NonFinitePolicy#SKIP}. */
    public final long skippedSteps() {
        return skipped;
    }

    /** The report of the last skipped step, or null. */
    public final NonFiniteGradientException lastSkipped() {
        return lastSkipped;
    }

    /** The fully resolved setting. */
    public final OptimizerConfig config() {
        return config;
    }

    /** The groups as this optimizer runs them. */
    public final List<ResolvedGroup> groups() {
        return groups;
    }

    /** The setting plus the groups, kernel and state types: what a result records (see {@link Settings#toJson()}). */
    public final Settings settings() {
        Map<String, String> types = new LinkedHashMap<>();
        for (var e : state.entrySet()) types.put(e.getKey(), e.getValue().dtype().name().toLowerCase(java.util.Locale.ROOT));
        return new Settings(config, kernel().name(), types, groups);
    }

    /**
     * The state a checkpoint must hold to resume exactly, besides {@link #stepCount()}: each flat state
     * buffer by name (PyTorch's names where they exist: {@code exp_avg}, {@code exp_avg_sq},
     * {@code momentum_buffer}, {@code square_avg}). The tensors are the live buffers, not copies.
     */
    public final Map<String, Tensor> stateTensors() {
        return Collections.unmodifiableMap(state);
    }

    /** Restores the step count (the state tensors are restored by copying into {@link #stateTensors()}). */
    public final void restoreStepCount(long steps) {
        if (steps < 0) throw new IllegalArgumentException("step count must be >= 0, got " + steps);
        step = steps;
        noUpdate = "the step count was restored (to " + steps + ") and no step has been taken since";
    }

    /** Zeroes the arena's gradients (after which {@link #computeUpdate} refuses until the next step). */
    public void zeroGrad() {
        arena.zeroGrad();
        if (noUpdate == null) noUpdate = "zeroGrad() was called after step " + step + ", clearing its gradients";
    }

    /**
     * A flat state buffer the size of the arena in the configured state precision, filled with
     * {@code init}, registered under {@code name} and living until {@link #close()}.
     */
    protected final Tensor state(String name, double init) {
        StatePrecision p = config.numerics().statePrecision();
        Tensor values = arena.values();
        Tensor t = Scope.escape(Tensor.full(Shape.of(arena.size()), init, p.dtype(), values.device()));
        state.put(name, t);
        return t;
    }

    /** Whether the parameters are float64 (the rules' host-only {@code <rule>_f64} kernels, NOTE [float64-parameters]). */
    protected final boolean float64Parameters() {
        return arena.values().dtype() == DType.FLOAT64;
    }

    /** Whether the state is float64 (the kernels' f64-state variant). */
    protected final boolean float64State() {
        return config.numerics().statePrecision() == StatePrecision.FLOAT64;
    }

    @Override
    public void close() {
        for (Tensor t : state.values()) t.close();
    }
}
