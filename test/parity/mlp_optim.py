"""Writes fixtures/mlp_optim.json: an MLP with deterministic weights trained
for 20 full-batch steps with SGD (momentum, Nesterov, weight decay) and 20 with
AdamW (parameter groups, gradient clipping, label smoothing), recording the
loss of every step and the final parameters. Run with Debian's python3-torch:
    /usr/bin/python3 test/parity/mlp_optim.py
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from gen import values  # noqa: E402

N, D_IN, H, C = 24, 6, 16, 4


def make_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(D_IN, H), torch.nn.GELU(), torch.nn.Linear(H, H), torch.nn.Tanh(), torch.nn.Linear(H, C)
    )
    with torch.no_grad():
        for seed, (name, p) in enumerate(model.named_parameters()):
            p.copy_(torch.tensor(values(p.numel(), seed + 1, 0.5), dtype=torch.float64).float().view_as(p))
    return model


def data():
    x = torch.tensor(values(N * D_IN, 100, 2.0), dtype=torch.float64).float().view(N, D_IN)
    y = torch.tensor([(i * 7) % C for i in range(N)], dtype=torch.int64)
    return x, y


def train(model, opt, loss_fn, steps=20, clip=None):
    x, y = data()
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        losses.append(loss.item())
    return {"losses": losses, "params": {n: p.detach().flatten().tolist() for n, p in model.named_parameters()}}


def main():
    out = {"N": N, "D_IN": D_IN, "H": H, "C": C, "torch": torch.__version__}
    m = make_model()
    sgd = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)
    out["sgd"] = train(m, sgd, torch.nn.CrossEntropyLoss())
    m = make_model()
    groups = [
        {"params": [m[0].weight, m[0].bias], "lr": 5e-3},
        {"params": [p for n, p in m.named_parameters() if not n.startswith("0.")]},
    ]
    adamw = torch.optim.AdamW(groups, lr=1e-2, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.05)
    out["adamw"] = train(m, adamw, torch.nn.CrossEntropyLoss(label_smoothing=0.1), clip=1.0)
    path = os.path.join(os.path.dirname(__file__), "fixtures", "mlp_optim.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print("wrote", path)


if __name__ == "__main__":
    main()
