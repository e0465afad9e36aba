// Files written by torch.save, following torch/serialization.py (PyTorch 1.13):
//   zip (default since 1.6): <archive>/data.pkl, the object pickled with
//     persistent ids ('storage', storage_type, key, location, numel), and one
//     record <archive>/data/<key> per storage (caffe2/serialize/inline_container);
//   legacy (_use_new_zipfile_serialization=False): pickles of the magic number,
//     the protocol version, sys_info, the object (ids ('storage', type, root_key,
//     location, numel, view_metadata) and ('module', cls, file, source)), the
//     sorted storage keys, then per key an int64 element count and the raw bytes;
//   tar (PyTorch < 0.4's legacy_load): members 'storages', 'tensors', 'pickle'.
//
// Nothing in a pickle is executed (see pickle.ts). What a global may become:
//   - torch's tensor rebuild functions (_rebuild_tensor_v2, _rebuild_parameter,
//     ...), storage classes, dtypes, torch.Size, collections.OrderedDict, the
//     copyreg/_codecs helpers plain pickles use, numpy scalars: what torch's
//     weights_only unpickler allows, given our own meaning;
//   - classes (capitalised names) from any module not refused below — the
//     nn.Module trees torch.nn.*, torchvision.*, ultralytics.*, a YOLOv5 repo's
//     models.*, a script's __main__.* — become inert PyObjects, so a whole-module
//     pickle can be walked for its state dict; lower-case names resolve but
//     calling them is refused;
//   - refused outright (ERR_TG_FORMAT naming module.name): builtins other than
//     the containers, os/posix/subprocess/sys and the other modules that reach
//     the system or the interpreter, eval/exec/getattr-like names anywhere, and
//     torch/numpy functions outside the list above.
// Dicts are Maps in the tree readTorchCheckpoint returns; tensors are Tensors,
// complex and quantized ones UnsupportedTensor markers. Tensors that view one
// storage share its memory, as in PyTorch; strided views are copied.
import yauzl from 'yauzl';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { tgError } from '../errors.js';
import { Tensor, type AnyTensorData } from '../tensor.js';
import { allocate, STORED_TARGET, storedArray, storedView, widenStored, type StoredArray } from './convert.js';
import { inertObject, isTruncation, PyGlobal, PyObject, setAttribute, unpickleAt, type UnpickleOptions } from './pickle.js';
import { ioError, openForRead, readAt, setEntry, STORED_SIZE, type StoredDType, type TensorInfo, type WeightFormat } from './types.js';

export type TorchFormat = Exclude<WeightFormat, 'safetensors'>;

/** The first pickle of a legacy torch.save file. */
export const TORCH_MAGIC = 0x1950a86a20f9469cfc6cn;
const TORCH_PROTOCOL_VERSION = 1001;

/** A tensor tensorgraft cannot hold (complex, quantized, sparse, meta); reading it as weights fails naming its key. */
export class UnsupportedTensor {
  constructor(
    readonly kind: string,
    readonly dtype: string,
    readonly shape: number[],
  ) {}
}

const storedDTypes = new WeakMap<Tensor, StoredDType>();

/** The dtype a tensor read by this module had in its file (f64 for one read as f32, ...). */
export function storedDTypeOf(t: Tensor): StoredDType | undefined {
  return storedDTypes.get(t);
}

// ---------------------------------------------------------------- storages

class Storage {
  data?: ArrayBuffer;
  used = false;

  constructor(
    readonly key: string,
    readonly dtype: StoredDType,
    readonly numel: number,
    readonly root?: Storage,
    readonly offset = 0,
  ) {}

  get base(): Storage {
    return this.root ?? this;
  }
}

/** A storage class named in a pickle (torch.FloatStorage, ...), with its element type. */
class StorageType extends PyGlobal {
  constructor(module: string, name: string, readonly dtype: StoredDType) {
    super(module, name);
  }
}

const STORAGE_DTYPES: Record<string, StoredDType> = {
  FloatStorage: 'f32', DoubleStorage: 'f64', HalfStorage: 'f16', BFloat16Storage: 'bf16',
  LongStorage: 'i64', IntStorage: 'i32', ShortStorage: 'i16', CharStorage: 'i8',
  ByteStorage: 'u8', BoolStorage: 'bool', UntypedStorage: 'u8',
  ComplexHalfStorage: 'c32', ComplexFloatStorage: 'c64', ComplexDoubleStorage: 'c128',
  QInt8Storage: 'qint8', QUInt8Storage: 'quint8', QInt32Storage: 'qint32',
  QUInt4x2Storage: 'quint4x2', QUInt2x4Storage: 'quint2x4',
  Float8_e4m3fnStorage: 'f8_e4m3', Float8_e5m2Storage: 'f8_e5m2',
};

interface Pending {
  tensor: Tensor;
  storage: Storage;
  offset: number;
  size: number[];
  stride: number[];
  numel: number;
}

/** What one file's unpickling collects: storages by key and the tensors waiting for their data. */
interface Context {
  where: string;
  storages: Map<string, Storage>;
  views: Map<string, Storage>;
  pending: Pending[];
}

function newContext(where: string): Context {
  return { where, storages: new Map(), views: new Map(), pending: [] };
}

function formatError(where: string, message: string): Error {
  return tgError('ERR_TG_FORMAT', `${where}: ${message}`);
}

function isIndex(v: unknown, max = 2 ** 48): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max;
}

function describeValue(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return `a tuple of ${v.length}`;
  if (v instanceof PyGlobal) return v.qualifiedName;
  if (v instanceof PyObject) return `a ${v.__class__}`;
  if (v instanceof Map) return 'a dict';
  if (v instanceof Tensor) return `a ${v.dtype} tensor`;
  return typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : typeof v;
}

/** Registers the root storage `key`, or checks that an earlier one agrees. */
function rootStorage(ctx: Context, key: string, dtype: StoredDType, numel: number): Storage {
  const known = ctx.storages.get(key);
  if (known) {
    if (known.dtype !== dtype || known.numel !== numel) {
      throw formatError(ctx.where, `storage '${key}' is declared twice, as ${known.numel} × ${known.dtype} and ${numel} × ${dtype}`);
    }
    return known;
  }
  if (numel * STORED_SIZE[dtype] > Number.MAX_SAFE_INTEGER) throw formatError(ctx.where, `storage '${key}' declares ${numel} elements`);
  const s = new Storage(key, dtype, numel);
  ctx.storages.set(key, s);
  return s;
}

/** A persistent id of the zip format: ('storage', storage_type, key, location, numel). */
function zipPersistentLoad(ctx: Context, pid: unknown): Storage {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length !== 5) {
    throw formatError(ctx.where, `unknown persistent id ${describeValue(pid)} (expected ('storage', type, key, location, numel))`);
  }
  const [, type, key, , numel] = pid;
  if (!(type instanceof StorageType)) throw formatError(ctx.where, `storage id names ${describeValue(type)}, not a storage type`);
  if (typeof key !== 'string' || key.length === 0 || key.length > 64) throw formatError(ctx.where, `storage key ${describeValue(key)} is not a short string`);
  if (!isIndex(numel)) throw formatError(ctx.where, `storage '${key}' has element count ${describeValue(numel)}`);
  return rootStorage(ctx, key, type.dtype, numel);
}

