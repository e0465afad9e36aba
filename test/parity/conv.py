"""Writes fixtures/conv.json: forward outputs and the input, weight and bias
gradients (for a fixed upstream gradient) of PyTorch's F.conv2d and
F.conv_transpose2d on inputs from the shared generator, for
test/parity-conv.test.mjs. Each case names our op and its attributes beside
the torch call; asymmetric padding, which F.conv2d lacks, is F.pad first.
Run with Debian's python3-torch:
    /usr/bin/python3 test/parity/conv.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from gen import values  # noqa: E402

# (name, our op, our attrs, x shape, weight shape, bias?, torch function of (x, w, b))
CASES = [
    ("conv2d groups 2, stride 2, padding 1", "conv2d", {"stride": 2, "padding": 1, "groups": 2},
     [2, 4, 7, 6], [6, 2, 3, 3], True,
     lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2)),
    ("conv2d dilation 2, padding 2", "conv2d", {"padding": [2, 2], "dilation": [2, 2]},
     [1, 3, 9, 8], [4, 3, 3, 3], True,
     lambda x, w, b: F.conv2d(x, w, b, padding=2, dilation=2)),
    ("conv2d per-dim stride and dilation", "conv2d", {"stride": [2, 1], "padding": [1, 0], "dilation": [1, 2]},
     [2, 3, 8, 9], [5, 3, 3, 2], True,
     lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
    ("conv2d depthwise multiplier 2, stride 2", "conv2d", {"stride": [2, 2], "padding": [1, 1], "groups": 3},
     [2, 3, 8, 8], [6, 1, 3, 3], False,
     lambda x, w, b: F.conv2d(x, w, stride=2, padding=1, groups=3)),
    ("conv2d padding 'same', even kernel", "conv2d", {"padding": "same"},
     [1, 2, 6, 7], [3, 2, 4, 4], True,
     lambda x, w, b: F.conv2d(x, w, b, padding="same")),
    ("conv2d asymmetric padding [top, bottom, left, right]", "conv2d", {"padding": [1, 0, 2, 1]},
     [1, 2, 6, 5], [3, 2, 3, 3], True,
     lambda x, w, b: F.conv2d(F.pad(x, (2, 1, 1, 0)), w, b)),
    ("conv2d 1x1", "conv2d", {},
     [2, 8, 5, 5], [4, 8, 1, 1], True,
     lambda x, w, b: F.conv2d(x, w, b)),
    ("conv2d 7x7 stride 2 stem", "conv2d", {"stride": 2, "padding": 3},
     [1, 3, 16, 16], [4, 3, 7, 7], False,
     lambda x, w, b: F.conv2d(x, w, stride=2, padding=3)),
    ("conv_transpose2d groups 2, stride 2, output_padding 1", "conv_transpose2d",
     {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2},
     [2, 4, 4, 5], [4, 3, 3, 3], True,
     lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2)),
    ("conv_transpose2d dilation 2, output_padding 1 (< dilation)", "conv_transpose2d",
     {"dilation": [2, 2], "output_padding": [1, 1], "padding": [1, 1]},
     [1, 3, 4, 4], [3, 2, 3, 3], True,
     lambda x, w, b: F.conv_transpose2d(x, w, b, padding=1, output_padding=1, dilation=2)),
    ("conv_transpose2d depthwise, stride (2, 3)", "conv_transpose2d",
     {"stride": [2, 3], "padding": [0, 1], "output_padding": [1, 2], "groups": 2},
     [1, 2, 3, 4], [2, 1, 3, 3], False,
     lambda x, w, b: F.conv_transpose2d(x, w, stride=(2, 3), padding=(0, 1), output_padding=(1, 2), groups=2)),
]


def floats(t):
    # 9 significant digits round-trip an f32 exactly.
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def tensor(shape, seed, scale):
    n = 1
    for d in shape:
        n *= d
    return torch.tensor(values(n, seed, scale), dtype=torch.float64).float().view(shape).requires_grad_(True)


def main():
    cases = []
    for i, (name, op, attrs, xs, ws, has_bias, fn) in enumerate(CASES, start=1):
        seeds = {"x": 10 * i, "w": 10 * i + 1, "b": 10 * i + 2, "dy": 10 * i + 3}
        x = tensor(xs, seeds["x"], 2.0)
        w = tensor(ws, seeds["w"], 0.5)
        bias_channels = ws[0] if op == "conv2d" else ws[1] * attrs.get("groups", 1)
        b = tensor([bias_channels], seeds["b"], 0.5) if has_bias else None
        y = fn(x, w, b)
        dy = torch.tensor(values(y.numel(), seeds["dy"], 1.0), dtype=torch.float64).float().view(y.shape)
        wrt = [x, w] + ([b] if has_bias else [])
        grads = torch.autograd.grad(y, wrt, dy)
        case = {
            "name": name,
            "op": op,
            "attrs": attrs,
            "x": {"shape": xs, "seed": seeds["x"], "scale": 2.0},
            "weight": {"shape": ws, "seed": seeds["w"], "scale": 0.5},
            "bias": {"shape": [bias_channels], "seed": seeds["b"], "scale": 0.5} if has_bias else None,
            "dy_seed": seeds["dy"],
            "y": {"shape": list(y.shape), "data": floats(y)},
            "grads": [floats(g) for g in grads],
        }
        cases.append(case)
    out = os.path.join(os.path.dirname(__file__), "fixtures", "conv.json")
    with open(out, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
