"""A strict reader of the safetensors format, written from its specification, for checking that
files written by OptLab (optlab.nn.io.SafeTensors) are what the Python `safetensors` library
reads (that library is not installable here). It performs the same checks as the library:

  * the first 8 bytes are N, the header length, unsigned little-endian; N <= 100,000,000 and
    8 + N <= file size;
  * the header is UTF-8 JSON whose first character is '{'; it maps names to
    {"dtype", "shape", "data_offsets"}, plus an optional "__metadata__" map of strings to strings;
  * dtypes are the format's names; shapes are lists of non-negative integers; data_offsets are
    [begin, end] with end - begin = numel * element size;
  * sorted by offset, the tensors are contiguous from 0 and the last one ends exactly at the end
    of the file (so a truncated file, or one with trailing bytes, is refused).

Besides, and stricter than the library: a repeated name is an error (JSON would keep the last).

    load_file(path) -> (dict name -> torch.Tensor, dict metadata)
"""
import json
import struct
import sys

import torch

MAX_HEADER_SIZE = 100_000_000

# the format's dtype names and element sizes; the torch types of those this reader returns
DTYPE_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
               "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}
TORCH_TYPES = {"BOOL": torch.bool, "U8": torch.uint8, "I8": torch.int8, "I16": torch.int16, "F16": torch.float16,
               "BF16": torch.bfloat16, "I32": torch.int32, "F32": torch.float32, "F64": torch.float64, "I64": torch.int64}


class SafetensorsError(ValueError):
    pass


def _no_repeats(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise SafetensorsError("repeated key %r in the header" % k)
        d[k] = v
    return d


def _is_uint(x):
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def parse(buf):
    """Validates the bytes of a file; returns (list of (name, dtype, shape, begin, end) by offset, metadata, data start)."""
    if len(buf) < 8:
        raise SafetensorsError("file of %d bytes has no header length" % len(buf))
    (n,) = struct.unpack("<Q", buf[:8])
    if n > MAX_HEADER_SIZE:
        raise SafetensorsError("header too large: %d" % n)
    if 8 + n > len(buf):
        raise SafetensorsError("invalid header length %d for a file of %d bytes" % (n, len(buf)))
    try:
        text = bytes(buf[8:8 + n]).decode("utf-8")
    except UnicodeDecodeError as e:
        raise SafetensorsError("header is not UTF-8: %s" % e)
    if not text.startswith("{"):
        raise SafetensorsError("header does not start with '{'")
    try:
        header = json.loads(text, object_pairs_hook=_no_repeats)
    except json.JSONDecodeError as e:
        raise SafetensorsError("header is not JSON: %s" % e)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise SafetensorsError("__metadata__ must map strings to strings")
    entries = []
    for name, info in header.items():
        if not isinstance(info, dict):
            raise SafetensorsError("entry %r is not an object" % name)
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in DTYPE_SIZES:
            raise SafetensorsError("tensor %r: unknown dtype %r" % (name, dtype))
        if not isinstance(shape, list) or not all(_is_uint(d) for d in shape):
            raise SafetensorsError("tensor %r: bad shape %r" % (name, shape))
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_uint(o) for o in offsets) or offsets[0] > offsets[1]:
            raise SafetensorsError("tensor %r: bad data_offsets %r" % (name, offsets))
        numel = 1
        for d in shape:
            numel *= d
        if offsets[1] - offsets[0] != numel * DTYPE_SIZES[dtype]:
            raise SafetensorsError("tensor %r: %d bytes for %s %r" % (name, offsets[1] - offsets[0], dtype, shape))
        entries.append((name, dtype, shape, offsets[0], offsets[1]))
    entries.sort(key=lambda e: (e[3], e[4]))
    at = 0
    for name, _, _, begin, end in entries:
        if begin != at:
            raise SafetensorsError("tensor %r starts at %d, not at %d: offsets are not contiguous" % (name, begin, at))
        at = end
    if 8 + n + at != len(buf):
        raise SafetensorsError("the tensors end at data byte %d but the data section has %d bytes" % (at, len(buf) - 8 - n))
    return entries, metadata, 8 + n


def load_bytes(buf):
    entries, metadata, start = parse(buf)
    tensors = {}
    for name, dtype, shape, begin, end in entries:
        if dtype not in TORCH_TYPES:
            raise SafetensorsError("tensor %r: dtype %s has no torch type here" % (name, dtype))
        raw = bytearray(buf[start + begin:start + end])
        t = torch.frombuffer(raw, dtype=TORCH_TYPES[dtype]) if raw else torch.empty(0, dtype=TORCH_TYPES[dtype])
        if sys.byteorder != "little" and DTYPE_SIZES[dtype] > 1:
            t = t.byteswap()  # the data is little-endian
        tensors[name] = t.reshape(shape)
    return tensors, metadata


def load_file(path):
    with open(path, "rb") as f:
        return load_bytes(f.read())