/** A persistent id of the legacy format: a storage (maybe a view of another) or a module class. */
function legacyPersistentLoad(ctx: Context, pid: unknown): unknown {
  if (Array.isArray(pid) && pid[0] === 'module' && pid.length >= 2) return pid[1];
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length !== 6) {
    throw formatError(ctx.where, `unknown persistent id ${describeValue(pid)} (expected ('storage', type, key, location, numel, view))`);
  }
  const [, type, key, , numel, view] = pid;
  if (!(type instanceof StorageType)) throw formatError(ctx.where, `storage id names ${describeValue(type)}, not a storage type`);
  if (typeof key !== 'string' || key.length === 0 || key.length > 64) throw formatError(ctx.where, `storage key ${describeValue(key)} is not a short string`);
  if (!isIndex(numel)) throw formatError(ctx.where, `storage '${key}' has element count ${describeValue(numel)}`);
  const root = rootStorage(ctx, key, type.dtype, numel);
  if (view === null) return root;
  if (!Array.isArray(view) || view.length !== 3) throw formatError(ctx.where, `storage '${key}' has a malformed view ${describeValue(view)}`);
  const [viewKey, offset, viewSize] = view;
  if (typeof viewKey !== 'string' || !isIndex(offset) || !isIndex(viewSize) || offset + viewSize > root.numel) {
    throw formatError(ctx.where, `view of storage '${key}' at ${describeValue(offset)} of ${describeValue(viewSize)} elements lies outside its ${root.numel}`);
  }
  const known = ctx.views.get(viewKey);
  if (known) return known;
  const s = new Storage(viewKey, root.dtype, viewSize, root, offset);
  ctx.views.set(viewKey, s);
  return s;
}

// ---------------------------------------------------------------- tensors

function checkDims(ctx: Context, v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.length > 64 || !v.every((d) => isIndex(d))) {
    throw formatError(ctx.where, `tensor ${what} ${describeValue(v)} is not a list of sizes`);
  }
  return v as number[];
}

/** A tensor viewing `storage`; its data arrives when the storage is read. */
function rebuildTensor(ctx: Context, args: unknown[], fn: string): Tensor | UnsupportedTensor {
  const [storage, offset, sizeArg, strideArg] = args;
  if (!(storage instanceof Storage)) throw formatError(ctx.where, `${fn} got ${describeValue(storage)} instead of a storage`);
  const size = checkDims(ctx, sizeArg, 'size');
  const stride = checkDims(ctx, strideArg, 'stride');
  if (size.length !== stride.length) throw formatError(ctx.where, `tensor size [${size}] and stride [${stride}] differ in length`);
  if (!isIndex(offset)) throw formatError(ctx.where, `tensor storage offset ${describeValue(offset)} is not an index`);
  let numel = 1;
  for (const d of size) {
    numel *= d;
    if (numel > 2 ** 48) throw formatError(ctx.where, `tensor of size [${size}] is too large`);
  }
  const stored = storage.dtype;
  const target = STORED_TARGET[stored];
  if (target === undefined) {
    const kind = stored.startsWith('c') ? 'complex' : 'quantized';
    return new UnsupportedTensor(kind, stored, [...size]);
  }
  if (numel > 0) {
    let last = offset;
    for (let i = 0; i < size.length; i++) last += (size[i] - 1) * stride[i];
    if (last >= storage.numel) {
      throw formatError(
        ctx.where,
        `tensor of size [${size}], stride [${stride}] at offset ${offset} reaches element ${last} of storage '${storage.key}', which holds ${storage.numel}`,
      );
    }
  }
  const t = new Tensor(allocate(target, 0), [...size], target);
  storedDTypes.set(t, stored);
  storage.base.used = true;
  ctx.pending.push({ tensor: t, storage, offset, size, stride, numel });
  return t;
}

function isContiguous(size: number[], stride: number[]): boolean {
  let expected = 1;
  for (let i = size.length - 1; i >= 0; i--) {
    if (size[i] !== 1 && stride[i] !== expected) return false;
    expected *= size[i];
  }
  return true;
}

/** Copies the strided view (start, size, stride) of `src` into a new contiguous array. */
function gather(src: StoredArray, stored: StoredDType, start: number, size: number[], stride: number[], numel: number): StoredArray {
  const out = storedArray(stored, numel);
  const o = out as unknown as { [i: number]: number | bigint };
  const s = src as unknown as { [i: number]: number | bigint };
  const rank = size.length;
  if (rank === 0) {
    o[0] = s[start];
    return out;
  }
  const inner = size[rank - 1];
  const innerStride = stride[rank - 1];
  const idx = new Array<number>(rank).fill(0);
  let at = start;
  let n = 0;
  while (n < numel) {
    for (let j = 0, p = at; j < inner; j++, p += innerStride) o[n++] = s[p];
    let d = rank - 2;
    for (; d >= 0; d--) {
      idx[d]++;
      at += stride[d];
      if (idx[d] < size[d]) break;
      at -= stride[d] * size[d];
      idx[d] = 0;
    }
    if (d < 0) break;
  }
  return out;
}

/** Gives every pending tensor its data: a view of its storage when it can, else a copy. */
function materialize(ctx: Context): void {
  let stored = 0;
  for (const s of ctx.storages.values()) stored += s.numel;
  // Strided views and conversions copy; a file cannot make us copy much more than it holds.
  const budget = 2 * stored + 2 ** 20;
  let copied = 0;
  for (const p of ctx.pending) {
    const base = p.storage.base;
    const dtype = p.tensor.dtype;
    let data: AnyTensorData;
    if (p.numel === 0) data = allocate(dtype, 0);
    else {
      if (!base.data) throw formatError(ctx.where, `storage '${base.key}' has no data`);
      const st = base.dtype;
      const start = p.storage.offset + p.offset;
      const contiguous = isContiguous(p.size, p.stride);
      if (contiguous && STORED_TARGET[st] === st) data = storedView(base.data, start * STORED_SIZE[st], p.numel, st) as AnyTensorData;
      else {
        copied += p.numel;
        if (copied > budget) throw formatError(ctx.where, `strided views would copy more than ${budget} elements, far more than the file holds`);
        const src = contiguous
          ? storedView(base.data, start * STORED_SIZE[st], p.numel, st)
          : gather(storedView(base.data, 0, base.numel, st), st, start, p.size, p.stride, p.numel);
        data = widenStored(src, st);
      }
    }
    (p.tensor as { data: AnyTensorData }).data = data;
  }
}

/** " (conv.weight, ...)": the state-dict names of the tensors viewing storage `s`, for error messages. */
function usersOf(ctx: Context, value: unknown, s: Storage): string {
  const users = new Set<Tensor>();
  for (const p of ctx.pending) if (p.storage.base === s) users.add(p.tensor);
  let names: string[] = [];
  try {
    names = collectStateDict(value, ctx.where).entries.filter(([, t]) => t instanceof Tensor && users.has(t)).map(([n]) => n);
  } catch {
    // no state dict to name them by: the storage key is all there is
  }
  return names.length > 0 ? ` (holding ${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''})` : '';
}

// ---------------------------------------------------------------- globals

