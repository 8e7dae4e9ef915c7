package optlab.kernels;

/** Reductions over the middle axis of an {@code (outer, reduced, inner)} view; see {@link Backend#reduce}. */
public enum ReduceOp {
    SUM, MEAN, MAX
}
