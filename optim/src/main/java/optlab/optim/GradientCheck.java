package optlab.optim;

import java.util.concurrent.atomic.AtomicInteger;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.FusedKernel;
import optlab.kernels.Ptr;
import optlab.nn.ParameterArena;
import optlab.tensor.Tensor;

/**
 * Finds a NaN or infinite gradient before an update writes anything: one read pass over the flat
 * gradients on their own device, then, only when something is wrong, the element is named.
 *
 * <p>On the CPU the pass is a host fused kernel ({@link FirstNonFinite}, NOTE [host-kernels]) that
 * returns the first bad index itself: per vector {@code acc += g * 0}, which stays 0 for finite
 * values and turns NaN for a NaN or an infinity, so the pass streams at memory speed; a range whose
 * accumulator ends NaN is rescanned to find the element.
 *
 * <p>On other devices it is the backend's sum reduction: NaN and infinities propagate through
 * addition in any order (Inf + finite = Inf, Inf - Inf = NaN), so the sum is finite only if every
 * gradient is. The converse can fail (finite values whose sum overflows), which costs only a host scan
 * that then finds nothing. The sum runs as (rows, COLUMNS) column sums and a sum of those.
 */
final class GradientCheck {
    private GradientCheck() {}

    private static final int COLUMNS = 4096;

    /** -1 if every element of the flat FLOAT32 or FLOAT64 tensor is finite, else the index of the first that is not. */
    static int firstNonFinite(Tensor flat) {
        return flat.device().equals(Device.CPU) ? byHostPass(flat) : byReduction(flat);
    }

    /** The CPU path: one {@link FirstNonFinite} pass. */
    static int byHostPass(Tensor flat) {
        FirstNonFinite k = new FirstNonFinite(flat.dtype());
        flat.backend().fused(k, flat.numel(), new Ptr[] {flat.ptr()}, new double[0]);
        int first = k.first.get();
        return first == Integer.MAX_VALUE ? -1 : first;
    }

    /** The portable path: the backend's sum, then a host scan only when the sum is not finite. */
    static int byReduction(Tensor flat) {
        if (sumIsFinite(flat)) return -1;
        if (flat.dtype() == DType.FLOAT64) { // read as doubles: narrowing 1e300 to float would make it infinite
            double[] host = flat.toDoubleArray();
            for (int i = 0; i < host.length; i++) if (!Double.isFinite(host[i])) return i;
        } else {
            float[] host = flat.toFloatArray();
            for (int i = 0; i < host.length; i++) if (!Float.isFinite(host[i])) return i;
        }
        return -1; // the sum overflowed, but every value is finite
    }

    /**
     * A host-only fused pass over one operand, FLOAT32 or FLOAT64, that records the lowest index holding
     * a NaN or an infinity. Each check uses a fresh instance (it carries the result).
     */
    static final class FirstNonFinite implements FusedKernel {
        private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
        private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
        final AtomicInteger first = new AtomicInteger(Integer.MAX_VALUE);
        private final boolean float64;

        FirstNonFinite(DType dtype) {
            this.float64 = dtype == DType.FLOAT64;
        }

        @Override
        public String name() {
            return float64 ? "first_nonfinite_f64 (host)" : "first_nonfinite_f32 (host)";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            // in short calls, so that the JIT compiles them fully within a few steps (NOTE [host-chunks] in RuleKernel)
            int o = ops.offset(0);
            if (float64) RuleKernel.inChunks(from, to, (c, end) -> runHost64(ops.f64(0), o, c, end));
            else RuleKernel.inChunks(from, to, (c, end) -> runHost32(ops.f32(0), o, c, end));
        }

        /** {@code acc += g * 0} per vector of floats; the first non-finite element, where the sum is NaN. */
        private void runHost32(float[] g, int o, int from, int to) {
            FloatVector acc = FloatVector.zero(F);
            int i = from, upper = from + F.loopBound(to - from);
            for (; i < upper; i += F.length()) acc = acc.add(FloatVector.fromArray(F, g, o + i).mul(0f));
            float tail = 0;
            for (; i < to; i++) tail += g[o + i] * 0f;
            if (Float.isNaN(acc.reduceLanes(VectorOperators.ADD) + tail)) {
                for (int j = from; j < to; j++) {
                    if (!Float.isFinite(g[o + j])) {
                        first.accumulateAndGet(j, Math::min);
                        break;
                    }
                }
            }
        }

        /** The same pass in float64: {@code acc += g * 0} per vector of doubles. */
        private void runHost64(double[] g, int o, int from, int to) {
            DoubleVector acc = DoubleVector.zero(D);
            int i = from, upper = from + D.loopBound(to - from);
            for (; i < upper; i += D.length()) acc = acc.add(DoubleVector.fromArray(D, g, o + i).mul(0.0));
            double tail = 0;
            for (; i < to; i++) tail += g[o + i] * 0.0;
            if (Double.isNaN(acc.reduceLanes(VectorOperators.ADD) + tail)) {
                for (int j = from; j < to; j++) {
                    if (!Double.isFinite(g[o + j])) {
                        first.accumulateAndGet(j, Math::min);
                        break;
                    }
                }
            }
        }
    }

    static boolean sumIsFinite(Tensor flat) {
        int n = flat.numel();
        int rows = n / COLUMNS;
        double total = 0;
        if (rows >= 4) {
            try (Tensor body = flat.narrow(0, 0, rows * COLUMNS); Tensor table = body.view(rows, COLUMNS);
                 Tensor columns = table.sum(0, false); Tensor s = columns.sum()) {
                total += s.item();
            }
        } else {
            rows = 0;
        }
        int rest = n - rows * COLUMNS;
        if (rest > 0) {
            try (Tensor tail = flat.narrow(0, rows * COLUMNS, rest); Tensor s = tail.sum()) {
                total += s.item();
            }
        }
        return Double.isFinite(total);
    }

    /** The report for the first non-finite gradient of {@code arena}, at flat position {@code index}. */
    static NonFiniteGradientException report(ParameterArena arena, int index, long step, String action) {
        ParameterArena.Entry e = arena.entryAt(index);
        double value;
        try (Tensor one = arena.grads().narrow(0, index, 1)) {
            value = one.toDoubleArray()[0];
        }
        return new NonFiniteGradientException(e.name(), index - e.offset(), value, step, action);
    }
}
