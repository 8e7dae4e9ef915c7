"""Writes lstm_golden.txt: a 2-layer torch.nn.LSTM(3, 4) run in float64 over t=5 steps of n=2 sequences from a
given state, with the loss sum(y * wy) + sum(h_T * wh) + sum(c_T * wc), and the gradients of x and of every
parameter. LstmGoldenTest (nn) loads the same weights into optlab.nn.Lstm and checks its outputs and gradients
against these. Run from this directory with a Python that has torch:

    /tmp/venv/bin/python lstm_golden.py

Format: for each tensor a line "name d0,d1,..." then a line of its values, row-major, as Python's repr.
"""
import torch


def main():
    torch.manual_seed(20261121)
    t, n, inp, hid, layers = 5, 2, 3, 4, 2
    lstm = torch.nn.LSTM(inp, hid, layers).double()
    x = torch.randn(t, n, inp, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(layers, n, hid, dtype=torch.float64)
    c0 = torch.randn(layers, n, hid, dtype=torch.float64)
    wy = torch.randn(t, n, hid, dtype=torch.float64)
    wh = torch.randn(layers, n, hid, dtype=torch.float64)
    wc = torch.randn(layers, n, hid, dtype=torch.float64)
    y, (hT, cT) = lstm(x, (h0, c0))
    loss = (y * wy).sum() + (hT * wh).sum() + (cT * wc).sum()
    loss.backward()
    out = [("x", x), ("h0", h0), ("c0", c0), ("wy", wy), ("wh", wh), ("wc", wc)]
    out += [(name, p) for name, p in lstm.named_parameters()]
    out += [("y", y), ("hT", hT), ("cT", cT), ("loss", loss.reshape(1)), ("grad.x", x.grad)]
    out += [("grad." + name, p.grad) for name, p in lstm.named_parameters()]
    with open("lstm_golden.txt", "w") as f:
        for name, v in out:
            v = v.detach()
            f.write("%s %s\n" % (name, ",".join(str(d) for d in v.shape)))
            f.write(" ".join(repr(float(e)) for e in v.reshape(-1).tolist()) + "\n")


if __name__ == "__main__":
    main()
