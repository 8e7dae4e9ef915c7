package optlab.nn;

import optlab.autograd.Variable;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;

/**
 * A trainable tensor of a {@link Module}: a leaf variable that requires a gradient. Its data lives
 * outside any {@link Scope} (it must outlive training steps). Once the module is packed into a
 * {@link ParameterArena}, data and gradient are views of the arena's two flat buffers.
 */
public final class Parameter extends Variable {
    public Parameter(Tensor data) {
        super(Scope.escape(data), true);
    }

    /** Moves this parameter into the arena: copies its values into {@code view} and adopts it (and gradView). */
    void moveInto(Tensor view, Tensor gradView) {
        view.copyFrom(data());
        rebindLeaf(Scope.escape(view)).close();
        Tensor oldGrad = grad();
        setGrad(Scope.escape(gradView));
        if (oldGrad != null) oldGrad.close();
    }
}
