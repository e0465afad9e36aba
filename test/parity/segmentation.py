"""PyTorch parity for tg's segmentation models (test/parity-segmentation.test.mjs):
segmentation_models_pytorch's Unet with ResNet encoders, milesial/Pytorch-UNet's
UNet and torchvision 0.14's deeplabv3_resnet50 with its auxiliary head, at full
architecture with weights from the shared generator and BatchNorm running
statistics calibrated on a generated batch. smp and milesial's code are not
installed here: the script rebuilds their modules below as plain torch modules
that follow their source (smp 0.3: decoders/unet/{model,decoder}.py,
base/{heads,modules}.py, encoders/resnet.py; Pytorch-UNet: unet/unet_parts.py,
unet/unet_model.py), module names included. For each case: (a) eval-mode
outputs for a generated input, summarised (sums, a projection and every
stride-th value), in float32 and float64; (b) one training step with the early
layers frozen (their BatchNorms in eval mode, as tg does), cross-entropy with
ignore_index 255 against generated (N, H, W) class ids (DeepLab: out + 0.5 aux,
as torchvision's reference trainer): the loss, statistics of the gradient of
every trainable parameter and the updated running statistics, in float32 and
float64, with torch's own float32 error on each tensor; and the state dict's
keys and shapes. To keep the fixture small, the weights' recipe follows from
the keys (fill() below, rebuilt by the test) and the calibrated running
statistics are rounded to float16 (in the model too) and stored as such.
Writes fixtures/segmentation.json; run with Debian's python3."""
import base64
import copy
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

torch.set_num_threads(2)

M32 = 0xFFFFFFFF
IGNORE = 255


def gen(n, seed, scale, offset=0.0):
    """The shared 32-bit hash generator of vision.py (test/parity/hashgen.mjs)."""
    h = (torch.arange(n, dtype=torch.int64) * 0x9E3779B1 + seed * 0x632BE5AB) & M32
    h = h ^ (h >> 16)
    h = (h * 0x85EBCA6B) & M32
    h = h ^ (h >> 13)
    h = (h * 0xC2B2AE35) & M32
    h = h ^ (h >> 16)
    v = (h >> 8).double() / 8388608.0 - 1.0
    return (v * scale + offset).float()


# ---- smp's Unet (segmentation_models_pytorch 0.3), ResNet encoders ----------

class ResNetEncoder(ResNet):
    """encoders/resnet.py: torchvision's ResNet without fc and avgpool; the
    features are the input, the stem after relu and layer1..layer4."""

    def __init__(self, out_channels, **kwargs):
        super().__init__(**kwargs)
        self.out_channels = out_channels
        del self.fc
        del self.avgpool

    def forward(self, x):
        stages = [
            nn.Identity(),
            nn.Sequential(self.conv1, self.bn1, self.relu),
            nn.Sequential(self.maxpool, self.layer1),
            self.layer2,
            self.layer3,
            self.layer4,
        ]
        features = []
        for stage in stages:
            x = stage(x)
            features.append(x)
        return features


SMP_ENCODERS = {
    'resnet18': dict(out_channels=(3, 64, 64, 128, 256, 512), block=BasicBlock, layers=[2, 2, 2, 2]),
    'resnet34': dict(out_channels=(3, 64, 64, 128, 256, 512), block=BasicBlock, layers=[3, 4, 6, 3]),
    'resnet50': dict(out_channels=(3, 64, 256, 512, 1024, 2048), block=Bottleneck, layers=[3, 4, 6, 3]),
}


