"""The PyTorch side of `npm run bench -- ops`: reads the case list (JSON) on
stdin, times each case forward and forward+backward with the same thread
count, and prints one JSON object {case index: {"fwd": ms, "fwd+bwd": ms}}."""
import json
import sys
import time

import torch
import torch.nn.functional as F


def build(case):
    op, a = case["op"], case.get("attrs", {})
    t = lambda shape: torch.randn(*shape, requires_grad=True)  # noqa: E731
    ins = [t(s) for s in case["shapes"]]
    if op == "conv2d":
        fn = lambda x, w: F.conv2d(x, w, stride=a["stride"], padding=a["padding"])  # noqa: E731
    elif op == "batch_norm":
        c = case["shapes"][0][1]
        rm, rv = torch.zeros(c), torch.ones(c)
        fn = lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=True)  # noqa: E731
    elif op == "layer_norm":
        fn = lambda x, w, b: F.layer_norm(x, a["normalized_shape"], w, b)  # noqa: E731
    elif op == "max_pool2d":
        fn = lambda x: F.max_pool2d(x, a["kernel_size"], a["stride"], a["padding"])  # noqa: E731
    elif op == "attention":
        scale = 1.0 / (case["shapes"][0][-1] ** 0.5)
        # PyTorch 1.13 has no fused CPU attention: the peer is the plain composition.
        fn = lambda q, k, v: torch.softmax(q @ k.transpose(-1, -2) * scale, dim=-1) @ v  # noqa: E731
    else:
        raise ValueError(op)
    return fn, ins


def timed(f, reps):
    f()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] * 1000


def main():
    cfg = json.load(sys.stdin)
    torch.set_num_threads(cfg["threads"])
    out = {}
    for i, case in enumerate(cfg["cases"]):
        fn, ins = build(case)
        reps = case.get("reps", 5)
        res = {}
        with torch.no_grad():
            res["fwd"] = timed(lambda: fn(*ins), reps)
        y = fn(*ins)
        dy = torch.randn_like(y)

        def fwd_bwd():
            for x in ins:
                x.grad = None
            fn(*ins).backward(dy)

        res["fwd+bwd"] = timed(fwd_bwd, reps)
        out[i] = res
    print(json.dumps(out))


if __name__ == "__main__":
    main()
