// Weight files: every fixture written by test/parity/weights.py (torch.save zip,
// legacy and tar formats, nested and DDP checkpoints, shared and strided
// storages, fp16/bf16, ultralytics-style whole-module pickles, safetensors)
// must read to exactly the bytes torch.load gave; inspectWeights must describe
// them without reading data; writeSafetensors must match the reference
// writer's bytes and round-trip every dtype; hostile pickles must be refused
// naming the global they tried to use.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  extractStateDict, inspectWeights, PyGlobal, PyObject, readSafetensors, readSafetensorsHeader, readTorchCheckpoint,
  readWeights, toDType, unpickle, writeSafetensors,
} from '../dist/weights/index.js';
import { Tensor } from '../dist/tensor.js';
import { rejection, rng } from './helpers.mjs';

const fixtures = fileURLToPath(new URL('./parity/fixtures/weights/', import.meta.url));
const expected = JSON.parse(readFileSync(join(fixtures, 'weights.json'), 'utf8'));
const tmp = mkdtempSync(join(tmpdir(), 'tg-weights-'));

const ARRAYS = { f32: Float32Array, f16: Uint16Array, bf16: Uint16Array, i32: Int32Array, i64: BigInt64Array, u8: Uint8Array, bool: Uint8Array };
const SIZES = { f32: 4, f16: 2, bf16: 2, i32: 4, i64: 8, u8: 1, bool: 1 };

