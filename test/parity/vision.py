"""torchvision parity for tg.models (test/parity-vision.test.mjs): resnet18,
resnet50 and vgg11_bn at full architecture with weights from the shared
generator and BatchNorm running statistics calibrated on a generated batch,
then (a) eval-mode logits for a 2x3x64x64 input and (b) one training step with
the early layers frozen (their BatchNorms in eval mode, as tg does): the loss,
statistics of the gradient of every trainable parameter, and the updated
running statistics. Writes fixtures/vision.json; run with Debian's python3."""
import base64
import copy
import json
import math
import os

import torch
import torchvision

torch.set_num_threads(2)


M32 = 0xFFFFFFFF


def gen(n, seed, scale, offset=0.0):
    """A 32-bit integer hash of (index, seed) mapped to [-1, 1) in steps of
    2^-23, then scaled in double and rounded once to float32: the test's gen()
    computes the same bits. (The shared gen.py sequence repeats every 65536
    values, which makes deep networks too ill-conditioned to compare.)"""
    h = (torch.arange(n, dtype=torch.int64) * 0x9E3779B1 + seed * 0x632BE5AB) & M32
    h = h ^ (h >> 16)
    h = (h * 0x85EBCA6B) & M32
    h = h ^ (h >> 13)
    h = (h * 0xC2B2AE35) & M32
    h = h ^ (h >> 16)
    v = (h >> 8).double() / 8388608.0 - 1.0
    return (v * scale + offset).float()


def b64(t):
    return base64.b64encode(t.detach().float().contiguous().numpy().tobytes()).decode()


def fill(model, head):
    """Deterministic weights: fan-in scaled for convolutions and linears,
    BatchNorm weights around 1 and biases around 0. Returns the recipe."""
    recipe = []
    seed = 1
    for name, p in model.named_parameters():
        if p.dim() > 1:
            # The last layer smaller, for logits of a trained network's size.
            scale, offset = math.sqrt(6.0 / (p[0].numel())) / (20.0 if name == head else 1.0), 0.0
        elif name.endswith('weight'):
            scale, offset = 0.2, 1.0
        else:
            scale, offset = 0.1, 0.0
        with torch.no_grad():
            p.copy_(gen(p.numel(), seed, scale, offset).view_as(p))
        recipe.append([name, seed, scale, offset])
        seed += 1
    return recipe


def calibrate(model, x):
    # momentum 1: the running statistics become this batch's statistics.
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.momentum = 1.0
    model.train()
    with torch.no_grad():
        model(x)
    for m in bns:
        m.momentum = 0.1


def grad_stats(g, probe_seed=4242):
    g = g.detach().double().flatten()
    probe = gen(g.numel(), probe_seed, 1.0).double()
    return {
        'sum': g.sum().item(),
        'l1': g.abs().sum().item(),
        'sumsq': (g * g).sum().item(),
        'dot': (g * probe).sum().item(),
        'maxabs': g.abs().max().item(),
        'head': g[:8].tolist(),
    }


TARGET = [3, 7]


def train_step(model, x, trainable_prefixes):
    # Only parameters under trainable_prefixes learn; BatchNorms whose
    # parameters are frozen keep their running statistics.
    for name, p in model.named_parameters():
        p.requires_grad_(any(name.startswith(t) for t in trainable_prefixes))
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d) and not m.weight.requires_grad:
            m.eval()
    loss = torch.nn.functional.cross_entropy(model(x), torch.tensor(TARGET))
    loss.backward()
    grads = {n: grad_stats(p.grad) for n, p in model.named_parameters() if p.requires_grad}
    running = {
        k: [v.double().sum().item(), (v.double() ** 2).sum().item()]
        for k, v in model.state_dict().items()
        if (k.endswith('running_mean') or k.endswith('running_var'))
        and any(k.startswith(t) for t in trainable_prefixes)
    }
    return {'loss': loss.item(), 'grads': grads, 'running_after': running}


def case(arch, build, head, trainable_prefixes, size=64):
    torch.manual_seed(0)
    model = build()
    recipe = fill(model, head)
    shape = [2, 3, size, size]
    calibrate(model, gen(2 * 3 * size * size, 11, 2.0).view(shape))
    running = {k: b64(v) for k, v in model.state_dict().items() if k.endswith('running_mean') or k.endswith('running_var')}

    x = gen(2 * 3 * size * size, 7, 2.0).view(shape)
    model.eval()
    with torch.no_grad():
        logits = model(x)
        # float32 itself is only so accurate through 50 layers: the float64
        # result lets the test hold us to torch's own float32 error.
        logits64 = copy.deepcopy(model).double()(x.double())

    # The step in float32 and again in float64, so that the test can hold
    # us to torch's own float32 error where that exceeds 1e-4.
    model64 = copy.deepcopy(model).double()
    step32 = train_step(model, x, trainable_prefixes)
    step64 = train_step(model64, x.double(), trainable_prefixes)
    return {
        'arch': arch,
        'recipe': recipe,
        'running': running,
        'input': {'shape': shape, 'seed': 7, 'scale': 2.0},
        'logits': logits.flatten().tolist(),
        'logits64': logits64.flatten().tolist(),
        'train': {'trainable': trainable_prefixes, 'target': TARGET, **step32},
        'train64': step64,
    }


cases = [
    case('resnet18', lambda: torchvision.models.resnet18(), 'fc.weight', ['layer4.1.', 'fc.']),
    case('resnet50', lambda: torchvision.models.resnet50(), 'fc.weight', ['layer4.2.', 'fc.']),
    case('vgg11_bn', lambda: torchvision.models.vgg11_bn(dropout=0.0), 'classifier.6.weight',
         ['features.25.', 'features.26.', 'classifier.']),
]
out = {'torch': torch.__version__, 'torchvision': torchvision.__version__, 'cases': cases}
path = os.path.join(os.path.dirname(__file__), 'fixtures', 'vision.json')
with open(path, 'w') as f:
    json.dump(out, f, separators=(',', ':'))
print(path, os.path.getsize(path), 'bytes')
