package optlab.optim;

import static optlab.kernels.DType.FLOAT32;
import static optlab.kernels.DType.FLOAT64;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.kernels.DType;
import optlab.kernels.FusedKernel;
import optlab.optim.RuleKernel.Operand;
import optlab.optim.RuleKernel.Pass;

/**
 * The registry of the update rules' fused kernels: one entry per rule, and every kernel by its real name
 * ({@link #kernelNames()}, {@link #kernel(String)}).
 *
 * <p>NOTE [rule-kernels]: a rule writes its math, not its kernels. Its Java file holds its formula (the
 * class comment), one record of its kernel arguments ({@code Args}, NOTE [kernel-args] in
 * {@link RuleKernel}) and its per-element math in float32 and float64 (NOTE [optimizer-math] in
 * {@link Optimizer}): {@code step}, which updates the state and returns the new x, and {@code u}, the
 * update a step applies (NOTE [update-probe]), from x before the step, g and the new state. Its entry
 * below ({@link Family}) adds its name, its {@code .cu} module, its state operands and, where it has
 * them, its Vector API passes (NOTE [vectorized-host]). From these the family builds six kernels,
 * a step and an update kernel for each {@link Precision}, named {@code <rule>_<precision>} and
 * {@code <rule>_update_<precision>} (a rule without state has no f32_f64state pair):
 * <pre>
 *   step     operands (x, g, state...)        x = step(x, g, state) per element; state written in place
 *   update   operands (out, xOld, g, state...) out = u(xOld, g, state) per element; only out written
 * </pre>
 * float32 math for f32; float64 math for f32_f64state (x and g widened exactly, x and out rounded once to
 * float32 when stored) and for f64. The element functions take two state slots, as the CUDA kernels'
 * ops do ({@code optim_common.cuh}); a rule with fewer ignores the others (null arrays).
 *
 * <p>The loops over the element functions below are shared by every rule, so once two or more rules have run in one
 * JVM (a benchmark, a sweep in one process) the JIT cannot inline the element call there, and such a loop runs 2-5x
 * slower. That is fine for the f64 and update kernels; the hot passes, f32 and f32_f64state steps, are loops of each
 * rule's own: Vector API passes in {@link VectorizedHost} (Adam, RMSProp), plain loops in the rule (SGD, Momentum).
 * A new rule may start on the shared loops (null passes) and get passes of its own when its speed matters. Adding a rule is
 * its Java file, its {@code .cu} file and one entry here; {@code KernelSignatureTest} checks each entry
 * against the {@code extern "C"} signatures.
 */
public final class UpdateKernels {
    private UpdateKernels() {}

    static final Family<Sgd.Args> SGD = new Family<>("sgd", "optim_sgd", Sgd.Args.class, List.of(),
            (x, g, s0, i0, s1, i1, a) -> Sgd.step(x, g, a), (x, g, s0, i0, s1, i1, a) -> Sgd.step(x, g, a),
            (x, g, s0, s1, a) -> Sgd.u(x, g, a), (x, g, s0, s1, a) -> Sgd.u(x, g, a), Sgd::pass, null,
            r -> new Sgd.Args(sampleLr(r), sampleDecay(r)));
    static final Family<Momentum.Args> MOMENTUM = new Family<>("momentum", "optim_sgd", Momentum.Args.class, List.of("v"),
            (x, g, v, vi, s1, i1, a) -> Momentum.step(x, g, v, vi, a), (x, g, v, vi, s1, i1, a) -> Momentum.step(x, g, v, vi, a),
            (x, g, v, s1, a) -> Momentum.u(x, g, v, a), (x, g, v, s1, a) -> Momentum.u(x, g, v, a), Momentum::pass, Momentum::pass64,
            r -> new Momentum.Args(sampleLr(r), 0.9, r.nextBoolean(), sampleDecay(r)));
    static final Family<RmsProp.Args> RMSPROP = new Family<>("rmsprop", "optim_rmsprop", RmsProp.Args.class, List.of("v", "m"),
            RmsProp::step, RmsProp::step, RmsProp::u, RmsProp::u, VectorizedHost::rmsprop, VectorizedHost::rmsprop64,
            r -> new RmsProp.Args(sampleLr(r), r.nextBoolean() ? 0.9 : 0, 0.99, 1 - 0.99, 1e-8, r.nextBoolean(), sampleDecay(r)));
    static final Family<Adam.Args> ADAM = new Family<>("adam", "optim_adam", Adam.Args.class, List.of("m", "v"),
            Adam::step, Adam::step, Adam::u, Adam::u, VectorizedHost::adam, VectorizedHost::adam64,
            r -> new Adam.Args(sampleLr(r) / 0.1, 0.9, 0.1, 0.999, 1e-3, 1e-8, r.nextBoolean() ? 1 : Math.sqrt(1e-3), r.nextBoolean(),
                    r.nextBoolean(), sampleDecay(r)));

    /** A learning rate for a sample call (FusedKernel#sample): log-uniform in [1e-4, 1e-1]. */
    private static double sampleLr(java.util.SplittableRandom r) {
        return Math.pow(10, -4 + 3 * r.nextDouble());
    }

