package optlab.kernels.reference;

import optlab.kernels.Backend;
import optlab.kernels.BackendProvider;
import optlab.kernels.Device;
import optlab.kernels.KernelChoices;

/** Registers {@link ReferenceBackend} as the {@code reference} device with {@link optlab.kernels.Backends} (META-INF/services). */
public final class ReferenceBackendProvider implements BackendProvider {
    @Override
    public Device.Kind kind() {
        return Device.Kind.REFERENCE;
    }

    /** The reference runs only itself: a kernel choice other than the defaults is refused, not ignored. */
    @Override
    public Backend open(int index, KernelChoices choices) {
        if (!choices.equals(KernelChoices.defaults())) {
            throw new IllegalArgumentException("the reference device runs the reference only; kernel choices apply to cpu and cuda, got "
                    + choices.overrides());
        }
        return ReferenceBackend.get();
    }
}
