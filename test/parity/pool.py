"""Writes fixtures/pool.json: forward outputs and input gradients of PyTorch's
max_pool2d (ceil_mode, return_indices), avg_pool2d, adaptive_avg_pool2d,
adaptive_max_pool2d, F.interpolate (nearest, bilinear with both
align_corners) and F.pad (reflect, replicate, constant) on inputs from the
shared generator, for test/parity-pool.test.mjs. Each case names our op and
its attributes beside the torch call. Run with Debian's python3-torch:
    /usr/bin/python3 test/parity/pool.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from gen import values  # noqa: E402

# (name, our op, our attrs, input shape, torch function of x returning a tensor or (y, indices))
CASES = [
    ("max_pool2d resnet stem", "max_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1}, [2, 3, 9, 8],
     lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True)),
    ("max_pool2d ceil_mode", "max_pool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, [2, 3, 8, 6],
     lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True, return_indices=True)),
    ("max_pool2d ceil_mode padding dilation", "max_pool2d",
     {"kernel_size": [3, 2], "stride": [2, 1], "padding": [1, 1], "dilation": [1, 2], "ceil_mode": True},
     [1, 2, 8, 7],
     lambda x: F.max_pool2d(x, (3, 2), (2, 1), (1, 1), (1, 2), ceil_mode=True, return_indices=True)),
    ("avg_pool2d k3 s2 p1", "avg_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1}, [2, 3, 9, 8],
     lambda x: F.avg_pool2d(x, 3, 2, 1)),
    ("avg_pool2d ceil_mode exclude pad", "avg_pool2d",
     {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}, [1, 3, 8, 7],
     lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
    ("avg_pool2d ceil_mode include pad divisor_override", "avg_pool2d",
     {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True, "divisor_override": 3}, [1, 2, 7, 6],
     lambda x: F.avg_pool2d(x, 2, 2, 1, ceil_mode=True, divisor_override=3)),
    ("adaptive_avg_pool2d 7x5 -> 3x2", "adaptive_avg_pool2d", {"output_size": [3, 2]}, [2, 3, 7, 5],
     lambda x: F.adaptive_avg_pool2d(x, (3, 2))),
    ("adaptive_avg_pool2d global", "adaptive_avg_pool2d", {"output_size": 1}, [2, 4, 7, 7],
     lambda x: F.adaptive_avg_pool2d(x, 1)),
    ("adaptive_max_pool2d 5 -> 2", "adaptive_max_pool2d", {"output_size": 2}, [2, 3, 5, 5],
     lambda x: F.adaptive_max_pool2d(x, 2, return_indices=True)),
    ("upsample nearest x2", "upsample", {"scale_factor": 2}, [1, 3, 4, 5],
     lambda x: F.interpolate(x, scale_factor=2, mode="nearest")),
    ("upsample nearest scale 1.5", "upsample", {"scale_factor": 1.5}, [1, 2, 5, 7],
     lambda x: F.interpolate(x, scale_factor=1.5, mode="nearest")),
    ("upsample nearest scale 2.6 (1 / scale, not in / out)", "upsample", {"scale_factor": 2.6}, [1, 2, 4, 5],
     lambda x: F.interpolate(x, scale_factor=2.6, mode="nearest")),
    ("upsample nearest to odd size", "upsample", {"size": [7, 9]}, [1, 2, 3, 4],
     lambda x: F.interpolate(x, size=(7, 9), mode="nearest")),
    ("upsample bilinear x2", "upsample", {"scale_factor": 2, "mode": "bilinear"}, [2, 3, 4, 5],
     lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)),
    ("upsample bilinear x2 align_corners", "upsample",
     {"scale_factor": 2, "mode": "bilinear", "align_corners": True}, [2, 3, 4, 5],
     lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)),
    ("upsample bilinear to odd size", "upsample", {"size": [7, 9], "mode": "bilinear"}, [1, 2, 4, 5],
     lambda x: F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=False)),
    ("upsample bilinear to odd size align_corners", "upsample",
     {"size": [7, 9], "mode": "bilinear", "align_corners": True}, [1, 2, 4, 5],
     lambda x: F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=True)),
    ("upsample bilinear scale 1.5", "upsample", {"scale_factor": 1.5, "mode": "bilinear"}, [1, 2, 5, 7],
     lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=False)),
    ("upsample bilinear scale (1.5, 2.25) align_corners", "upsample",
     {"scale_factor": [1.5, 2.25], "mode": "bilinear", "align_corners": True}, [1, 2, 5, 4],
     lambda x: F.interpolate(x, scale_factor=(1.5, 2.25), mode="bilinear", align_corners=True)),
    ("upsample bilinear same size (scale 1.1)", "upsample", {"scale_factor": 1.1, "mode": "bilinear"}, [1, 2, 5, 6],
     lambda x: F.interpolate(x, scale_factor=1.1, mode="bilinear", align_corners=False)),
    ("pad reflect", "pad", {"pads": [2, 3, 3, 1], "mode": "reflect"}, [2, 3, 4, 5],
     lambda x: F.pad(x, (2, 3, 3, 1), mode="reflect")),
    ("pad reflect last dim", "pad", {"pads": [3, 2], "mode": "reflect"}, [2, 3, 5],
     lambda x: F.pad(x, (3, 2), mode="reflect")),
    ("pad replicate", "pad", {"pads": [2, 4, 0, 3], "mode": "replicate"}, [2, 3, 4, 5],
     lambda x: F.pad(x, (2, 4, 0, 3), mode="replicate")),
    ("pad constant with crop", "pad", {"pads": [-1, 2, 2, -1], "mode": "constant", "value": 0.5}, [2, 3, 4, 5],
     lambda x: F.pad(x, (-1, 2, 2, -1), mode="constant", value=0.5)),
]


def floats(t):
    # 9 significant digits round-trip an f32 exactly.
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def main():
    cases = []
    for seed, (name, op, attrs, shape, fn) in enumerate(CASES, start=1):
        n = 1
        for d in shape:
            n *= d
        x = torch.tensor(values(n, seed, 2.0), dtype=torch.float64).float().view(shape).requires_grad_(True)
        result = fn(x)
        y, indices = result if isinstance(result, tuple) else (result, None)
        dy_seed = 500 + seed
        dy = torch.tensor(values(y.numel(), dy_seed, 1.0), dtype=torch.float64).float().view(y.shape)
        (dx,) = torch.autograd.grad(y, x, dy)
        case = {
            "name": name,
            "op": op,
            "attrs": attrs,
            "x": {"shape": shape, "seed": seed, "scale": 2.0},
            "dy_seed": dy_seed,
            "y": {"shape": list(y.shape), "data": floats(y)},
            "dx": floats(dx),
        }
        if indices is not None:
            case["indices"] = [int(v) for v in indices.reshape(-1).tolist()]
        cases.append(case)
    out = os.path.join(os.path.dirname(__file__), "fixtures", "pool.json")
    with open(out, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
