// Damaged and hostile weight files: the fixtures of test/parity/weights.py with
// bytes flipped, cut at every region boundary and at random points, headers
// declaring huge sizes or offsets past the end or overlapping ranges, zip
// records dropped or rewritten, and pickles nesting deeply, cycling through
// the memo, using unknown opcodes or refused globals. Every case must load or
// fail with ERR_TG_FORMAT / ERR_TG_IO — any other exception is a bug — within
// a time cap and without allocating far beyond the file's size. Cases run in
// a worker so a hang can be stopped; the seed (TG_FUZZ_SEED to choose one,
// 'random' for a fresh one) is printed with any failure.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { rng } from './helpers.mjs';

const FIXTURES = fileURLToPath(new URL('./parity/fixtures/weights/', import.meta.url));
const CASE_TIME_CAP_MS = 5000;
const TOTAL_TIME_CAP_MS = 120000;

// ------------------------------------------------------------ byte tools

const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
const latin = (s) => Buffer.from(s, 'latin1');
/** BINUNICODE */
const ustr = (s) => { const b = Buffer.from(s, 'utf8'); return Buffer.concat([latin('X'), u32(b.length), b]); };

const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(b) {
  let c = -1;
  for (const x of b) c = CRC[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** The records of a stored (uncompressed) zip, as torch.save writes it. */
function readZip(buf) {
  const eocd = buf.lastIndexOf(latin('PK\x05\x06'));
  const n = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = [];
  for (let i = 0; i < n; i++) {
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const skip = nameLen + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    out.push({ name, data: buf.subarray(start, start + size) });
    p += 46 + skip;
  }
  return out;
}

/** A zip of `records` ({ name, data, method?, declaredSize? }); method 8 deflates. */
function writeZip(records) {
  const locals = [];
  const central = [];
  let offset = 0;
  for (const r of records) {
    const name = Buffer.from(r.name, 'utf8');
    const method = r.method ?? 0;
    const body = method === 8 ? deflateRawSync(r.data) : r.data;
    const usize = r.declaredSize ?? r.data.length;
    const common = Buffer.alloc(26);
    common.writeUInt16LE(20, 0);
    common.writeUInt16LE(0, 2);
    common.writeUInt16LE(method, 4);
    common.writeUInt32LE(crc32(r.data), 10);
    common.writeUInt32LE(body.length, 14);
    common.writeUInt32LE(usize >>> 0, 18);
    common.writeUInt16LE(name.length, 22);
    const local = Buffer.concat([latin('PK\x03\x04'), common, name, body]);
    const cd = Buffer.alloc(46);
    latin('PK\x01\x02').copy(cd, 0);
    cd.writeUInt16LE(20, 4);
    common.copy(cd, 6, 0, 26);
    cd.writeUInt32LE(offset, 42);
    central.push(Buffer.concat([cd, name]));
    locals.push(local);
    offset += local.length;
  }
  const cdBuf = Buffer.concat(central);
  const end = Buffer.alloc(22);
  latin('PK\x05\x06').copy(end, 0);
  end.writeUInt16LE(records.length, 8);
  end.writeUInt16LE(records.length, 10);
  end.writeUInt32LE(cdBuf.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cdBuf, end]);
}

// A legacy torch.save file around a main pickle: magic number, protocol 1001, sys_info, object, keys, storages.
const MAGIC = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
const VERSION = Buffer.from([0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e]);
const SYS_INFO = Buffer.from([0x80, 0x02, 0x7d, 0x2e]);
function legacyFile(main, keys = [], storages = Buffer.alloc(0)) {
  const keyList = Buffer.concat([latin('\x80\x02('), ...keys.map(ustr), latin('l.')]);
  return Buffer.concat([MAGIC, VERSION, SYS_INFO, main, keyList, storages]);
}

// ------------------------------------------------------------ hostile pickles (protocol 2 bodies)

const P2 = latin('\x80\x02');
const G = (mod, name) => latin(`c${mod}\n${name}\n`);
const REBUILD = G('torch._utils', '_rebuild_tensor_v2');
const ODICT = Buffer.concat([G('collections', 'OrderedDict'), latin(')R')]);
/** LONG1: a little-endian two's-complement integer. */
const long1 = (v) => {
  const b = [];
  for (let x = BigInt(v); x > 0n || b.length === 0; x >>= 8n) b.push(Number(x & 0xffn));
  if (b[b.length - 1] & 0x80) b.push(0);
  return Buffer.concat([latin('\x8a'), Buffer.from([b.length]), Buffer.from(b)]);
};
const int = (v) => (v < 256 ? Buffer.from([0x4b, v]) : v < 2 ** 31 ? Buffer.concat([latin('J'), u32(v)]) : long1(v));
const tuple = (...items) => Buffer.concat([latin('('), ...items, latin('t')]);
/** ('storage', type, key, 'cpu', numel[, None]) as a persistent id. */
const storagePid = (type, key, numel, legacy) => {
  const view = legacy ? [latin('N')] : [];
  return Buffer.concat([tuple(ustr('storage'), G('torch', type), ustr(key), ustr('cpu'), int(numel), ...view), latin('Q')]);
};
/** _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()) */
const tensorOf = (pid, offset, size, stride) => {
  const args = tuple(pid, int(offset), tuple(...size.map(int)), tuple(...stride.map(int)), latin('\x89'), ODICT);
  return Buffer.concat([REBUILD, args, latin('R')]);
};
const dictOf = (...kv) => Buffer.concat([latin('}('), ...kv, latin('u')]);

function hostilePickles() {
  const out = [];
  const add = (name, body) => out.push([name, Buffer.concat([P2, body, latin('.')])]);
  add('TUPLE1 nested 200000 deep', Buffer.concat([latin('N'), Buffer.alloc(200000, 0x85)]));
  add('MARK nested 200000 deep', Buffer.concat([Buffer.alloc(200000, 0x28), latin('N')]));
  add('list nested 5000 deep', Buffer.concat([Buffer.alloc(5000, 0x5d).fill(0x5d), ...Array.from({ length: 4999 }, () => latin('a'))]));
  // A chain of lists linked through the memo, which construction-time depth checks cannot see.
  const chain = [latin(']r'), u32(0), latin('0')];
  for (let k = 1; k < 20000; k++) chain.push(latin(']r'), u32(k), latin('0j'), u32(k - 1), latin('j'), u32(k), latin('a0'));
  add('list chain 20000 deep through the memo', Buffer.concat([...chain, latin('j'), u32(0)]));
  // Modules linked top-down through the memo: walking them must stop.
  const mods = [];
  for (let k = 0; k < 3000; k++) {
    const state = dictOf(ustr('_parameters'), latin('}'), ustr('_buffers'), latin('}'), ustr('_modules'), latin('}r'), u32(100000 + k));
    mods.push(G('torch.nn.modules.container', 'Sequential'), latin(')\x81r'), u32(k), state, latin('b0'));
    if (k > 0) mods.push(latin('j'), u32(100000 + k - 1), ustr('0'), latin('j'), u32(k), latin('s0'));
  }
  add('module chain 3000 deep through the memo', Buffer.concat([...mods, dictOf(ustr('model'), latin('j'), u32(0))]));
  add('module containing itself', Buffer.concat([G('torch.nn.modules.container', 'Sequential'), latin(')\x81r'), u32(0),
    dictOf(ustr('_parameters'), latin('}'), ustr('_buffers'), latin('}'), ustr('_modules'), latin('}('), ustr('self'), latin('j'), u32(0), latin('u')), latin('b')]));
  add('dict whose model is itself', Buffer.concat([latin('}r'), u32(0), ustr('model'), latin('j'), u32(0), latin('s')]));
  add('dict whose state_dict and ema cycle', Buffer.concat([
    latin('}r'), u32(0), latin('}r'), u32(1), ustr('ema'), latin('j'), u32(0), latin('s'), ustr('model'), latin('N'), latin('s0'),
    ustr('state_dict'), latin('j'), u32(1), latin('s'),
  ]));
  add('set containing a list containing the set',
    Buffer.concat([latin('\x8fr'), u32(0), latin('('), latin(']r'), u32(1), latin('j'), u32(0), latin('a'), latin('\x90')]));
  add('memo index 2^32-1', Buffer.concat([latin('Nr'), u32(0xffffffff), latin('0j'), u32(0xffffffff)]));
  add('memo read never written', Buffer.concat([latin('j'), u32(12345)]));
  add('BINUNICODE8 of 2^60 bytes', Buffer.concat([latin('\x8d'), u64(2n ** 60n), latin('abc')]));
  add('BINBYTES8 of 2^63 bytes', Buffer.concat([latin('\x8e'), u64(2n ** 63n)]));
  add('BINUNICODE of 4 GB', Buffer.concat([latin('X'), u32(0xffffffff), latin('abc')]));
  add('LONG4 of 2^31-1 bytes', Buffer.concat([latin('\x8b'), u32(0x7fffffff), latin('abc')]));
  add('LONG4 negative length', Buffer.concat([latin('\x8b'), u32(0xffffffff)]));
  add('FRAME of 2^62 bytes', Buffer.concat([latin('\x95'), u64(2n ** 62n), latin('N')]));
  add('LONG text of 100000 digits', Buffer.concat([latin('L'), Buffer.alloc(100000, 0x39), latin('L\n')]));
  add('protocol 9', latin('\x80\x09N'));
  add('EXT1', latin('\x82\x01'));
  add('out-of-band buffer', latin('\x97'));
  add('STACK_GLOBAL of numbers', latin('K\x01K\x02\x93'));
  add('REDUCE on a number', latin('K\x01)R'));
  add('NEWOBJ on a string', Buffer.concat([ustr('x'), latin(')\x81')]));
  add('BUILD on None', latin('N}b'));
  add('SETITEMS on a list', latin(']((K\x01K\x02u'));
  add('APPEND on a dict', latin('}K\x01a'));
  add('ADDITEMS on a dict', latin('}(K\x01\x90'));
  add('DICT with an odd count', latin('(K\x01d'));
  add('POP_MARK without MARK', latin('1'));
  add('pop from an empty stack', latin('0'));
  add('STOP on an empty stack', latin(''));
  add('INT that is not a number', latin('Iabc\n'));
  add('FLOAT that is not a number', latin('Fxyz\n'));
  add('STRING without quotes', latin('Sabc\n'));
  add('GLOBAL without a newline', latin('cos'));
  for (const op of [0x00, 0x01, 0x21, 0x41, 0x44, 0x99, 0xa0, 0xfe, 0xff]) add(`unknown opcode 0x${op.toString(16)}`, Buffer.from([op]));
  const refused = [
    ['os', 'system'], ['nt', 'system'], ['posix', 'system'], ['subprocess', 'Popen'], ['subprocess', 'run'],
    ['builtins', 'exec'], ['builtins', 'eval'], ['__builtin__', 'getattr'], ['builtins', '__import__'], ['builtins', 'open'],
    ['runpy', '_run_code'], ['torch', 'load'], ['torch._C', '_load_for_lite_interpreter'], ['numpy', 'load'],
    ['numpy.testing._private.utils', 'runstring'], ['pickle', 'loads'], ['functools', 'partial'], ['operator', 'attrgetter'],
    ['importlib', 'import_module'], ['webbrowser', 'open'], ['shutil', 'rmtree'], ['sys', 'exit'], ['types', 'FunctionType'],
    ['code', 'InteractiveInterpreter'], ['timeit', 'timeit'], ['socket', 'socket'], ['ctypes', 'CDLL'], ['some.module', 'some_function'],
  ];
  for (const [m, n] of refused) add(`refused global ${m}.${n}`, Buffer.concat([G(m, n), tuple(ustr('id')), latin('R')]));
  return out;
}

/** Legacy files whose storages lie: huge counts, tensors reaching past them, broadcasts of a tiny file into gigabytes. */
function lyingLegacyFiles() {
  const rec = (numel, bytes) => Buffer.concat([u64(numel), Buffer.alloc(bytes, 0x3f)]);
  const w = (pid, off, size, stride) => dictOf(ustr('w'), tensorOf(pid, off, size, stride));
  const pid = (numel) => storagePid('FloatStorage', '0', numel, true);
  const file = (body, keys, storages) => legacyFile(Buffer.concat([P2, body, latin('.')]), keys, storages);
  return [
    ['storage of 2^45 floats in a tiny file', legacyFile(Buffer.concat([P2, w(pid(2 ** 45), 0, [4], [1]), latin('.')]), ['0'], rec(2 ** 45, 16))],
    ['storage count differs from the pickle', legacyFile(Buffer.concat([P2, w(pid(4), 0, [4], [1]), latin('.')]), ['0'], rec(5, 20))],
    ['storage count of -1', legacyFile(Buffer.concat([P2, w(pid(4), 0, [4], [1]), latin('.')]), ['0'], Buffer.concat([u64(2n ** 64n - 1n), Buffer.alloc(16)]))],
    ['tensor reaching past its storage', legacyFile(Buffer.concat([P2, w(pid(4), 2, [2, 2], [2, 1]), latin('.')]), ['0'], rec(4, 16))],
    ['stride-0 view of 2^40 elements', legacyFile(Buffer.concat([P2, w(pid(1), 0, [2 ** 40], [0]), latin('.')]), ['0'], rec(1, 4))],
    ['stride-0 view of 2^26 elements', legacyFile(Buffer.concat([P2, w(pid(1), 0, [2 ** 26], [0]), latin('.')]), ['0'], rec(1, 4))],
    ['size product beyond 2^53', legacyFile(Buffer.concat([P2, w(pid(1), 0, [2 ** 30, 2 ** 30, 2 ** 30], [0, 0, 0]), latin('.')]), ['0'], rec(1, 4))],
    ['size and stride of different lengths', legacyFile(Buffer.concat([P2, w(pid(4), 0, [4], [1, 1]), latin('.')]), ['0'], rec(4, 16))],
    ['negative storage offset', file(dictOf(ustr('w'), Buffer.concat([
      REBUILD, tuple(pid(4), latin('J\xff\xff\xff\xff'), tuple(int(1)), tuple(int(1)), latin('\x89'), ODICT), latin('R'),
    ])), ['0'], rec(4, 16))],
    ['storage key listed twice', legacyFile(Buffer.concat([P2, w(pid(1), 0, [1], [1]), latin('.')]), ['0', '0'], Buffer.concat([rec(1, 4), rec(1, 4)]))],
    ['storage key never used', legacyFile(Buffer.concat([P2, w(pid(1), 0, [1], [1]), latin('.')]), ['0', '7'], Buffer.concat([rec(1, 4), rec(1, 4)]))],
    ['storage used but not stored', legacyFile(Buffer.concat([P2, w(pid(1), 0, [1], [1]), latin('.')]), [], Buffer.alloc(0))],
    ['storage declared with two types', file(dictOf(
      ustr('a'), tensorOf(pid(1), 0, [1], [1]),
      ustr('b'), tensorOf(storagePid('LongStorage', '0', 1, true), 0, [1], [1]),
    ), ['0'], rec(1, 4))],
    ['persistent id of an unknown kind', legacyFile(Buffer.concat([P2, tuple(ustr('socket'), ustr('x')), latin('Q.')]))],
    ['storage view outside its root', file(dictOf(ustr('w'), tensorOf(Buffer.concat([
      tuple(ustr('storage'), G('torch', 'FloatStorage'), ustr('0'), ustr('cpu'), int(2), tuple(ustr('v'), int(1), int(5))), latin('Q'),
    ]), 0, [1], [1])), ['0'], rec(2, 8))],
    ['big-endian sys_info', Buffer.concat([
      MAGIC, VERSION, Buffer.concat([P2, dictOf(ustr('little_endian'), latin('\x89')), latin('.')]), P2, latin('}.'), latin('\x80\x02].'),
    ])],
    ['protocol version 1002', Buffer.concat([MAGIC, latin('\x80\x02M\xea\x03.'), SYS_INFO])],
  ];
}

// ------------------------------------------------------------ case generation

function flips(buf, r, count, lo = 0, hi = buf.length) {
  const b = Buffer.from(buf);
  for (let k = 0; k < count; k++) b[lo + Math.floor(r() * (hi - lo))] = Math.floor(r() * 256);
  return b;
}

function* safetensorsCases(name, buf, r) {
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + n));
  const data = buf.subarray(8 + n);
  const build = (h, body = data, pad = true) => {
    let text = Buffer.isBuffer(h) ? h : Buffer.from(typeof h === 'string' ? h : JSON.stringify(h), 'utf8');
    if (pad) text = Buffer.concat([text, Buffer.alloc((8 - (text.length % 8)) % 8, 0x20)]);
    return Buffer.concat([u64(text.length), text, body]);
  };
  for (const len of [0, 1, 7, n - 1, n + 1, buf.length - 8, buf.length, 100_000_001, 2 ** 40, 2n ** 64n - 1n]) {
    const b = Buffer.from(buf);
    b.writeBigUInt64LE(BigInt(len));
    yield [`${name}: header length ${len}`, b];
  }
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const edit = (fn) => { const h = structuredClone(header); fn(h); return h; };
  const [a, b2] = names;
  yield [`${name}: offsets past the end`, build(edit((h) => { h[a].data_offsets = [data.length, data.length + (h[a].data_offsets[1] - h[a].data_offsets[0])]; }))];
  yield [`${name}: offsets of 2^60`, build(edit((h) => { h[a].data_offsets = [2 ** 60, 2 ** 60 + (h[a].data_offsets[1] - h[a].data_offsets[0])]; }))];
  yield [`${name}: overlapping ranges`, build(edit((h) => {
    const len = h[b2].data_offsets[1] - h[b2].data_offsets[0];
    h[b2].data_offsets = [h[a].data_offsets[0], h[a].data_offsets[0] + len];
  }))];
  yield [`${name}: begin after end`, build(edit((h) => { h[a].data_offsets = [h[a].data_offsets[1], h[a].data_offsets[0]]; }))];
  yield [`${name}: negative offset`, build(edit((h) => { h[a].data_offsets = [-8, 0]; }))];
  yield [`${name}: fractional offset`, build(edit((h) => { h[a].data_offsets = [0.5, 4.5]; }))];
  yield [`${name}: huge shape`, build(edit((h) => { h[a].shape = [2 ** 40, 2 ** 40, 2 ** 40]; }))];
  yield [`${name}: shape and bytes disagree`, build(edit((h) => { h[a].shape = [...h[a].shape, 2]; }))];
  yield [`${name}: unknown dtype`, build(edit((h) => { h[a].dtype = 'X99'; }))];
  yield [`${name}: dtype constructor`, build(edit((h) => { h[a].dtype = 'constructor'; }))];
  yield [`${name}: complex dtype`, build(edit((h) => { h[a].dtype = 'C64'; h[a].shape = [(h[a].data_offsets[1] - h[a].data_offsets[0]) / 8]; }))];
  yield [`${name}: missing fields`, build(edit((h) => { delete h[a].shape; }))];
  yield [`${name}: entry is a number`, build(edit((h) => { h[a] = 3; }))];
  yield [`${name}: metadata not strings`, build(edit((h) => { h.__metadata__ = { k: 1 }; }))];
  yield [`${name}: metadata a list`, build(edit((h) => { h.__metadata__ = ['x']; }))];
  yield [`${name}: header is a list`, build('[1,2,3]')];
  yield [`${name}: header not JSON`, build('{"a":')];
  yield [`${name}: header nested 100000 deep`, build(`{"a":${'['.repeat(100000)}${']'.repeat(100000)}}`)];
  yield [`${name}: header not UTF-8`, build(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x7b, 0x7d, 0x7d]))];
  const text = JSON.stringify(header);
  yield [`${name}: duplicate name`, build(text.replace('{', `{${JSON.stringify(a)}:${JSON.stringify(header[a])},`))];
  yield [`${name}: __proto__ name`, build(text.replace(JSON.stringify(a) + ':', '"__proto__":'))];
  yield [`${name}: trailing junk after JSON`, build(text + 'x')];
  yield [`${name}: data cut by one`, buf.subarray(0, buf.length - 1)];
  const cuts = new Set([0, 1, 7, 8, 9, 8 + n - 1, 8 + n, 8 + n + 1]);
  for (const k of names) for (const o of header[k].data_offsets) for (const d of [-1, 0, 1]) cuts.add(8 + n + o + d);
  for (const c of cuts) if (c >= 0 && c < buf.length) yield [`${name}: cut at ${c}`, buf.subarray(0, c)];
}

