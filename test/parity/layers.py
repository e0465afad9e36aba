"""Writes fixtures/layers.json: tg.nn layers against torch.nn on the same
weights and inputs: a small CNN (Conv2d, BatchNorm2d, ReLU, MaxPool2d, grouped
strided Conv2d, AdaptiveAvgPool2d, Flatten, Linear) for one SGD step in
training mode (logits, loss, updated parameters and running statistics) and a
forward in eval mode; and MultiheadAttention (self-attention, both layouts)
for one SGD step on an MSE loss. Run with Debian's python3-torch:
    /usr/bin/python3 test/parity/layers.py
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from gen import values  # noqa: E402


def fill(model, scale=0.5):
    with torch.no_grad():
        for seed, (name, p) in enumerate(model.named_parameters()):
            p.copy_(torch.tensor(values(p.numel(), seed + 1, scale), dtype=torch.float64).float().view_as(p))


def flat(model):
    return {n: t.detach().flatten().tolist() for n, t in model.state_dict().items() if t.dtype == torch.float32}


def cnn_case():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3, stride=2, groups=2),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(6, 3),
    )
    fill(model)
    x = torch.tensor(values(2 * 3 * 10 * 10, 50, 2.0)).view(2, 3, 10, 10)
    y = torch.tensor([0, 2])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits, y)
    loss.backward()
    opt.step()
    model.eval()
    eval_logits = model(x)
    return {
        "x": x.flatten().tolist(),
        "train_logits": logits.detach().flatten().tolist(),
        "loss": loss.item(),
        "after": flat(model),
        "eval_logits": eval_logits.detach().flatten().tolist(),
    }


def mha_case(batch_first):
    E, H, B, T = 8, 2, 2, 5
    model = torch.nn.MultiheadAttention(E, H, batch_first=batch_first)
    fill(model)
    shape = (B, T, E) if batch_first else (T, B, E)
    x = torch.tensor(values(B * T * E, 60, 1.0)).view(*shape)
    target = torch.tensor(values(B * T * E, 61, 1.0)).view(*shape)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    out, _ = model(x, x, x, need_weights=False)
    loss = torch.nn.functional.mse_loss(out, target)
    loss.backward()
    opt.step()
    return {"x": x.flatten().tolist(), "target": target.flatten().tolist(), "out": out.detach().flatten().tolist(),
            "loss": loss.item(), "after": flat(model)}


def main():
    out = {"cnn": cnn_case(), "mha": mha_case(False), "mha_batch_first": mha_case(True)}
    path = os.path.join(os.path.dirname(__file__), "fixtures", "layers.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print("wrote", path)


if __name__ == "__main__":
    main()
