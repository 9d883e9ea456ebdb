#!/usr/bin/python3
"""Goldens for mvtag's Paddle-style RMSProp (tests/train/optimizer_test.cpp).

An independent NumPy implementation of the update the original used (fluid RMSPropOptimizer,
centered=True, rho=0.95, epsilon=1e-6 inside the square root, momentum=0) with L2 decay added
to the gradient (the original's scenario_lib/models/attention_lstm_ernie.py, optimizer()):
    g   = grad + coeff * w              (coeff = 0 for exempt parameters)
    ms  = rho * ms + (1 - rho) * g^2
    mg  = rho * mg + (1 - rho) * g
    mom = momentum * mom + lr * g / sqrt(ms - mg^2 + eps)
    w  -= mom
Run once by hand: /usr/bin/python3 tools/make_optimizer_goldens.py
"""
import json
import os

import numpy as np

rng = np.random.default_rng(7)
rho, eps, coeff = 0.95, 1e-6, 8e-4


def run(momentum, centered, steps=4):
    w = rng.standard_normal(5)
    b = rng.standard_normal(3)
    params = {"w": w.copy(), "b": b.copy()}
    decay = {"w": coeff, "b": 0.0}  # "b" is exempt from L2, like the audio forward fc bias
    state = {k: [np.zeros_like(v), np.zeros_like(v), np.zeros_like(v)] for k, v in params.items()}
    record = {"momentum": momentum, "centered": centered, "initial": {k: v.tolist() for k, v in params.items()},
              "steps": []}
    for step in range(steps):
        lr = 0.01 * (0.5 ** step)
        grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
        for k in params:
            ms, mg, mom = state[k]
            g = grads[k] + decay[k] * params[k]
            ms[:] = rho * ms + (1 - rho) * g * g
            if centered:
                mg[:] = rho * mg + (1 - rho) * g
                denom = np.sqrt(ms - mg * mg + eps)
            else:
                denom = np.sqrt(ms + eps)
            mom[:] = momentum * mom + lr * g / denom
            params[k] = params[k] - mom
        record["steps"].append({"lr": lr, "grads": {k: v.tolist() for k, v in grads.items()},
                                "after": {k: v.tolist() for k, v in params.items()}})
    return record


out = {"rho": rho, "epsilon": eps, "weight_decay": coeff, "exempt": ["b"],
       "runs": [run(0.0, True), run(0.9, True), run(0.0, False)]}
path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "optimizer", "rmsprop.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print("wrote", os.path.normpath(path))
