package optlab.kernels;

import optlab.kernels.cpu.CpuBackend;
import optlab.kernels.cuda.CudaBackend;

/** Finds the backend of a device. */
public final class Backends {
    private Backends() {}

    /**
     * The backend of {@code device}. For {@code cuda:N} this is {@link CudaBackend#get(int)}, which throws an
     * {@link IllegalStateException} listing every step tried and why it failed (JCuda natives, driver,
     * devices, compute capability, kernel files; NOTE [loud-cuda]) when CUDA cannot be used.
     */
    public static Backend of(Device device) {
        return switch (device.kind()) {
            case CPU -> CpuBackend.get();
            case CUDA -> CudaBackend.get(device.index());
        };
    }
}