function* zipCases(name, buf, r, loads) {
  const records = readZip(buf);
  const pkl = records.find((e) => e.name.endsWith('data.pkl'));
  const prefix = pkl.name.slice(0, -'data.pkl'.length);
  const others = records.filter((e) => e !== pkl);
  yield [`${name}: rebuilt`, writeZip(records), loads];
  yield [`${name}: deflated records`, writeZip(records.map((e) => ({ ...e, method: 8 }))), loads];
  // data.pkl, version, and a few storages (the first, the last, about three others).
  const storages = others.filter((e) => e.name.includes('/data/'));
  const sampled = storages.filter((_, i) => i === 0 || i === storages.length - 1 || r() < 3 / storages.length);
  const dropped = [pkl, ...others.filter((e) => !e.name.includes('/data/')), ...sampled];
  for (const e of dropped) yield [`${name}: without ${e.name}`, writeZip(records.filter((x) => x !== e))];
  yield [`${name}: data.pkl twice`, writeZip([...records, pkl])];
  yield [`${name}: byteorder big`, writeZip([...records, { name: `${prefix}byteorder`, data: latin('big') }])];
  yield [`${name}: byteorder odd`, writeZip([...records, { name: `${prefix}byteorder`, data: latin('middle') }])];
  yield [`${name}: byteorder long`, writeZip([...records, { name: `${prefix}byteorder`, data: Buffer.alloc(4096, 0x61) }])];
  yield [`${name}: TorchScript`, writeZip([...records, { name: `${prefix}constants.pkl`, data: latin('\x80\x02).') }])];
  yield [`${name}: storage one byte short`, writeZip(records.map((e) => (e === others[0] ? { ...e, data: e.data.subarray(0, e.data.length - 1) } : e)))];
  yield [`${name}: deflated data.pkl claims 2^31 bytes`, writeZip(records.map((e) => (e === pkl ? { ...e, method: 8, declaredSize: 2 ** 31 } : e)))];
  yield [`${name}: deflated data.pkl claims 100x`, writeZip(records.map((e) => (e === pkl ? { ...e, method: 8, declaredSize: e.data.length * 100 } : e)))];
  yield [`${name}: stored data.pkl claims 2^31 bytes`, writeZip(records.map((e) => (e === pkl ? { ...e, declaredSize: 2 ** 31 } : e)))];
  yield [`${name}: compression method 12`, writeZip(records.map((e) => (e === pkl ? { ...e, method: 12 } : e)))];
  for (let k = 0; k < 25; k++) {
    const data = flips(pkl.data, r, 1 + Math.floor(r() * 4));
    yield [`${name}: data.pkl flip #${k}`, writeZip(records.map((e) => (e === pkl ? { ...e, data } : e)))];
  }
  for (let k = 0; k < 10; k++) {
    const data = pkl.data.subarray(0, Math.floor(r() * pkl.data.length));
    yield [`${name}: data.pkl cut at ${data.length}`, writeZip(records.map((e) => (e === pkl ? { ...e, data } : e)))];
  }
  // Cut the file itself at every record and directory boundary.
  const marks = [];
  for (const sig of ['PK\x03\x04', 'PK\x01\x02', 'PK\x05\x06']) {
    for (let at = buf.indexOf(latin(sig)); at >= 0; at = buf.indexOf(latin(sig), at + 1)) marks.push(at);
  }
  const step = Math.ceil(marks.length / 16);
  for (const m of marks.filter((_, i) => i % step === 0 || i === marks.length - 1)) {
    for (const d of [0, 1, 30]) if (m + d < buf.length) yield [`${name}: cut at ${m + d}`, buf.subarray(0, m + d)];
  }
}

