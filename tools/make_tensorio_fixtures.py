#!/usr/bin/python3
"""Writes the fixtures of tests/core/{safetensors,paddle_tensor}_test.cpp.

An independent reference for our C++ readers: the bytes are laid out here in Python, following
the published formats field by field (the safetensors spec as HuggingFace's writer applies it,
and Paddle's LoDTensor serialization with a hand-encoded TensorDesc protobuf), and the values
come from numpy/torch. Run once by hand and commit the output:

    /usr/bin/python3 tools/make_tensorio_fixtures.py tests/fixtures/tensorio
"""
import json
import os
import struct
import sys

import numpy as np
import torch

# ---------------------------------------------------------------------------------------------
# safetensors

ST_DTYPES = {
    np.dtype("bool"): "BOOL", np.dtype("uint8"): "U8", np.dtype("int8"): "I8",
    np.dtype("int16"): "I16", np.dtype("int32"): "I32", np.dtype("int64"): "I64",
    np.dtype("float16"): "F16", np.dtype("float32"): "F32", np.dtype("float64"): "F64",
}


def bf16_bits(values):
    """bfloat16 as numpy uint16 bits, rounded by torch."""
    t = torch.tensor(values, dtype=torch.float32).to(torch.bfloat16)
    return t.view(torch.int16).numpy().view(np.uint16)


def safetensors_tensors():
    rng = np.random.default_rng(7)
    return {
        "weight": ("F32", rng.standard_normal((2, 3)).astype(np.float32)),
        "half": ("F16", np.array([1.0, -2.5, 65504.0, 6.1e-5], dtype=np.float16)),
        "brain": ("BF16", bf16_bits([1.0, -3.140625, 1e30])),
        "scalar": ("F64", np.array(2.718281828459045, dtype=np.float64)),
        "ids": ("I64", np.array([[1, -2], [2**40, -(2**62)]], dtype=np.int64)),
        "i32": ("I32", np.array([-7, 123456789], dtype=np.int32)),
        "i16": ("I16", np.array([[-300], [300]], dtype=np.int16)),
        "i8": ("I8", np.array([-128, 0, 127], dtype=np.int8)),
        "empty": ("U8", np.zeros((0, 4), dtype=np.uint8)),
        "bytes": ("U8", np.array([0, 1, 255], dtype=np.uint8)),
        "mask": ("BOOL", np.array([[True, False], [False, True]])),
    }


ST_ALIGNMENT = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "F16": 2, "BF16": 2, "I32": 4, "F32": 4,
                "I64": 8, "F64": 8}


def safetensors_file(tensors, metadata):
    # As HuggingFace's writer does, order the data by dtype (here: widest first, then name), not
    # by name alone. Compact JSON, padded with spaces to a multiple of 8 bytes.
    order = sorted(tensors, key=lambda n: (-ST_ALIGNMENT[tensors[n][0]], n))
    header = {"__metadata__": metadata}
    chunks = []
    offset = 0
    for name in order:
        dtype, arr = tensors[name]
        raw = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks), order


def expected_entry(dtype, arr):
    if dtype == "BF16":
        values = torch.from_numpy(arr.view(np.int16)).view(torch.bfloat16).float().tolist()
    elif arr.dtype.kind == "f":
        values = arr.astype(np.float64).tolist()
    else:
        values = arr.astype(np.int64).tolist()
    return {"dtype": dtype, "shape": list(arr.shape), "hex": arr.tobytes().hex(),
            "values": np.array(values, dtype=object).reshape(-1).tolist()}


def write_safetensors_fixture(out_dir):
    tensors = safetensors_tensors()
    metadata = {"format": "pt", "note": "h\u00e9llo \u6807\u7b7e"}
    data, order = safetensors_file(tensors, metadata)
    with open(os.path.join(out_dir, "reference.safetensors"), "wb") as f:
        f.write(data)
    expected = {"metadata": metadata, "order": order,
                "tensors": {n: expected_entry(*tensors[n]) for n in order}}
    with open(os.path.join(out_dir, "reference.safetensors.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write("\n")


# ---------------------------------------------------------------------------------------------
# Paddle LoDTensor files (framework.proto VarType.Type codes)

PADDLE_TYPES = {np.dtype("bool"): 0, np.dtype("int16"): 1, np.dtype("int32"): 2,
                np.dtype("int64"): 3, np.dtype("float16"): 4, np.dtype("float32"): 5,
                np.dtype("float64"): 6, np.dtype("uint8"): 20, np.dtype("int8"): 21}


def varint(value):
    value &= (1 << 64) - 1  # negative int64 values take ten bytes, as protobuf writes them
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def tensor_desc(type_code, dims, packed=False, extra=b""):
    desc = b"\x08" + varint(type_code)  # field 1, varint
    if packed:
        body = b"".join(varint(d) for d in dims)
        desc += b"\x12" + varint(len(body)) + body  # field 2, length-delimited
    else:
        desc += b"".join(b"\x10" + varint(d) for d in dims)  # field 2, varint, one per dim
    return desc + extra


def lod_tensor(arr, lod=(), packed=False, extra=b""):
    out = struct.pack("<I", 0)  # LoDTensor version
    out += struct.pack("<Q", len(lod))
    for level in lod:
        out += struct.pack("<Q", 8 * len(level)) + struct.pack("<%dQ" % len(level), *level)
    out += struct.pack("<I", 0)  # Tensor version
    desc = tensor_desc(PADDLE_TYPES[arr.dtype], arr.shape, packed, extra)
    out += struct.pack("<i", len(desc)) + desc
    return out + np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()


def paddle_entry(arr, lod=()):
    values = arr.astype(np.float64) if arr.dtype.kind == "f" else arr
    return {"dtype": arr.dtype.name, "shape": list(arr.shape), "lod": [list(l) for l in lod],
            "values": values.reshape(-1).tolist()}


def write_paddle_fixtures(out_dir):
    rng = np.random.default_rng(11)
    # A combined file as save_vars(filename="param") writes it: sorted names, no names stored.
    combined = [
        ("fc_0.b_0", rng.standard_normal(3).astype(np.float32), (), False, b""),
        ("fc_0.w_0", rng.standard_normal((2, 3)).astype(np.float32), (), False, b""),
        ("half", np.array([[0.5, -1.0], [3.0, 1024.0]], dtype=np.float16), (), False, b""),
        ("ids", np.array([5, -1, 2**33], dtype=np.int64), (), True, b""),  # packed dims
        ("lod", np.array([[1.5], [2.5], [3.5]], dtype=np.float64), ((0, 1, 3),), False, b""),
        # An unknown field 7 (varint 150) that a reader must skip.
        ("with_unknown_field", np.array([9], dtype=np.int32), (), False, b"\x38\x96\x01"),
    ]
    with open(os.path.join(out_dir, "reference.pdparams"), "wb") as f:
        for _, arr, lod, packed, extra in combined:
            f.write(lod_tensor(arr, lod, packed, extra))
    expected = [dict(paddle_entry(arr, lod), name=name) for name, arr, lod, _, _ in combined]
    with open(os.path.join(out_dir, "reference.pdparams.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    # A single-parameter file, as in the ERNIE pretrain directory.
    single = rng.standard_normal((4, 2)).astype(np.float32)
    with open(os.path.join(out_dir, "word_embedding"), "wb") as f:
        f.write(lod_tensor(single))
    with open(os.path.join(out_dir, "word_embedding.json"), "w") as f:
        json.dump(paddle_entry(single), f, indent=1)
        f.write("\n")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/tensorio"
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors_fixture(out_dir)
    write_paddle_fixtures(out_dir)


if __name__ == "__main__":
    main()
