"""Writes a PyTorch model's state_dict as a safetensors file, laid out as the `safetensors` library's
save_file(model.state_dict(), path) lays it out (that library is not installable here): metadata
{"format": "pt"}, tensors sorted by element size (largest first) then by name, the header padded with
spaces to a multiple of 8. Run by CheckpointPythonTest to check Checkpoint.loadInitialization on a file
PyTorch wrote:

    python write_initialization.py INIT_OUT IO_OUT

INIT_OUT: the state_dict of reference_models.CifarResNet(8, True, 10) (seed 0) after two training-mode
forwards, so its BatchNorm buffers hold running statistics and num_batches_tracked = 2 (I64, shape []).
IO_OUT: "input.x" (2, 3, 16, 16) and "output.logits", the model's eval-mode output on it.
"""
import json
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))

import reference_models  # noqa: E402

NAMES = {torch.float32: "F32", torch.float64: "F64", torch.int32: "I32", torch.int64: "I64"}


def save_file(tensors, path, metadata=None):
    items = sorted(tensors.items(), key=lambda kv: (-kv[1].element_size(), kv[0]))
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in items:
        data = t.detach().contiguous().cpu().numpy().tobytes()  # little-endian on x86
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-(8 + len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main(init_out, io_out):
    torch.manual_seed(0)
    model = reference_models.CifarResNet(8, True, 10)
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(4, 3, 16, 16))
    save_file(model.state_dict(), init_out, {"format": "pt"})
    model.eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        y = model(x)
    save_file({"input.x": x, "output.logits": y}, io_out, {"format": "pt"})
    print("OK wrote", init_out, "and", io_out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
