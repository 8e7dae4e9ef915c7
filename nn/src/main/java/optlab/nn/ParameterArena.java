package optlab.nn;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiFunction;
import optlab.kernels.DType;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/**
 * NOTE [flat-arena]: all parameters of a model are views into one contiguous buffer, and their
 * gradients views into a second one at the same offsets. An optimizer keeps each state buffer (m, v,
 * ...) flat at the same offsets too, so a whole update is one elementwise pass, one kernel launch,
 * over {@link #values()}, {@link #grads()} and the state. Parameters with different hyperparameters
 * (parameter groups) are contiguous ranges of the arena: {@link #pack(Module, BiFunction)} orders the
 * parameters by group and records each group's range ({@link #groups()}), so an optimizer updates a
 * group with one launch over {@code values().narrow(0, group.offset(), group.numel())} (or
 * {@code Ptr.plus(group.offset())}) and the same range of each state buffer.
 */
public final class ParameterArena implements AutoCloseable {
    /** One parameter's place in the arena. */
    public record Entry(String name, Parameter parameter, int offset, int numel) {}

    /**
     * A parameter group: the contiguous range [offset, offset + numel) of the arena holding the
     * parameters named in {@code parameters} (in arena order).
     */
    public record Group(String name, int offset, int numel, List<String> parameters) {
        public Group {
            parameters = List.copyOf(parameters);
        }
    }

    /** The name of the one group of an arena packed without a grouping ({@link #pack(Module)}). */
    public static final String ALL = "all";

    private final Tensor values;
    private final Tensor grads;
    private final List<Entry> entries;
    private final List<Group> groups;

    private ParameterArena(Tensor values, Tensor grads, List<Entry> entries, List<Group> groups) {
        this.values = values;
        this.grads = grads;
        this.entries = entries;
        this.groups = groups;
    }

    /**
     * Packs every parameter of {@code model}, in {@link Module#namedParameters()} order, into a new
     * arena: values are copied in, each parameter becomes a view, gradients start at zero. A model is
     * packed once: packing a model whose parameters are already in an arena is refused (NOTE
     * [one-arena]).
     *
     * @throws IllegalStateException naming the first parameter already packed
     */
    public static ParameterArena pack(Module model) {
        return pack(model.namedParameters(), model, null);
    }

    /**
     * Packs like {@link #pack(Module)}, but ordered by parameter group: {@code grouping} names the group
     * of each parameter (given its dotted name and the parameter); groups come in the order of their
     * first member in {@link Module#namedParameters()} order, and within a group parameters keep that
     * order. Each group is then one contiguous range ({@link #groups()}). For example, no weight decay
     * on biases and normalization parameters:
     * <pre>{@code
     * ParameterArena.pack(model, (name, p) -> p.shape().rank() <= 1 ? "no_decay" : "decay");
     * }</pre>
     *
     * @throws IllegalStateException naming the first parameter already packed (NOTE [one-arena])
     */
    public static ParameterArena pack(Module model, BiFunction<String, Parameter, String> grouping) {
        Objects.requireNonNull(grouping, "grouping");
        Map<String, List<String>> byGroup = new LinkedHashMap<>();
        Map<String, Parameter> named = model.namedParameters();
        for (var e : named.entrySet()) {
            String g = grouping.apply(e.getKey(), e.getValue());
            if (g == null || g.isEmpty()) {
                throw new IllegalArgumentException("pack: the grouping gave no group name for parameter " + e.getKey());
            }
            byGroup.computeIfAbsent(g, k -> new ArrayList<>()).add(e.getKey());
        }
        Map<String, Parameter> ordered = new LinkedHashMap<>();
        for (List<String> names : byGroup.values()) for (String n : names) ordered.put(n, named.get(n));
        return pack(ordered, model, byGroup);
    }

    private static ParameterArena pack(Map<String, Parameter> named, Module model, Map<String, List<String>> byGroup) {
        if (named.isEmpty()) throw new IllegalArgumentException("pack: " + model.getClass().getSimpleName() + " has no parameters");
        for (var e : named.entrySet()) {
            if (e.getValue().isPacked()) {
                // NOTE [one-arena]: packing twice would re-point every parameter at the second arena, and an
                // optimizer over the first would go on stepping with gradients nothing writes any more (zeros)
                throw new IllegalStateException("pack: parameter " + e.getKey() + " of " + model.getClass().getSimpleName()
                        + " is already packed into a ParameterArena; a model is packed once (an arena cannot be unpacked): "
                        + "build a new model to pack again, and copy its weights over (Checkpoint) if needed");
            }
        }
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
        List<Group> groups = new ArrayList<>();
        if (byGroup == null) {
            groups.add(new Group(ALL, 0, (int) total, List.copyOf(named.keySet())));
        } else {
            int start = 0;
            for (var g : byGroup.entrySet()) {
                int n = 0;
                for (String name : g.getValue()) n += named.get(name).data().numel();
                groups.add(new Group(g.getKey(), start, n, g.getValue()));
                start += n;
            }
        }
        return new ParameterArena(values, grads, List.copyOf(entries), List.copyOf(groups));
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

    /**
     * The parameter groups, in arena order, covering the arena without gaps: one group {@link #ALL}
     * for {@link #pack(Module)}, the grouping's groups for {@link #pack(Module, BiFunction)}.
     */
    public List<Group> groups() {
        return groups;
    }

    /** The group called {@code name}; throws naming the groups there are. */
    public Group group(String name) {
        for (Group g : groups) if (g.name().equals(name)) return g;
        throw new IllegalArgumentException("no parameter group '" + name + "' in this arena; its groups are "
                + groups.stream().map(Group::name).toList());
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
