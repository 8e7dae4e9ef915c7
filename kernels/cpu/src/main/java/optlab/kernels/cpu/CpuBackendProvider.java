package optlab.kernels.cpu;

import optlab.kernels.Backend;
import optlab.kernels.BackendProvider;
import optlab.kernels.Device;
import optlab.kernels.KernelChoices;

/** Registers the CPU backend with {@link optlab.kernels.Backends} (META-INF/services). */
public final class CpuBackendProvider implements BackendProvider {
    @Override
    public Device.Kind kind() {
        return Device.Kind.CPU;
    }

    @Override
    public Backend open(int index, KernelChoices choices) {
        return CpuBackend.open(choices);
    }
}
