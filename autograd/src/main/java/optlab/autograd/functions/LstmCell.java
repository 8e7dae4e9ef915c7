package optlab.autograd.functions;

import optlab.autograd.Function;
import optlab.autograd.Variable;
import optlab.tensor.NeuralOps;
import optlab.tensor.Tensor;

/**
 * The pointwise LSTM step (see {@link optlab.kernels.reference.RefLstm}): from the gate pre-activations
 * (n, 4h) and the previous cell state (n, h) to hc (2, n, h) with h = hc[0] and c = hc[1]. One output
 * holding both keeps the graph single-output; taking h and c are ordinary differentiable selects.
 */
public final class LstmCell extends Function {
    private Tensor act, cPrev, hc;

    public static Variable apply(Variable gates, Variable cPrev) {
        LstmCell f = new LstmCell();
        NeuralOps.LstmCellOutput out = NeuralOps.lstmCell(gates.data(), cPrev.data());
        f.act = out.act();
        f.cPrev = cPrev.data();
        try (Tensor h = out.h(); Tensor c = out.c(); Tensor h1 = h.unsqueeze(0); Tensor c1 = c.unsqueeze(0)) {
            f.hc = Tensor.cat(0, h1, c1);
        }
        return f.output(f.hc, gates, cPrev);
    }

    @Override
    protected Tensor[] backward(Tensor dhc) {
        try (Tensor dh = dhc.select(0, 0); Tensor dc = dhc.select(0, 1); Tensor c = hc.select(0, 1)) {
            NeuralOps.LstmCellGrads g = NeuralOps.lstmCellBackward(act, cPrev, c, dh, dc);
            if (!needsInputGrad(1)) {
                g.dcPrev().close();
                return new Tensor[] {g.dGates(), null};
            }
            return new Tensor[] {g.dGates(), g.dcPrev()};
        }
    }
}
