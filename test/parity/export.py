"""Export round trip with PyTorch: reads fixtures/export/ours.safetensors
(written by Model.save, see export-ours.mjs), loads it into the same
architecture in torch.nn with load_state_dict(strict=True), checks every value
against the shared generator, and writes the state dict back as PyTorch does:
torch.save (zip, and the legacy format), a nested DDP-style checkpoint
({'model': {'module.<key>': ...}}), and safetensors. The safetensors package
is not installed here, so the format (an 8-byte little-endian header length,
a JSON header of dtype, shape and data_offsets, then the raw little-endian
data; https://github.com/huggingface/safetensors) is read and written with
struct and json. Run with Debian's python3-torch:
    /usr/bin/python3 test/parity/export.py
"""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from gen import values  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'export')
DTYPES = {'F32': torch.float32, 'I64': torch.int64, 'F16': torch.float16, 'BF16': torch.bfloat16, 'I32': torch.int32}
NAMES = {v: k for k, v in DTYPES.items()}


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    metadata = header.pop('__metadata__', {})
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        start, end = info['data_offsets']
        dtype = DTYPES[info['dtype']]
        t = torch.frombuffer(bytearray(data[start:end]), dtype=dtype) if end > start else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info['shape'])
    return out, metadata


def write_safetensors(path, tensors, metadata):
    header = {'__metadata__': metadata}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        b = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {'dtype': NAMES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(chunks))


def model():
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3))


def expected(m):
    """The state export-ours.mjs gives the model, from the shared generator."""
    out = {}
    seed = 1
    for name, t in list(m.named_parameters()) + list(m.named_buffers()):
        if t.dtype == torch.int64:
            out[name] = torch.tensor(7, dtype=torch.int64)
        elif name.endswith('running_var'):
            out[name] = (torch.tensor(values(t.numel(), seed, 0.25), dtype=torch.float64).float() + 1).view_as(t)
            seed += 1
        else:
            out[name] = torch.tensor(values(t.numel(), seed, 0.5), dtype=torch.float64).float().view_as(t)
            seed += 1
    return out


def main():
    ours, metadata = read_safetensors(os.path.join(HERE, 'ours.safetensors'))
    assert metadata.get('format') == 'pt', metadata
    m = model()
    m.load_state_dict(ours, strict=True)
    state = m.state_dict()
    assert list(ours) and set(ours) == set(state), (sorted(ours), sorted(state))
    for name, want in expected(m).items():
        got = state[name]
        assert got.dtype == want.dtype and got.shape == want.shape, (name, got.dtype, got.shape)
        assert torch.equal(got, want), name
    torch.save(state, os.path.join(HERE, 'torch.pt'))
    torch.save(state, os.path.join(HERE, 'torch-legacy.pt'), _use_new_zipfile_serialization=False)
    torch.save({'model': {'module.' + k: v for k, v in state.items()}, 'epoch': 3}, os.path.join(HERE, 'torch-nested-ddp.pt'))
    write_safetensors(os.path.join(HERE, 'torch.safetensors'), state, {'format': 'pt'})
    print('wrote torch.pt, torch-legacy.pt, torch-nested-ddp.pt, torch.safetensors in', HERE)


if __name__ == '__main__':
    main()
