package optlab.kernels;

/**
 * How {@link Backends} opens a backend without naming it: each backend module registers one provider for its device kind
 * in {@code META-INF/services/optlab.kernels.BackendProvider}.
 */
public interface BackendProvider {
    /** The device kind this provider's backend runs on. */
    Device.Kind kind();

    /**
     * A backend for device {@code index} of this kind with {@code choices}, which {@link Backends} has checked with
     * {@link KernelChoices#requireRunnableOn}. Throws where the device cannot be used, saying why.
     */
    Backend open(int index, KernelChoices choices);
}
