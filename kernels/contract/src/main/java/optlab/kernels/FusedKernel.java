package optlab.kernels;

/**
 * An elementwise program over several equally long operands, run in one pass by
 * {@link Backend#fused}: the optimizers' update rules (one launch over a whole parameter group of the
 * flat arena) and users' experimental kernels.
 *
 * <p>NOTE [host-kernels]: the CPU implementation is Java code over host arrays, so it is handed the
 * arrays themselves through {@link HostOperands}. This is the one place where arrays cross the
 * contract, and only on the host backend; a device backend runs its own compiled version instead.
 */
public interface FusedKernel {
    /** Its name, e.g. {@code "adam_f32"}: what {@code fused.NAME} kernel choices and call counts name it by. */
    String name();

    /**
     * The CPU implementation: processes elements {@code [from, to)} (relative to each operand's offset).
     * Called concurrently on disjoint ranges.
     */
    void runHost(HostOperands operands, double[] scalars, int from, int to);

    /**
     * The CUDA implementation, or null when there is none (a device backend then refuses the kernel,
     * naming it). CUDA contract: the function is {@code extern "C"} in {@code <module>.cu} (compiled to
     * {@code /optlab/cuda/<module>.fatbin}, NOTE [fatbins]) with the parameters
     * {@code (int n, T0* op0, ..., Tk* opk, double s0, ..., double sm)}: the element count, one pointer
     * per operand in order (element type per the operand's dtype), then every scalar as a double. It
     * must be correct for any grid and block size (grid-stride loop); the backend picks the launch.
     */
    default CudaFunction cuda() {
        return null;
    }

    /**
     * A module's fused kernels, listed in {@code META-INF/services/optlab.kernels.FusedKernel$Catalog} and found with
     * {@link java.util.ServiceLoader}, so that a kernel choice {@code fused.NAME} can be checked against the kernels
     * that exist ({@link KernelChoices#fusedKernelNames()}).
     */
    interface Catalog {
        java.util.List<FusedKernel> kernels();
    }

    /**
     * The operands and scalars of one valid call on {@code n} elements, drawn from {@code random}, for
     * {@code bin/optlab kernels check fused.NAME=SPEC} (the conformance kit runs this kernel and the user's on it and
     * compares every operand afterwards); null where the kernel describes none, and then it cannot be checked.
     */
    default Sample sample(java.util.SplittableRandom random, int n) {
        return null;
    }

    /**
     * One call's operands, in the kernel's operand order: a name, a dtype and {@code n} initial values each; and its
     * scalars, as {@link Backend#fused} takes them.
     */
    record Sample(java.util.List<String> names, java.util.List<DType> dtypes, java.util.List<double[]> values, double[] scalars) {
        public Sample {
            if (names.size() != dtypes.size() || names.size() != values.size()) {
                throw new IllegalArgumentException("a sample needs a name, a dtype and values per operand: " + names.size() + ", "
                        + dtypes.size() + ", " + values.size());
            }
            names = java.util.List.copyOf(names);
            dtypes = java.util.List.copyOf(dtypes);
            values = java.util.List.copyOf(values);
        }
    }

    /** A function in a compiled kernel file: {@code module}.cu, function name {@code function}. */
    record CudaFunction(String module, String function) {}

    /** The operands' arrays and offsets as the CPU backend sees them. */
    interface HostOperands {
        float[] f32(int operand);

        double[] f64(int operand);

        /** The element offset of the operand inside its array. */
        int offset(int operand);
    }
}