class Conv2dReLU(nn.Sequential):
    """base/modules.py with use_batchnorm=True."""

    def __init__(self, in_channels, out_channels, kernel_size, padding=0, stride=1):
        conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        super().__init__(conv, nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class DecoderBlock(nn.Module):
    """decoders/unet/decoder.py with attention_type=None (identities)."""

    def __init__(self, in_channels, skip_channels, out_channels):
        super().__init__()
        self.conv1 = Conv2dReLU(in_channels + skip_channels, out_channels, kernel_size=3, padding=1)
        self.attention1 = nn.Identity()
        self.conv2 = Conv2dReLU(out_channels, out_channels, kernel_size=3, padding=1)
        self.attention2 = nn.Identity()

    def forward(self, x, skip=None):
        x = F.interpolate(x, scale_factor=2, mode='nearest')
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
            x = self.attention1(x)
        x = self.conv1(x)
        x = self.conv2(x)
        return self.attention2(x)


class UnetDecoder(nn.Module):
    def __init__(self, encoder_channels, decoder_channels):
        super().__init__()
        encoder_channels = encoder_channels[1:][::-1]
        head_channels = encoder_channels[0]
        in_channels = [head_channels] + list(decoder_channels[:-1])
        skip_channels = list(encoder_channels[1:]) + [0]
        self.center = nn.Identity()  # center=False for ResNet encoders
        self.blocks = nn.ModuleList(
            [DecoderBlock(i, s, o) for i, s, o in zip(in_channels, skip_channels, decoder_channels)]
        )

    def forward(self, *features):
        features = features[1:][::-1]
        head, skips = features[0], features[1:]
        x = self.center(head)
        for i, block in enumerate(self.blocks):
            x = block(x, skips[i] if i < len(skips) else None)
        return x


class SegmentationHead(nn.Sequential):
    """base/heads.py with upsampling=1 and activation=None."""

    def __init__(self, in_channels, out_channels, kernel_size=3):
        conv2d = nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, padding=kernel_size // 2)
        super().__init__(conv2d, nn.Identity(), nn.Identity())


class SmpUnet(nn.Module):
    def __init__(self, encoder_name='resnet34', classes=1, decoder_channels=(256, 128, 64, 32, 16)):
        super().__init__()
        self.encoder = ResNetEncoder(**SMP_ENCODERS[encoder_name])
        self.decoder = UnetDecoder(self.encoder.out_channels, decoder_channels)
        self.segmentation_head = SegmentationHead(decoder_channels[-1], classes)

    def forward(self, x):
        return self.segmentation_head(self.decoder(*self.encoder(x)))


# ---- milesial/Pytorch-UNet's UNet -------------------------------------------

class DoubleConv(nn.Module):
    def __init__(self, in_channels, out_channels, mid_channels=None):
        super().__init__()
        if not mid_channels:
            mid_channels = out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    def __init__(self, in_channels, out_channels, bilinear=True):
        super().__init__()
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)
            self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
        else:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        diffY = x2.size()[2] - x1.size()[2]
        diffX = x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class OutConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x):
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, n_channels, n_classes, bilinear=False):
        super().__init__()
        self.inc = DoubleConv(n_channels, 64)
        self.down1 = Down(64, 128)
        self.down2 = Down(128, 256)
        self.down3 = Down(256, 512)
        factor = 2 if bilinear else 1
        self.down4 = Down(512, 1024 // factor)
        self.up1 = Up(1024, 512 // factor, bilinear)
        self.up2 = Up(512, 256 // factor, bilinear)
        self.up3 = Up(256, 128 // factor, bilinear)
        self.up4 = Up(128, 64, bilinear)
        self.outc = OutConv(64, n_classes)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        x = self.up1(x5, x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        x = self.up4(x, x1)
        return self.outc(x)


# ---- torchvision's DeepLabV3 --------------------------------------------------

class DeepLab(nn.Module):
    """torchvision's model with its dropouts off (their masks are random): the
    step is compared through everything else."""

    def __init__(self, build, num_classes, aux_loss):
        super().__init__()
        self.model = build(weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=aux_loss)
        for m in self.model.modules():
            if isinstance(m, nn.Dropout):
                m.p = 0.0

    def forward(self, x):
        return self.model(x)


def unwrap(model):
    return model.model if isinstance(model, DeepLab) else model


def outputs(model, x):
    """Named outputs as tg names them: logits (torchvision's 'out') and aux."""
    y = model(x)
    if isinstance(y, dict):
        return {'logits': y['out'], **({'aux': y['aux']} if 'aux' in y else {})}
    return {'logits': y}


# ---- the shared recipe -----------------------------------------------------

def fill(model, heads):
    """Deterministic weights, parameter i (in named_parameters order) from
    seed i + 1: fan-in scaled for convolutions, BatchNorm weights around 1 and
    biases around 0; the output convolutions (heads) smaller."""
    for seed, (name, p) in enumerate(unwrap(model).named_parameters(), start=1):
        if p.dim() > 1:
            scale, offset = math.sqrt(6.0 / (p[0].numel())) / (20.0 if name in heads else 1.0), 0.0
        elif name.endswith('weight'):
            scale, offset = 0.2, 1.0
        else:
            scale, offset = 0.1, 0.0
        with torch.no_grad():
            p.copy_(gen(p.numel(), seed, scale, offset).view_as(p))


def calibrate(model, x):
    """momentum 1: the running statistics become this batch's statistics, then
    rounded to float16, the precision the fixture stores them in (what torch
    then computes with too)."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in bns:
        m.momentum = 1.0
    model.train()
    with torch.no_grad():
        model(x)
        for m in bns:
            m.momentum = 0.1
            m.running_mean.copy_(m.running_mean.half().float())
            m.running_var.copy_(m.running_var.half().float())


def b64_half(t):
    return base64.b64encode(t.detach().half().contiguous().numpy().tobytes()).decode()


def stats(t, probe_seed=4242):
    t = t.detach().double().flatten()
    probe = gen(t.numel(), probe_seed, 1.0).double()
    return {
        'sum': t.sum().item(),
        'l1': t.abs().sum().item(),
        'sumsq': (t * t).sum().item(),
        'dot': (t * probe).sum().item(),
        'maxabs': t.abs().max().item(),
        'head': t[:8].tolist(),
    }


def error(t32, t64):
    """torch's own float32 error on a tensor, for each statistic: the largest
    element error (head), the summed error (sum, |.|, projection: |probe| <= 1)
    and that of the squares (sum of squares)."""
    a, b = t32.detach().double().flatten(), t64.detach().double().flatten()
    d = (a - b).abs()
    return {'max': d.max().item(), 'l1': d.sum().item(), 'sq': (a * a - b * b).abs().sum().item()}


def summary(t, stride):
    flat = t.detach().double().flatten()
    return {**stats(t), 'sample': flat[::stride].tolist()}


def target_of(shape, classes):
    """Class ids (N, H, W) from the generator, every 17th ignored; the test computes the same."""
    n = shape[0] * shape[2] * shape[3]
    t = ((gen(n, 13, 1.0).double() + 1.0) / 2.0 * classes).floor().long()
    t[::17] = IGNORE
    return t.view(shape[0], shape[2], shape[3])


def trains(name, trainable, frozen):
    return any(name.startswith(t) for t in trainable) and not any(name.startswith(f) for f in frozen)


def train_step(model, x, target, trainable, frozen):
    """Only parameters under `trainable` and not under `frozen` learn;
    BatchNorms whose parameters are frozen keep their running statistics.
    Returns the loss, the gradients and the running statistics after."""
    for name, p in unwrap(model).named_parameters():
        p.requires_grad_(trains(name, trainable, frozen))
    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d) and not m.weight.requires_grad:
            m.eval()
    out = outputs(model, x)
    loss = F.cross_entropy(out['logits'], target, ignore_index=IGNORE)
    if 'aux' in out:
        loss = loss + 0.5 * F.cross_entropy(out['aux'], target, ignore_index=IGNORE)
    loss.backward()
    grads = {n: p.grad for n, p in unwrap(model).named_parameters() if p.requires_grad}
    running = {
        k: v.clone()
        for k, v in unwrap(model).state_dict().items()
        if (k.endswith('running_mean') or k.endswith('running_var')) and trains(k, trainable, frozen)
    }
    return loss.item(), grads, running


def sums(t):
    t = t.double()
    return [t.sum().item(), (t * t).sum().item()]


def case(name, build, options, heads, trainable, shape, classes, frozen=(), calibration=None, running_from=None):
    """calibration: the shape of the calibration batch (default: the input's);
    running_from: a case with the same model and calibration, whose running
    statistics the test takes instead of a copy."""
    torch.manual_seed(0)
    model = build()
    fill(model, heads)
    calibration = calibration or shape
    calibrate(model, gen(math.prod(calibration), 11, 2.0).view(calibration))
    running = None if running_from else {
        k: b64_half(v) for k, v in unwrap(model).state_dict().items() if k.endswith('running_mean') or k.endswith('running_var')
    }

    n = math.prod(shape)
    x = gen(n, 7, 2.0).view(shape)
    model.eval()
    with torch.no_grad():
        out32 = outputs(model, x)
        # float32 itself is only so accurate through dozens of layers: the
        # float64 result lets the test hold us to torch's own float32 error.
        out64 = outputs(copy.deepcopy(model).double(), x.double())
    stride = max(1, out32['logits'].numel() // 400)

    target = target_of(shape, classes)
    model64 = copy.deepcopy(model).double()
    loss32, grads32, running32 = train_step(model, x, target, trainable, frozen)
    loss64, grads64, running64 = train_step(model64, x.double(), target, trainable, frozen)
    return {
        'name': name,
        **options,
        'keys': key_list(unwrap(model)),
        'heads': heads,
        'calibration': calibration,
        **({'runningFrom': running_from} if running_from else {'running': running}),
        'input': {'shape': shape, 'seed': 7, 'scale': 2.0},
        'stride': stride,
        'outputs': {k: summary(v, stride) for k, v in out32.items()},
        'outputs64': {k: summary(v, stride) for k, v in out64.items()},
        'outputErrors': {k: error(v, out64[k]) for k, v in out32.items()},
        'train': {
            'trainable': trainable,
            'frozen': list(frozen),
            'classes': classes,
            'ignore': IGNORE,
            'loss': loss32,
            'loss64': loss64,
            'grads': {k: stats(g) for k, g in grads32.items()},
            'grads64': {k: stats(g) for k, g in grads64.items()},
            'gradErrors': {k: error(g, grads64[k]) for k, g in grads32.items()},
            'running': {k: sums(v) for k, v in running32.items()},
            'running64': {k: sums(v) for k, v in running64.items()},
            'runningErrors': {k: error(v, running64[k]) for k, v in running32.items()},
        },
    }


def key_list(model):
    """'name d0,d1,...' for every state dict entry, in torch's order."""
    return [f"{k} {','.join(map(str, v.shape))}" for k, v in model.state_dict().items()]


def keys_only(name, options, model):
    return {'name': name, **options, 'keys': key_list(model)}


def rounded(v):
    """Nine significant digits: far below every tolerance, and a smaller file."""
    if isinstance(v, float):
        return float(f'{v:.9g}')
    if isinstance(v, dict):
        return {k: rounded(x) for k, x in v.items()}
    if isinstance(v, list):
        return [rounded(x) for x in v]
    return v


unet_trainable = ['encoder.layer4.', 'decoder.', 'segmentation_head.']
classic_trainable = ['down3.', 'down4.', 'up1.', 'up2.', 'up3.', 'up4.', 'outc.']
cases = [
    case('unet resnet34', lambda: SmpUnet('resnet34', classes=3), {'factory': 'unet', 'options': {'encoder': 'resnet34', 'numClasses': 3}},
         ['segmentation_head.0.weight'], unet_trainable, [2, 3, 64, 64], 3),
    case('unetClassic', lambda: UNet(3, 2, bilinear=False), {'factory': 'unetClassic', 'options': {'nClasses': 2}},
         ['outc.conv.weight'], classic_trainable, [1, 3, 64, 64], 2),
    case('unetClassic bilinear', lambda: UNet(3, 2, bilinear=True), {'factory': 'unetClassic', 'options': {'nClasses': 2, 'bilinear': True}},
         ['outc.conv.weight'], classic_trainable, [1, 3, 64, 64], 2),
    # The model and calibration of 'unetClassic', on an input whose skips need F.pad.
    case('unetClassic 72x56 (F.pad)', lambda: UNet(3, 2, bilinear=False),
         {'factory': 'unetClassic', 'options': {'nClasses': 2, 'inputSize': [72, 56]}},
         ['outc.conv.weight'], classic_trainable, [1, 3, 72, 56], 2, calibration=[1, 3, 64, 64], running_from='unetClassic'),
    # Batch 2, the least that trains: ASPPPooling's BatchNorm sees one value per
    # channel and image. With two, its training-mode gradient is chaotic (torch's
    # own float32 one is off by several percent), so that branch stays frozen.
    case('deeplabv3_resnet50 aux', lambda: DeepLab(torchvision.models.segmentation.deeplabv3_resnet50, 4, True),
         {'factory': 'deeplabv3_resnet50', 'options': {'numClasses': 4, 'auxLoss': True}},
         ['classifier.4.weight', 'aux_classifier.4.weight'], ['backbone.layer4.', 'classifier.', 'aux_classifier.'], [2, 3, 64, 64], 4,
         frozen=['classifier.0.convs.4.']),
]
key_cases = [
    keys_only('unet resnet50', {'factory': 'unet', 'options': {'encoder': 'resnet50', 'numClasses': 2}}, SmpUnet('resnet50', classes=2)),
    keys_only('deeplabv3_resnet101', {'factory': 'deeplabv3_resnet101', 'options': {}},
              torchvision.models.segmentation.deeplabv3_resnet101(weights=None, weights_backbone=None)),
]
out = {'torch': torch.__version__, 'torchvision': torchvision.__version__, 'cases': cases, 'keyCases': key_cases}
path = os.path.join(os.path.dirname(__file__), 'fixtures', 'segmentation.json')
with open(path, 'w') as f:
    json.dump(rounded(out), f, separators=(',', ':'))
print(path, os.path.getsize(path), 'bytes')