    /** Weight decay of a random mode for a sample call, lambda 1e-2 at lr 1e-1 where the mode is decoupled or proximal. */
    private static WeightDecay.Args sampleDecay(java.util.SplittableRandom r) {
        return switch (r.nextInt(4)) {
            case 0 -> WeightDecay.Args.NONE;
            case 1 -> new WeightDecay.Args(WeightDecay.L2, 1e-2, 1);
            case 2 -> new WeightDecay.Args(WeightDecay.DECOUPLED, 0, 1 - 1e-3);
            default -> new WeightDecay.Args(WeightDecay.PROXIMAL, 0, 1 + 1e-3);
        };
    }

    private static final Map<String, RuleKernel<?>> BY_NAME = new LinkedHashMap<>();

    static {
        for (Family<?> f : List.of(SGD, MOMENTUM, RMSPROP, ADAM)) {
            for (RuleKernel<?> k : f.kernels()) BY_NAME.put(k.name(), k);
        }
    }

    /**
     * The real names of every fused kernel of the update rules, step and update kernels of every precision,
     * in registry order ({@code sgd_f32}, ..., {@code adam_update_f64}): the names of {@link FusedKernel#name()},
     * of the {@code extern "C"} functions where a kernel has a CUDA version, and of {@code Optimizer.Settings#kernel}.
     */
    public static List<String> kernelNames() {
        return List.copyOf(BY_NAME.keySet());
    }

    /** The kernel of that real name; IllegalArgumentException naming the known ones for any other. */
    public static FusedKernel kernel(String name) {
        return registered(name);
    }

    static RuleKernel<?> registered(String name) {
        RuleKernel<?> k = BY_NAME.get(name);
        if (k == null) throw new IllegalArgumentException("no update kernel named '" + name + "'; the kernels are " + kernelNames());
        return k;
    }

    /** The registered kernels, in registry order. */
    static List<RuleKernel<?>> all() {
        return List.copyOf(BY_NAME.values());
    }

    /**
     * The update kernels as a {@link FusedKernel.Catalog} (META-INF/services), so that a kernel choice
     * {@code fused.adam_f32=...} is checked against these names (NOTE [kernel-choices] in {@code KernelChoices}).
     */
    public static final class Catalog implements FusedKernel.Catalog {
        @Override
        public List<FusedKernel> kernels() {
            return List.copyOf(all());
        }
    }

    /** The precision variants: parameter and gradient type, state type, and whether there is a CUDA version. */
    enum Precision {
        F32(FLOAT32, FLOAT32, true), F32_F64STATE(FLOAT32, FLOAT64, true), F64(FLOAT64, FLOAT64, false);

        final DType params, state;
        final boolean cuda;

        Precision(DType params, DType state, boolean cuda) {
            this.params = params;
            this.state = state;
            this.cuda = cuda;
        }

        /** The kernel name's suffix: f32, f32_f64state, f64. */
        String suffix() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** A rule's float32 step of one element: writes the state at s0[i0], s1[i1], returns the new x. */
    interface Step32<A> {
        float step(float x, float g, float[] s0, int i0, float[] s1, int i1, A args);
    }

    /** {@link Step32} in float64. */
    interface Step64<A> {
        double step(double x, double g, double[] s0, int i0, double[] s1, int i1, A args);
    }

    /** A rule's float32 update u of one element, from x before the step, g and the new state. */
    interface U32<A> {
        float u(float xOld, float g, float s0, float s1, A args);
    }

    /** {@link U32} in float64. */
    interface U64<A> {
        double u(double xOld, double g, double s0, double s1, A args);
    }

    /** One rule's kernels (NOTE [rule-kernels]): a step and an update kernel per precision. */
    static final class Family<A extends Record> {
        final String rule;
        final Class<A> argsType;
        private final Map<Precision, RuleKernel<A>> steps = new EnumMap<>(Precision.class), updates = new EnumMap<>(Precision.class);

        /**
         * @param state  the state operands' names in the {@code .cu} signatures, in operand order (0, 1 or 2)
         * @param fast32 the Vector API pass of the f32 step, or null for a loop over {@code step32}
         * @param fast64 the same for the f32_f64state step, else a loop over {@code step64}
         * @param sampleArgs draws valid arguments for {@code kernels check} ({@link RuleKernel#sample})
         */
        Family(String rule, String module, Class<A> argsType, List<String> state, Step32<A> step32, Step64<A> step64, U32<A> u32,
               U64<A> u64, Pass<A> fast32, Pass<A> fast64, java.util.function.Function<java.util.SplittableRandom, A> sampleArgs) {
            this.rule = rule;
            this.argsType = argsType;
            int k = state.size();
            for (Precision p : Precision.values()) {
                if (p == Precision.F32_F64STATE && k == 0) continue; // no state to widen
                Pass<A> step = switch (p) {
                    case F32 -> fast32 != null ? fast32 : steps32(step32, k);
                    case F32_F64STATE -> fast64 != null ? fast64 : steps64(step64, k, true);
                    case F64 -> steps64(step64, k, false);
                };
                Pass<A> update = p == Precision.F32 ? updates32(u32, k) : updates64(u64, k, p.params == FLOAT32);
                String cuda = p.cuda ? module : null;
                steps.put(p, new RuleKernel<>(rule + "_" + p.suffix(), cuda, operands(p, state, "x", "g"), argsType, step, sampleArgs));
                updates.put(p, new RuleKernel<>(rule + "_update_" + p.suffix(), cuda, operands(p, state, "out", "xOld", "g"), argsType, update, sampleArgs));
            }
        }