const TORCH_DTYPES = new Set([
  'float32', 'float', 'float64', 'double', 'float16', 'half', 'bfloat16', 'int64', 'long', 'int32', 'int',
  'int16', 'short', 'int8', 'uint8', 'bool', 'complex32', 'chalf', 'complex64', 'cfloat', 'complex128', 'cdouble',
  'qint8', 'quint8', 'qint32', 'quint4x2', 'quint2x4', 'uint16', 'uint32', 'uint64', 'float8_e4m3fn', 'float8_e5m2',
  'strided', 'sparse_coo', 'sparse_csr', 'per_tensor_affine', 'per_channel_affine', 'per_channel_affine_float_qparams',
  'contiguous_format', 'channels_last', 'channels_last_3d', 'preserve_format',
]);
const TORCH_TENSOR_CLASSES = new Set([
  'Tensor', 'FloatTensor', 'DoubleTensor', 'HalfTensor', 'BFloat16Tensor', 'LongTensor', 'IntTensor',
  'ShortTensor', 'CharTensor', 'ByteTensor', 'BoolTensor',
]);
/** Module trees under torch whose classes may appear in whole-module pickles. */
const TORCH_CLASS_TREES = ['torch.nn.', 'torch.optim.', 'torch.ao.nn.'];

/** Modules (and their submodules) that reach the system or the interpreter: always refused. */
const DENIED_MODULES = new Set([
  'os', 'posix', 'nt', 'posixpath', 'ntpath', 'subprocess', 'sys', 'shutil', 'importlib', 'runpy', 'pickle',
  '_pickle', 'marshal', 'code', 'codeop', 'ctypes', '_ctypes', 'socket', 'functools', 'operator', '_operator',
  'io', '_io', 'pty', 'signal', 'webbrowser', 'multiprocessing', 'threading', '_thread', 'asyncio', 'pdb', 'bdb',
  'timeit', 'tempfile', 'urllib', 'http', 'inspect', 'gc', 'sysconfig', 'site', 'zipimport', 'pkgutil',
  'cProfile', 'profile', 'trace', 'dill', 'cloudpickle', 'joblib', 'shelve', 'dbm', 'sqlite3', 'smtplib',
  'ftplib', 'telnetlib', 'xmlrpc', 'ssl', 'select', 'selectors', 'mmap', 'resource', 'fcntl', 'termios',
  'builtins', 'types', 'distutils', 'setuptools', 'pip', 'venv', 'ensurepip', 'idlelib',
  'tkinter', 'turtle', 'glob', 'fileinput', 'zipfile', 'tarfile', 'lzma', 'bz2', 'gzip', 'zlib', 'pydoc',
]);
/** Names refused in any module: they evaluate code or reach attributes by name. */
const DENIED_NAMES = new Set([
  'eval', 'exec', 'compile', 'execfile', 'getattr', 'setattr', 'delattr', '__import__', 'import_module', 'open',
  'system', 'popen', 'spawn', 'call', 'run', 'check_output', 'check_call', 'load', 'loads', 'globals',
  'locals', 'vars', 'input', 'breakpoint', 'attrgetter', 'methodcaller', 'apply', 'partial', 'runstring',
]);

const ALLOWED_BUILTINS: Record<string, (args: unknown[]) => unknown> = {
  set: (a) => new Set(iterable(a[0])),
  frozenset: (a) => new Set(iterable(a[0])),
  bytearray: (a) => (a[0] instanceof Uint8Array ? a[0].slice() : new Uint8Array(0)),
  slice: (a) => inertObject('builtins.slice', a),
  range: (a) => inertObject('builtins.range', a),
  complex: (a) => inertObject('builtins.complex', a),
};
/** Builtins that may be named but not called (copyreg._reconstructor's base classes). */
const BUILTIN_MARKERS = new Set(['object', 'dict', 'list', 'tuple', 'int', 'float', 'str', 'bytes', 'bool']);

/** Plain-data classes common in checkpoints' side entries ('args', 'date', ...). */
const DATA_CLASSES = new Set([
  'argparse.Namespace', 'types.SimpleNamespace', 'pathlib.Path', 'pathlib.PosixPath', 'pathlib.WindowsPath',
  'pathlib.PurePath', 'pathlib.PurePosixPath', 'pathlib.PureWindowsPath', 'datetime.datetime', 'datetime.date',
  'datetime.time', 'datetime.timedelta', 'datetime.timezone', 'decimal.Decimal', 'uuid.UUID', 'fractions.Fraction',
  'numpy.dtype', 'numpy.ndarray',
]);

function iterable(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v instanceof Set) return [...v];
  if (v instanceof Map) return [...v.keys()];
  return [];
}

function isTensorLike(v: unknown): v is Tensor | UnsupportedTensor {
  return v instanceof Tensor || v instanceof UnsupportedTensor;
}

/** A class that becomes an inert object when instantiated or called. */
function inertClass(module: string, name: string): PyGlobal {
  const cls = `${module}.${name}`;
  return new PyGlobal(module, name, {
    create: () => new PyObject(cls),
    call: (args) => inertObject(cls, args),
  });
}

/** A name that resolves but may only be instantiated (NEWOBJ), never called. */
function creatableOnly(module: string, name: string): PyGlobal {
  const cls = `${module}.${name}`;
  return new PyGlobal(module, name, { create: () => new PyObject(cls) });
}

function decodeNumpyScalar(args: unknown[]): unknown {
  const [dtype, raw] = args;
  const code = dtype instanceof PyObject && Array.isArray(dtype.__args__) ? dtype.__args__[0] : undefined;
  const state = dtype instanceof PyObject ? dtype.__state__ : undefined;
  const order = Array.isArray(state) ? state[1] : '<';
  if (!(raw instanceof Uint8Array) || typeof code !== 'string' || order === '>') return inertObject('numpy.generic', args);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const sizes: Record<string, [number, (o: number) => unknown]> = {
    f8: [8, (o) => v.getFloat64(o, true)],
    f4: [4, (o) => v.getFloat32(o, true)],
    i8: [8, (o) => { const b = v.getBigInt64(o, true); return Number.isSafeInteger(Number(b)) ? Number(b) : b; }],
    i4: [4, (o) => v.getInt32(o, true)],
    i2: [2, (o) => v.getInt16(o, true)],
    i1: [1, (o) => v.getInt8(o)],
    u1: [1, (o) => v.getUint8(o)],
    b1: [1, (o) => v.getUint8(o) !== 0],
  };
  const entry = Object.hasOwn(sizes, code) ? sizes[code] : undefined;
  if (!entry || raw.byteLength !== entry[0]) return inertObject('numpy.generic', args);
  return entry[1](0);
}

function toBytes(where: string, args: unknown[]): Uint8Array {
  const [text, encoding] = args;
  if (typeof text !== 'string') throw formatError(where, '_codecs.encode got something that is not a string');
  const enc = typeof encoding === 'string' ? encoding.toLowerCase() : 'utf-8';
  if (enc === 'latin1' || enc === 'latin-1' || enc === 'iso-8859-1') {
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
    return out;
  }
  if (enc === 'utf-8' || enc === 'utf8') return new TextEncoder().encode(text);
  throw formatError(where, `_codecs.encode with encoding ${JSON.stringify(enc)} is not supported`);
}