const bytesOf = (t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

function fromHex({ hex, dtype, shape }) {
  const b = Buffer.from(hex, 'hex');
  const buf = new ArrayBuffer(b.length);
  new Uint8Array(buf).set(b);
  return new Tensor(new ARRAYS[dtype](buf), shape, dtype);
}

/** Bit-exact comparison that names the first differing element. */
function sameTensor(actual, want, label) {
  assert.ok(actual, `${label}: missing`);
  assert.is(actual.dtype, want.dtype, `${label}: dtype`);
  assert.equal(actual.shape, want.shape, `${label}: shape`);
  assert.ok(actual.data instanceof ARRAYS[want.dtype], `${label}: array type ${actual.data.constructor.name}`);
  const got = bytesOf(actual);
  const exp = Buffer.from(want.hex, 'hex');
  if (!got.equals(exp)) {
    let i = 0;
    while (i < got.length && got[i] === exp[i]) i++;
    const e = Math.floor(i / SIZES[want.dtype]);
    assert.unreachable(`${label}: element ${e} differs (bytes ${got.length} vs ${exp.length}; at byte ${i}: ${got[i]} vs ${exp[i]})`);
  }
}

for (const c of expected.cases) {
  test(`readWeights ${c.file}: ${c.format}, every tensor bit-exact`, async () => {
    const w = await readWeights(join(fixtures, c.file));
    assert.is(w.format, c.format);
    assert.equal(Object.keys(w.tensors), c.order, 'names in state_dict order');
    for (const [name, want] of Object.entries(c.tensors)) sameTensor(w.tensors[name], want, `${c.file} ${name}`);
    for (const n of c.notes) assert.ok(w.notes.includes(n), `note "${n}" in ${JSON.stringify(w.notes)}`);
    for (const s of c.notes_include) assert.ok(w.notes.some((n) => n.includes(s)), `a note mentions ${s}: ${JSON.stringify(w.notes)}`);
    assert.equal(w.metadata, c.metadata, 'metadata');
  });

  test(`inspectWeights ${c.file}: names, shapes, stored dtypes, bytes`, async () => {
    const info = await inspectWeights(join(fixtures, c.file));
    assert.is(info.format, c.format);
    assert.equal(info.tensors, c.inspect);
    assert.equal(info.metadata, c.metadata);
  });
}

test('tensors viewing one storage share its memory; strided views are copies', async () => {
  for (const file of ['views.pt', 'views_legacy.pt']) {
    const { tensors: t } = await readWeights(join(fixtures, file));
    assert.ok(t.w.data.buffer === t.w_tail.data.buffer, `${file}: w and w[1:] share a buffer`);
    assert.is(t.w_tail.data.byteOffset, 5 * 4);
    assert.ok(t.w.data.buffer === t.row.data.buffer, `${file}: w[2] is a view`);
    assert.ok(t.w_t.data.buffer !== t.w.data.buffer, `${file}: w.t() is copied`);
  }
});

test('readTorchCheckpoint: dicts are Maps, modules inert objects, side entries plain values', async () => {
  const ckpt = await readTorchCheckpoint(join(fixtures, 'yolo_ema.pt'));
  assert.ok(ckpt instanceof Map);
  const model = ckpt.get('model');
  assert.ok(model instanceof PyObject);
  assert.is(model.__class__, 'ultralytics.nn.tasks.DetectionModel');
  assert.is(model._modules.get('model').__class__, 'torch.nn.modules.container.Sequential');
  assert.equal([...model.names.entries()], [[0, 'cat'], [1, 'dog']]);
  assert.is(model.args.__class__, 'types.SimpleNamespace');
  assert.is(model.args.imgsz, 64);
  assert.ok(model.stride instanceof Tensor);
  assert.is(ckpt.get('best_fitness'), 0.5);
  assert.is(ckpt.get('optimizer'), null);
  assert.equal(ckpt.get('train_args'), new Map([['epochs', 3], ['imgsz', 64]]));
});

test('extractStateDict: plain records, cycles between modules, and no state dict', () => {
  const t = new Tensor(new Float32Array([1, 2]), [2], 'f32');
  assert.equal(Object.keys(extractStateDict({ a: t, epoch: 3 }, 'x').tensors), ['a']);
  const mod = new PyObject('torch.nn.modules.container.Sequential');
  mod._parameters = new Map([['w', t], ['none', null]]);
  mod._buffers = new Map();
  mod._modules = new Map([['self', mod]]);
  const child = new PyObject('torch.nn.modules.linear.Linear');
  Object.assign(child, { _parameters: new Map([['weight', t]]), _buffers: new Map(), _modules: new Map([['up', mod]]) });
  mod._modules.set('0', child);
  const { tensors, notes } = extractStateDict(new Map([['model', mod], ['ema', null]]), 'cyclic.pt');
  assert.equal(Object.keys(tensors), ['w', '0.weight']);
  assert.ok(notes.some((n) => n.includes("checkpoint['model']")));
  const err = (() => { try { extractStateDict(new Map([['epoch', 1], ['args', new Map()]]), 'empty.pt'); } catch (e) { return e; } })();
  assert.is(err?.code, 'ERR_TG_FORMAT');
  assert.match(err.message, /empty\.pt: no state dict found/);
});

test('complex and quantized tensors are refused naming the key; inspect lists them', async () => {
  for (const [file, key] of Object.entries(expected.refusals)) {
    const err = await rejection(() => readWeights(join(fixtures, file)));
    assert.is(err.code, 'ERR_TG_FORMAT');
    assert.ok(err.message.includes(file) && err.message.includes(`${key} is a`), err.message);
  }
  const info = await inspectWeights(join(fixtures, 'complex.pt'));
  assert.equal(info.tensors.map((t) => [t.name, t.dtype, t.bytes]), [['w', 'f32', 8], ['z', 'c64', 16]]);
});

test('writeSafetensors writes the bytes the reference writer writes', async () => {
  const ref = expected.cases.find((c) => c.file === 'reference.safetensors');
  const tensors = Object.fromEntries(Object.entries(ref.writer_input).map(([k, v]) => [k, fromHex(v)]));
  const out = join(tmp, 'ref.safetensors');
  await writeSafetensors(out, tensors, ref.metadata);
  assert.ok(readFileSync(out).equals(readFileSync(join(fixtures, 'reference.safetensors'))));
});

test('writeSafetensors → readSafetensors round-trips every dtype, bit patterns and metadata', async () => {
  const r = rng(7);
  const all16 = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const f32 = new Float32Array(64).map(() => r() * 2 - 1);
  new Uint32Array(f32.buffer).set([0x7fc00001, 0xff800000, 0x00000001, 0x80000000], 0); // NaN payload, -Inf, subnormal, -0
  const tensors = {
    'f32.w': new Tensor(f32, [8, 8], 'f32'),
    f16: new Tensor(all16, [256, 256], 'f16'),
    bf16: new Tensor(all16.slice(), [65536], 'bf16'),
    i32: new Tensor(Int32Array.from([-2147483648, -1, 0, 2147483647]), [2, 2], 'i32'),
    i64: new Tensor(BigInt64Array.from([-(2n ** 63n), -1n, 2n ** 53n + 1n, 2n ** 63n - 1n]), [4], 'i64'),
    u8: new Tensor(Uint8Array.from([0, 1, 128, 255]), [4], 'u8'),
    bool: new Tensor(Uint8Array.from([1, 0, 1]), [3], 'bool'),
    empty: new Tensor(new Float32Array(0), [0, 5], 'f32'),
    scalar: new Tensor(Float32Array.of(2.5), [], 'f32'),
    'ünïcode ✓ 🙂': new Tensor(Float32Array.of(1), [1], 'f32'),
  };
  Object.defineProperty(tensors, '__proto__', { value: new Tensor(Int32Array.of(9), [1], 'i32'), enumerable: true });
  const metadata = { format: 'pt', 'ключ': 'значение "q"', empty: '' };
  const path = join(tmp, 'all.safetensors');
  await writeSafetensors(path, tensors, metadata);
  const back = await readSafetensors(path);
  assert.is(back.format, 'safetensors');
  assert.equal(back.notes, []);
  assert.equal(back.metadata, metadata);
  assert.equal(Object.keys(back.tensors).sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    const b = back.tensors[name];
    assert.is(b.dtype, t.dtype, name);
    assert.equal(b.shape, t.shape, name);
    assert.ok(bytesOf(b).equals(bytesOf(t)), `${name}: bytes`);
  }
  const header = await readSafetensorsHeader(path);
  assert.is(header.dataOffset % 8, 0, 'header padded to 8 bytes');
  const text = readFileSync(path).subarray(8, header.dataOffset).toString('utf8');
  assert.ok(/^\{.*\} {0,7}$/s.test(text), 'JSON then spaces');
  const info = await inspectWeights(path);
  assert.equal(info.tensors.find((t) => t.name === 'bf16'), { name: 'bf16', shape: [65536], dtype: 'bf16', bytes: 131072 });
  // Alignment first (i64, then 4-byte, then 2-byte, then 1-byte dtypes), names within.
  assert.equal(info.tensors.map((t) => t.name).slice(0, 6), ['i64', 'empty', 'f32.w', 'scalar', 'ünïcode ✓ 🙂', '__proto__']);
});

test('writeSafetensors: nothing half-written, bad input refused before any file exists', async () => {
  const t = new Tensor(Float32Array.of(1, 2), [2], 'f32');
  const path = join(tmp, 'atomic.safetensors');
  await writeSafetensors(path, { a: t });
  const before = readFileSync(path);
  let err = await rejection(() => writeSafetensors(path, { a: { data: new Float32Array(2), shape: [2], dtype: 'f16' } }));
  assert.is(err.code, 'ERR_TG_DTYPE');
  err = await rejection(() => writeSafetensors(path, { a: { data: new Float32Array(3), shape: [2], dtype: 'f32' } }));
  assert.is(err.code, 'ERR_TG_SHAPE');
  err = await rejection(() => writeSafetensors(path, { __metadata__: t }));
  assert.is(err.code, 'ERR_TG_ARG');
  err = await rejection(() => writeSafetensors(path, { a: t }, { k: 3 }));
  assert.is(err.code, 'ERR_TG_ARG');
  assert.ok(readFileSync(path).equals(before), 'old file untouched');
  err = await rejection(() => writeSafetensors(join(tmp, 'no', 'such', 'dir.safetensors'), { a: t }));
  assert.is(err.code, 'ERR_TG_IO');
  await writeSafetensors(path, { b: t }, {});
  assert.equal(Object.keys((await readSafetensors(path)).tensors), ['b']);
  assert.equal(readdirSync(tmp).filter((f) => f.endsWith('.tmp')), [], 'no temporary files left');
});

// Legacy torch.save files whose main pickle calls something it must not.
const MAGIC = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
const VERSION = Buffer.from([0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e]);
const SYS_INFO = Buffer.from([0x80, 0x02, 0x7d, 0x2e]);
const str = (s) => { const b = Buffer.from(s); return Buffer.concat([Buffer.from([0x58]), Buffer.from(new Uint32Array([b.length]).buffer), b]); };
const HOSTILE = {
  'os.system': Buffer.concat([Buffer.from('\x80\x02cos\nsystem\n', 'latin1'), str('echo pwned'), Buffer.from([0x85, 0x52, 0x2e])]),
  'builtins.eval': Buffer.concat([Buffer.from('\x80\x02c__builtin__\neval\n', 'latin1'), str('1+1'), Buffer.from([0x85, 0x52, 0x2e])]),
  'posix.system': Buffer.concat([Buffer.from([0x80, 0x04, 0x8c, 5]), Buffer.from('posix'), Buffer.from([0x8c, 6]), Buffer.from('system'),
    Buffer.from([0x93]), str('id'), Buffer.from([0x85, 0x52, 0x2e])]),
  'subprocess.check_output': Buffer.concat([Buffer.from('\x80\x02csubprocess\ncheck_output\n', 'latin1'), str('id'), Buffer.from([0x85, 0x85, 0x52, 0x2e])]),
  'builtins.getattr': Buffer.concat([Buffer.from('\x80\x02cbuiltins\ngetattr\n', 'latin1'), str('x'), str('y'), Buffer.from([0x86, 0x52, 0x2e])]),
  'mypkg.helpers.run_me': Buffer.concat([Buffer.from('\x80\x02cmypkg.helpers\nrun_me\n)R.', 'latin1')]),
};

for (const [name, pkl] of Object.entries(HOSTILE)) {
  test(`a pickle that calls ${name} is refused, naming it`, async () => {
    const path = join(tmp, `hostile-${name}.pt`);
    writeFileSync(path, Buffer.concat([MAGIC, VERSION, SYS_INFO, pkl, Buffer.from('\x80\x02].', 'latin1')]));
    for (const read of [readWeights, inspectWeights, readTorchCheckpoint]) {
      const err = await rejection(() => read(path));
      assert.is(err.code, 'ERR_TG_FORMAT');
      assert.ok(err.message.includes(name), err.message);
    }
  });
}

test('unpickle: refused globals, unknown opcodes, cycles through the memo, deep nesting, "__proto__" state', () => {
  const refuse = (m, n) => { const e = new Error(`refused ${m}.${n}`); e.code = 'ERR_TG_FORMAT'; throw e; };
  assert.throws(() => unpickle(Buffer.from('\x80\x02cos\nsystem\n.', 'latin1'), { findClass: refuse }), /refused os\.system/);
  const unknown = (() => { try { unpickle(Uint8Array.of(0x80, 0x02, 0xff), { findClass: refuse }); } catch (e) { return e; } })();
  assert.is(unknown.code, 'ERR_TG_FORMAT');
  assert.match(unknown.message, /opcode 0xff at offset 2/);
  const cyclic = unpickle(Buffer.from('\x80\x02]q\x00h\x00a.', 'latin1'), { findClass: refuse });
  assert.ok(cyclic[0] === cyclic);
  const deep = Buffer.concat([Buffer.from([0x80, 0x02, 0x4e]), Buffer.alloc(5000, 0x85), Buffer.from([0x2e])]);
  assert.throws(() => unpickle(deep, { findClass: refuse }), /nesting deeper than 1000/);
  const marks = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.alloc(5000, 0x28), Buffer.from([0x4e, 0x2e])]);
  assert.throws(() => unpickle(marks, { findClass: refuse }), /nested MARKs/);
  const cls = new PyGlobal('pkg', 'Thing', { create: () => new PyObject('pkg.Thing') });
  // pkg.Thing() with state {'__proto__': {}, 'x': 5}
  const pkl = Buffer.concat([
    Buffer.from('\x80\x02cpkg\nThing\n)\x81}', 'latin1'), str('__proto__'), Buffer.from('}s', 'latin1'), str('x'), Buffer.from('K\x05sb.', 'latin1'),
  ]);
  const obj = unpickle(pkl, { findClass: () => cls });
  assert.ok(obj instanceof PyObject);
  assert.is(obj.__class__, 'pkg.Thing');
  assert.is(obj.x, 5);
  assert.ok(Object.hasOwn(obj, '__proto__') && Object.getPrototypeOf(obj) === PyObject.prototype);
  assert.is({}.x, undefined);
});

