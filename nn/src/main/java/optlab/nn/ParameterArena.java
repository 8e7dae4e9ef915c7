package optlab.nn;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import optlab.kernels.DType;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/**
 * NOTE [flat-arena]: all parameters of a model are views into one contiguous buffer, and their
 * gradients views into a second one at the same offsets. An optimizer keeps each state buffer (m, v,
 * ...) flat at the same offsets too, so a whole update is one elementwise pass, one kernel launch,
 * over {@link #values()}, {@link #grads()} and the state. Parameters with different hyperparameters
 * (parameter groups) are contiguous ranges of the arena.
 */
public final class ParameterArena implements AutoCloseable {
    /** One parameter's place in the arena. */
    public record Entry(String name, Parameter parameter, int offset, int numel) {}

    private final Tensor values;
    private final Tensor grads;
    private final List<Entry> entries;

    private ParameterArena(Tensor values, Tensor grads, List<Entry> entries) {
        this.values = values;
        this.grads = grads;
        this.entries = entries;
    }

    /**
     * Packs every parameter of {@code model}, in {@link Module#namedParameters()} order, into a new
     * arena: values are copied in, each parameter becomes a view, gradients start at zero.
     */
    public static ParameterArena pack(Module model) {
        Map<String, Parameter> named = model.namedParameters();
        if (named.isEmpty()) throw new IllegalArgumentException("pack: " + model.getClass().getSimpleName() + " has no parameters");
        Parameter first = named.values().iterator().next();
        long total = 0;
        for (var e : named.entrySet()) {
            Tensor d = e.getValue().data();
            if (d.dtype() != first.dtype() || !d.device().equals(first.data().device())) {
                throw new IllegalArgumentException("pack: parameter " + e.getKey() + " is " + d.dtype() + " on " + d.device()
                        + " but " + first.name() + " is " + first.dtype() + " on " + first.data().device());
            }
            total += d.numel();
        }
        if (total > Integer.MAX_VALUE) throw new IllegalArgumentException("pack: " + total + " parameters exceed 2^31-1");
        DType dtype = first.dtype();
        Tensor values = Scope.escape(Tensor.empty(Shape.of((int) total), dtype, first.data().device()));
        Tensor grads = Scope.escape(Tensor.zeros(Shape.of((int) total), dtype, first.data().device()));
        List<Entry> entries = new ArrayList<>();
        int offset = 0;
        for (var e : named.entrySet()) {
            Parameter p = e.getValue();
            int n = p.data().numel();
            int[] shape = p.shape().toArray();
            try (Tensor v = values.narrow(0, offset, n); Tensor g = grads.narrow(0, offset, n)) {
                p.moveInto(v.view(shape), g.view(shape));
            }
            entries.add(new Entry(e.getKey(), p, offset, n));
            offset += n;
        }
        return new ParameterArena(values, grads, List.copyOf(entries));
    }

    /** All parameter values, flat. */
    public Tensor values() {
        return values;
    }

    /** All gradients, flat, at the same offsets. */
    public Tensor grads() {
        return grads;
    }

    public List<Entry> entries() {
        return entries;
    }

    public int size() {
        return values.numel();
    }

    /** Sets every gradient to zero (one fill). */
    public void zeroGrad() {
        grads.zeroInPlace();
    }

    /** The entry holding flat position {@code index} (for naming a bad value). */
    public Entry entryAt(int index) {
        for (Entry e : entries) if (index >= e.offset() && index < e.offset() + e.numel()) return e;
        throw new IllegalArgumentException("index " + index + " outside the arena of " + size());
    }

    @Override
    public void close() {
        values.close();
        grads.close();
    }
}