/** The globals a torch checkpoint may name, with what calling each of them makes. */
function torchGlobals(ctx: Context): (module: string, name: string) => unknown {
  const rebuild = (fn: string) => (args: unknown[]) => rebuildTensor(ctx, args, fn);
  // The storage (first argument) of a quantized tensor tells its element type; the size is third.
  const unsupported = (kind: string) => (args: unknown[]) =>
    args[0] instanceof Storage
      ? new UnsupportedTensor(kind, args[0].dtype, Array.isArray(args[2]) && args[2].every((d) => isIndex(d)) ? [...args[2]] : [])
      : new UnsupportedTensor(kind, kind, []);
  const firstTensor = (args: unknown[]) => {
    if (!isTensorLike(args[0])) throw formatError(ctx.where, `a parameter wraps ${describeValue(args[0])} instead of a tensor`);
    return args[0];
  };
  const fromType = (args: unknown[]) => {
    const [fn, , fnArgs] = args;
    if (!(fn instanceof PyGlobal) || !fn.hooks.call || !Array.isArray(fnArgs)) {
      throw formatError(ctx.where, `_rebuild_from_type got ${describeValue(fn)} instead of a rebuild function`);
    }
    return fn.hooks.call(fnArgs);
  };
  const special: Record<string, (args: unknown[]) => unknown> = {
    'torch._utils._rebuild_tensor': rebuild('_rebuild_tensor'),
    'torch._utils._rebuild_tensor_v2': rebuild('_rebuild_tensor_v2'),
    'torch._utils._rebuild_parameter': firstTensor,
    'torch._utils._rebuild_parameter_with_state': firstTensor,
    'torch._tensor._rebuild_from_type': fromType,
    'torch._tensor._rebuild_from_type_v2': fromType,
    'torch.tensor._rebuild_from_type': fromType,
    'torch.tensor._rebuild_from_type_v2': fromType,
    'torch._utils._rebuild_qtensor': unsupported('quantized'),
    'torch._utils._rebuild_sparse_tensor': unsupported('sparse'),
    'torch._utils._rebuild_sparse_csr_tensor': unsupported('sparse'),
    'torch._utils._rebuild_meta_tensor_no_storage': unsupported('meta'),
    'torch._utils._rebuild_device_tensor_from_numpy': unsupported('numpy-backed'),
    'torch._utils._rebuild_xla_tensor': unsupported('xla'),
    'torch._utils._rebuild_wrapper_subclass': unsupported('wrapper-subclass'),
    'torch._utils._rebuild_nested_tensor': unsupported('nested'),
    'torch.nn.parameter.Parameter': firstTensor,
    'torch.Size': (a) => [...iterable(a[0])],
    'torch.device': (a) => (typeof a[0] === 'string' ? a[0] : inertObject('torch.device', a)),
    'torch.serialization._get_layout': (a) => a[0],
    'collections.OrderedDict': (a) => orderedDict(a[0]),
    'collections.defaultdict': () => new Map(),
    '_codecs.encode': (a) => toBytes(ctx.where, a),
    'copyreg._reconstructor': (a) => reconstruct(ctx, a),
    'copyreg.__newobj__': (a) => instantiate(ctx, a[0], a.slice(1), null),
    'copyreg.__newobj_ex__': (a) => instantiate(ctx, a[0], iterable(a[1]), a[2] instanceof Map ? a[2] : null),
    'numpy.core.multiarray.scalar': decodeNumpyScalar,
    'numpy._core.multiarray.scalar': decodeNumpyScalar,
    'numpy.core.multiarray._reconstruct': (a) => inertObject('numpy.ndarray', a),
    'numpy._core.multiarray._reconstruct': (a) => inertObject('numpy.ndarray', a),
  };
  const creatable: Record<string, () => unknown> = {
    'collections.OrderedDict': () => new Map(),
    'collections.defaultdict': () => new Map(),
    'torch.nn.parameter.Parameter': () => new PyObject('torch.nn.parameter.Parameter'),
  };

  return (module, name) => {
    const full = `${module}.${name}`;
    const refuse = (why: string) => formatError(ctx.where, `refused global ${full}: ${why}`);
    if ((module === 'torch' || module === 'torch.cuda' || module === 'torch.storage') && Object.hasOwn(STORAGE_DTYPES, name)) {
      return new StorageType(module, name, STORAGE_DTYPES[name]);
    }
    if (Object.hasOwn(special, full)) {
      const create = Object.hasOwn(creatable, full) ? creatable[full] : undefined;
      return new PyGlobal(module, name, { call: special[full], create: create && (() => create()) });
    }
    if ((module === 'torch' && (TORCH_DTYPES.has(name) || TORCH_TENSOR_CLASSES.has(name))) ||
        (module === 'torch.cuda' && TORCH_TENSOR_CLASSES.has(name)) || full === 'torch._tensor.Tensor') {
      return new PyGlobal(module, name);
    }
    const root = module.split('.')[0];
    if (module === 'builtins') {
      if (Object.hasOwn(ALLOWED_BUILTINS, name)) return new PyGlobal(module, name, { call: ALLOWED_BUILTINS[name] });
      if (BUILTIN_MARKERS.has(name)) return new PyGlobal(module, name, { create: () => new PyObject(full) });
      throw refuse('a builtin that a weight file never needs');
    }
    if (DATA_CLASSES.has(full)) return inertClass(module, name);
    if (DENIED_MODULES.has(root) || DENIED_NAMES.has(name) || name.startsWith('__')) {
      throw refuse('it reaches the system or the interpreter');
    }
    if (root === 'torch' || root === 'numpy') {
      if (!TORCH_CLASS_TREES.some((p) => full.startsWith(p))) throw refuse(`not one of the ${root} names a checkpoint may use`);
    }
    return /^[A-Z]/.test(name) ? inertClass(module, name) : creatableOnly(module, name);
  };
}

function orderedDict(items: unknown): Map<unknown, unknown> {
  const m = new Map<unknown, unknown>();
  if (items instanceof Map) for (const [k, v] of items) m.set(k, v);
  else for (const pair of iterable(items)) if (Array.isArray(pair) && pair.length === 2) m.set(pair[0], pair[1]);
  return m;
}

function instantiate(ctx: Context, cls: unknown, args: unknown[], kwargs: Map<unknown, unknown> | null): unknown {
  if (!(cls instanceof PyGlobal) || !cls.hooks.create) throw formatError(ctx.where, `cannot instantiate ${describeValue(cls)}`);
  return cls.hooks.create(args, kwargs);
}

/** copyreg._reconstructor(cls, base, state): protocol 0/1's way to make an object. */
function reconstruct(ctx: Context, args: unknown[]): unknown {
  const [cls, , state] = args;
  const obj = instantiate(ctx, cls, [], null);
  if (obj instanceof PyObject && state instanceof Map) setAttribute(obj, '__items__', state);
  return obj;
}

/** Refuses every global: for the small pickles (magic number, sys_info, keys) that need none. */
function noGlobals(where: string): (module: string, name: string) => unknown {
  return (module, name) => {
    throw formatError(where, `refused global ${module}.${name}: this pickle holds plain values only`);
  };
}

// ---------------------------------------------------------------- reading pickles from a file

/** Reads successive pickles from a file region, reading more of it when one runs past what was read. */
class PickleStream {
  constructor(
    private readonly fh: FileHandle,
    private readonly path: string,
    public pos: number,
    private readonly end: number,
  ) {}

  async next(opts: UnpickleOptions, beforeTry?: () => void): Promise<unknown> {
    let window = Math.min(this.end - this.pos, 1 << 16);
    for (;;) {
      const bytes = await readAt(this.fh, this.path, this.pos, window);
      beforeTry?.();
      try {
        const { value, end } = unpickleAt(bytes, 0, opts);
        this.pos += end;
        return value;
      } catch (err) {
        if (isTruncation(err) && bytes.length === window && window < this.end - this.pos) {
          window = Math.min(this.end - this.pos, window * 4);
          continue;
        }
        throw err;
      }
    }
  }
}

