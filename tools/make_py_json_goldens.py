#!/usr/bin/python3
"""Goldens for mvtag's Python-compatible JSON writer (tests/core/py_json_test.cpp).

Writes tests/fixtures/py_json/floats.json (doubles as their exact bit patterns, with Python's
repr of each), tests/fixtures/py_json/predictions.{input.json,expected.json}: a structure in
the shape of the original's inference output, dumped by Python exactly as inference.py did
(json.dump(obj, f, ensure_ascii=False, indent=4)), and predictions.writer.expected.json: its first
two videos, the whole output PredictionWriter must give for them.
Run once by hand: /usr/bin/python3 tools/make_py_json_goldens.py
"""
import json
import os
import struct

import numpy as np

here = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "py_json")
rng = np.random.default_rng(3)

values = [0.1, 0.5, 1.0, 2.0, 100.0, 1e-4, 1e-5, 0.00012345, 1e15, 1e16, 1.5e16, 123456789012345678.0,
          5e-324, 1.7976931348623157e308, -0.25, -3.5e-7, 0.30000000000000004, 2.5e-5, 9.999999999999999e15]
values += [float(np.float32(x)) for x in rng.random(40)]            # sigmoid outputs, as the original
values += [float(np.float32(x)) for x in rng.random(10) * 1e-6]     # tiny probabilities
values += [float(x) for x in rng.standard_normal(10) * 10.0 ** rng.integers(-20, 20, 10)]
floats = [{"bits": struct.unpack("<Q", struct.pack("<d", v))[0], "repr": repr(v)} for v in values]
with open(os.path.join(here, "floats.json"), "w") as f:
    json.dump(floats, f, indent=1)

predictions = [
    {"video_id": "18e9bf08a2fc7eaa4ee9215ab42ea827",
     "labels": [["拍人-帅哥", float(np.float32(0.9134563207626343))], ["明星周边-其他明星周边", float(np.float32(0.5))]]},
    {"video_id": "quote\"back\\slash\ttab\nnewline\x01ctl", "labels": []},
    {"video_id": "v3", "labels": [["类别", 1.0]], "extra": {"nested": [1, True, None, {}], "empty": []}},
]
with open(os.path.join(here, "predictions.input.json"), "w") as f:
    json.dump(predictions, f)  # ASCII-escaped input for the C++ test to parse
with open(os.path.join(here, "predictions.expected.json"), "w", encoding="utf-8") as f:
    json.dump(predictions, f, ensure_ascii=False, indent=4)
# What PredictionWriter writes for the first two videos (the writer takes no "extra" keys): the whole
# file, compared byte for byte.
with open(os.path.join(here, "predictions.writer.expected.json"), "w", encoding="utf-8") as f:
    json.dump(predictions[:2], f, ensure_ascii=False, indent=4)
print("wrote", os.path.normpath(here))