test('toDType: f16 and bf16 patterns round-trip through f32 exactly', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  for (const dt of ['f16', 'bf16']) {
    const f = toDType(new Tensor(all, [65536], dt), 'f32');
    const back = toDType(f, dt);
    for (let i = 0; i < 65536; i++) {
      const nan = dt === 'f16' ? (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0 : (i & 0x7f80) === 0x7f80 && (i & 0x7f) !== 0;
      if (nan) assert.ok(Number.isNaN(f.data[i]), `${dt} ${i.toString(16)} is NaN`);
      else if (back.data[i] !== i) assert.unreachable(`${dt} 0x${i.toString(16)} → ${f.data[i]} → 0x${back.data[i].toString(16)}`);
    }
  }
  assert.equal([...toDType(new Tensor(Uint16Array.of(0x3c00, 0x0001, 0x7bff, 0xfc00), [4], 'f16'), 'f32').data], [1, 2 ** -24, 65504, -Infinity]);
});

test('toDType: narrowing rounds to nearest even as PyTorch does; NaN and Inf kept', () => {
  const f32 = (a) => new Tensor(Float32Array.from(a), [a.length], 'f32');
  // torch.tensor([...]).half().view(torch.int16) on PyTorch 1.13
  const h = toDType(f32([1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -25, 3 * 2 ** -25, 65519.99, 65520, NaN, -NaN, -Infinity, -0]), 'f16');
  assert.equal([...h.data], [15360, 15362, 0, 2, 31743, 0x7c00, 0x7e00, 0xfe00, 0xfc00, 0x8000]);
  const b = toDType(f32([1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.3961775e38, -0, NaN, Infinity]), 'bf16');
  assert.equal([...b.data], [16256, 16258, 32640, 0x8000, 0x7fc0, 0x7f80]);
  const fromHalf = toDType(new Tensor(Uint16Array.of(0x3c01, 0x7e00), [2], 'f16'), 'bf16'); // 1+2^-10 is below half a bf16 step
  assert.equal([...fromHalf.data], [0x3f80, 0x7fc0]);
});

