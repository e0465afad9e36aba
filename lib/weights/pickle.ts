// A restricted unpickler for the pickle protocols 0-5 (CPython Lib/pickle.py,
// PEP 307, PEP 3154, PEP 574): it builds plain values from the opcodes and
// never executes anything. Globals are resolved by the caller's findClass,
// which returns a PyGlobal saying what REDUCE (a call) and NEWOBJ (creating an
// object without __init__) on it produce — our own representation, never a
// Python callable. Python values become:
//   None → null, bool → boolean, int → number (bigint beyond 2^53), float → number,
//   str → string, bytes/bytearray → Uint8Array, list and tuple → Array,
//   dict → Map (keys keep their types and order), set/frozenset → Set,
//   an object → PyObject { __class__: 'module.Name', ...state from BUILD }.
// The result may be cyclic, as Python's may; walk it with a visited set.
import { tgError, type TgError } from '../errors.js';

export interface UnpickleOptions {
  /** Resolves a global; throws (ERR_TG_FORMAT) for one that is not allowed. */
  findClass(module: string, name: string): unknown;
  /** Resolves a persistent id (torch.save uses them for storages). Without it, ids are refused. */
  persistentLoad?(pid: unknown): unknown;
  /** Deepest nesting of marks and containers (default 1000). */
  maxDepth?: number;
  /** Most memo entries (default 4,000,000). */
  maxMemo?: number;
  /** Named in error messages: the file, and the record inside it. */
  where?: string;
}

export interface GlobalHooks {
  /** What REDUCE (callable(*args)) produces; absent: calling this global is refused. */
  call?(args: unknown[]): unknown;
  /** What NEWOBJ/NEWOBJ_EX (cls.__new__(cls, *args)) produces; absent: refused. */
  create?(args: unknown[], kwargs: Map<unknown, unknown> | null): unknown;
}

/** A resolved global: a name and what we make of calling or instantiating it. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly hooks: GlobalHooks = {},
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An inert Python object: its class name and the attributes BUILD gave it. */
export class PyObject {
  readonly __class__: string;
  [attribute: string]: unknown;

  constructor(cls: string) {
    this.__class__ = cls;
  }
}

/** Sets an attribute as an own property, so keys like "__proto__" stay data. */
export function setAttribute(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/** A PyObject for `cls` holding the positional arguments it was called with. */
export function inertObject(cls: string, args?: unknown[]): PyObject {
  const obj = new PyObject(cls);
  if (args && args.length > 0) setAttribute(obj, '__args__', args);
  return obj;
}

const OP_NAMES: Record<number, string> = {};

/** Unpickles one pickle that starts at byte 0 of `bytes`. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): unknown {
  return unpickleAt(bytes, 0, opts).value;
}

/**
 * Unpickles one pickle starting at `start` and returns its value and the
 * offset just past its STOP (files written by torch.save hold several).
 * Errors are ERR_TG_FORMAT; one that ran off the end of `bytes` has
 * `truncated: true`, so a caller reading a file in pieces can read more.
 */
export function unpickleAt(bytes: Uint8Array, start: number, opts: UnpickleOptions): { value: unknown; end: number } {
  return new Unpickler(bytes, start, opts).run();
}

/** Whether an error came from a pickle that ended early. */
export function isTruncation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { truncated?: unknown }).truncated === true;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Loose = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');

function decodeUtf8(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    // Python writes lone surrogates with 'surrogatepass'; keep what can be kept.
    return utf8Loose.decode(b);
  }
}

/** Longest integer literal / LONG4 payload accepted (a checkpoint's ints are small). */
const MAX_INT_BYTES = 4096;

