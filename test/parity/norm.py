"""Writes fixtures/norm.json: batch_norm (training with the running-statistics
update, eval, and a frozen layer: running statistics while training),
layer_norm and group_norm on inputs from gen.values, with torch's outputs
(including the statistics aten's native_* ops return) and the gradients of x,
weight and bias for an upstream gradient on y. Run with Debian's python3-torch:
    /usr/bin/python3 test/parity/norm.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from gen import values  # noqa: E402


def make(spec):
    """An input from its description: values(numel, seed, scale) + offset."""
    n = 1
    for d in spec["shape"]:
        n *= d
    v = [x + spec.get("offset", 0.0) for x in values(n, spec["seed"], spec.get("scale", 1.0))]
    return torch.tensor(v, dtype=torch.float64).float().view(spec["shape"])


def flat(t):
    return [float(f"{v:.9g}") for v in t.detach().flatten().tolist()]


def inp(shape, seed, scale=1.0, offset=0.0):
    return {"shape": list(shape), "seed": seed, "scale": scale, "offset": offset}


def batch_norm_case(name, shape, affine, training, frozen=False, momentum=0.1, eps=1e-5, offset=0.0):
    C = shape[1]
    specs = {
        "x": inp(shape, 1, 2.0, offset),
        "running_mean": inp([C], 2, 0.5),
        "running_var": inp([C], 3, 0.5, 1.0),
    }
    if affine:
        specs["weight"] = inp([C], 4, 1.0, 1.0)
        specs["bias"] = inp([C], 5, 0.5)
    dy = inp(shape, 6, 1.0)
    t = {k: make(s) for k, s in specs.items()}
    x = t["x"].clone().requires_grad_(True)
    w = t["weight"].clone().requires_grad_(True) if affine else None
    b = t["bias"].clone().requires_grad_(True) if affine else None
    rm, rv = t["running_mean"].clone(), t["running_var"].clone()
    batch = training and not frozen
    # A frozen layer is F.batch_norm with training=False: running statistics, no update.
    y = F.batch_norm(x, rm, rv, w, b, training=batch, momentum=momentum, eps=eps)
    y.backward(make(dy))
    with torch.no_grad():
        _, save_mean, save_invstd = torch.native_batch_norm(
            t["x"], t.get("weight"), t.get("bias"), t["running_mean"].clone(), t["running_var"].clone(), batch,
            momentum, eps)
    if not batch:
        # aten returns empty statistics in eval mode; ours are the running ones.
        save_mean = t["running_mean"]
        save_invstd = 1.0 / torch.sqrt(t["running_var"].double() + eps)
    grads = {"x": flat(x.grad)}
    if affine:
        grads["weight"] = flat(w.grad)
        grads["bias"] = flat(b.grad)
    return {
        "name": name,
        "op": "batch_norm",
        "inputs": list(specs.items()),
        "attrs": {"momentum": momentum, "eps": eps, "use_running_stats": frozen},
        "training": training,
        "dy": dy,
        "outputs": [flat(y), flat(save_mean), flat(save_invstd), flat(rm), flat(rv)],
        "grads": grads,
    }


def layer_norm_case(name, shape, normalized_shape, affine, eps=1e-5, offset=0.0):
    specs = {"x": inp(shape, 11, 2.0, offset)}
    if affine:
        specs["weight"] = inp(normalized_shape, 12, 1.0, 1.0)
        specs["bias"] = inp(normalized_shape, 13, 0.5)
    dy = inp(shape, 14, 1.0)
    t = {k: make(s) for k, s in specs.items()}
    x = t["x"].clone().requires_grad_(True)
    w = t["weight"].clone().requires_grad_(True) if affine else None
    b = t["bias"].clone().requires_grad_(True) if affine else None
    y = F.layer_norm(x, normalized_shape, w, b, eps)
    y.backward(make(dy))
    with torch.no_grad():
        _, mean, rstd = torch.native_layer_norm(t["x"], normalized_shape, t.get("weight"), t.get("bias"), eps)
    grads = {"x": flat(x.grad)}
    if affine:
        grads["weight"] = flat(w.grad)
        grads["bias"] = flat(b.grad)
    return {
        "name": name,
        "op": "layer_norm",
        "inputs": list(specs.items()),
        "attrs": {"normalized_shape": list(normalized_shape), "eps": eps},
        "training": True,
        "dy": dy,
        "outputs": [flat(y), flat(mean), flat(rstd)],
        "grads": grads,
    }


def group_norm_case(name, shape, groups, affine, eps=1e-5):
    C = shape[1]
    specs = {"x": inp(shape, 21, 2.0, 0.25)}
    if affine:
        specs["weight"] = inp([C], 22, 1.0, 1.0)
        specs["bias"] = inp([C], 23, 0.5)
    dy = inp(shape, 24, 1.0)
    t = {k: make(s) for k, s in specs.items()}
    x = t["x"].clone().requires_grad_(True)
    w = t["weight"].clone().requires_grad_(True) if affine else None
    b = t["bias"].clone().requires_grad_(True) if affine else None
    y = F.group_norm(x, groups, w, b, eps)
    y.backward(make(dy))
    hw = 1
    for d in shape[2:]:
        hw *= d
    with torch.no_grad():
        _, mean, rstd = torch.native_group_norm(t["x"], t.get("weight"), t.get("bias"), shape[0], C, hw, groups, eps)
    grads = {"x": flat(x.grad)}
    if affine:
        grads["weight"] = flat(w.grad)
        grads["bias"] = flat(b.grad)
    return {
        "name": name,
        "op": "group_norm",
        "inputs": list(specs.items()),
        "attrs": {"num_groups": groups, "eps": eps},
        "training": True,
        "dy": dy,
        "outputs": [flat(y), flat(mean), flat(rstd)],
        "grads": grads,
    }


def main():
    cases = [
        batch_norm_case("batch_norm 2d train", [4, 3, 5, 5], True, True),
        batch_norm_case("batch_norm 2d train, no affine, momentum 0.3", [3, 4, 3, 5], False, True, momentum=0.3),
        batch_norm_case("batch_norm 1d (N, C) train", [16, 6], True, True),
        batch_norm_case("batch_norm 1d (N, C, L) train, offset data", [5, 4, 9], True, True, offset=3.0),
        batch_norm_case("batch_norm 2d eval", [4, 3, 5, 5], True, False),
        batch_norm_case("batch_norm 1d eval, no affine", [16, 6], False, False),
        batch_norm_case("batch_norm 2d frozen (running statistics while training)", [4, 3, 5, 5], True, True,
                        frozen=True),
        layer_norm_case("layer_norm over the last dim", [4, 7, 16], [16], True),
        layer_norm_case("layer_norm over 2 dims, no affine", [3, 5, 6], [5, 6], False),
        layer_norm_case("layer_norm, eps 1e-6, offset data", [6, 33], [33], True, eps=1e-6, offset=5.0),
        group_norm_case("group_norm 3 groups", [3, 6, 4, 5], 3, True),
        group_norm_case("group_norm 1 group, no affine", [2, 8, 7], 1, False),
        group_norm_case("group_norm C groups", [2, 5, 3, 3], 5, True),
    ]
    out = {"torch": torch.__version__, "cases": cases}
    path = os.path.join(os.path.dirname(__file__), "fixtures", "norm.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