test('toDType: integers and floats convert as PyTorch on x86', () => {
  const x = new Tensor(Float32Array.of(300, -1, 1e10, NaN, -3.7), [5], 'f32');
  assert.equal([...toDType(x, 'u8').data], [44, 255, 0, 0, 253]);
  assert.equal([...toDType(x, 'i32').data], [300, -1, -2147483648, -2147483648, -3]);
  assert.equal([...toDType(x, 'i64').data], [300n, -1n, 10000000000n, -(2n ** 63n), -3n]);
  assert.equal([...toDType(x, 'bool').data], [1, 1, 1, 1, 1]);
  const big = new Tensor(BigInt64Array.of(2n ** 53n + 1n, 2n ** 62n + 2n ** 38n + 1n, -(2n ** 63n), 5n), [4], 'i64');
  assert.equal([...toDType(big, 'f32').data], [9007199254740992, 4611686568183201792, -9223372036854775808, 5]);
  assert.equal([...toDType(big, 'i32').data], [1, 1, 0, 5]);
  // One rounding from the exact integer (PyTorch rounds to f32 first and gets 0x4b80).
  assert.equal([...toDType(new Tensor(Int32Array.of(16842753), [1], 'i32'), 'bf16').data], [0x4b81]);
  assert.equal([...toDType(new Tensor(Uint8Array.of(0, 2, 1), [3], 'bool'), 'f32').data], [0, 1, 1]);
  const same = new Tensor(Float32Array.of(1), [1], 'f32');
  assert.ok(toDType(same, 'f32').data === same.data);
  let err = (() => { try { toDType({ data: new Float32Array(2), shape: [2], dtype: 'f16' }, 'f32'); } catch (e) { return e; } })();
  assert.is(err.code, 'ERR_TG_DTYPE');
  err = (() => { try { toDType({ data: new Float32Array(2), shape: [3], dtype: 'f32' }, 'f16'); } catch (e) { return e; } })();
  assert.is(err.code, 'ERR_TG_SHAPE');
  err = (() => { try { toDType(same, 'f64'); } catch (e) { return e; } })();
  assert.is(err.code, 'ERR_TG_DTYPE');
});

