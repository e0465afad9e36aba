"""The PyTorch side of the GPU benchmarks in scripts/gpu-check.sh: reads the
case list (JSON, from bench.mjs) on stdin, times each case on the GPU with CUDA
events, and prints one JSON object: {"peer": {...}, "results": [{"ms": ...,
"note": ...}, ...]} in case order.

fp32 throughout, TF32 off for matrix products and convolutions, so the figures
compare like with like against our fp32 kernels (cuDNN and cuBLAS still choose
their best fp32 algorithms).

--validate checks the case list without importing torch (for dry runs).
"""
import json
import sys

KNOWN = {"matmul", "conv2d", "attention", "layer_norm", "softmax", "adamw"}


def build(torch, case):
    """A function running one repetition of the case, on tensors made once."""
    import torch.nn.functional as F

    op, a, dev = case["op"], case.get("attrs", {}), "cuda"
    backward = case["pass"] == "fwd+bwd"

    def t(shape):
        return torch.rand(*shape, device=dev, requires_grad=backward) - 0.5

    if op == "adamw":
        n = case["shapes"][0][0]
        p = torch.nn.Parameter(torch.rand(n, device=dev))
        p.grad = torch.rand(n, device=dev)
        opt = torch.optim.AdamW(
            [p], lr=a["lr"], betas=tuple(a["betas"]), eps=a["eps"], weight_decay=a["weight_decay"], fused=True
        )
        return opt.step

    ins = [t(s) for s in case["shapes"]]
    if op == "matmul":
        fn = lambda x, y: x @ y  # noqa: E731
    elif op == "conv2d":
        fn = lambda x, w: F.conv2d(x, w, stride=a["stride"], padding=a["padding"])  # noqa: E731
    elif op == "attention":
        fn = F.scaled_dot_product_attention
    elif op == "layer_norm":
        fn = lambda x, w, b: F.layer_norm(x, a["normalized_shape"], w, b)  # noqa: E731
    elif op == "softmax":
        fn = lambda x: torch.softmax(x, dim=a.get("axis", -1))  # noqa: E731
    else:
        raise ValueError(f"unknown op {op}")

    if not backward:

        def run():
            with torch.no_grad():
                fn(*ins)

        return run
    seed = torch.rand_like(fn(*ins))

    def run_with_backward():
        fn(*ins).backward(seed)

    return run_with_backward


def time_ms(torch, run):
    """Mean milliseconds per call: a warm-up sizes the repetitions to ~0.2 s."""
    for _ in range(3):
        run()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(3):
        run()
    stop.record()
    stop.synchronize()
    reps = max(3, min(200, round(200 / max(start.elapsed_time(stop) / 3, 1e-3))))
    start.record()
    for _ in range(reps):
        run()
    stop.record()
    stop.synchronize()
    return start.elapsed_time(stop) / reps


def main():
    cases = json.load(sys.stdin)
    unknown = sorted({c["op"] for c in cases} - KNOWN)
    if unknown:
        raise SystemExit(f"torch_bench: no PyTorch counterpart for {unknown}")
    if "--validate" in sys.argv:
        print(json.dumps({"peer": None, "results": [{"ms": None, "note": "dry run"} for _ in cases]}))
        return

    import torch

    if not torch.cuda.is_available():
        raise SystemExit("torch_bench: PyTorch sees no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    peer = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "device": torch.cuda.get_device_name(0),
    }
    results = []
    for case in cases:
        try:
            results.append({"ms": time_ms(torch, build(torch, case)), "note": None})
        except Exception as err:  # one failing case must not hide the others' figures
            results.append({"ms": None, "note": f"{type(err).__name__}: {err}"})
        torch.cuda.empty_cache()
    print(json.dumps({"peer": peer, "results": results}))


if __name__ == "__main__":
    main()
