"""Writes fixtures/index.json: PyTorch's results for the indexing ops and the
robust losses on deterministic inputs: embedding (repeated ids, padding_idx),
gather, index_select, concat (forward and input gradients), huber and
smooth_l1 (forward and dx, every reduction). Float inputs and upstream
gradients are gen.values(n, seed, scale), recorded as {shape, seed, scale} so
the test regenerates them bit for bit; integer inputs are stored as lists.
Run with Debian's python3-torch:
    /usr/bin/python3 test/parity/index.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from gen import values  # noqa: E402


def floats(shape, seed, scale=1.0):
    n = 1
    for d in shape:
        n *= d
    t = torch.tensor(values(n, seed, scale), dtype=torch.float64).float().view(tuple(shape))
    return t, {"shape": list(shape), "dtype": "f32", "seed": seed, "scale": scale}


def ints(data, shape, dtype="i64"):
    t = torch.tensor(data, dtype=torch.int64).view(tuple(shape))
    return t, {"shape": list(shape), "dtype": dtype, "data": data}


def flat(t):
    # 9 significant digits round-trip a float32 and keep the fixture small.
    return {"shape": list(t.shape), "data": [float("%.9g" % v) for v in t.detach().flatten().double().tolist()]}


def case(name, op, attrs, inputs, fn, dy_seed, compare=None):
    """inputs: [(tensor, spec)]; fn maps the input tensors to torch's output.
    Records the output and the gradients of every float input for the
    upstream gradient values(numel, dy_seed, 1); `compare` lists the inputs
    whose gradients the test checks (default: every float input)."""
    ts = [t.clone().requires_grad_(t.is_floating_point()) for t, _ in inputs]
    y = fn(*ts)
    dy, dy_spec = floats(tuple(y.shape), dy_seed)
    diff = [t for t in ts if t.requires_grad]
    grads = torch.autograd.grad(y, diff, dy, allow_unused=True)
    by_input = []
    k = 0
    for t in ts:
        if t.requires_grad:
            g = grads[k]
            k += 1
            by_input.append(flat(g if g is not None else torch.zeros_like(t)))
        else:
            by_input.append(None)
    return {
        "name": name,
        "op": op,
        "attrs": attrs,
        "inputs": [spec for _, spec in inputs],
        "dy": dy_spec,
        "output": flat(y),
        "grads": by_input,
        "compare_grads": compare if compare is not None else [i for i, g in enumerate(by_input) if g is not None],
    }


def main():
    cases = []

    # embedding: ids of rank 2 with repeats, padding_idx 2 (present in ids) and none.
    V, D = 7, 5
    ids = [2, 5, 2, 0, 6, 5, 5, 2, 1, 3, 2, 6]
    for pad in [2, None]:
        attrs = {} if pad is None else {"padding_idx": pad}
        cases.append(
            case(
                f"embedding padding_idx {pad}",
                "embedding",
                attrs,
                [floats((V, D), 1, 0.5), ints(ids, (3, 4))],
                lambda w, i, pad=pad: F.embedding(i, w, padding_idx=pad),
                11,
            )
        )
    # A bigger vocabulary and ids spread over several threads' rows.
    big_ids = [(i * 37 + 11) % 53 for i in range(200)]
    cases.append(
        case(
            "embedding V 53, 200 ids, padding_idx 11",
            "embedding",
            {"padding_idx": 11},
            [floats((53, 8), 2, 0.5), ints(big_ids, (10, 20), "i32")],
            lambda w, i: F.embedding(i, w, padding_idx=11),
            12,
        )
    )

    # gather: repeated indices along axis 1; index smaller than x along axis 0 of a 3-d x.
    g_idx = [(i * 5 + 1) % 6 for i in range(4 * 5)]
    cases.append(
        case(
            "gather axis 1",
            "gather",
            {"axis": 1},
            [floats((4, 6), 3), ints(g_idx, (4, 5))],
            lambda x, i: torch.gather(x, 1, i),
            13,
        )
    )
    g3_idx = [(i * 3) % 4 for i in range(3 * 2 * 3)]
    cases.append(
        case(
            "gather axis 0 of 3-d, index smaller",
            "gather",
            {"axis": 0},
            [floats((4, 3, 5), 4), ints(g3_idx, (3, 2, 3), "i32")],
            lambda x, i: torch.gather(x, 0, i),
            14,
        )
    )

    # index_select with repeats along the middle and last axes.
    cases.append(
        case(
            "index_select axis 1",
            "index_select",
            {"axis": 1},
            [floats((5, 3, 4), 5), ints([2, 0, 2, 1, 2], (5,))],
            lambda x, i: torch.index_select(x, 1, i),
            15,
        )
    )
    cases.append(
        case(
            "index_select axis -1",
            "index_select",
            {"axis": -1},
            [floats((3, 6), 6), ints([5, 5, 0, 3], (4,), "i32")],
            lambda x, i: torch.index_select(x, -1, i),
            16,
        )
    )

    # concat of three inputs along axis 1 and of two along axis 0.
    cases.append(
        case(
            "concat axis 1",
            "concat",
            {"axis": 1},
            [floats((2, 3, 4), 7), floats((2, 1, 4), 8), floats((2, 5, 4), 9)],
            lambda a, b, c: torch.cat([a, b, c], 1),
            17,
        )
    )
    cases.append(
        case(
            "concat axis 0",
            "concat",
            {"axis": 0},
            [floats((3, 4), 10), floats((2, 4), 11)],
            lambda a, b: torch.cat([a, b], 0),
            18,
        )
    )

    # huber / smooth_l1: thresholds off the generator's grid, so no |x - t| sits on a kink.
    for reduction in ["mean", "sum", "none"]:
        for delta in [0.7, 1.3]:
            cases.append(
                case(
                    f"huber delta {delta} {reduction}",
                    "huber",
                    {"delta": delta, "reduction": reduction},
                    [floats((6, 7), 20, 2.0), floats((6, 7), 21)],
                    lambda x, t, delta=delta, reduction=reduction: F.huber_loss(x, t, reduction=reduction, delta=delta),
                    19,
                    [0],  # target gets no gradient from our op
                )
            )
        for beta in [0.6, 1.0]:
            cases.append(
                case(
                    f"smooth_l1 beta {beta} {reduction}",
                    "smooth_l1",
                    {"beta": beta, "reduction": reduction},
                    [floats((6, 7), 22, 2.0), floats((6, 7), 23)],
                    lambda x, t, beta=beta, reduction=reduction: F.smooth_l1_loss(x, t, reduction=reduction, beta=beta),
                    20,
                    [0],
                )
            )

    out = {"torch": torch.__version__, "cases": cases}
    path = os.path.join(os.path.dirname(__file__), "fixtures", "index.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print("wrote", path, len(cases), "cases")


if __name__ == "__main__":
    main()
