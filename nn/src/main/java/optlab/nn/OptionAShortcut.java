package optlab.nn;

import optlab.autograd.Variable;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/**
 * The parameter-free ResNet shortcut "option A" (He et al. 2016, section 4.2; the CIFAR ResNets of
 * Zhuang et al.): subsample by 2 in space and zero-pad the channels, PyTorch's
 * {@code F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad))}.
 * <pre>
 *   x (n, c, h, w)  ->  (n, c + 2 pad, ceil(h/2), ceil(w/2)),  the input in channels [pad, pad + c), zeros elsewhere
 * </pre>
 * The gradient flows back only to the kept positions (slice and concatenation are differentiable).
 */
public final class OptionAShortcut extends Module {
    private final int pad;

    /** pad zero channels on each side (the CIFAR ResNet uses planes / 4). */
    public OptionAShortcut(int pad) {
        if (pad < 0) throw new IllegalArgumentException("OptionAShortcut: pad must be >= 0, got " + pad);
        this.pad = pad;
    }

    @Override
    public Variable forward(Variable x) {
        if (x.dim() != 4) throw new IllegalArgumentException("OptionAShortcut: input must be (n, c, h, w), got shape " + x.shape());
        Variable sub = x.slice(2, 0, x.size(2), 2).slice(3, 0, x.size(3), 2);
        if (pad == 0) return sub;
        Variable zeros = new Variable(Tensor.zeros(Shape.of(sub.size(0), pad, sub.size(2), sub.size(3)), x.dtype(), x.data().device()));
        return Variable.cat(1, zeros, sub, zeros);
    }

    @Override
    protected String describe() {
        return "stride=2, pad_channels=" + pad;
    }
}
