"""Reads OptLab checkpoints with the strict reader (read_safetensors.py) and checks them against the
PyTorch reference models (../golden/reference_models.py). Run by CheckpointPythonTest:

    python check_checkpoint.py FILE...

Each FILE holds a model's state under its PyTorch names, plus "input.*" and "output.*" tensors,
and metadata "reference" (a constructor call of reference_models, e.g. "CifarResNet(20, True, 10)")
and "kind" ("image" or "lm"). For each file: the state loads into the reference model with
load_state_dict(strict=True) (OptLab's DeepOBS-layout LSTM has no bias_hh: those are set to its constant forget bias, 1 in the f block),
the reference model's outputs on the saved inputs match the saved Java outputs, and, where saved,
a training-mode forward matches too, running statistics included. Also checks that the reader
refuses a truncated copy of the first file. Prints one line per file; exits 1 on any mismatch.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
sys.path.insert(0, HERE)

import reference_models  # noqa: E402
from read_safetensors import SafetensorsError, load_bytes, load_file  # noqa: E402


def close(name, actual, expected, failures, rtol=1e-4, atol=1e-5):
    scale = expected.abs().max().item() if expected.numel() else 0.0
    diff = (actual.double() - expected.double()).abs().max().item() if expected.numel() else 0.0
    ok = actual.shape == expected.shape and diff <= atol + rtol * scale
    if not ok:
        failures.append("%s: max |diff| %.3g (scale %.3g), shapes %s %s" % (name, diff, scale, tuple(actual.shape), tuple(expected.shape)))
    return diff


def check(path):
    tensors, meta = load_file(path)
    failures = []
    model = eval(meta["reference"], {k: getattr(reference_models, k) for k in dir(reference_models)})
    state = {k: v for k, v in tensors.items() if not (k.startswith("input.") or k.startswith("output.") or k.startswith("after."))}
    if meta.get("lstm_layout") == "DEEPOBS":  # TensorFlow's single bias; the second holds its constant forget_bias 1.0
        for k, v in model.state_dict().items():
            if "bias_hh" in k:
                b = torch.zeros_like(v)
                h = b.shape[0] // 4
                b[h:2 * h] = 1.0  # PyTorch's gate order i, f, g, o: the f block
                state[k] = b
    model.load_state_dict(state, strict=True)
    model.eval()
    diffs = []
    with torch.no_grad():
        if meta["kind"] == "lm":
            h0 = (tensors["input.h"], tensors["input.c"])
            logits, (h, c) = model(tensors["input.tokens"].long(), h0)
            diffs.append(close("logits", logits, tensors["output.logits"], failures))
            diffs.append(close("h", h, tensors["output.h"], failures))
            diffs.append(close("c", c, tensors["output.c"], failures))
        else:
            x = tensors["input.x"]
            diffs.append(close("eval logits", model(x), tensors["output.logits"], failures))
            if "output.train_logits" in tensors:
                model.train()
                diffs.append(close("train logits", model(x), tensors["output.train_logits"], failures))
                after = model.state_dict()
                for k, v in tensors.items():
                    if k.startswith("after."):
                        diffs.append(close(k, after[k[len("after."):]], v, failures))
    return failures, max(diffs)


def main(paths):
    bad = 0
    with open(paths[0], "rb") as f:
        raw = f.read()
    for cut in (len(raw) - 1, 7, 8 + 10):
        try:
            load_bytes(raw[:cut])
            print("FAIL reader accepted a copy truncated to %d bytes" % cut)
            bad += 1
        except SafetensorsError:
            pass
    for p in paths:
        try:
            failures, diff = check(p)
        except Exception as e:  # a load error is a failure of this file
            failures, diff = ["%s: %s" % (type(e).__name__, e)], float("nan")
        if failures:
            bad += 1
            print("FAIL %s: %s" % (os.path.basename(p), "; ".join(failures)))
        else:
            print("OK %s max |diff| %.3g" % (os.path.basename(p), diff))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