/** A little-endian int64 count at `pos`, checked to be a non-negative safe integer. */
async function readCount(fh: FileHandle, path: string, pos: number, end: number, what: string): Promise<number> {
  if (pos + 8 > end) throw formatError(path, `file ends at ${end} inside ${what} at offset ${pos}`);
  const b = await readAt(fh, path, pos, 8);
  if (b.length < 8) throw formatError(path, `file ends inside ${what} at offset ${pos}`);
  const v = new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, true);
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw formatError(path, `${what} at offset ${pos} is ${v}`);
  return Number(v);
}

/** Reads `bytes` bytes at `pos` into a new ArrayBuffer, or fails naming what was cut short. */
async function readStorage(fh: FileHandle, path: string, pos: number, bytes: number, what: string): Promise<ArrayBuffer> {
  const buf = new ArrayBuffer(bytes);
  const got = await readAt(fh, path, pos, bytes, new Uint8Array(buf));
  if (got.length !== bytes) throw formatError(path, `file is truncated: ${what} at offset ${pos} needs ${bytes} bytes, got ${got.length}`);
  return buf;
}

// ---------------------------------------------------------------- the three formats

interface Loaded {
  value: unknown;
  ctx: Context;
}

async function loadLegacy(fh: FileHandle, path: string, size: number, withData: boolean): Promise<Loaded> {
  const stream = new PickleStream(fh, path, 0, size);
  const plain = { findClass: noGlobals(path), where: path };
  const magic = await stream.next(plain);
  if (magic !== TORCH_MAGIC) throw formatError(path, 'not a torch.save file (wrong magic number)');
  const protocol = await stream.next(plain);
  if (protocol !== TORCH_PROTOCOL_VERSION) throw formatError(path, `torch.save protocol ${String(protocol)} is not ${TORCH_PROTOCOL_VERSION}`);
  const sysInfo = await stream.next(plain);
  if (sysInfo instanceof Map && sysInfo.get('little_endian') === false) {
    throw formatError(path, 'was written on a big-endian machine; only little-endian files are supported');
  }
  // A pickle cut short by the read window is parsed again from scratch, with fresh storages.
  let ctx = newContext(path);
  let findClass = torchGlobals(ctx);
  const value = await stream.next(
    {
      findClass: (m, n) => findClass(m, n),
      persistentLoad: (pid) => legacyPersistentLoad(ctx, pid),
      where: path,
    },
    () => {
      ctx = newContext(path);
      findClass = torchGlobals(ctx);
    },
  );
  const keys = await stream.next(plain);
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw formatError(path, 'the storage key list is not a list of strings');
  let pos = stream.pos;
  const seen = new Set<string>();
  for (const key of keys as string[]) {
    const storage = ctx.storages.get(key);
    if (!storage) throw formatError(path, `storage key '${key}' at offset ${pos} is not used by the pickled object`);
    if (seen.has(key)) throw formatError(path, `storage key '${key}' is listed twice`);
    seen.add(key);
    // Named by the tensors it holds, worked out only when something is wrong.
    const label = () => `storage '${key}'${usersOf(ctx, value, storage)}`;
    const numel = await readCount(fh, path, pos, size, `the element count of storage '${key}'`);
    if (numel !== storage.numel) throw formatError(path, `${label()} at offset ${pos} holds ${numel} elements but the pickle declares ${storage.numel}`);
    const bytes = numel * STORED_SIZE[storage.dtype];
    if (pos + 8 + bytes > size) {
      throw formatError(path, `file is truncated: ${label()} at offset ${pos + 8} needs ${bytes} bytes but the file ends at ${size}`);
    }
    if (withData && storage.used) storage.data = await readStorage(fh, path, pos + 8, bytes, `storage '${key}'`);
    pos += 8 + bytes;
  }
  for (const s of ctx.storages.values()) {
    if (s.used && !seen.has(s.key)) throw formatError(path, `storage '${s.key}'${usersOf(ctx, value, s)} is used by a tensor but its data is not in the file`);
  }
  return { value, ctx };
}

/**
 * yauzl's access to the file. Every read is checked against the file's size
 * first: yauzl trusts the offsets a zip declares, and fs.read throws (outside
 * any callback yauzl could catch) for one past 2^53.
 */
class CheckedReader extends yauzl.RandomAccessReader {
  constructor(
    private readonly fh: FileHandle,
    private readonly path: string,
    private readonly size: number,
  ) {
    super();
  }

  private rangeError(start: number, end: number): Error | undefined {
    if (Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= this.size) return undefined;
    return formatError(this.path, `zip points at bytes ${start}..${end}, outside the file's ${this.size}`);
  }

  /**
   * Small reads (yauzl's directory entries and record headers, a few dozen
   * bytes each) are served from the last few 64 KiB blocks read, which saves
   * a thread-pool round trip per entry.
   */
  private blocks: { start: number; bytes: Buffer }[] = [];

  /** Copies bytes at `position` into `out` if a cached block holds them all. */
  copyCached(position: number, out: Uint8Array): boolean {
    const hit = this.blocks.find((b) => position >= b.start && position + out.length <= b.start + b.bytes.length);
    if (!hit) return false;
    out.set(hit.bytes.subarray(position - hit.start, position - hit.start + out.length));
    return true;
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    const bad = this.rangeError(position, position + length);
    if (bad) {
      queueMicrotask(() => callback(bad));
      return;
    }
    const target = buffer.subarray(offset, offset + length);
    if (length <= 4096 && this.copyCached(position, target)) {
      queueMicrotask(() => callback(null));
      return;
    }
    const small = length <= 4096;
    const n = small ? Math.min(1 << 16, this.size - position) : length;
    const into = small ? Buffer.allocUnsafe(n) : target;
    readAt(this.fh, this.path, position, n, into).then(
      (got) => {
        if (got.length < length) {
          callback(formatError(this.path, `file ends inside the zip structure at ${position}`));
          return;
        }
        if (small) {
          this.blocks.unshift({ start: position, bytes: Buffer.from(got.buffer, got.byteOffset, got.length) });
          this.blocks.length = Math.min(this.blocks.length, 4);
          target.set(got.subarray(0, length));
        }
        callback(null);
      },
      (err: unknown) => callback(ioError(this.path, err)),
    );
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const bad = this.rangeError(start, end);
    let pos = start;
    const fh = this.fh;
    const path = this.path;
    const stream = new Readable({
      read() {
        if (pos >= end) {
          this.push(null);
          return;
        }
        const n = Math.min(1 << 20, end - pos);
        const buf = Buffer.allocUnsafe(n);
        fh.read(buf, 0, n, pos).then(
          ({ bytesRead }) => {
            if (bytesRead === 0) {
              this.destroy(formatError(path, `file ends at ${pos}, inside a zip record`));
              return;
            }
            pos += bytesRead;
            this.push(bytesRead < n ? buf.subarray(0, bytesRead) : buf);
          },
          (err: unknown) => this.destroy(ioError(path, err)),
        );
      },
    });
    if (bad) queueMicrotask(() => stream.destroy(bad));
    return stream;
  }

  /** Reads straight into `out` (a record's own buffer), bypassing yauzl. */
  readInto(position: number, out: Uint8Array): Promise<Uint8Array> {
    return readAt(this.fh, this.path, position, out.length, out);
  }

