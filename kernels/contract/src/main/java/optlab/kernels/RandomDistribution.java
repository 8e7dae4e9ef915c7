package optlab.kernels;

/**
 * Distributions for {@link Backend#fillRandom}. Element {@code i} of a fill draws from the Philox
 * counter {@code counter + i} under key {@code seed} (see {@link optlab.kernels.random.Philox}), so a
 * fill is reproducible, parallel, and identical on every backend.
 */
public enum RandomDistribution {
    /** Uniform on [a, b). */
    UNIFORM,
    /** Normal with mean a and standard deviation b (Box-Muller). */
    NORMAL,
    /** Normal with mean a and standard deviation b, redrawn while more than two standard deviations
     *  from the mean (TensorFlow's truncated_normal, used by DeepOBS). */
    TRUNCATED_NORMAL
}