function* legacyCases(name, buf, r) {
  // Pickle boundaries: the offset after each STOP among the first pickles.
  let stops = [];
  for (let at = buf.indexOf(0x2e); at >= 0 && stops.length < 200; at = buf.indexOf(0x2e, at + 1)) stops.push(at + 1);
  stops = stops.filter((_, i) => i % Math.ceil(stops.length / 25) === 0);
  for (const s of stops) yield [`${name}: cut at ${s}`, buf.subarray(0, s)];
  const body = Math.min(buf.length, Math.max(64, buf.length - 256));
  for (let k = 0; k < 25; k++) yield [`${name}: pickle flip #${k}`, flips(buf, r, 1 + Math.floor(r() * 3), 0, body)];
}

function* tarCases(name, buf, r) {
  for (let at = 0; at < buf.length; at += 512) for (const d of [0, 200]) yield [`${name}: cut at ${at + d}`, buf.subarray(0, at + d)];
  for (let k = 0; k < 20; k++) yield [`${name}: flip #${k}`, flips(buf, r, 1 + Math.floor(r() * 3))];
  for (let k = 0; k < 10; k++) {
    const b = Buffer.from(buf);
    const h = 512 * Math.floor(r() * 8);
    latin('77777777777').copy(b, h + 124); // member size of 8 GB, with a checksum that agrees
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[h + i];
    latin(`${sum.toString(8).padStart(6, '0')}\0 `).copy(b, h + 148);
    yield [`${name}: header at ${h} claims 8 GB`, b];
  }
}

