package optlab.optim;

import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import optlab.kernels.DType;
import optlab.kernels.FusedKernel;

/**
 * One fused kernel of an update rule: the one {@link FusedKernel} class of this package (NOTE
 * [rule-kernels] in {@link UpdateKernels}). It is its real name (as in the {@code .cu} file and in
 * results), its CUDA module (null for a host-only kernel), its operands, the record type of its
 * arguments and its host body, a pass over a range given the operands and the arguments as that record.
 *
 * <p>NOTE [kernel-args]: a rule's arguments are one record ({@code Adam.Args}, ...) whose components, in
 * order, are the kernel's scalars: {@link #scalars} turns the record into the {@code double[]} of the
 * {@code Backend.fused} contract, {@link #args} turns it back, both by the record's components, so the
 * order is written once (and {@code KernelSignatureTest} holds it to the {@code extern "C"} signatures).
 * A double travels as it is, an int as its value, a boolean as 1 or 0, and a nested record as its own
 * components, named by the outer component's name and theirs: {@code wd.mode} is the scalar {@code wdMode}.
 */
final class RuleKernel<A extends Record> implements FusedKernel {
    /** An operand of the kernel: its name in the {@code .cu} signature, element type, whether the kernel writes it. */
    record Operand(String name, DType dtype, boolean written) {}

    /** A host body: processes elements [from, to) of the operands with the decoded arguments. */
    interface Pass<A> {
        void run(HostOperands ops, A args, int from, int to);
    }

    final String name, module;
    final List<Operand> operands;
    final Class<A> argsType;
    private final Pass<A> body;
    private final java.util.function.Function<java.util.SplittableRandom, A> sampleArgs;

    RuleKernel(String name, String module, List<Operand> operands, Class<A> argsType, Pass<A> body,
               java.util.function.Function<java.util.SplittableRandom, A> sampleArgs) {
        this.name = name;
        this.module = module;
        this.operands = List.copyOf(operands);
        this.argsType = argsType;
        this.body = body;
        this.sampleArgs = sampleArgs;
    }

    @Override
    public String name() {
        return name;
    }

    /**
     * Elements per call of a host body. NOTE [host-chunks]: the backend calls {@link #runHost} once per thread and
     * step, and HotSpot compiles a method with C2 only after some hundreds of calls (Tier4MinInvocationThreshold,
     * 600), however long its loop runs: until then its vector code runs in C1 (boxing every vector) or in an OSR
     * compilation entered mid-loop. With one call per thread and step, Adam's body reached C2 only 7.9 s into a 9 s
     * {@code bin/bench --profile --workloads charlstm} run (-XX:+PrintCompilation); with calls of 2,048 elements, 5.2 s
     * into a 6.2 s one (10 steps of warm-up instead of 40). The bodies are elementwise, so the split changes no bits.
     */
    static final int HOST_CHUNK = 2048;

    /** Elements [from, to) of a host pass. */
    interface Range {
        void run(int from, int to);
    }

    /** Runs pass over [from, to) in calls of at most {@link #HOST_CHUNK} elements, in order (NOTE [host-chunks]). */
    static void inChunks(int from, int to, Range pass) {
        for (int c = from; c < to; c += HOST_CHUNK) pass.run(c, Math.min(to, c + HOST_CHUNK));
    }

    @Override
    public void runHost(HostOperands ops, double[] scalars, int from, int to) {
        A a = args(argsType, scalars);
        inChunks(from, to, (c, end) -> body.run(ops, a, c, end));
    }

    /**
     * A valid call for {@code bin/optlab kernels check fused.NAME=SPEC}: parameters and gradients in [-1, 1), state in
     * [0, 1) (second moments must not be negative), an update kernel's output NaN (so that an element it forgets fails),
     * every value exact in the operand's dtype; the scalars of arguments the rule's entry draws (weight decay of every
     * mode, its variants' flags).
     */
    @Override
    public Sample sample(java.util.SplittableRandom random, int n) {
        List<String> names = new ArrayList<>();
        List<DType> dtypes = new ArrayList<>();
        List<double[]> values = new ArrayList<>();
        for (Operand o : operands) {
            double[] v = new double[n];
            boolean state = !List.of("x", "g", "out", "xOld").contains(o.name());
            for (int i = 0; i < n; i++) {
                double d = o.name().equals("out") ? Double.NaN : state ? random.nextDouble() : random.nextDouble() * 2 - 1;
                v[i] = o.dtype() == DType.FLOAT32 ? (float) d : d;
            }
            names.add(o.name());
            dtypes.add(o.dtype());
            values.add(v);
        }
        return new Sample(names, dtypes, values, scalars(sampleArgs.apply(random)));
    }

    /** Null for the host-only float64 kernels (NOTE [float64-parameters] in {@link Optimizer}). */
    @Override
    public CudaFunction cuda() {
        return module == null ? null : new CudaFunction(module, name);
    }

    /** The kernel scalars of an arguments record (NOTE [kernel-args]). */
    static double[] scalars(Record args) {
        List<Double> out = new ArrayList<>();
        flatten(args, out);
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static void flatten(Record r, List<Double> out) {
        for (RecordComponent c : r.getClass().getRecordComponents()) {
            Object v;
            try {
                v = c.getAccessor().invoke(r);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
            switch (v) {
                case Double d -> out.add(d);
                case Integer i -> out.add((double) i);
                case Boolean b -> out.add(b ? 1.0 : 0.0);
                case Record nested -> flatten(nested, out);
                default -> throw new IllegalArgumentException(c + ": a kernel argument is a double, int, boolean or record");
            }
        }
    }

    /** The arguments record of type {@code type} from kernel scalars (NOTE [kernel-args]). */
    static <R extends Record> R args(Class<R> type, double[] scalars) {
        int[] next = {0};
        R r = decode(type, scalars, next);
        if (next[0] != scalars.length) {
            throw new IllegalArgumentException(type.getName() + " takes " + next[0] + " scalars, got " + scalars.length);
        }
        return r;
    }

    private static <R extends Record> R decode(Class<R> type, double[] s, int[] next) {
        RecordComponent[] cs = type.getRecordComponents();
        Class<?>[] types = new Class<?>[cs.length];
        Object[] values = new Object[cs.length];
        for (int k = 0; k < cs.length; k++) {
            Class<?> t = types[k] = cs[k].getType();
            values[k] = t == double.class ? s[next[0]++] : t == int.class ? (int) s[next[0]++]
                    : t == boolean.class ? s[next[0]++] != 0 : decode(t.asSubclass(Record.class), s, next);
        }
        try {
            return type.getDeclaredConstructor(types).newInstance(values);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
