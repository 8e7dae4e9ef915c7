package optlab.tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Frees the tensors created inside it when it closes: the way a training step releases its
 * temporaries on time, which matters for GPU memory (NOTE [lifetimes]).
 * <pre>{@code
 * try (Scope step = Scope.open()) {
 *     Tensor loss = ...;                  // every tensor made here is freed at the end of the block,
 *     total += loss.item();
 *     kept = step.keep(someResult);       // except the ones handed to the enclosing scope
 * }
 * }</pre>
 * Scopes nest per thread. Tensors created outside any scope are unmanaged: the caller closes them
 * (or the garbage collector eventually does). {@link #escape} makes a tensor unmanaged: parameters,
 * optimizer state and other long-lived tensors.
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<Scope> CURRENT = new ThreadLocal<>();

    private final Scope parent;
    private final List<Tensor> owned = new ArrayList<>();
    private boolean closed;

    private Scope(Scope parent) {
        this.parent = parent;
    }

    /** Opens a scope nested in the current one. */
    public static Scope open() {
        Scope s = new Scope(CURRENT.get());
        CURRENT.set(s);
        return s;
    }

    /** Called by every tensor constructor. */
    static void track(Tensor t) {
        Scope s = CURRENT.get();
        if (s != null) s.adopt(t);
    }

    private void adopt(Tensor t) {
        t.owner = this;
        owned.add(t);
    }

    /** Hands {@code t} to the enclosing scope (or makes it unmanaged at the outermost scope); returns t. */
    public <T extends Tensor> T keep(T t) {
        if (t.owner != this) throw new IllegalArgumentException("keep: the tensor does not belong to this scope");
        t.owner = null;
        if (parent != null) parent.adopt(t);
        return t;
    }

    /** Removes {@code t} from whatever scope owns it: it lives until closed. Returns t. */
    public static <T extends Tensor> T escape(T t) {
        t.owner = null;
        return t;
    }

    /** Number of tensors this scope will free. */
    public int size() {
        int n = 0;
        for (Tensor t : owned) if (t.owner == this) n++;
        return n;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (CURRENT.get() != this) {
            throw new IllegalStateException("scopes must close in the reverse order of opening");
        }
        CURRENT.set(parent);
        for (int i = owned.size() - 1; i >= 0; i--) {
            Tensor t = owned.get(i);
            if (t.owner == this) t.close();
        }
        owned.clear();
    }
}
