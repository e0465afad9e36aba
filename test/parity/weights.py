"""Writes the weight-file fixtures under fixtures/weights/ with torch.save itself
(zip and legacy formats, PyTorch 1.13), a hand-built file in the old tar format,
safetensors files from a writer that follows the reference's layout
(huggingface/safetensors, safetensors/src/tensor.rs: tensors ordered by dtype
alignment descending then name, compact JSON, header padded with spaces to 8
bytes), and weights.json: for every file, what reading it must give, taken
from torch.load's own result, with every tensor as the hex of its bytes so
the test compares bit for bit.

Whole-module pickles as ultralytics writes them need classes whose pickled
names are ultralytics.nn.tasks.DetectionModel and ultralytics.nn.modules.*:
they are defined here and registered under those module names, so nothing
needs installing.

Run with Debian's python3-torch:
    /usr/bin/python3 test/parity/weights.py
"""
import io
import json
import os
import pickle
import struct
import sys
import tarfile
import types
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from gen import values  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), 'fixtures', 'weights')

DTYPE_NAMES = {
    torch.float32: 'f32', torch.float16: 'f16', torch.bfloat16: 'bf16', torch.float64: 'f64',
    torch.int64: 'i64', torch.int32: 'i32', torch.int16: 'i16', torch.int8: 'i8',
    torch.uint8: 'u8', torch.bool: 'bool', torch.complex64: 'c64', torch.qint8: 'qint8',
}
# What tensorgraft reads each stored dtype as.
READ_AS = {
    torch.float64: torch.float32, torch.int16: torch.int32, torch.int8: torch.int32,
}


# --------------------------------------------------------------- ultralytics-like classes

def register_module(name):
    """Makes `name` (and its parents) importable, so pickle can name classes in it."""
    parts = name.split('.')
    for i in range(1, len(parts) + 1):
        sys.modules.setdefault('.'.join(parts[:i]), types.ModuleType('.'.join(parts[:i])))
    return sys.modules[name]


def place(cls, module):
    cls.__module__ = module
    cls.__qualname__ = cls.__name__
    setattr(register_module(module), cls.__name__, cls)
    return cls


class Conv(nn.Module):
    """ultralytics.nn.modules.conv.Conv: conv (no bias) + BatchNorm + SiLU."""

    def __init__(self, c1, c2, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = nn.SiLU()


class Detect(nn.Module):
    """A detection head with what state_dict() must leave out: a non-persistent
    buffer, a None buffer, a plain tensor attribute."""

    def __init__(self, nc, ch):
        super().__init__()
        self.nc = nc
        self.cv = nn.ModuleList([nn.Conv2d(ch, nc + 4, 1), nn.Conv2d(ch, nc + 4, 1)])
        self.register_buffer('anchors', torch.zeros(2, 3), persistent=False)
        self.register_buffer('strides', None)
        self.register_buffer('scale', torch.ones(1))
        self.stride = torch.tensor([8.0, 16.0])


class DetectionModel(nn.Module):
    """ultralytics.nn.tasks.DetectionModel: .model is a Sequential of blocks."""

    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(Conv(3, 4, 3, 2), Conv(4, 8, 3, 2), Detect(2, 8))
        self.names = {0: 'cat', 1: 'dog'}
        self.yaml = {'nc': 2, 'scale': 'n'}
        self.args = types.SimpleNamespace(imgsz=64, task='detect')
        self.stride = torch.tensor([8.0, 16.0])


place(Conv, 'ultralytics.nn.modules.conv')
place(Detect, 'ultralytics.nn.modules.head')
place(DetectionModel, 'ultralytics.nn.tasks')


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 3)


def fill(module, seed):
    """Deterministic values for every parameter and floating buffer."""
    with torch.no_grad():
        for i, (name, t) in enumerate(module.state_dict().items()):
            if t.dtype.is_floating_point:
                t.copy_(torch.tensor(values(t.numel(), seed + i, 0.5)).reshape(t.shape))
            else:
                t.fill_(seed + i)
    return module


# --------------------------------------------------------------- writers

ST_NAMES = {
    torch.float64: 'F64', torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16',
    torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8',
    torch.uint8: 'U8', torch.bool: 'BOOL',
}
# The reference's Dtype enum order, which is by alignment.
ST_RANK = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64']


