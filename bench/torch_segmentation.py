"""The PyTorch side of `npm run bench -- segmentation`.

The model is segmentation_models_pytorch's Unet (smp 0.3: decoders/unet,
base/heads, encoders/resnet) written as plain torch modules, since smp is not
installed here: torchvision's ResNet without avgpool and fc as the encoder,
five decoder blocks (nearest x2 upsampling, the skip concatenated, two
conv-BatchNorm-ReLU), a 3x3 convolution to the classes as the head. A step is
forward, pixel-wise cross-entropy, backward and AdamW in train mode, every
parameter training (train_step) or the encoder frozen with its BatchNorm in
eval mode (train_step_decoder).

Two ways to drive it, both starting with one JSON line on stdin,
{threads, batch, size, classes, encoder, decoder_channels, reps, passes}:
  - without "serve": prints {pass: ms}, each the median of `reps` timed steps
    after one warm-up;
  - with "serve": true, it answers one JSON line per request line:
    {"pass": p} sets up pass p and answers {"ready": p}; {"step": true} runs one
    step and answers {"ms": ...}; {"quit": true} ends. The bench uses this to
    time torch's step and ours back to back in every repetition.
"""
import json
import sys
import time

import torch
import torchvision
from torch import nn
from torch.nn import functional as F


class ResNetEncoder(nn.Module):
    """smp's ResNetEncoder: the stages' outputs, the input first, at strides 1, 2, 4, 8, 16, 32."""

    def __init__(self, name):
        super().__init__()
        net = getattr(torchvision.models, name)()
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        expansion = 4 if name in ("resnet50", "resnet101", "resnet152") else 1
        self.out_channels = [3, 64, 64 * expansion, 128 * expansion, 256 * expansion, 512 * expansion]

    def forward(self, x):
        features = [x]
        x = self.relu(self.bn1(self.conv1(x)))
        features.append(x)
        x = self.layer1(self.maxpool(x))
        features.append(x)
        for layer in (self.layer2, self.layer3, self.layer4):
            x = layer(x)
            features.append(x)
        return features


class Conv2dReLU(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class DecoderBlock(nn.Module):
    def __init__(self, cin, skip, cout):
        super().__init__()
        self.conv1 = Conv2dReLU(cin + skip, cout)
        self.conv2 = Conv2dReLU(cout, cout)

    def forward(self, x, skip=None):
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv2(self.conv1(x))


class UnetDecoder(nn.Module):
    def __init__(self, encoder_channels, decoder_channels):
        super().__init__()
        encoder_channels = encoder_channels[1:][::-1]
        in_channels = [encoder_channels[0]] + list(decoder_channels[:-1])
        skip_channels = list(encoder_channels[1:]) + [0]
        self.blocks = nn.ModuleList(DecoderBlock(i, s, o) for i, s, o in zip(in_channels, skip_channels, decoder_channels))

    def forward(self, *features):
        features = features[1:][::-1]
        x, skips = features[0], features[1:]
        for i, block in enumerate(self.blocks):
            x = block(x, skips[i] if i < len(skips) else None)
        return x


class Unet(nn.Module):
    def __init__(self, encoder="resnet34", classes=1, decoder_channels=(256, 128, 64, 32, 16)):
        super().__init__()
        self.encoder = ResNetEncoder(encoder)
        self.decoder = UnetDecoder(self.encoder.out_channels, decoder_channels)
        self.segmentation_head = nn.Sequential(nn.Conv2d(decoder_channels[-1], classes, 3, padding=1))
        # smp's initialize_decoder and initialize_head.
        for m in self.decoder.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, mode="fan_in", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        nn.init.xavier_uniform_(self.segmentation_head[0].weight)
        nn.init.constant_(self.segmentation_head[0].bias, 0)

    def forward(self, x):
        return self.segmentation_head(self.decoder(*self.encoder(x)))


def median_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] * 1000


class Bench:
    def __init__(self, cfg):
        torch.set_num_threads(cfg["threads"])
        torch.manual_seed(0)
        self.model = Unet(cfg["encoder"], cfg["classes"], cfg["decoder_channels"])
        self.x = torch.randn(cfg["batch"], 3, cfg["size"], cfg["size"])
        self.target = torch.randint(0, cfg["classes"], (cfg["batch"], cfg["size"], cfg["size"]))
        self.opt = None

    def setup(self, p):
        model = self.model
        if p == "train_step":
            model.train()
            for q in model.parameters():
                q.requires_grad_(True)
            params = list(model.parameters())
        elif p == "train_step_decoder":
            # Transfer learning: the encoder frozen, its BatchNorm statistics fixed (eval mode).
            model.train()
            model.encoder.eval()
            for n, q in model.named_parameters():
                q.requires_grad_(not n.startswith("encoder."))
            params = [q for n, q in model.named_parameters() if not n.startswith("encoder.")]
        else:
            raise SystemExit(f"unknown pass {p}")
        self.opt = torch.optim.AdamW(params, lr=1e-3)

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        F.cross_entropy(self.model(self.x), self.target, ignore_index=255).backward()
        self.opt.step()


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    cfg = json.loads(sys.stdin.readline())
    bench = Bench(cfg)
    if not cfg.get("serve"):
        out = {}
        for p in cfg["passes"]:
            bench.setup(p)
            out[p] = median_ms(bench.step, cfg["reps"])
        print(json.dumps(out))
        return
    reply({"ready": None})
    for line in iter(sys.stdin.readline, ""):
        req = json.loads(line)
        if req.get("quit"):
            break
        if "pass" in req:
            bench.setup(req["pass"])
            reply({"ready": req["pass"]})
        elif req.get("step"):
            t0 = time.perf_counter()
            bench.step()
            reply({"ms": (time.perf_counter() - t0) * 1000})


if __name__ == "__main__":
    main()
