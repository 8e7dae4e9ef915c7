package optlab.kernels;

import java.util.HashMap;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * Finds and opens the backend of a device.
 *
 * <p>NOTE [kernel-choices], the process side: a device's backend is process state anyway (an allocator, a
 * CUDA context), so each device has one current backend, made on first use with the default choices or by
 * {@link #open} with the given ones. Tensors allocated on the device get the current backend and keep it for
 * life (their buffers point at it), so open the backend with its choices before creating the tensors that
 * should use them, as {@code bin/optlab train} does.
 *
 * <p>The contract names no implementation: each backend module registers a {@link BackendProvider} for its device
 * kind (META-INF/services), found here through {@link ServiceLoader}, so a program has the backends whose modules
 * are on its class path (kernels/cpu and kernels/cuda for the engine's).
 */
public final class Backends {
    private Backends() {}

    private static final Map<Device, Backend> CURRENT = new HashMap<>();

    /**
     * The current backend of {@code device}: the one {@link #open} made last, else one with the default choices.
     * For {@code cuda:N} this throws an {@link IllegalStateException} listing every step tried and why it failed
     * (JCuda natives, driver, devices, compute capability, kernel files; NOTE [loud-cuda]) when CUDA cannot be used.
     */
    public static synchronized Backend of(Device device) {
        Backend b = CURRENT.get(device);
        if (b == null) {
            b = make(device, KernelChoices.defaults());
            CURRENT.put(device, b);
        }
        return b;
    }

    /**
     * Opens {@code device}'s backend with {@code choices} and makes it the device's current backend. Throws an
     * {@link IllegalArgumentException} for a choice this backend cannot run ({@link KernelChoices#requireRunnableOn}).
     */
    public static synchronized Backend open(Device device, KernelChoices choices) {
        choices.requireRunnableOn(KernelChoices.Target.of(device));
        Backend current = CURRENT.get(device);
        if (current != null && current.kernels().equals(choices)) return current;
        Backend b = make(device, choices);
        CURRENT.put(device, b);
        return b;
    }

    /**
     * A new backend of {@code device} with {@code choices}, without making it the device's current one (the conformance
     * check of {@code bin/optlab kernels check} runs a user's kernel this way).
     */
    public static Backend create(Device device, KernelChoices choices) {
        choices.requireRunnableOn(KernelChoices.Target.of(device));
        return make(device, choices);
    }

    /**
     * Makes {@code backend} the current backend of its device and returns the one it replaced (put that back with
     * another call): for a decorator of the device's backend, such as {@code bin/bench --profile}'s timing one.
     * Tensors keep the backend they were allocated with.
     */
    public static synchronized Backend install(Backend backend) {
        Backend previous = of(backend.device());
        CURRENT.put(backend.device(), backend);
        return previous;
    }

    private static Backend make(Device device, KernelChoices choices) {
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader())) {
            if (p.kind() == device.kind()) return p.open(device.index(), choices);
        }
        throw new IllegalStateException("no backend for " + device + " on the class path: its module (optlab-kernels-"
                + device.kind().name().toLowerCase(java.util.Locale.ROOT) + ") registers a " + BackendProvider.class.getName()
                + " in META-INF/services");
    }
}