  override close(callback: (err: Error | null) => void): void {
    callback(null); // the caller closes the file
  }
}

function openZip(reader: CheckedReader, path: string, size: number): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromRandomAccessReader(reader, size, { lazyEntries: true, autoClose: false }, (err, zip) => {
      if (err || !zip) reject(zipError(path, err));
      else {
        zip.on('error', () => {}); // errors are taken where each request is made; a late one must not be uncaught
        resolve(zip);
      }
    });
  });
}

function zipError(path: string, err: unknown): Error {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  if (err instanceof Error && typeof code === 'string' && code.startsWith('ERR_TG_')) return err;
  if (err instanceof Error && typeof code === 'string' && /^E[A-Z]+$/.test(code)) return ioError(path, err);
  return formatError(path, `malformed zip: ${err instanceof Error ? err.message : String(err)}`);
}

function listZip(path: string, zip: yauzl.ZipFile): Promise<Map<string, yauzl.Entry>> {
  return new Promise((resolve, reject) => {
    const entries = new Map<string, yauzl.Entry>();
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entries.has(entry.fileName)) {
        reject(formatError(path, `zip holds two records named ${entry.fileName}`));
        return;
      }
      entries.set(entry.fileName, entry);
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', (err: unknown) => reject(zipError(path, err)));
    zip.readEntry();
  });
}

/** One zip record's bytes in a new ArrayBuffer, sized from the record's declared length once that is checked. */
async function readZipEntry(reader: CheckedReader, path: string, zip: yauzl.ZipFile, entry: yauzl.Entry, fileSize: number): Promise<ArrayBuffer> {
  const name = entry.fileName;
  const size = entry.uncompressedSize;
  if (entry.compressedSize > fileSize) throw formatError(path, `record ${name} claims ${entry.compressedSize} bytes, more than the file holds`);
  if (entry.compressionMethod === 0) {
    if (size !== entry.compressedSize) throw formatError(path, `stored record ${name} declares ${size} bytes but holds ${entry.compressedSize}`);
  } else if (entry.compressionMethod === 8) {
    // Deflate expands at most 1032:1; a larger claim is a lie we must not allocate for.
    if (size > entry.compressedSize * 1032 + 1024) throw formatError(path, `compressed record ${name} claims ${size} bytes from ${entry.compressedSize}`);
  } else throw formatError(path, `record ${name} uses compression method ${entry.compressionMethod}, which is not supported`);
  if (entry.isEncrypted()) throw formatError(path, `record ${name} is encrypted`);
  const buf = new ArrayBuffer(size);
  const out = new Uint8Array(buf);
  try {
    if (entry.compressionMethod === 0) {
      // Stored (what torch.save writes): read the bytes straight into place.
      const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
      if (fileDataStart + size > fileSize) {
        throw formatError(path, `file is truncated: record ${name} at offset ${fileDataStart} needs ${size} bytes, the file ends at ${fileSize}`);
      }
      if (reader.copyCached(fileDataStart, out)) return buf;
      const got = await reader.readInto(fileDataStart, out);
      if (got.length !== size) throw formatError(path, `file is truncated: record ${name} at offset ${fileDataStart} holds ${got.length} of its ${size} bytes`);
      return buf;
    }
    const stream = await zip.openReadStreamPromise(entry);
    let filled = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (filled + chunk.length > size) throw formatError(path, `record ${name} holds more than its declared ${size} bytes`);
      out.set(chunk, filled);
      filled += chunk.length;
    }
    if (filled !== size) throw formatError(path, `file is truncated: record ${name} holds ${filled} of its ${size} bytes`);
  } catch (err) {
    throw zipError(path, err);
  }
  return buf;
}

async function loadZip(fh: FileHandle, path: string, size: number, withData: boolean): Promise<Loaded> {
  const reader = new CheckedReader(fh, path, size);
  const zip = await openZip(reader, path, size);
  try {
    const entries = await listZip(path, zip);
    let pkl: yauzl.Entry | undefined;
    for (const [name, e] of entries) {
      if ((name === 'data.pkl' || name.endsWith('/data.pkl')) && (!pkl || name.length < pkl.fileName.length)) pkl = e;
    }
    if (!pkl) throw formatError(path, 'zip has no data.pkl record: not a torch.save file');
    const prefix = pkl.fileName.slice(0, -'data.pkl'.length);
    if (entries.has(`${prefix}constants.pkl`)) throw formatError(path, 'is a TorchScript archive (torch.jit.save); save its state_dict() with torch.save instead');
    const order = entries.get(`${prefix}byteorder`);
    if (order) {
      if (order.uncompressedSize > 16) throw formatError(path, `record ${order.fileName} is too long`);
      const text = new TextDecoder().decode(await readZipEntry(reader, path, zip, order, size)).trim();
      if (text === 'big') throw formatError(path, 'was written on a big-endian machine; only little-endian files are supported');
      if (text !== 'little') throw formatError(path, `record ${order.fileName} says ${JSON.stringify(text.slice(0, 16))}, not 'little'`);
    }
    const where = `${path} (${pkl.fileName})`;
    const ctx = newContext(where);
    const bytes = new Uint8Array(await readZipEntry(reader, path, zip, pkl, size));
    const findClass = torchGlobals(ctx);
    const { value } = unpickleAt(bytes, 0, { findClass, persistentLoad: (pid) => zipPersistentLoad(ctx, pid), where });
    ctx.where = path;
    for (const s of ctx.storages.values()) {
      const name = `${prefix}data/${s.key}`;
      const entry = entries.get(name);
      const users = () => usersOf(ctx, value, s);
      if (!entry) throw formatError(path, `record ${name}${users()} is missing`);
      const bytesNeeded = s.numel * STORED_SIZE[s.dtype];
      if (entry.uncompressedSize !== bytesNeeded) {
        throw formatError(path, `record ${name}${users()} holds ${entry.uncompressedSize} bytes but its storage declares ${s.numel} × ${s.dtype} = ${bytesNeeded}`);
      }
      if (withData && s.used) {
        try {
          s.data = await readZipEntry(reader, path, zip, entry, size);
        } catch (err) {
          const e = err as Error & { code?: string };
          throw e.code === 'ERR_TG_FORMAT' ? tgError('ERR_TG_FORMAT', `${e.message}${users()}`) : e;
        }
      }
    }
    return { value, ctx };
  } finally {
    zip.close();
  }
}

interface TarMember {
  offset: number;
  size: number;
}

function cString(b: Uint8Array, start: number, len: number): string {
  let end = start;
  while (end < start + len && b[end] !== 0) end++;
  return new TextDecoder('latin1').decode(b.subarray(start, end));
}

function octal(b: Uint8Array, start: number, len: number): number {
  const s = cString(b, start, len).trim();
  return /^[0-7]{1,12}$/.test(s) ? parseInt(s, 8) : NaN;
}

