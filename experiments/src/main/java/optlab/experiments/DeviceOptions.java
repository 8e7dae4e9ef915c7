package optlab.experiments;

import optlab.kernels.Backend;
import optlab.kernels.Backends;
import optlab.kernels.Device;
import optlab.kernels.KernelChoices;
import picocli.CommandLine.Option;

/**
 * The options of every main that runs on a device (a picocli mixin): {@code --device} and {@code --kernels}
 * (NOTE [kernel-choices]).
 */
public final class DeviceOptions {
    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda, cuda:N or reference (default: ${DEFAULT-VALUE})")
    String deviceName;

    @Option(names = "--kernels", description = "kernel choices, e.g. gemm=own_tf32,conv2d=cudnn or conv2d=java:JAR:CLASS (docs/KERNELS.md)")
    String kernels;

    /** The device --device names; a bad name is a command-line error. */
    public Device device() {
        return Device.parse(deviceName);
    }

    /**
     * Opens the device's backend with --kernels and returns it, or a command-line error carrying the reasons when the
     * device cannot be used (for CUDA: every step the probe tried, NOTE [loud-cuda]) or a choice cannot run on it.
     */
    public Backend open() {
        Device device = device();
        KernelChoices choices = kernels == null ? KernelChoices.defaults() : KernelChoices.parse(kernels);
        try {
            return Backends.open(device, choices);
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException("--device " + device + " cannot be used: " + e.getMessage(), e);
        }
    }
}
