package optlab.experiments;

import optlab.kernels.Backend;
import optlab.kernels.Backends;
import optlab.kernels.Device;
import optlab.kernels.KernelRegistry;
import picocli.CommandLine.Option;

/**
 * The options of every main that runs on a device (a picocli mixin): {@code --device} and {@code --kernels}
 * (NOTE [kernel-registry]).
 */
public final class DeviceOptions {
    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE})")
    String deviceName;

    @Option(names = "--kernels", description = "kernel registry overrides, e.g. gemm=own_tf32,conv2d=cudnn (docs/GPU.md)")
    String kernels;

    /** The device --device names; a bad name is a command-line error. */
    public Device device() {
        return Device.parse(deviceName);
    }

    /**
     * Applies --kernels to the global registry and returns the device's backend, or a command-line error carrying
     * the reasons when the device cannot be used (for CUDA: every step the probe tried, NOTE [loud-cuda]).
     */
    public Backend open() {
        Device device = device();
        if (kernels != null) KernelRegistry.setGlobal(KernelRegistry.global().with(kernels, "command line"));
        try {
            return Backends.of(device);
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException("--device " + device + " cannot be used: " + e.getMessage(), e);
        }
    }
}
