#!/usr/bin/python3
"""Writes the pickle fixtures of the C++ tests into tests/fixtures/pickle/.

Run once by hand with the system Python (numpy 1.24):

    /usr/bin/python3 tools/make_pickle_fixtures.py

The outputs are committed; no Python runs at test time. The script also writes manifest.json,
which records what numpy itself saw in every file (dtypes, shapes, sums and leading values), so the
C++ tests compare against numpy rather than against the C++ reader's own idea of the format.

The original feature files were written by Python 2 (the original loads them with
encoding='iso-8859-1'). There is no Python 2 here, so Py2StylePickler below emulates how Python 2's
pickle wrote its `str` type: protocol 0 as a quoted STRING opcode (Python 2's repr), protocols 1
and 2 as SHORT_BINSTRING / BINSTRING. Everything else Python 3's pure-Python pickler writes at these
protocols is what Python 2 wrote too (globals, memo, tuples, dict batching, ints, floats, bools).

Files written by the C++ writer (written_by_mvtag*.pkl) are produced by the C++ test
FeatureWriter.MatchesCommittedFixtures (on a mismatch it saves its output next to /tmp and says
where). When they exist, this script verifies that Python reads them with
pickle.load(..., encoding='iso-8859-1') and that they are byte-identical to what
Py2StylePickler writes for the same record. Run the script again after regenerating them.
"""

import io
import json
import os
import pickle
import pickletools
import struct
import subprocess
import sys
import types

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "pickle")
PWNED = "/tmp/mvtag_pwned"  # the harmless command of the malicious fixtures touches this file


def py2_repr(data: bytes) -> bytes:
    """repr() of a Python 2 str: the argument of the protocol-0 STRING opcode."""
    quote = b'"' if (b"'" in data and b'"' not in data) else b"'"
    out = bytearray(quote)
    for c in data:
        ch = bytes([c])
        if ch == quote or ch == b"\\":
            out += b"\\" + ch
        elif ch == b"\t":
            out += b"\\t"
        elif ch == b"\n":
            out += b"\\n"
        elif ch == b"\r":
            out += b"\\r"
        elif 0x20 <= c < 0x7F:
            out += ch
        else:
            out += b"\\x%02x" % c
    return bytes(out + quote)


class Py2StylePickler(pickle._Pickler):
    """Writes `bytes`, and `str` that is pure ASCII, the way Python 2 wrote its `str` type.

    Non-ASCII `str` stays a unicode string (BINUNICODE / UNICODE), as Python 2 wrote `unicode`.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        if isinstance(obj, str):
            if not obj.isascii():
                return pickle._Pickler.save_str(self, obj)
            data = obj.encode("ascii")
        else:
            data = obj
        if self.proto >= 1:
            if len(data) < 256:
                self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
            else:
                self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        else:
            self.write(pickle.STRING + py2_repr(data) + b"\n")
        self.memoize(obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str


class Numpy2StylePickler(pickle._Pickler):
    """Writes numpy's globals under numpy 2.x's module path (numpy._core...).

    Renaming at write time keeps every length field (SHORT_BINUNICODE, FRAME) correct.
    """

    def save_global(self, obj, name=None):
        name = name or getattr(obj, "__qualname__", obj.__name__)
        module = pickle.whichmodule(obj, name).replace("numpy.core.", "numpy._core.")
        if self.proto >= 4:
            self.save(module)
            self.save(name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode("ascii"))
        self.memoize(obj)

    # The dispatch table binds Python functions (numpy's _frombuffer) to the base save_global.
    dispatch = pickle._Pickler.dispatch.copy()
    dispatch[types.FunctionType] = save_global


class Numpy2AwareUnpickler(pickle.Unpickler):
    """numpy 1.24 has no numpy._core; map numpy 2.x's module path back to read those fixtures."""

    def find_class(self, module, name):
        return super().find_class(module.replace("numpy._core.", "numpy.core."), name)


