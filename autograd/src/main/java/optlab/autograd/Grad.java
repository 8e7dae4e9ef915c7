package optlab.autograd;

/**
 * Grad mode, per thread. Inside {@code try (var off = Grad.disabled()) { ... }} no graph is recorded
 * (PyTorch's {@code torch.no_grad()}): evaluation, optimizer updates, metric computation.
 */
public final class Grad {
    private Grad() {}

    private static final ThreadLocal<Boolean> ENABLED = ThreadLocal.withInitial(() -> true);

    public static boolean isEnabled() {
        return ENABLED.get();
    }

    /** A scope with grad mode off; closing it restores the previous mode. */
    public static Mode disabled() {
        return set(false);
    }

    /** A scope with grad mode on (inside a disabled one, for example). */
    public static Mode enabled() {
        return set(true);
    }

    private static Mode set(boolean on) {
        boolean previous = ENABLED.get();
        ENABLED.set(on);
        return () -> ENABLED.set(previous);
    }

    /** Restores the previous grad mode on close. */
    @FunctionalInterface
    public interface Mode extends AutoCloseable {
        @Override
        void close();
    }
}