def raw(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    items = sorted(tensors.items(), key=lambda kv: (-ST_RANK.index(ST_NAMES[kv[1].dtype]), kv[0].encode()))
    header = {}
    if metadata is not None:
        header['__metadata__'] = dict(sorted(metadata.items(), key=lambda kv: kv[0].encode()))
    blobs, offset = [], 0
    for name, t in items:
        b = raw(t)
        header[name] = {'dtype': ST_NAMES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def write_tar_checkpoint(path, tensors, view):
    """The format torch.load's legacy_load reads from a tar file: members
    'sys_info', 'storages' (count; per storage (key, location, type), an int64
    element count and the bytes; then storage views), 'tensors' (count; per
    tensor (key, storage key, type), int32 ndim, 4 pad bytes, sizes, strides,
    offset) and 'pickle' (the object, tensors as persistent ids)."""
    storage_types = {torch.float32: torch.FloatStorage, torch.float16: torch.HalfStorage, torch.int64: torch.LongStorage}
    tensor_types = {torch.float32: torch.FloatTensor, torch.float16: torch.HalfTensor, torch.int64: torch.LongTensor}
    storages, records = io.BytesIO(), io.BytesIO()
    pickle.dump(len(tensors), storages, protocol=2)
    for key, (name, t) in enumerate(tensors.items()):
        t = t.contiguous()
        pickle.dump((key, 'cpu', storage_types[t.dtype]), storages, protocol=2)
        storages.write(struct.pack('<q', t.numel()) + raw(t))
    view_key, root_key, offset, numel, shape = view
    pickle.dump([(view_key, root_key, offset, numel)], storages, protocol=2)
    tensor_keys = {}
    entries = [(name, key, t.dtype, list(t.shape), list(t.contiguous().stride()), 0) for key, (name, t) in enumerate(tensors.items())]
    root_dtype = list(tensors.values())[root_key].dtype
    entries.append(('view', view_key, root_dtype, shape, [1] * len(shape), 0))
    pickle.dump(len(entries), records, protocol=2)
    for i, (name, storage_key, dtype, size, stride, off) in enumerate(entries):
        key = 1000 + i
        tensor_keys[name] = key
        pickle.dump((key, storage_key, tensor_types[dtype]), records, protocol=2)
        records.write(struct.pack('<ii', len(size), 0) + struct.pack(f'<{len(size)}q', *size)
                      + struct.pack(f'<{len(size)}q', *stride) + struct.pack('<q', off))

    class Ref:
        def __init__(self, key):
            self.key = key

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return str(obj.key) if isinstance(obj, Ref) else None

    main = io.BytesIO()
    Pickler(main, protocol=2).dump(OrderedDict((name, Ref(key)) for name, key in tensor_keys.items()))
    sys_info = io.BytesIO()
    pickle.dump({'protocol_version': 1001, 'little_endian': True, 'type_sizes': {'short': 2, 'int': 4, 'long': 4}}, sys_info, protocol=2)
    with tarfile.open(path, 'w', format=tarfile.PAX_FORMAT) as tar:
        for name, buf in [('sys_info', sys_info), ('storages', storages), ('tensors', records), ('pickle', main)]:
            info = tarfile.TarInfo(name)
            info.size = len(buf.getvalue())
            info.mtime = 0
            tar.addfile(info, io.BytesIO(buf.getvalue()))


# --------------------------------------------------------------- expected values

def describe_tensor(t):
    read = t.to(READ_AS.get(t.dtype, t.dtype))
    return {'dtype': DTYPE_NAMES[read.dtype], 'shape': list(t.shape), 'hex': raw(read).hex()}


def info(name, t):
    return {'name': name, 'shape': list(t.shape), 'dtype': DTYPE_NAMES[t.dtype], 'bytes': t.numel() * t.element_size()}


def metadata_of(obj):
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, bool):
                out[k] = 'true' if v else 'false'
            elif isinstance(v, (str, int)):
                out[k] = str(v)
            elif isinstance(v, (float, np.floating)):
                out[k] = repr(float(v))
    return out


def expect(name, fmt, state_dict, loaded, notes_include=(), extra_notes=()):
    """weights.json's entry for one file: the state dict as tensorgraft must read it."""
    notes = [f'{k}: {DTYPE_NAMES[t.dtype]} stored as {DTYPE_NAMES[READ_AS[t.dtype]]}' for k, t in state_dict.items() if t.dtype in READ_AS]
    return {
        'file': name,
        'format': fmt,
        'order': list(state_dict.keys()),
        'tensors': {k: describe_tensor(t) for k, t in state_dict.items()},
        'inspect': [info(k, t) for k, t in state_dict.items()],
        'metadata': metadata_of(loaded),
        'notes': notes,
        'notes_include': list(notes_include),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    cases = []

    def save(name, obj, legacy=False):
        path = os.path.join(OUT, name)
        torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
        return torch.load(path)

    net = fill(TinyNet(), 1)
    sd = net.state_dict()
    for name, dtype, legacy in [('sd_f32.pt', torch.float32, False), ('sd_f16.pt', torch.float16, False),
                                ('sd_bf16.pt', torch.bfloat16, False), ('sd_f32_legacy.pt', torch.float32, True)]:
        sdd = OrderedDict((k, v.to(dtype) if v.is_floating_point() else v) for k, v in sd.items())
        loaded = save(name, sdd, legacy)
        cases.append(expect(name, 'torch-legacy' if legacy else 'torch-zip', loaded, loaded))

    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for p in net.parameters():
        p.grad = torch.ones_like(p)
    opt.step()
    loaded = save('nested_model.pt', {'model': net.state_dict(), 'optimizer': opt.state_dict(), 'epoch': 3})
    cases.append(expect('nested_model.pt', 'torch-zip', loaded['model'], loaded, ["checkpoint['model']"]))

    half = OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in sd.items())
    loaded = save('nested_state_dict_legacy.pt', {'state_dict': half, 'hyper_parameters': {'lr': 0.01}}, legacy=True)
    cases.append(expect('nested_state_dict_legacy.pt', 'torch-legacy', loaded['state_dict'], loaded, ["checkpoint['state_dict']"]))

    ddp = OrderedDict(('module.' + k, v) for k, v in sd.items())
    loaded = save('ddp.pt', {'model_state_dict': ddp, 'epoch': 7, 'loss': 0.25, 'tag': 'run-1', 'best': True})
    cases.append(expect('ddp.pt', 'torch-zip', loaded['model_state_dict'], loaded, ["checkpoint['model_state_dict']"]))

    base = torch.tensor(values(20, 11)).reshape(4, 5)
    vec = torch.tensor(values(5, 12))
    views = OrderedDict([
        ('w', base), ('w_tail', base[1:]), ('w_t', base.t()), ('cols', base[:, ::2]), ('elem', base[2, 3]),
        ('row', base[2]), ('expand', vec.expand(3, 5)), ('empty', torch.zeros(0, 3)), ('scalar', torch.tensor(1.5)),
    ])
    for name, legacy in [('views.pt', False), ('views_legacy.pt', True)]:
        loaded = save(name, views, legacy)
        assert loaded['w'].storage().data_ptr() == loaded['w_t'].storage().data_ptr()
        cases.append(expect(name, 'torch-legacy' if legacy else 'torch-zip', loaded, loaded))

    f64 = torch.tensor(values(6, 21), dtype=torch.float64) * (1 + 2 ** -30) + 2 ** -40
    dtypes = OrderedDict([
        ('f64', f64),
        ('f64_t', f64.reshape(2, 3).t()),
        ('i8', torch.tensor([-128, -1, 0, 1, 127], dtype=torch.int8)),
        ('i16', torch.tensor([-32768, -1, 0, 1, 32767], dtype=torch.int16)),
        ('i32', torch.tensor([-2 ** 31, -1, 0, 1, 2 ** 31 - 1], dtype=torch.int32)),
        ('i64', torch.tensor([-2 ** 63, -1, 0, 2 ** 53 + 1, 2 ** 63 - 1], dtype=torch.int64)),
        ('u8', torch.tensor([0, 1, 128, 255], dtype=torch.uint8)),
        ('bool', torch.tensor([True, False, True])),
        ('f16', torch.tensor([0.0, -0.0, 1.0, 65504.0, float('inf'), float('-inf'), float('nan'), 2 ** -24, 2 ** -14, -2.5], dtype=torch.float16)),
        ('bf16', torch.tensor([0.0, -0.0, 1.0, 3e38, float('inf'), float('-inf'), float('nan'), 1e-40, -2.5], dtype=torch.bfloat16)),
        ('f32', torch.tensor([float('inf'), float('-inf'), float('nan'), 1e-45, -0.0, 3.4028234663852886e38])),
    ])
    for name, legacy in [('dtypes.pt', False), ('dtypes_legacy.pt', True)]:
        loaded = save(name, dtypes, legacy)
        cases.append(expect(name, 'torch-legacy' if legacy else 'torch-zip', loaded, loaded))

    model = fill(DetectionModel(), 40).half()
    ema = fill(DetectionModel(), 70).half()
    ckpt = {'epoch': -1, 'best_fitness': np.float64(0.5), 'model': model, 'ema': ema, 'updates': 10, 'optimizer': None,
            'train_args': {'epochs': 3, 'imgsz': 64}, 'date': '2024-01-01T00:00:00', 'version': '8.0.0'}
    loaded = save('yolo_ema.pt', ckpt)
    cases.append(expect('yolo_ema.pt', 'torch-zip', loaded['ema'].state_dict(), loaded,
                        ["checkpoint['ema']", 'ultralytics.nn.tasks.DetectionModel']))
    ckpt['ema'] = None
    loaded = save('yolo_noema_legacy.pt', ckpt, legacy=True)
    cases.append(expect('yolo_noema_legacy.pt', 'torch-legacy', loaded['model'].state_dict(), loaded,
                        ["checkpoint['model']", 'ultralytics.nn.tasks.DetectionModel']))

    tar_tensors = OrderedDict([('conv.weight', torch.tensor(values(12, 31)).reshape(2, 2, 3)),
                               ('conv.bias', torch.tensor(values(2, 32)).half()),
                               ('steps', torch.tensor([5, -6]))])
    tar_path = os.path.join(OUT, 'sd_tar.pt')
    write_tar_checkpoint(tar_path, tar_tensors, (100, 0, 2, 3, [3]))
    loaded = torch.load(tar_path)
    assert torch.equal(loaded['view'], tar_tensors['conv.weight'].reshape(-1)[2:5])
    cases.append(expect('sd_tar.pt', 'torch-tar', loaded, loaded))

    st = OrderedDict([
        ('embed.weight', torch.tensor(values(12, 51)).reshape(3, 4)),
        ('half', torch.tensor(values(6, 52)).half().reshape(2, 3)),
        ('brain', torch.tensor(values(6, 53)).bfloat16()),
        ('ids', torch.tensor([-(2 ** 63), 0, 2 ** 62 + 3])),
        ('count', torch.tensor([7, -7], dtype=torch.int32)),
        ('mask', torch.tensor([True, False])),
        ('bytes', torch.tensor([0, 255, 7], dtype=torch.uint8)),
        ('double', torch.tensor(values(3, 54), dtype=torch.float64) / 3),
        ('short', torch.tensor([-5, 5], dtype=torch.int16)),
        ('tiny', torch.tensor([-128, 127], dtype=torch.int8)),
        ('scalar', torch.tensor(2.5)),
        ('none', torch.zeros(0, 2)),
    ])
    meta = {'format': 'pt', 'note': 'fixture "quoted" é'}
    write_safetensors(os.path.join(OUT, 'weights.safetensors'), st, meta)
    order = sorted(st, key=lambda k: (-ST_RANK.index(ST_NAMES[st[k].dtype]), k.encode()))
    case = expect('weights.safetensors', 'safetensors', OrderedDict((k, st[k]) for k in order), None)
    case['metadata'] = meta
    cases.append(case)

    ref = OrderedDict([
        ('b.weight', torch.tensor(values(6, 61)).reshape(2, 3)),
        ('a.weight', torch.tensor(values(4, 62)).half()),
        ('émbed', torch.tensor(values(3, 63)).bfloat16()),
        ('odd"name\\x\ttab', torch.tensor([1, 2, 3], dtype=torch.int64)),
        ('Z', torch.tensor([4], dtype=torch.int32)),
        ('flags', torch.tensor([True, False, True])),
        ('pixels', torch.tensor([9, 8], dtype=torch.uint8)),
        ('0d', torch.tensor(-1.25)),
    ])
    ref_meta = {'z': 'last', 'a': 'first', 'format': 'pt'}
    write_safetensors(os.path.join(OUT, 'reference.safetensors'), ref, ref_meta)
    order = sorted(ref, key=lambda k: (-ST_RANK.index(ST_NAMES[ref[k].dtype]), k.encode()))
    case = expect('reference.safetensors', 'safetensors', OrderedDict((k, ref[k]) for k in order), None)
    case['metadata'] = ref_meta
    case['writer_input'] = {k: describe_tensor(t) for k, t in ref.items()}
    cases.append(case)

    save('complex.pt', OrderedDict([('w', torch.ones(2)), ('z', torch.ones(2, dtype=torch.complex64))]))
    save('quantized.pt', OrderedDict([('q', torch.quantize_per_tensor(torch.ones(3), 0.1, 0, torch.qint8))]))
    refusals = {'complex.pt': 'z', 'quantized.pt': 'q'}

    with open(os.path.join(OUT, 'weights.json'), 'w') as f:
        json.dump({'cases': cases, 'refusals': refusals}, f, indent=1, ensure_ascii=False)
        f.write('\n')
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f'wrote {len(os.listdir(OUT))} files, {total} bytes, to {OUT}')


if __name__ == '__main__':
    main()