def dumps(obj, protocol, pickler=pickle.Pickler, **kwargs):
    buf = io.BytesIO()
    pickler(buf, protocol=protocol, **kwargs).dump(obj)
    return buf.getvalue()


def record(video, rgb, audio):
    return {"video": video, "feature": {"image_pkl": rgb, "audio_pkl": audio}}


def values(rows, cols, scale, offset, dtype=np.float32):
    """Small deterministic values, exact in float16 as well."""
    return (np.arange(rows * cols, dtype=np.float64).reshape(rows, cols) * scale + offset).astype(dtype)


def array_facts(a):
    a = np.asarray(a)
    as_f32 = a.astype(np.float32).astype(np.float64)
    return {
        "dtype": a.dtype.name,
        "byteorder": a.dtype.byteorder,
        "shape": list(a.shape),
        "sum": float(as_f32.sum()),
        "first": [float(v) for v in as_f32.ravel(order="C")[:6]],
    }


def array_values(a):
    a = np.asarray(a)
    flat = a.ravel(order="C")
    return {"dtype": a.dtype.name, "shape": list(a.shape),
            "values": [v.item() if a.dtype.kind != "f" else float(v) for v in flat]}


manifest = {"features": {}, "arrays": {}, "errors": {}, "malicious": {}}


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def feature_fixture(name, data, video_id, rgb, audio, audio_empty=False):
    write(name, data)
    loaded = Numpy2AwareUnpickler(io.BytesIO(data), encoding="iso-8859-1").load()
    assert str(loaded["video"]) == video_id or loaded["video"] == video_id.encode(), (name, loaded["video"])
    assert np.array_equal(loaded["feature"]["image_pkl"], rgb), name
    assert np.array_equal(loaded["feature"]["audio_pkl"], audio), name
    # numpy converts big-endian arrays to native order when it unpickles them.
    assert loaded["feature"]["image_pkl"].dtype == rgb.dtype.newbyteorder("="), name
    manifest["features"][name] = {
        "video_id": video_id,
        "rgb": array_facts(rgb),
        "audio": array_facts(audio),
        "audio_empty": audio_empty,
    }


def opcodes(data):
    return {op.name for op, _, _ in pickletools.genops(data)}


