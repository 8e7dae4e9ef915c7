package optlab.optim;

import java.util.Map;
import optlab.nn.ParameterArena;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;

/**
 * An update rule over a model's flat {@link ParameterArena} (NOTE [flat-arena]): every state buffer is
 * a flat tensor at the arena's offsets, so {@link #step()} is one fused pass over all parameters.
 */
public abstract class Optimizer implements AutoCloseable {
    protected final ParameterArena arena;
    private long step;

    protected Optimizer(ParameterArena arena) {
        this.arena = arena;
    }

    /** Applies one update from the gradients in the arena; the step count t starts at 1. */
    public final void step() {
        step++;
        update(step);
    }

    /** The rule itself, at step t = 1, 2, .... */
    protected abstract void update(long t);

    /** Steps taken so far. */
    public final long stepCount() {
        return step;
    }

    /**
     * The state a checkpoint must hold to resume exactly, besides {@link #stepCount()}: each flat state
     * buffer by name (PyTorch's names where they exist: {@code exp_avg}, {@code exp_avg_sq},
     * {@code momentum_buffer}, ...). The tensors are the live buffers, not copies.
     */
    public abstract Map<String, Tensor> stateTensors();

    /** Restores the step count (the state tensors are restored by copying into {@link #stateTensors()}). */
    public final void restoreStepCount(long steps) {
        if (steps < 0) throw new IllegalArgumentException("step count must be >= 0, got " + steps);
        step = steps;
    }

    public void zeroGrad() {
        arena.zeroGrad();
    }

    /** A flat state buffer the size of the arena, filled with {@code init}, living until {@link #close()}. */
    protected final Tensor state(double init) {
        return Scope.escape(arena.values().fullLike(init));
    }

    /** Throws naming the hyperparameter unless lo <= value < hi (hi may be infinite). */
    protected static double check(String name, double value, double lo, double hi) {
        if (!(value >= lo && value < hi)) {
            throw new IllegalArgumentException("invalid " + name + ": " + value + " (must be in [" + lo + ", " + hi + "))");
        }
        return value;
    }
}
