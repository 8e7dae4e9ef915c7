package optlab.autograd.functions;

import java.util.ArrayList;
import java.util.List;
import optlab.autograd.Function;
import optlab.autograd.Variable;
import optlab.tensor.NeuralOps;
import optlab.tensor.Tensor;

/**
 * One LSTM layer over a whole sequence as one graph node ({@link NeuralOps#lstmSequence}, the backend's
 * {@code lstmSequenceForward}, so the {@code lstm} kernel choice, cuDNN included, decides how it runs). The output
 * yc is (t + 1, n, h): the h of every step, then the final cell state; the final h is yc[t - 1], so a gradient
 * reaching it through a select adds to that step's dy. The backward is one {@code lstmSequenceBackward}: both
 * biases get the same gradient, the gradient of their sum.
 *
 * <p>Inputs that are null (h0, c0: zeros; a bias: absent) are not inputs of the node. The reserve is kept only
 * when the node is recorded in the graph.
 */
public final class LstmSequence extends Function {
    private Tensor x, h0, c0, wIh, wHh;
    private NeuralOps.LstmSequenceOutput fwd; // yc, the reserve and the kernel choice that made them
    private Variable[] slots; // x, h0, c0, wIh, wHh, bIh, bHh as given (null where absent)

    public static Variable apply(Variable x, Variable h0, Variable c0, Variable wIh, Variable wHh, Variable bIh, Variable bHh) {
        checkGradientKernel("lstm", x, h0, c0, wIh, wHh, bIh, bHh);
        LstmSequence f = new LstmSequence();
        f.slots = new Variable[] {x, h0, c0, wIh, wHh, bIh, bHh};
        List<Variable> present = new ArrayList<>();
        for (Variable v : f.slots) if (v != null) present.add(v);
        Variable[] inputs = present.toArray(Variable[]::new);
        boolean recorded = recordsGraph(inputs);
        NeuralOps.LstmSequenceOutput out = NeuralOps.lstmSequence(x.data(), data(h0), data(c0), wIh.data(), wHh.data(),
                data(bIh), data(bHh), recorded);
        if (recorded) {
            f.x = x.data();
            f.h0 = data(h0);
            f.c0 = data(c0);
            f.wIh = wIh.data();
            f.wHh = wHh.data();
            f.fwd = out;
        }
        return f.output(out.yc(), inputs);
    }

    private static Tensor data(Variable v) {
        return v == null ? null : v.data();
    }

    @Override
    protected Tensor[] backward(Tensor dyc) {
        boolean[] wanted = new boolean[slots.length];
        for (int s = 0, i = 0; s < slots.length; s++) if (slots[s] != null) wanted[s] = needsInputGrad(i++);
        if (fwd == null) throw new IllegalStateException(name() + ": backward ran twice through one LSTM node (its reserve is spent)");
        NeuralOps.LstmSequenceGrads g;
        try {
            g = NeuralOps.lstmSequenceBackward(x, h0, c0, wIh, wHh, fwd, dyc, wanted[0], wanted[1], wanted[2]);
        } finally {
            fwd.reserve().close(); // one backward per forward (NOTE [lstm-reserve]): a vendor variant may use it as scratch
            fwd = null;
        }
        Tensor[] bySlot = {g.dx(), g.dh0(), g.dc0(), g.dwIh(), g.dwHh(), null, null};
        boolean dbUsed = false;
        for (int s = 5; s < 7; s++) {
            if (!wanted[s]) continue;
            bySlot[s] = dbUsed ? g.db().copy() : g.db();
            dbUsed = true;
        }
        if (!wanted[3]) g.dwIh().close();
        if (!wanted[4]) g.dwHh().close();
        if (!dbUsed) g.db().close();
        Tensor[] grads = new Tensor[inputCount()];
        for (int s = 0, i = 0; s < slots.length; s++) if (slots[s] != null) grads[i++] = wanted[s] ? bySlot[s] : null;
        return grads;
    }
}