class Evil:
    """Pickles as a call of `func(*args)`: what a malicious feature file contains."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


class Plain:
    """A plain object: protocol 0 pickles it through copy_reg._reconstructor."""

    def __init__(self):
        self.x = 1


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.endswith(".pkl") and not old.startswith("written_by_mvtag"):
            os.remove(os.path.join(OUT, old))

    rgb = values(3, 8, 0.25, -2.0)
    audio = values(2, 4, 0.5, 1.0)

    # Python 3, every protocol.
    for p in range(6):
        rec = record(f"vid_proto{p}", rgb, audio)
        feature_fixture(f"features_py3_proto{p}.pkl", dumps(rec, p), f"vid_proto{p}", rgb, audio)
    assert "FRAME" in opcodes(dumps(record("x", rgb, audio), 4))
    assert "BYTEARRAY8" in opcodes(open(os.path.join(OUT, "features_py3_proto5.pkl"), "rb").read())

    # Python 2 style: STRING (protocol 0), SHORT_BINSTRING and BINSTRING (protocol 2; the
    # [3, 32] float32 rgb block is 384 bytes, so it needs BINSTRING).
    rgb32 = values(3, 32, 0.125, -5.0)
    for p in (0, 2):
        rec = record("py2_video", rgb32, audio)
        data = dumps(rec, p, Py2StylePickler)
        # encoding='bytes' keeps Python 2 strings as bytes: proof that no unicode opcode was used.
        as_bytes = pickle.loads(data, encoding="bytes")
        assert as_bytes[b"video"] == b"py2_video" and b"image_pkl" in as_bytes[b"feature"]
        if p == 2:
            assert {"BINSTRING", "SHORT_BINSTRING"} <= opcodes(data)
        feature_fixture(f"features_py2_proto{p}.pkl", data, "py2_video", rgb32, audio)

    # Python 2 style with a latin-1 byte-string id: read as latin-1 text ('café').
    data = dumps(record(b"caf\xe9", rgb, audio), 2, Py2StylePickler)
    feature_fixture("features_py2_latin1_id.pkl", data, "caf\u00e9", rgb, audio)

    # The real widths (ResNet 2048, VGGish 128), Python 2 style, as the original data was.
    rng = np.random.default_rng(2024)
    rgb_real = rng.standard_normal((3, 2048)).astype(np.float32)
    audio_real = rng.standard_normal((2, 128)).astype(np.float32)
    feature_fixture("features_real_widths_py2.pkl",
                    dumps(record("real_widths", rgb_real, audio_real), 2, Py2StylePickler),
                    "real_widths", rgb_real, audio_real)

    # numpy 2.x module paths: _reconstruct (protocol 4, STACK_GLOBAL in a FRAME) and
    # _frombuffer (protocol 5, in-band buffer).
    for p, fn in ((2, "_reconstruct"), (4, "_reconstruct"), (5, "_frombuffer")):
        data = dumps(record(f"numpy2_proto{p}", rgb, audio), p, Numpy2StylePickler)
        assert b"numpy._core." in data and b"numpy.core." not in data and fn.encode() in data
        feature_fixture(f"features_numpy2_proto{p}.pkl", data, f"numpy2_proto{p}", rgb, audio)

    # dtypes and layouts.
    feature_fixture("features_float64.pkl", dumps(record("f64", rgb.astype(np.float64), audio.astype(np.float64)), 2),
                    "f64", rgb.astype(np.float64), audio.astype(np.float64))
    feature_fixture("features_float16.pkl", dumps(record("f16", rgb.astype(np.float16), audio.astype(np.float16)), 2),
                    "f16", rgb.astype(np.float16), audio.astype(np.float16))
    rgb_be = rgb.astype(">f4")
    data = dumps(record("big_endian", rgb_be, audio.astype(">f8")), 2)
    assert b"X\x01\x00\x00\x00>" in data
    feature_fixture("features_big_endian.pkl", data, "big_endian", rgb_be, audio.astype(">f8"))
    rgb_f = np.asfortranarray(rgb)
    assert rgb_f.flags.f_contiguous and not rgb_f.flags.c_contiguous
    for p in (2, 5):
        data = dumps(record(f"fortran{p}", rgb_f, np.asfortranarray(audio)), p)
        feature_fixture(f"features_fortran_proto{p}.pkl", data, f"fortran{p}", rgb_f, audio)

    # Ids that are not plain ASCII str.
    feature_fixture("features_int_id.pkl", dumps(record(12345, rgb, audio), 2), "12345", rgb, audio)
    feature_fixture("features_unicode_id.pkl", dumps(record("视频_01", rgb, audio), 2), "视频_01", rgb, audio)
    feature_fixture("features_bytes_id.pkl", dumps(record(b"bytes_id", rgb, audio), 3), "bytes_id", rgb, audio)

    # Empty audio: [0, 128] and [0] (float64, what np.array([]) gives), Python 3 protocol 2
    # (empty bytes pickle as __builtin__.bytes()) and Python 2 style.
    empty2d = np.zeros((0, 128), np.float32)
    empty1d = np.array([])
    data = dumps(record("empty_audio_2d", rgb, empty2d), 2)
    assert b"__builtin__\nbytes" in data
    feature_fixture("features_empty_audio_2d.pkl", data, "empty_audio_2d", rgb, empty2d, True)
    feature_fixture("features_empty_audio_1d.pkl", dumps(record("empty_audio_1d", rgb, empty1d), 2, Py2StylePickler),
                    "empty_audio_1d", rgb, empty1d, True)

    # Feature records the loader must reject (each names a key).
    bad = {
        "bad_missing_audio.pkl": {"video": "v", "feature": {"image_pkl": rgb}},
        "bad_missing_video.pkl": {"feature": {"image_pkl": rgb, "audio_pkl": audio}},
        "bad_empty_image.pkl": record("v", np.zeros((0, 8), np.float32), audio),
        "bad_rank_image.pkl": record("v", rgb.ravel(), audio),
        "bad_nan_image.pkl": record("v", np.where(rgb == rgb[1, 2], np.nan, rgb).astype(np.float32), audio),
        "bad_inf_audio.pkl": record("v", rgb, np.where(audio == audio[1, 3], np.inf, audio).astype(np.float32)),
        "bad_feature_not_dict.pkl": {"video": "v", "feature": [rgb, audio]},
        "bad_record_list.pkl": [rgb, audio],
    }
    for name, obj in bad.items():
        write(name, dumps(obj, 2, Py2StylePickler))

    # Every value type the unpickler knows, at four protocols and in Python 2 style.
    shared = np.array([1.0, 2.0], np.float32)
    arrays = {
        "i8": np.array([-1, 2, -128], np.int8),
        "u8": np.array([0, 255, 7], np.uint8),
        "i16": np.array([[-300, 301]], np.int16),
        "i32": np.array([-70000, 70000], np.int32),
        "i64": np.array([-2**40, 2**62], np.int64),
        "bool": np.array([True, False, True]),
        "f16": np.array([0.5, -1.25, 65504.0], np.float16),
        "f64": np.array([1e300, -2.5], np.float64),
        "f32_3d_fortran": np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4)),
        "i16_big_endian": np.array([1, -2, 300], ">i2"),
        "zero_d": np.array(3.5),
        "empty": np.zeros((2, 0), np.float32),
    }
    misc = {
        "none": None, "true": True, "false": False,
        "small": 7, "neg": -3, "i16": 40000, "i32": -2**31, "big": 2**40,
        "min64": -2**63, "max64": 2**63 - 1,
        "float": 1.5, "neg_float": -2.25e-5,
        "text": "h\u00e9llo \u4e2d\u6587", "bytes": b"\x00\xffab", "empty_bytes": b"",
        "list": [1, "two", 3.0, [4]], "tuple": (1, 2), "tuple5": (1, 2, 3, 4, 5),
        "empty_tuple": (), "empty_list": [],
        "nested": {"a": {"b": [None]}},
        1: "int key", b"k": "bytes key",
        "np_f32": np.float32(1.5), "np_i64": np.int64(-9), "np_bool": np.bool_(True),
        "shared": [shared, shared],
        "arrays": arrays,
    }
    for p in (0, 2, 4, 5):
        write(f"misc_py3_proto{p}.pkl", dumps(misc, p))
        assert pickle.loads(open(os.path.join(OUT, f"misc_py3_proto{p}.pkl"), "rb").read())["max64"] == 2**63 - 1
    for p in (0, 2):
        write(f"misc_py2_proto{p}.pkl", dumps(misc, p, Py2StylePickler))
    manifest["arrays"] = {k: array_values(v) for k, v in arrays.items()}

    # Things the unpickler refuses with a clear message (the value says what the message contains).
    l = []
    l.append(l)
    errors = {
        "err_truncated.pkl": (dumps(record("t", rgb, audio), 2)[:150], "truncated"),
        "err_bigint.pkl": (dumps({"x": 2**64}, 2), "64 bits"),
        "err_set.pkl": (dumps({"x": {1, 2}}, 4), "set"),
        "err_object_array.pkl": (dumps(np.array([1, "a"], object), 2), "object"),
        "err_uint16.pkl": (dumps(np.array([1, 2], np.uint16), 2), "uint16"),
        "err_complex.pkl": (dumps(np.array([1j]), 2), "complex"),
        "err_structured.pkl": (dumps(np.zeros(2, [("a", "<f4"), ("b", "<i4")]), 2), "structured"),
        "err_out_of_band.pkl": (dumps(shared, 5, buffer_callback=lambda b: False), "out-of-band"),
        "err_recursive.pkl": (dumps(l, 2), "recursive"),
        "err_bad_opcode.pkl": (b"\x80\x02}q\x00\xffq\x01.", "opcode"),
        "err_protocol6.pkl": (b"\x80\x06N.", "protocol"),
        "err_stack_underflow.pkl": (b"\x80\x02N\x86.", "underflow"),
        "err_memo_miss.pkl": (b"\x80\x02h\x05.", "memo"),
        "err_huge_length.pkl": (b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f.", "length"),
    }
    for name, (data, what) in errors.items():
        write(name, data)
        manifest["errors"][name] = what

    # Malicious pickles: a Python pickle.load of any of these would run `touch /tmp/mvtag_pwned`.
    # They are never loaded here; pickletools only disassembles them.
    touch = f"touch {PWNED}"
    malicious = {
        "evil_os_system_proto0.pkl": (f"cos\nsystem\n(S'{touch}'\ntR.".encode(), "os.system"),
        "evil_os_system_inst.pkl": (f"(S'{touch}'\nios\nsystem\n.".encode(), "os.system"),
        "evil_posix_system_proto2.pkl": (dumps(Evil(os.system, touch), 2), "posix.system"),
        "evil_eval_proto4.pkl": (dumps(Evil(eval, f"__import__('os').system('{touch}')"), 4), "builtins.eval"),
        "evil_popen_proto5.pkl": (dumps(Evil(subprocess.Popen, ["touch", PWNED]), 5), "subprocess.Popen"),
        "evil_in_record_proto2.pkl": (dumps({"feature": {"image_pkl": rgb, "audio_pkl": audio},
                                             "video": Evil(os.system, touch)}, 2), "posix.system"),
        "evil_reconstructor_proto0.pkl": (dumps(Plain(), 0), "copy_reg._reconstructor"),
    }
    for name, (data, global_name) in malicious.items():
        module, _, attr = global_name.rpartition(".")
        ops = list(pickletools.genops(data))
        names = [arg for op, arg, _ in ops if op.name in ("GLOBAL", "INST")]
        strings = [arg for op, arg, _ in ops if op.name == "SHORT_BINUNICODE"]
        assert f"{module} {attr}" in names or (module in strings and attr in strings), (name, names, strings)
        write(name, data)
        offset = min(pos for op, arg, pos in ops
                     if op.name == "STACK_GLOBAL" or arg == f"{module} {attr}")
        manifest["malicious"][name] = {"global": global_name, "offset": offset}

    verify_written_by_mvtag()

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(os.listdir(OUT))} files to {os.path.normpath(OUT)}")


def writer_demo_record(empty_audio):
    """The record the C++ test FeatureWriter.MatchesCommittedFixtures writes (same formulas)."""
    rgb = (np.arange(12, dtype=np.float32).reshape(2, 6) * np.float32(0.5) - np.float32(1.25))
    audio = np.zeros((0, 4), np.float32) if empty_audio else \
        ((np.arange(3)[:, None] - np.arange(4)[None, :]).astype(np.float32) * np.float32(0.125))
    return record("writer_demo", rgb, audio)


def verify_written_by_mvtag():
    for name, empty in (("written_by_mvtag.pkl", False), ("written_by_mvtag_empty_audio.pkl", True)):
        path = os.path.join(OUT, name)
        if not os.path.exists(path):
            print(f"note: {name} missing; run the C++ test FeatureWriter.MatchesCommittedFixtures, then this again")
            continue
        data = open(path, "rb").read()
        expected = writer_demo_record(empty)
        with open(path, "rb") as f:
            loaded = pickle.load(f, encoding="iso-8859-1")
        assert loaded["video"] == expected["video"], loaded["video"]
        for key in ("image_pkl", "audio_pkl"):
            got, want = loaded["feature"][key], expected["feature"][key]
            assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want), key
        assert data == dumps(expected, 2, Py2StylePickler), f"{name} differs from Python 2-style pickle"
        print(f"verified {name}: Python reads it and it is byte-identical to a Python 2-style pickle")


if __name__ == "__main__":
    sys.exit(main())
