"""Writes fixtures/seg_losses.json: loss values and logits gradients of the
segmentation losses ('dice', 'bce_dice', 'cross_entropy_dice') computed by
PyTorch with segmentation_models_pytorch 0.5's formulas (losses/dice.py,
DiceLoss.forward; _functional.py, soft_tversky_score with alpha = beta = 0.5),
restated here in torch since smp itself is not installed:

  multiclass: p = softmax(logits, 1); binary: p = sigmoid(logits);
  mask = target != ignore_index; p *= mask; target one-hot (multiclass) * mask;
  per class over dims (0, 2) of (N, C, H*W):
    I = (sum p + sum t - ||p - t||_1) / 2, fp = sum p - I, fn = sum t - I,
    score = (I + smooth) / (I + fp / 2 + fn / 2 + smooth).clamp_min(eps),
    loss_c = (1 - score) * (sum t > 0); loss = mean over classes.
  bce_dice = bce_weight * BCEWithLogits (mean over non-ignored pixels)
             + dice_weight * Dice(binary).
  cross_entropy_dice = ce_weight * F.cross_entropy(ignore_index) + dice_weight * Dice(multiclass).

Logits are gen.values(n, seed, scale), recorded as {shape, seed, scale};
targets are stored as lists. Run with Debian's python3-torch:
    /usr/bin/python3 test/parity/seg_losses.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from gen import values  # noqa: E402

torch.set_default_dtype(torch.float64)


def logits_of(shape, seed, scale):
    n = 1
    for d in shape:
        n *= d
    t = torch.tensor(values(n, seed, scale), dtype=torch.float64).view(tuple(shape))
    return t, {"shape": list(shape), "seed": seed, "scale": scale}


def soft_tversky(output, target, alpha, beta, smooth, eps, dims):
    output_sum = torch.sum(output, dim=dims)
    target_sum = torch.sum(target, dim=dims)
    difference = torch.linalg.vector_norm(output - target, ord=1, dim=dims)
    intersection = (output_sum + target_sum - difference) / 2
    fp = output_sum - intersection
    fn = target_sum - intersection
    return (intersection + smooth) / (intersection + alpha * fp + beta * fn + smooth).clamp_min(eps)


def dice_loss(mode, y_pred, y_true, smooth=0.0, eps=1e-7, ignore_index=None):
    bs = y_true.size(0)
    num_classes = y_pred.size(1)
    dims = (0, 2)
    if mode == "multiclass":
        y_pred = y_pred.log_softmax(dim=1).exp()
        y_true = y_true.reshape(bs, -1)
        y_pred = y_pred.reshape(bs, num_classes, -1)
        if ignore_index is not None:
            mask = y_true != ignore_index
            y_pred = y_pred * mask.unsqueeze(1)
            y_true = F.one_hot((y_true * mask).to(torch.long), num_classes)
            y_true = y_true.permute(0, 2, 1) * mask.unsqueeze(1)
        else:
            y_true = F.one_hot(y_true, num_classes).permute(0, 2, 1)
    else:
        y_pred = F.logsigmoid(y_pred).exp()
        y_true = y_true.reshape(bs, 1, -1)
        y_pred = y_pred.reshape(bs, 1, -1)
        if ignore_index is not None:
            mask = y_true != ignore_index
            y_pred = y_pred * mask
            y_true = y_true * mask
    scores = soft_tversky(y_pred, y_true.type_as(y_pred), 0.5, 0.5, smooth, eps, dims)
    loss = 1.0 - scores
    loss = loss * (y_true.sum(dims) > 0).to(loss.dtype)
    return loss.mean()


def bce_masked(logits, target, ignore_index):
    x = logits.reshape(logits.size(0), -1)
    t = target.reshape(target.size(0), -1)
    if ignore_index is None:
        return F.binary_cross_entropy_with_logits(x, t)
    mask = (t != ignore_index).to(x.dtype)
    per = F.binary_cross_entropy_with_logits(x, t * mask, reduction="none")
    return (per * mask).sum() / mask.sum().clamp_min(1)


def loss_of(spec, logits, target):
    kind = spec["type"]
    ignore = spec.get("ignoreIndex")
    smooth = spec.get("smooth", 0.0)
    if kind == "dice":
        return dice_loss("multiclass", logits, target, smooth, 1e-7, ignore)
    if kind == "cross_entropy_dice":
        ce = F.cross_entropy(logits, target, ignore_index=-100 if ignore is None else ignore)
        return spec.get("ceWeight", 1.0) * ce + spec.get("diceWeight", 1.0) * dice_loss("multiclass", logits, target, smooth, 1e-7, ignore)
    if kind == "bce_dice":
        return spec.get("bceWeight", 1.0) * bce_masked(logits, target, ignore) + spec.get("diceWeight", 1.0) * dice_loss(
            "binary", logits, target, smooth, 1e-7, ignore
        )
    raise ValueError(kind)


def case(name, spec, shape, seed, scale, target, target_shape, target_dtype):
    logits, logits_spec = logits_of(shape, seed, scale)
    logits.requires_grad_(True)
    if target_dtype == "i64":
        t = torch.tensor(target, dtype=torch.long).view(tuple(target_shape))
    else:
        t = torch.tensor(target, dtype=torch.float64).view(tuple(target_shape))
    loss = loss_of(spec, logits, t)
    (grad,) = torch.autograd.grad(loss, [logits])
    return {
        "name": name,
        "loss_spec": spec,
        "logits": logits_spec,
        "target": {"shape": list(target_shape), "dtype": target_dtype, "data": target},
        "loss": float("%.12g" % loss.item()),
        "grad": [float("%.9g" % v) for v in grad.flatten().tolist()],
    }


def ids(n, classes, seed, ignore=None, every=0):
    out = []
    for i in range(n):
        v = (i * 7 + seed * 3 + (i // 5)) % classes
        if ignore is not None and every and i % every == every - 1:
            v = ignore
        out.append(v)
    return out


def main():
    cases = []
    # Class 3 of 4 never occurs in the targets: it adds 0 to the sum but counts in the mean.
    t = [v if v != 3 else 0 for v in ids(2 * 3 * 5, 4, 1)]
    cases.append(case("dice, one class absent", {"type": "dice"}, [2, 4, 3, 5], 11, 2.0, t, [2, 3, 5], "i64"))
    cases.append(
        case("dice, ignore 255, smooth 1", {"type": "dice", "ignoreIndex": 255, "smooth": 1.0}, [2, 3, 4, 4], 12, 3.0, ids(32, 3, 2, 255, 4), [2, 4, 4], "i64")
    )
    cases.append(case("dice, ignore -100", {"type": "dice", "ignoreIndex": -100}, [1, 5, 4, 3], 13, 1.5, ids(12, 5, 3, -100, 3), [1, 4, 3], "i64"))
    cases.append(
        case(
            "cross_entropy_dice, ignore 255",
            {"type": "cross_entropy_dice", "ignoreIndex": 255, "ceWeight": 0.5, "diceWeight": 2.0},
            [2, 3, 3, 4],
            14,
            2.0,
            ids(24, 3, 4, 255, 5),
            [2, 3, 4],
            "i64",
        )
    )
    hard = [float((i * 5 + i // 3) % 3 == 0) for i in range(2 * 4 * 4)]
    cases.append(case("bce_dice, (N, H, W) hard targets", {"type": "bce_dice"}, [2, 1, 4, 4], 15, 3.0, hard, [2, 4, 4], "f32"))
    soft = [((i * 37) % 11) / 10.0 for i in range(2 * 3 * 5)]
    for i in range(0, len(soft), 4):
        soft[i] = 255.0
    cases.append(
        case(
            "bce_dice, soft targets (N, 1, H, W), ignore 255, weights",
            {"type": "bce_dice", "ignoreIndex": 255, "bceWeight": 0.5, "diceWeight": 2.0, "smooth": 0.5},
            [2, 1, 3, 5],
            16,
            2.5,
            soft,
            [2, 1, 3, 5],
            "f32",
        )
    )
    cases.append(case("bce_dice, no foreground: Dice term 0", {"type": "bce_dice"}, [1, 1, 3, 3], 17, 2.0, [0.0] * 9, [1, 3, 3], "f32"))
    out = os.path.join(os.path.dirname(__file__), "fixtures", "seg_losses.json")
    with open(out, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {out}: {len(cases)} cases")


if __name__ == "__main__":
    main()