class Unpickler {
  private pos: number;
  private stack: unknown[] = [];
  private readonly meta: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly depths = new WeakMap<object, number>();
  private readonly view: DataView;
  private readonly maxDepth: number;
  private readonly maxMemo: number;
  private readonly where: string;
  private opStart = 0;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly opts: UnpickleOptions,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.maxDepth = opts.maxDepth ?? 1000;
    this.maxMemo = opts.maxMemo ?? 4_000_000;
    this.where = opts.where ?? 'pickle';
  }

  private fail(message: string, truncated = false): TgError {
    const err = tgError('ERR_TG_FORMAT', `${this.where}: ${message}`);
    if (truncated) (err as TgError & { truncated: boolean }).truncated = true;
    return err;
  }

  private need(n: number, what: string): void {
    if (n > this.bytes.length - this.pos) {
      throw this.fail(`${what} at offset ${this.opStart} needs ${n} bytes but the pickle ends at ${this.bytes.length}`, true);
    }
  }

  private u8(): number {
    this.need(1, 'opcode argument');
    return this.bytes[this.pos++];
  }

  private u16(): number {
    this.need(2, 'opcode argument');
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  private u32(): number {
    this.need(4, 'opcode argument');
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private i32(): number {
    this.need(4, 'opcode argument');
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A u64 length; anything that cannot fit in the rest of the input is refused by the caller's need(). */
  private u64(): number {
    this.need(8, 'opcode argument');
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    return hi * 4294967296 + lo;
  }

  private take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private line(what: string): string {
    const nl = this.bytes.indexOf(0x0a, this.pos);
    if (nl < 0) throw this.fail(`${what} at offset ${this.opStart} has no end of line before the pickle ends`, true);
    const s = latin1.decode(this.bytes.subarray(this.pos, nl));
    this.pos = nl + 1;
    return s;
  }

  private push(v: unknown): void {
    this.stack.push(v);
  }

  private pop(): unknown {
    if (this.stack.length === 0) throw this.fail(`stack underflow at offset ${this.opStart} (${this.opName()})`);
    return this.stack.pop();
  }

  private top(): unknown {
    if (this.stack.length === 0) throw this.fail(`stack underflow at offset ${this.opStart} (${this.opName()})`);
    return this.stack[this.stack.length - 1];
  }

  private popMark(): unknown[] {
    const items = this.stack;
    const prev = this.meta.pop();
    if (prev === undefined) throw this.fail(`no MARK before ${this.opName()} at offset ${this.opStart}`);
    this.stack = prev;
    return items;
  }

  private opName(): string {
    const op = this.bytes[this.opStart];
    return OP_NAMES[op] ?? `opcode 0x${op.toString(16).padStart(2, '0')}`;
  }

  private depthOf(v: unknown): number {
    return typeof v === 'object' && v !== null ? (this.depths.get(v) ?? 0) : 0;
  }

  /** Records that `container` now holds `child`; refuses nesting deeper than maxDepth. */
  private nest(container: object, child: unknown): void {
    const d = this.depthOf(child) + 1;
    if (d > (this.depths.get(container) ?? 0)) {
      if (d > this.maxDepth) throw this.fail(`nesting deeper than ${this.maxDepth} levels at offset ${this.opStart}`);
      this.depths.set(container, d);
    }
  }

  private nestAll(container: object, children: Iterable<unknown>): void {
    for (const c of children) this.nest(container, c);
  }

  private memoPut(index: number): void {
    if (!this.memo.has(index) && this.memo.size >= this.maxMemo) {
      throw this.fail(`more than ${this.maxMemo} memo entries at offset ${this.opStart}`);
    }
    this.memo.set(index, this.top());
  }

  private memoGet(index: number): void {
    if (!this.memo.has(index)) throw this.fail(`memo entry ${index} read at offset ${this.opStart} was never stored`);
    this.push(this.memo.get(index));
  }

  private global(module: string, name: string): void {
    // Python 2 names, as pickle's fix_imports maps them.
    const mod = module === '__builtin__' ? 'builtins' : module === 'copy_reg' ? 'copyreg' : module;
    this.push(this.opts.findClass(mod, name));
  }

  private call(callable: unknown, args: unknown): unknown {
    if (!Array.isArray(args)) throw this.fail(`REDUCE at offset ${this.opStart} got arguments that are not a tuple`);
    if (!(callable instanceof PyGlobal)) throw this.fail(`REDUCE at offset ${this.opStart} calls something that is not a global`);
    if (!callable.hooks.call) {
      throw this.fail(`refused to call ${callable.qualifiedName} (offset ${this.opStart}): only tensor rebuild functions and known containers may be called`);
    }
    const out = callable.hooks.call(args);
    if (typeof out === 'object' && out !== null && !args.includes(out)) this.nestAll(out, args);
    return out;
  }

  private create(cls: unknown, args: unknown, kwargs: Map<unknown, unknown> | null): unknown {
    if (!Array.isArray(args)) throw this.fail(`${this.opName()} at offset ${this.opStart} got arguments that are not a tuple`);
    if (!(cls instanceof PyGlobal)) throw this.fail(`${this.opName()} at offset ${this.opStart} instantiates something that is not a class`);
    if (!cls.hooks.create) throw this.fail(`refused to instantiate ${cls.qualifiedName} (offset ${this.opStart})`);
    return cls.hooks.create(args, kwargs);
  }

  private setItem(target: unknown, key: unknown, value: unknown): void {
    let map: Map<unknown, unknown>;
    if (target instanceof Map) map = target;
    else if (target instanceof PyObject) {
      // A dict subclass: its items live beside its attributes.
      if (!(target.__items__ instanceof Map)) setAttribute(target, '__items__', new Map());
      map = target.__items__ as Map<unknown, unknown>;
    } else throw this.fail(`${this.opName()} at offset ${this.opStart} on something that is not a dict`);
    map.set(key, value);
    this.nest(target, key);
    this.nest(target, value);
  }

  private appendItems(target: unknown, items: unknown[]): void {
    let list: unknown[];
    if (Array.isArray(target)) list = target;
    else if (target instanceof PyObject) {
      if (!Array.isArray(target.__list__)) setAttribute(target, '__list__', []);
      list = target.__list__ as unknown[];
    } else throw this.fail(`${this.opName()} at offset ${this.opStart} on something that is not a list`);
    for (const item of items) {
      list.push(item);
      this.nest(target, item);
    }
  }

  private build(obj: unknown, state: unknown): void {
    if (obj instanceof PyObject) {
      // Python's default __setstate__: a dict, or (dict, slots) for classes with __slots__.
      const parts = Array.isArray(state) && state.length === 2 && (state[0] === null || state[0] instanceof Map) && state[1] instanceof Map
        ? [state[0], state[1]]
        : [state];
      for (const part of parts) {
        if (part === null) continue;
        if (part instanceof Map) {
          for (const [k, v] of part) {
            if (typeof k !== 'string') throw this.fail(`BUILD at offset ${this.opStart} sets an attribute whose name is not a string`);
            if (k === '__class__') continue;
            setAttribute(obj, k, v);
            this.nest(obj, v);
          }
        } else {
          setAttribute(obj, '__state__', part);
          this.nest(obj, part);
        }
      }
      return;
    }
    // Other values (OrderedDict's attributes such as a state dict's _metadata,
    // a tensor's Python attributes) carry nothing we use.
    if (typeof obj !== 'object' || obj === null) throw this.fail(`BUILD at offset ${this.opStart} on ${obj === null ? 'None' : typeof obj}`);
  }

  private decodeLong(b: Uint8Array): number | bigint {
    if (b.length === 0) return 0;
    if (b.length > MAX_INT_BYTES) throw this.fail(`integer of ${b.length} bytes at offset ${this.opStart} is too large`);
    if (b.length <= 6) {
      let v = 0;
      for (let i = b.length - 1; i >= 0; i--) v = v * 256 + b[i];
      if (b[b.length - 1] & 0x80) v -= 2 ** (8 * b.length);
      return v;
    }
    let hex = '';
    for (let i = b.length - 1; i >= 0; i--) hex += b[i].toString(16).padStart(2, '0');
    const big = BigInt.asIntN(8 * b.length, BigInt('0x' + hex));
    return Number.isSafeInteger(Number(big)) && BigInt(Number(big)) === big ? Number(big) : big;
  }

  private parseIntLine(s: string, what: string): number | bigint {
    const t = s.endsWith('L') ? s.slice(0, -1) : s;
    if (!/^[+-]?\d+$/.test(t) || t.length > MAX_INT_BYTES) throw this.fail(`${what} at offset ${this.opStart} is not an integer: ${JSON.stringify(s.slice(0, 40))}`);
    const big = BigInt(t);
    return BigInt(Number(big)) === big && Number.isSafeInteger(Number(big)) ? Number(big) : big;
  }

  /** A protocol-0 STRING argument: a Python repr in quotes, with backslash escapes. */
  private parseQuoted(s: string): Uint8Array {
    const q = s[0];
    if (s.length < 2 || (q !== '"' && q !== "'") || s[s.length - 1] !== q) throw this.fail(`STRING at offset ${this.opStart} is not quoted`);
    const body = s.slice(1, -1);
    const out: number[] = [];
    for (let i = 0; i < body.length; i++) {
      const c = body.charCodeAt(i);
      if (c !== 0x5c) {
        out.push(c & 0xff);
        continue;
      }
      const e = body[++i];
      const simple: Record<string, number> = { n: 10, r: 13, t: 9, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11, '0': 0 };
      if (e === 'x') {
        const h = body.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) throw this.fail(`STRING at offset ${this.opStart} has a bad \\x escape`);
        out.push(parseInt(h, 16));
        i += 2;
      } else if (e !== undefined && /[0-7]/.test(e)) {
        let oct = e;
        while (oct.length < 3 && /[0-7]/.test(body[i + 1] ?? '')) oct += body[++i];
        out.push(parseInt(oct, 8) & 0xff);
      } else if (e !== undefined && e in simple) out.push(simple[e]);
      else throw this.fail(`STRING at offset ${this.opStart} has an unknown escape`);
    }
    return Uint8Array.from(out);
  }

  /** A protocol-0 UNICODE argument (raw-unicode-escape). */
  private parseRawUnicode(s: string): string {
    return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u4: string | undefined, u8: string | undefined) => {
      const cp = parseInt((u4 ?? u8) as string, 16);
      if (cp > 0x10ffff) throw this.fail(`UNICODE at offset ${this.opStart} has a code point beyond U+10FFFF`);
      return String.fromCodePoint(cp);
    });
  }

  private bytesToStr(b: Uint8Array): string {
    return decodeUtf8(b);
  }

  run(): { value: unknown; end: number } {
    const b = this.bytes;
    for (;;) {
      this.opStart = this.pos;
      if (this.pos >= b.length) throw this.fail(`the pickle ends at offset ${this.pos} without a STOP`, true);
      const op = b[this.pos++];
      switch (op) {
        case 0x80: { // PROTO
          const v = this.u8();
          if (v > 5) throw this.fail(`pickle protocol ${v} at offset ${this.opStart} is newer than 5`);
          break;
        }
        case 0x95: { // FRAME: framing only groups opcodes; the length must still fit
          const n = this.u64();
          this.need(n, 'FRAME');
          break;
        }
        case 0x2e: // STOP
          return { value: this.pop(), end: this.pos };
        case 0x28: // MARK
          if (this.meta.length >= this.maxDepth) throw this.fail(`more than ${this.maxDepth} nested MARKs at offset ${this.opStart}`);
          this.meta.push(this.stack);
          this.stack = [];
          break;
        case 0x30: // POP
          if (this.stack.length > 0) this.stack.pop();
          else this.popMark();
          break;
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.push(this.top());
          break;

        case 0x4e: this.push(null); break; // NONE
        case 0x88: this.push(true); break; // NEWTRUE
        case 0x89: this.push(false); break; // NEWFALSE
        case 0x4a: this.push(this.i32()); break; // BININT
        case 0x4b: this.push(this.u8()); break; // BININT1
        case 0x4d: this.push(this.u16()); break; // BININT2
        case 0x8a: this.push(this.decodeLong(this.take(this.u8(), 'LONG1'))); break; // LONG1
        case 0x8b: { // LONG4
          const n = this.i32();
          if (n < 0) throw this.fail(`LONG4 at offset ${this.opStart} has a negative length`);
          if (n > MAX_INT_BYTES) throw this.fail(`integer of ${n} bytes at offset ${this.opStart} is too large`);
          this.push(this.decodeLong(this.take(n, 'LONG4')));
          break;
        }
        case 0x49: { // INT
          const s = this.line('INT');
          this.push(s === '01' ? true : s === '00' ? false : this.parseIntLine(s, 'INT'));
          break;
        }
        case 0x4c: this.push(this.parseIntLine(this.line('LONG'), 'LONG')); break; // LONG
        case 0x46: { // FLOAT
          const s = this.line('FLOAT').trim();
          const v = Number(s);
          if (s === '' || (Number.isNaN(v) && !/^[+-]?nan$/i.test(s))) {
            if (/^[+-]?inf(inity)?$/i.test(s)) this.push(s.startsWith('-') ? -Infinity : Infinity);
            else throw this.fail(`FLOAT at offset ${this.opStart} is not a number`);
          } else this.push(v);
          break;
        }
        case 0x47: { // BINFLOAT (big-endian)
          this.need(8, 'BINFLOAT');
          this.push(this.view.getFloat64(this.pos, false));
          this.pos += 8;
          break;
        }

        case 0x58: this.push(this.bytesToStr(this.take(this.u32(), 'BINUNICODE'))); break;
        case 0x8d: this.push(this.bytesToStr(this.take(this.u64(), 'BINUNICODE8'))); break;
        case 0x8c: this.push(this.bytesToStr(this.take(this.u8(), 'SHORT_BINUNICODE'))); break;
        case 0x56: this.push(this.parseRawUnicode(this.line('UNICODE'))); break;
        // Python 2 str: torch.load decodes it as UTF-8 text.
        case 0x55: this.push(this.bytesToStr(this.take(this.u8(), 'SHORT_BINSTRING'))); break;
        case 0x54: { // BINSTRING
          const n = this.i32();
          if (n < 0) throw this.fail(`BINSTRING at offset ${this.opStart} has a negative length`);
          this.push(this.bytesToStr(this.take(n, 'BINSTRING')));
          break;
        }
        case 0x53: this.push(this.bytesToStr(this.parseQuoted(this.line('STRING')))); break;
        case 0x42: this.push(this.take(this.u32(), 'BINBYTES').slice()); break;
        case 0x43: this.push(this.take(this.u8(), 'SHORT_BINBYTES').slice()); break;
        case 0x8e: this.push(this.take(this.u64(), 'BINBYTES8').slice()); break;
        case 0x96: this.push(this.take(this.u64(), 'BYTEARRAY8').slice()); break;
        case 0x97: // NEXT_BUFFER
        case 0x98: // READONLY_BUFFER
          throw this.fail(`out-of-band buffers (protocol 5, offset ${this.opStart}) are not supported`);

        case 0x29: this.push([]); break; // EMPTY_TUPLE
        case 0x5d: this.push([]); break; // EMPTY_LIST
        case 0x7d: this.push(new Map()); break; // EMPTY_DICT
        case 0x8f: this.push(new Set()); break; // EMPTY_SET
        case 0x85: // TUPLE1
        case 0x86: // TUPLE2
        case 0x87: { // TUPLE3
          const n = op - 0x84;
          if (this.stack.length < n) throw this.fail(`stack underflow at offset ${this.opStart} (${this.opName()})`);
          const t = this.stack.splice(this.stack.length - n, n);
          this.nestAll(t, t);
          this.push(t);
          break;
        }
        case 0x74: // TUPLE
        case 0x6c: { // LIST
          const t = this.popMark();
          this.nestAll(t, t);
          this.push(t);
          break;
        }
        case 0x64: { // DICT
          const items = this.popMark();
          if (items.length % 2 !== 0) throw this.fail(`DICT at offset ${this.opStart} has an odd number of items`);
          const m = new Map();
          for (let i = 0; i < items.length; i += 2) this.setItem(m, items[i], items[i + 1]);
          this.push(m);
          break;
        }
        case 0x91: { // FROZENSET
          const items = this.popMark();
          const s = new Set(items);
          this.nestAll(s, items);
          this.push(s);
          break;
        }
        case 0x73: { // SETITEM
          const value = this.pop();
          const key = this.pop();
          this.setItem(this.top(), key, value);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.popMark();
          if (items.length % 2 !== 0) throw this.fail(`SETITEMS at offset ${this.opStart} has an odd number of items`);
          const target = this.top();
          for (let i = 0; i < items.length; i += 2) this.setItem(target, items[i], items[i + 1]);
          break;
        }
        case 0x61: { // APPEND
          const v = this.pop();
          this.appendItems(this.top(), [v]);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark();
          this.appendItems(this.top(), items);
          break;
        }
        case 0x90: { // ADDITEMS
          const items = this.popMark();
          const target = this.top();
          if (!(target instanceof Set)) throw this.fail(`ADDITEMS at offset ${this.opStart} on something that is not a set`);
          for (const item of items) {
            target.add(item);
            this.nest(target, item);
          }
          break;
        }

        case 0x71: this.memoPut(this.u8()); break; // BINPUT
        case 0x72: this.memoPut(this.u32()); break; // LONG_BINPUT
        case 0x94: this.memoPut(this.memo.size); break; // MEMOIZE
        case 0x70: this.memoPut(this.memoIndex(this.line('PUT'))); break; // PUT
        case 0x68: this.memoGet(this.u8()); break; // BINGET
        case 0x6a: this.memoGet(this.u32()); break; // LONG_BINGET
        case 0x67: this.memoGet(this.memoIndex(this.line('GET'))); break; // GET

        case 0x63: { // GLOBAL
          const module = this.line('GLOBAL');
          const name = this.line('GLOBAL');
          this.global(module, name);
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') throw this.fail(`STACK_GLOBAL at offset ${this.opStart} needs two strings`);
          this.global(module, name);
          break;
        }
        case 0x82: // EXT1
        case 0x83: // EXT2
        case 0x84: // EXT4
          throw this.fail(`extension registry codes (${this.opName()} at offset ${this.opStart}) are not supported`);

        case 0x52: { // REDUCE
          const args = this.pop();
          const callable = this.pop();
          this.push(this.call(callable, args));
          break;
        }
        case 0x81: { // NEWOBJ
          const args = this.pop();
          const cls = this.pop();
          this.push(this.create(cls, args, null));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          if (!(kwargs instanceof Map)) throw this.fail(`NEWOBJ_EX at offset ${this.opStart} got keyword arguments that are not a dict`);
          this.push(this.create(cls, args, kwargs));
          break;
        }
        case 0x69: { // INST: module and name lines, arguments since MARK
          const module = this.line('INST');
          const name = this.line('INST');
          const args = this.popMark();
          this.global(module, name);
          const cls = this.pop();
          this.push(args.length > 0 ? this.call(cls, args) : this.create(cls, args, null));
          break;
        }
        case 0x6f: { // OBJ: class and arguments since MARK
          const items = this.popMark();
          if (items.length === 0) throw this.fail(`OBJ at offset ${this.opStart} has no class`);
          const [cls, ...args] = items;
          this.push(args.length > 0 ? this.call(cls, args) : this.create(cls, args, null));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case 0x51: { // BINPERSID
          const pid = this.pop();
          this.push(this.persistent(pid));
          break;
        }
        case 0x50: this.push(this.persistent(this.line('PERSID'))); break; // PERSID
        default:
          throw this.fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')} at offset ${this.opStart}`);
      }
    }
  }

  private memoIndex(s: string): number {
    if (!/^\d{1,10}$/.test(s)) throw this.fail(`memo index at offset ${this.opStart} is not a number`);
    return Number(s);
  }

  private persistent(pid: unknown): unknown {
    if (!this.opts.persistentLoad) throw this.fail(`persistent id at offset ${this.opStart} in a pickle that may not have any`);
    return this.opts.persistentLoad(pid);
  }
}

