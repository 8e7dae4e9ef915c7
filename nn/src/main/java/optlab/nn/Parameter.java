package optlab.nn;

import optlab.autograd.Variable;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;

/**
 * A trainable tensor of a {@link Module}: a leaf variable that requires a gradient. Its data lives
 * outside any {@link Scope} (it must outlive training steps). Once the module is packed into a
 * {@link ParameterArena}, data and gradient are views of the arena's two flat buffers.
 */
public final class Parameter extends Variable {
    private boolean packed;

    public Parameter(Tensor data) {
        super(Scope.escape(data), true);
    }

    /** True once this parameter is a view of a {@link ParameterArena}. */
    public boolean isPacked() {
        return packed;
    }

    /** Copies data (and the gradient, if any) to {@code device} and frees the old tensors (see {@link Module#to}). */
    void moveTo(Device device) {
        if (data().device().equals(device)) return;
        if (packed) throw new IllegalStateException("parameter " + name() + " is packed into a ParameterArena on " + data().device());
        rebindLeaf(Scope.escape(data().to(device))).close();
        Tensor g = grad();
        if (g != null) {
            setGrad(Scope.escape(g.to(device)));
            g.close();
        }
    }

    /**
     * Converts data (and the gradient, if any) to the floating {@code dtype} and frees the old tensors
     * (see {@link Module#to(DType)}); FLOAT32 to FLOAT64 is exact.
     */
    void convertTo(DType dtype) {
        if (data().dtype() == dtype) return;
        if (packed) throw new IllegalStateException("parameter " + name() + " is packed into a ParameterArena of " + data().dtype());
        retypeLeaf(Scope.escape(data().to(dtype))).close();
        Tensor g = grad();
        if (g != null) {
            setGrad(Scope.escape(g.to(dtype)));
            g.close();
        }
    }

    /** Moves this parameter into the arena: copies its values into {@code view} and adopts it (and gradView). */
    void moveInto(Tensor view, Tensor gradView) {
        view.copyFrom(data());
        packed = true;
        rebindLeaf(Scope.escape(view)).close();
        Tensor oldGrad = grad();
        setGrad(Scope.escape(gradView));
        if (oldGrad != null) oldGrad.close();
    }
}