/** The members of a tar file (POSIX ustar, with pax and GNU long names) by name. */
async function listTar(fh: FileHandle, path: string, size: number): Promise<Map<string, TarMember>> {
  const members = new Map<string, TarMember>();
  let pos = 0;
  let longName: string | undefined;
  let paxSize: number | undefined;
  for (let count = 0; pos + 512 <= size; count++) {
    if (count > 10000) throw formatError(path, 'tar file has too many members');
    const h = await readAt(fh, path, pos, 512);
    if (h.every((x) => x === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    if (octal(h, 148, 8) !== sum) throw formatError(path, `tar header at offset ${pos} has a bad checksum`);
    const type = String.fromCharCode(h[156] || 0x30);
    let memberSize = octal(h, 124, 12);
    if (paxSize !== undefined) memberSize = paxSize;
    if (!Number.isSafeInteger(memberSize) || pos + 512 + memberSize > size) {
      throw formatError(path, `tar member at offset ${pos} runs past the end of the file`);
    }
    const prefix = cString(h, 257, 6) === 'ustar' ? cString(h, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${cString(h, 0, 100)}` : cString(h, 0, 100));
    const dataAt = pos + 512;
    longName = undefined;
    paxSize = undefined;
    if (type === 'x' || type === 'L') {
      if (memberSize > 1 << 20) throw formatError(path, `tar extended header at offset ${pos} is too long`);
      const text = new TextDecoder().decode(await readAt(fh, path, dataAt, memberSize));
      if (type === 'L') longName = text.replace(/\0+$/, '');
      else {
        for (const rec of text.split('\n')) {
          const m = /^\d+ (\w+)=(.*)$/.exec(rec);
          if (m?.[1] === 'path') longName = m[2];
          if (m?.[1] === 'size') paxSize = /^\d{1,15}$/.test(m[2]) ? Number(m[2]) : NaN;
        }
      }
    } else if (type === '0' || type === '7') {
      members.set(name.replace(/^\.\//, ''), { offset: dataAt, size: memberSize });
    }
    pos = dataAt + Math.ceil(memberSize / 512) * 512;
  }
  return members;
}

async function loadTar(fh: FileHandle, path: string, size: number, withData: boolean): Promise<Loaded> {
  const members = await listTar(fh, path, size);
  const member = (name: string) => {
    const m = members.get(name);
    if (!m) throw formatError(path, `tar file has no '${name}' member: not a torch.save checkpoint`);
    return m;
  };
  const ctx = newContext(path);
  const objects = new Map<string, unknown>();
  const findClass = torchGlobals(ctx);
  const opts = { findClass, where: path };

  const sm = member('storages');
  const storages = new PickleStream(fh, path, sm.offset, sm.offset + sm.size);
  const count = await storages.next(opts);
  if (!isIndex(count, sm.size / 8)) throw formatError(path, `storage count ${describeValue(count)} does not fit the 'storages' member`);
  for (let i = 0; i < count; i++) {
    const args = await storages.next(opts);
    if (!Array.isArray(args) || args.length !== 3 || !(args[2] instanceof StorageType)) throw formatError(path, `storage record ${i} is malformed`);
    const key = String(args[0]);
    const dtype = args[2].dtype;
    const numel = await readCount(fh, path, storages.pos, sm.offset + sm.size, `the element count of storage '${key}'`);
    const bytes = numel * STORED_SIZE[dtype];
    const at = storages.pos + 8;
    if (at + bytes > sm.offset + sm.size) throw formatError(path, `file is truncated: storage '${key}' at offset ${at} needs ${bytes} bytes`);
    const s = rootStorage(ctx, key, dtype, numel);
    if (withData && STORED_TARGET[dtype] !== undefined) s.data = await readStorage(fh, path, at, bytes, `storage '${key}'`);
    objects.set(key, s);
    storages.pos = at + bytes;
  }
  const views = await storages.next(opts);
  for (const v of iterable(views)) {
    if (!Array.isArray(v) || v.length !== 4) throw formatError(path, 'a storage view record is malformed');
    const [target, rootKey, offset, numel] = v;
    const root = objects.get(String(rootKey));
    if (!(root instanceof Storage) || !isIndex(offset) || !isIndex(numel) || offset + numel > root.numel) {
      throw formatError(path, `storage view '${String(target)}' does not fit storage '${String(rootKey)}'`);
    }
    objects.set(String(target), new Storage(String(target), root.dtype, numel, root, offset));
  }

  const tm = member('tensors');
  const tensors = new PickleStream(fh, path, tm.offset, tm.offset + tm.size);
  const nTensors = await tensors.next(opts);
  if (!isIndex(nTensors, tm.size / 16)) throw formatError(path, `tensor count ${describeValue(nTensors)} does not fit the 'tensors' member`);
  for (let i = 0; i < nTensors; i++) {
    const args = await tensors.next(opts);
    if (!Array.isArray(args) || args.length !== 3) throw formatError(path, `tensor record ${i} is malformed`);
    const storage = objects.get(String(args[1]));
    const head = await readAt(fh, path, tensors.pos, 8);
    if (head.length < 8) throw formatError(path, `file is truncated inside tensor record ${i}`);
    const ndim = new DataView(head.buffer, head.byteOffset, 8).getInt32(0, true);
    if (ndim < 0 || ndim > 64) throw formatError(path, `tensor record ${i} has ${ndim} dimensions`);
    const dims = await readAt(fh, path, tensors.pos + 8, 16 * ndim + 8);
    if (dims.length < 16 * ndim + 8 || tensors.pos + 16 + 16 * ndim > tm.offset + tm.size) throw formatError(path, `file is truncated inside tensor record ${i}`);
    const dv = new DataView(dims.buffer, dims.byteOffset, dims.byteLength);
    const num = (k: number) => {
      const v = dv.getBigInt64(8 * k, true);
      return v >= 0n && v <= 2n ** 48n ? Number(v) : -1;
    };
    const sizes = Array.from({ length: ndim }, (_, k) => num(k));
    const strides = Array.from({ length: ndim }, (_, k) => num(ndim + k));
    tensors.pos += 16 + 16 * ndim;
    objects.set(String(args[0]), rebuildTensor(ctx, [storage, num(2 * ndim), sizes, strides], 'a tar tensor record'));
  }

  const pm = member('pickle');
  const main = new PickleStream(fh, path, pm.offset, pm.offset + pm.size);
  const value = await main.next({
    findClass,
    where: path,
    persistentLoad: (pid) => {
      if (Array.isArray(pid)) return pid[0]; // a module class with its source
      const key = typeof pid === 'string' || typeof pid === 'number' ? String(Number(pid)) : '';
      if (!objects.has(key)) throw formatError(path, `persistent id ${describeValue(pid)} names no tensor or storage`);
      return objects.get(key);
    },
  });
  return { value, ctx };
}

/** Which torch.save format the first bytes of a file show, if any. */
export function torchFormatOf(head: Uint8Array): TorchFormat | undefined {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 3 && head[3] === 4) return 'torch-zip';
  if (head.length >= 262 && cString(head, 257, 5) === 'ustar') return 'torch-tar';
  try {
    if (unpickleAt(head, 0, { findClass: noGlobals('head') }).value === TORCH_MAGIC) return 'torch-legacy';
  } catch {
    // not a pickle, or not this one
  }
  return undefined;
}

/** Reads a torch file's object tree from an open file whose format is known; without data, tensors keep empty data (for inspection). */
export async function loadTorchFrom(fh: FileHandle, path: string, size: number, format: TorchFormat, withData: boolean): Promise<unknown> {
  let loaded: Loaded;
  if (format === 'torch-zip') loaded = await loadZip(fh, path, size, withData);
  else if (format === 'torch-legacy') loaded = await loadLegacy(fh, path, size, withData);
  else loaded = await loadTar(fh, path, size, withData);
  if (withData) materialize(loaded.ctx);
  return loaded.value;
}

/**
 * The object torch.save wrote to `path` (zip, legacy or tar format): dicts as
 * Maps, lists and tuples as arrays, tensors as Tensors (f64 read as f32,
 * i8/i16 as i32; see storedDTypeOf), objects as inert PyObjects.
 */
export async function readTorchCheckpoint(path: string): Promise<unknown> {
  const { fh, size } = await openForRead(path);
  try {
    const format = torchFormatOf(await readAt(fh, path, 0, Math.min(size, 512)));
    if (!format) throw formatError(path, 'is not a torch.save file (neither zip, legacy pickle nor tar)');
    return await loadTorchFrom(fh, path, size, format, true);
  } finally {
    await fh.close().catch(() => {});
  }
}

// ---------------------------------------------------------------- finding the state dict

type Found = Tensor | UnsupportedTensor;

function isDict(v: unknown): v is Map<unknown, unknown> | Record<string, unknown> {
  if (v instanceof Map) return true;
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function dictEntries(d: Map<unknown, unknown> | Record<string, unknown>): [unknown, unknown][] {
  return d instanceof Map ? [...d.entries()] : Object.entries(d);
}

function dictGet(d: Map<unknown, unknown> | Record<string, unknown>, key: string): unknown {
  if (d instanceof Map) return d.get(key);
  return Object.prototype.hasOwnProperty.call(d, key) ? d[key] : undefined;
}

/** A pickled nn.Module: an object with _parameters and _modules dicts. */
function isModule(v: unknown): v is PyObject {
  return v instanceof PyObject && isDict(v._parameters) && isDict(v._modules);
}

const MAX_MODULE_DEPTH = 256;

/** Module.state_dict(): own parameters, persistent buffers, then children, with dotted names. */
function walkModule(mod: PyObject, prefix: string, out: [string, Found][], ancestors: Set<PyObject>, where: string): void {
  if (ancestors.size > MAX_MODULE_DEPTH) throw formatError(where, `modules nest deeper than ${MAX_MODULE_DEPTH} levels at ${prefix}`);
  ancestors.add(mod);
  const take = (dict: unknown, skip?: Set<unknown>) => {
    if (!isDict(dict)) return;
    for (const [k, v] of dictEntries(dict)) {
      if (v === null || v === undefined || skip?.has(k)) continue;
      if (!isTensorLike(v)) throw formatError(where, `${prefix}${String(k)} is ${describeValue(v)}, not a tensor`);
      out.push([prefix + String(k), v]);
    }
  };
  take(mod._parameters);
  const nonPersistent = mod._non_persistent_buffers_set;
  take(mod._buffers, nonPersistent instanceof Set ? nonPersistent : undefined);
  if (isDict(mod._modules)) {
    for (const [k, child] of dictEntries(mod._modules)) {
      if (!isModule(child) || ancestors.has(child)) continue;
      walkModule(child, `${prefix}${String(k)}.`, out, ancestors, where);
    }
  }
  ancestors.delete(mod);
}

const NESTED_KEYS = ['state_dict', 'model_state_dict', 'model', 'ema', 'module', 'net', 'network'];

/** The state dict's entries (tensors and unsupported markers) inside a checkpoint, with notes on what was chosen. */
export function collectStateDict(obj: unknown, where: string): { entries: [string, Found][]; notes: string[] } {
  const notes: string[] = [];
  let cur = obj;
  let path = 'checkpoint';
  const visited = new Set<unknown>();
  while (isDict(cur) && !visited.has(cur)) {
    visited.add(cur);
    const ema = dictGet(cur, 'ema');
    const model = dictGet(cur, 'model');
    let key: string | undefined;
    if (model !== undefined && (isDict(ema) || isModule(ema))) {
      key = 'ema';
      notes.push(`using ${path}['ema'], as ultralytics does when it is not None; ${path}['model'] is ignored`);
    } else {
      key = NESTED_KEYS.find((k) => {
        const v = dictGet(cur as Map<unknown, unknown>, k);
        return isDict(v) || isModule(v);
      });
      if (key) notes.push(`using ${path}['${key}']`);
    }
    if (!key) break;
    cur = dictGet(cur, key);
    path += `['${key}']`;
  }
  const entries: [string, Found][] = [];
  if (isModule(cur)) {
    notes.push(`state dict of the pickled ${cur.__class__}`);
    walkModule(cur, '', entries, new Set(), where);
    return { entries, notes };
  }
  if (isDict(cur)) {
    const skipped: string[] = [];
    for (const [k, v] of dictEntries(cur)) {
      if (isTensorLike(v)) entries.push([String(k), v]);
      else skipped.push(String(k));
    }
    if (entries.length === 0) {
      const keys = dictEntries(cur).slice(0, 12).map(([k]) => String(k));
      throw formatError(where, `no state dict found: ${path} holds no tensors (keys: ${keys.join(', ') || 'none'})`);
    }
    if (skipped.length > 0) {
      const shown = skipped.slice(0, 8).join(', ') + (skipped.length > 8 ? ', ...' : '');
      notes.push(`skipped ${skipped.length} entr${skipped.length === 1 ? 'y' : 'ies'} of ${path} that are not tensors: ${shown}`);
    }
    return { entries, notes };
  }
  if (cur instanceof Tensor) throw formatError(where, 'holds a single tensor, not a state dict');
  throw formatError(where, `holds ${describeValue(cur)}, not a state dict`);
}

/**
 * The state dict inside a checkpoint object (from readTorchCheckpoint): a bare
 * dict of tensors, one nested under 'state_dict' / 'model_state_dict' /
 * 'model' / 'ema' (ultralytics' preference: 'ema' when not None), or the
 * parameters and persistent buffers of a pickled nn.Module, named as
 * module.state_dict() names them. `where` (the file) is named in errors.
 */
export function extractStateDict(obj: unknown, where: string): { tensors: Record<string, Tensor>; notes: string[] } {
  const { entries, notes } = collectStateDict(obj, where);
  const tensors: Record<string, Tensor> = {};
  const converted: string[] = [];
  for (const [name, t] of entries) {
    if (t instanceof UnsupportedTensor) {
      throw formatError(where, `${name} is a ${t.kind} tensor${t.dtype !== t.kind ? ` (${t.dtype})` : ''}, which tensorgraft cannot load`);
    }
    setEntry(tensors, name, t);
    const stored = storedDTypes.get(t);
    if (stored && stored !== t.dtype) converted.push(`${name}: ${stored} stored as ${t.dtype}`);
  }
  return { tensors, notes: [...notes, ...converted] };
}

/** TensorInfo rows for a checkpoint read without data. */
export function tensorInfos(obj: unknown, where: string): TensorInfo[] {
  return collectStateDict(obj, where).entries.map(([name, t]) => {
    const dtype: string = t instanceof Tensor ? (storedDTypes.get(t) ?? t.dtype) : t.dtype;
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const size = (STORED_SIZE as Record<string, number>)[dtype] ?? 0;
    return { name, shape: [...t.shape], dtype, bytes: numel * size };
  });
}

/** A checkpoint's top-level scalar entries (epoch, date, version, ...) as strings. */
export function checkpointMetadata(obj: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isDict(obj)) return out;
  for (const [k, v] of dictEntries(obj)) {
    if (typeof k !== 'string') continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') setEntry(out, k, String(v));
  }
  return out;
}
