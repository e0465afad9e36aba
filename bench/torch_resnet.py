"""The PyTorch side of `npm run bench -- resnet`: reads {threads, batch, size,
reps, models, passes} as JSON on stdin and prints {model: {pass: ms}}, each the
median of `reps` timed runs after one warm-up, torchvision's model in eval
mode under no_grad for inference and in train mode with SGD for a step."""
import json
import sys
import time

import torch
import torchvision


def median_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] * 1000


def main():
    cfg = json.load(sys.stdin)
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    out = {}
    for name in cfg["models"]:
        model = getattr(torchvision.models, name)()
        x = torch.randn(cfg["batch"], 3, cfg["size"], cfg["size"])
        target = torch.randint(0, 1000, (cfg["batch"],))
        res = {}

        def infer():
            with torch.no_grad():
                model(x)

        def train_step(params):
            opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)

            def step():
                opt.zero_grad(set_to_none=True)
                torch.nn.functional.cross_entropy(model(x), target).backward()
                opt.step()

            return step

        for p in cfg["passes"]:
            if p == "inference":
                model.eval()
                res[p] = median_ms(infer, cfg["reps"])
            elif p == "train_step":
                model.train()
                for q in model.parameters():
                    q.requires_grad_(True)
                res[p] = median_ms(train_step(list(model.parameters())), cfg["reps"])
            elif p == "train_step_head":
                # The transfer-learning step: backbone frozen (BatchNorm in eval mode), fc trained.
                model.eval()
                for n, q in model.named_parameters():
                    q.requires_grad_(n.startswith("fc."))
                res[p] = median_ms(train_step(list(model.fc.parameters())), cfg["reps"])
        out[name] = res
    print(json.dumps(out))


if __name__ == "__main__":
    main()