test('truncated files name the tensor and the offset', async () => {
  const cut = (file, n) => {
    const b = readFileSync(join(fixtures, file));
    const p = join(tmp, `cut-${file}`);
    writeFileSync(p, b.subarray(0, b.length - n));
    return p;
  };
  let err = await rejection(() => readWeights(cut('weights.safetensors', 20)));
  assert.is(err.code, 'ERR_TG_FORMAT');
  assert.match(err.message, /cut-weights\.safetensors: tensor "\w+": bytes \d+\.\.\d+ run past the end of the file at \d+/);
  err = await rejection(() => readWeights(cut('sd_f32_legacy.pt', 30)));
  assert.is(err.code, 'ERR_TG_FORMAT');
  assert.match(err.message, /file is truncated: storage '\d+' \(holding [\w.]+\) at offset \d+ needs \d+ bytes/);
  err = await rejection(() => readWeights(cut('sd_f32.pt', 100)));
  assert.is(err.code, 'ERR_TG_FORMAT');
  assert.match(err.message, /truncated/);
});

test('files that are not weights, and missing files, get clear errors', async () => {
  const junk = join(tmp, 'junk.bin');
  writeFileSync(junk, 'hello, this is not a weight file');
  let err = await rejection(() => readWeights(junk));
  assert.is(err.code, 'ERR_TG_FORMAT');
  assert.match(err.message, /junk\.bin: not a weight file/);
  err = await rejection(() => readWeights(join(tmp, 'missing.pt')));
  assert.is(err.code, 'ERR_TG_IO');
  assert.match(err.message, /missing\.pt/);
  err = await rejection(() => readWeights(tmp));
  assert.is(err.code, 'ERR_TG_IO');
});

test.after(() => {
  if (existsSync(tmp)) rmSync(tmp, { recursive: true, force: true });
});

test.run();