function* allCases(seed) {
  const r = rng(seed);
  const files = readdirSync(FIXTURES).filter((f) => !f.endsWith('.json')).sort();
  for (const f of files) {
    const buf = readFileSync(join(FIXTURES, f));
    const loads = !['complex.pt', 'quantized.pt'].includes(f);
    yield [`${f}: as written`, buf, loads];
    for (let k = 0; k < 20; k++) yield [`${f}: flip #${k}`, flips(buf, r, 1 + Math.floor(r() * 8))];
    for (let k = 0; k < 10; k++) yield [`${f}: random cut #${k}`, buf.subarray(0, Math.floor(r() * buf.length))];
    if (f.endsWith('.safetensors')) yield* safetensorsCases(f, buf, r);
    else if (buf.subarray(0, 4).equals(latin('PK\x03\x04'))) yield* zipCases(f, buf, r, loads);
    else if (buf.length > 262 && buf.toString('latin1', 257, 262) === 'ustar') yield* tarCases(f, buf, r);
    else yield* legacyCases(f, buf, r);
  }
  for (const [name, pkl] of hostilePickles()) {
    yield [`legacy main pickle: ${name}`, legacyFile(pkl)];
    yield [`zip data.pkl: ${name}`, writeZip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/version', data: latin('3\n') }])];
  }
  for (const [name, file] of lyingLegacyFiles()) yield [`legacy: ${name}`, file];
  const zipTensor = (pid, size, stride) => Buffer.concat([P2, dictOf(ustr('w'), tensorOf(pid, 0, size, stride)), latin('.')]);
  const oneStorage = (pkl) => writeZip([{ name: 'a/data.pkl', data: pkl }, { name: 'a/data/0', data: Buffer.alloc(4) }]);
  yield ['zip: storage of 2^40 floats', oneStorage(zipTensor(storagePid('FloatStorage', '0', 2 ** 40), [1], [1]))];
  yield ['zip: stride-0 view of 2^40 elements', oneStorage(zipTensor(storagePid('FloatStorage', '0', 1), [2 ** 40], [0]))];
  yield ['zip: storage key of 10000 characters', writeZip([{ name: 'a/data.pkl', data: zipTensor(storagePid('FloatStorage', 'k'.repeat(10000), 1), [1], [1]) }])];
  yield ['zip: no records', writeZip([])];
  yield ['zip: only a directory', writeZip([{ name: 'a/', data: Buffer.alloc(0) }])];
  yield ['zip: absolute record name', writeZip([{ name: '/etc/data.pkl', data: latin('\x80\x02}.') }])];
  yield ['zip: parent-directory record name', writeZip([{ name: '../data.pkl', data: latin('\x80\x02}.') }])];
  yield ['empty file', Buffer.alloc(0)];
  yield ['one byte', Buffer.from([0x50])];
  yield ['a pickle not from torch.save', latin('\x80\x04}\x94.')];
}

// ------------------------------------------------------------ worker: runs the cases

async function runWorker({ seed, dir }) {
  const { readWeights, inspectWeights } = await import('../dist/weights/index.js');
  let i = 0;
  for (const [name, bytes, mustLoad] of allCases(seed)) {
    const path = join(dir, `case-${i}.bin`);
    writeFileSync(path, bytes);
    parentPort.postMessage({ type: 'start', i, name });
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const outcome = [];
    for (const read of [readWeights, inspectWeights]) {
      try {
        const result = await read(path);
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
        outcome.push(result ? 'loaded' : 'empty');
      } catch (err) {
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
        const ok = err instanceof Error && (err.code === 'ERR_TG_FORMAT' || err.code === 'ERR_TG_IO');
        outcome.push(ok ? err.code : `BUG ${err?.constructor?.name} ${err?.code ?? ''}: ${err?.message}\n${err?.stack ?? ''}`);
      }
    }
    const limit = 32 * 2 ** 20 + 16 * bytes.length;
    let problem = outcome.find((o) => o.startsWith('BUG'));
    if (!problem && peak > limit) problem = `allocated ${peak} bytes for a file of ${bytes.length}`;
    if (!problem && mustLoad && outcome[0] !== 'loaded') problem = `must load but got ${outcome[0]}`;
    if (problem) {
      const keep = join(tmpdir(), `tg-fuzz-${seed}-${i}.bin`);
      writeFileSync(keep, bytes);
      parentPort.postMessage({ type: 'fail', i, name, problem, keep });
    }
    parentPort.postMessage({ type: 'done', i });
    rmSync(path, { force: true });
    i++;
  }
  parentPort.postMessage({ type: 'end', count: i });
}

if (!isMainThread && workerData?.fuzz) {
  runWorker(workerData).catch((err) => parentPort.postMessage({ type: 'crash', message: String(err?.stack ?? err) }));
} else {
  const env = process.env.TG_FUZZ_SEED;
  const seed = env === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(env ?? 20261128);

  test(`damaged and hostile weight files load or fail with ERR_TG_FORMAT/ERR_TG_IO (seed ${seed})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-fuzz-'));
    const failures = [];
    let count = 0;
    const started = Date.now();
    try {
      await new Promise((resolve, reject) => {
        const worker = new Worker(fileURLToPath(import.meta.url), {
          workerData: { fuzz: true, seed, dir },
          resourceLimits: { maxOldGenerationSizeMb: 512 },
        });
        let current;
        let timer;
        const stop = (why) => {
          clearTimeout(timer);
          worker.terminate();
          reject(new Error(`${why} (seed ${seed}; rerun with TG_FUZZ_SEED=${seed})`));
        };
        worker.on('message', (m) => {
          if (m.type === 'start') {
            current = m;
            clearTimeout(timer);
            timer = setTimeout(() => stop(`case ${m.i} "${m.name}" ran past ${CASE_TIME_CAP_MS} ms`), CASE_TIME_CAP_MS);
            if (Date.now() - started > TOTAL_TIME_CAP_MS) stop(`the cases ran past ${TOTAL_TIME_CAP_MS} ms`);
          } else if (m.type === 'done') clearTimeout(timer);
          else if (m.type === 'fail') failures.push(`case ${m.i} "${m.name}": ${m.problem}\n  bytes kept in ${m.keep}`);
          else if (m.type === 'crash') stop(`the worker crashed during case ${current?.i} "${current?.name}": ${m.message}`);
          else if (m.type === 'end') {
            count = m.count;
            clearTimeout(timer);
            resolve();
          }
        });
        worker.on('error', (err) => stop(`the worker died during case ${current?.i} "${current?.name}": ${err?.stack ?? err}`));
        worker.on('exit', (code) => {
          if (code !== 0) stop(`the worker exited with ${code} during case ${current?.i} "${current?.name}"`);
        });
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (failures.length > 0) {
      assert.unreachable(`seed ${seed} (rerun with TG_FUZZ_SEED=${seed}): ${failures.length} of ${count} cases failed:\n${failures.slice(0, 20).join('\n')}`);
    }
    assert.ok(count > 1000, `ran ${count} cases`);
  });

  test.run();
}