        /** The step kernel for precision p (f32 for f32_f64state where the rule has no state). */
        RuleKernel<A> step(Precision p) {
            return steps.getOrDefault(p, steps.get(Precision.F32));
        }

        /** The update kernel (NOTE [update-probe]) for precision p. */
        RuleKernel<A> update(Precision p) {
            return updates.getOrDefault(p, updates.get(Precision.F32));
        }

        List<RuleKernel<A>> kernels() {
            List<RuleKernel<A>> all = new ArrayList<>(steps.values());
            all.addAll(updates.values());
            return all;
        }

        /** The kernel scalars of a step's arguments, refusing a record of another rule. */
        double[] scalars(Record args) {
            return RuleKernel.scalars(argsType.cast(args));
        }

        /** The first operand is the one written; the state is written by a step, read by an update kernel. */
        private static List<Operand> operands(Precision p, List<String> state, String... head) {
            List<Operand> ops = new ArrayList<>();
            for (String name : head) ops.add(new Operand(name, p.params, ops.isEmpty()));
            for (String name : state) ops.add(new Operand(name, p.state, head.length == 2));
            return ops;
        }
    }

    // The loops. Operands: x or out first, then xOld (update kernels), g, and the k state operands; a missing state
    // operand is a null array, never read. f32 says whether the parameters are float32 (f32, f32_f64state) or not (f64).

    private static <A> Pass<A> steps32(Step32<A> op, int k) {
        return (o, a, from, to) -> {
            float[] x = o.f32(0), g = o.f32(1), s0 = k > 0 ? o.f32(2) : null, s1 = k > 1 ? o.f32(3) : null;
            int xo = o.offset(0), go = o.offset(1), o0 = k > 0 ? o.offset(2) : 0, o1 = k > 1 ? o.offset(3) : 0;
            for (int i = from; i < to; i++) x[xo + i] = op.step(x[xo + i], g[go + i], s0, o0 + i, s1, o1 + i, a);
        };
    }

    private static <A> Pass<A> steps64(Step64<A> op, int k, boolean f32) {
        return (o, a, from, to) -> {
            double[] s0 = k > 0 ? o.f64(2) : null, s1 = k > 1 ? o.f64(3) : null;
            int xo = o.offset(0), go = o.offset(1), o0 = k > 0 ? o.offset(2) : 0, o1 = k > 1 ? o.offset(3) : 0;
            if (f32) {
                float[] x = o.f32(0), g = o.f32(1);
                for (int i = from; i < to; i++) x[xo + i] = (float) op.step(x[xo + i], g[go + i], s0, o0 + i, s1, o1 + i, a);
            } else {
                double[] x = o.f64(0), g = o.f64(1);
                for (int i = from; i < to; i++) x[xo + i] = op.step(x[xo + i], g[go + i], s0, o0 + i, s1, o1 + i, a);
            }
        };
    }

    private static <A> Pass<A> updates32(U32<A> op, int k) {
        return (o, a, from, to) -> {
            float[] out = o.f32(0), x = o.f32(1), g = o.f32(2), s0 = k > 0 ? o.f32(3) : null, s1 = k > 1 ? o.f32(4) : null;
            int oo = o.offset(0), xo = o.offset(1), go = o.offset(2), o0 = k > 0 ? o.offset(3) : 0, o1 = k > 1 ? o.offset(4) : 0;
            for (int i = from; i < to; i++) out[oo + i] = op.u(x[xo + i], g[go + i], k > 0 ? s0[o0 + i] : 0, k > 1 ? s1[o1 + i] : 0, a);
        };
    }

    private static <A> Pass<A> updates64(U64<A> op, int k, boolean f32) {
        return (o, a, from, to) -> {
            double[] s0 = k > 0 ? o.f64(3) : null, s1 = k > 1 ? o.f64(4) : null;
            int oo = o.offset(0), xo = o.offset(1), go = o.offset(2), o0 = k > 0 ? o.offset(3) : 0, o1 = k > 1 ? o.offset(4) : 0;
            for (int i = from; i < to; i++) {
                double u = op.u(f32 ? o.f32(1)[xo + i] : o.f64(1)[xo + i], f32 ? o.f32(2)[go + i] : o.f64(2)[go + i],
                        k > 0 ? s0[o0 + i] : 0, k > 1 ? s1[o1 + i] : 0, a);
                if (f32) o.f32(0)[oo + i] = (float) u; // rounded once
                else o.f64(0)[oo + i] = u;
            }
        };
    }
}
