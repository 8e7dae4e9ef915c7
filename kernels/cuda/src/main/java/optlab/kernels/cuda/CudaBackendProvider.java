package optlab.kernels.cuda;

import optlab.kernels.Backend;
import optlab.kernels.BackendProvider;
import optlab.kernels.Device;
import optlab.kernels.KernelChoices;

/** Registers the CUDA backend with {@link optlab.kernels.Backends} (META-INF/services). */
public final class CudaBackendProvider implements BackendProvider {
    @Override
    public Device.Kind kind() {
        return Device.Kind.CUDA;
    }

    @Override
    public Backend open(int index, KernelChoices choices) {
        return CudaBackend.get(index).withChoices(choices);
    }
}