const NAMES: [number, string][] = [
  [0x28, 'MARK'], [0x2e, 'STOP'], [0x30, 'POP'], [0x31, 'POP_MARK'], [0x32, 'DUP'], [0x46, 'FLOAT'],
  [0x49, 'INT'], [0x4a, 'BININT'], [0x4b, 'BININT1'], [0x4c, 'LONG'], [0x4d, 'BININT2'], [0x4e, 'NONE'],
  [0x50, 'PERSID'], [0x51, 'BINPERSID'], [0x52, 'REDUCE'], [0x53, 'STRING'], [0x54, 'BINSTRING'],
  [0x55, 'SHORT_BINSTRING'], [0x56, 'UNICODE'], [0x58, 'BINUNICODE'], [0x61, 'APPEND'], [0x62, 'BUILD'],
  [0x63, 'GLOBAL'], [0x64, 'DICT'], [0x7d, 'EMPTY_DICT'], [0x65, 'APPENDS'], [0x67, 'GET'], [0x68, 'BINGET'],
  [0x69, 'INST'], [0x6a, 'LONG_BINGET'], [0x6c, 'LIST'], [0x5d, 'EMPTY_LIST'], [0x6f, 'OBJ'], [0x70, 'PUT'],
  [0x71, 'BINPUT'], [0x72, 'LONG_BINPUT'], [0x73, 'SETITEM'], [0x74, 'TUPLE'], [0x29, 'EMPTY_TUPLE'],
  [0x75, 'SETITEMS'], [0x47, 'BINFLOAT'], [0x80, 'PROTO'], [0x81, 'NEWOBJ'], [0x82, 'EXT1'], [0x83, 'EXT2'],
  [0x84, 'EXT4'], [0x85, 'TUPLE1'], [0x86, 'TUPLE2'], [0x87, 'TUPLE3'], [0x88, 'NEWTRUE'], [0x89, 'NEWFALSE'],
  [0x8a, 'LONG1'], [0x8b, 'LONG4'], [0x42, 'BINBYTES'], [0x43, 'SHORT_BINBYTES'], [0x8c, 'SHORT_BINUNICODE'],
  [0x8d, 'BINUNICODE8'], [0x8e, 'BINBYTES8'], [0x8f, 'EMPTY_SET'], [0x90, 'ADDITEMS'], [0x91, 'FROZENSET'],
  [0x92, 'NEWOBJ_EX'], [0x93, 'STACK_GLOBAL'], [0x94, 'MEMOIZE'], [0x95, 'FRAME'], [0x96, 'BYTEARRAY8'],
  [0x97, 'NEXT_BUFFER'], [0x98, 'READONLY_BUFFER'],
];
for (const [code, name] of NAMES) OP_NAMES[code] = name;
