package optlab.kernels;

import optlab.kernels.cpu.CpuBackend;
import optlab.kernels.cuda.Cuda;

/** Finds the backend of a device. */
public final class Backends {
    private Backends() {}

    public static Backend of(Device device) {
        return switch (device.kind()) {
            case CPU -> CpuBackend.get();
            case CUDA -> throw new UnsupportedOperationException("device " + device
                    + ": OptLab has no CUDA backend yet (only single kernels run on the GPU so far). "
                    + Cuda.probe());
        };
    }
}
