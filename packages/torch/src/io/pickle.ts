// A Python unpickler (protocols 0-5) that builds plain JS values; see pyvalues.ts for the mapping.
// Nothing is executed: classes are resolved by findClass or the few builtins below, every other
// class becomes a PyClass whose "instances" are PyObjects holding their args and BUILD state.
import { builtins, call, describe, iterItems, py2modules } from './pickle-builtins.js';
import { isSettable, PyClass, PyDict, PyObject } from './pyvalues.js';

export interface UnpickleOptions {
  /** Used in error messages (a file path, or the entry name inside an archive). */
  name?: string;
  /**
   * Resolves a GLOBAL (module names of protocol 2 pickles are given in their Python 3 spelling:
   * builtins, copyreg). Return a PyFunction to have REDUCE/NEWOBJ call it, any other value to push
   * that value, or undefined for the default (the builtins below, else a PyClass).
   */
  findClass?: (module: string, name: string) => unknown;
  /** Called for persistent ids (PERSID/BINPERSID); without it they are an error. */
  persistentLoad?: (pid: unknown) => unknown;
}

const MARK = 0x28,
  STOP = 0x2e,
  POP = 0x30,
  POP_MARK = 0x31,
  DUP = 0x32,
  FLOAT = 0x46,
  INT = 0x49;
const BININT = 0x4a,
  BININT1 = 0x4b,
  LONG = 0x4c,
  BININT2 = 0x4d,
  NONE = 0x4e,
  PERSID = 0x50;
const BINPERSID = 0x51,
  REDUCE = 0x52,
  STRING = 0x53,
  BINSTRING = 0x54,
  SHORT_BINSTRING = 0x55;
const UNICODE = 0x56,
  BINUNICODE = 0x58,
  APPEND = 0x61,
  BUILD = 0x62,
  GLOBAL = 0x63,
  DICT = 0x64;
const EMPTY_DICT = 0x7d,
  APPENDS = 0x65,
  GET = 0x67,
  BINGET = 0x68,
  INST = 0x69,
  LONG_BINGET = 0x6a;
const LIST = 0x6c,
  EMPTY_LIST = 0x5d,
  OBJ = 0x6f,
  PUT = 0x70,
  BINPUT = 0x71,
  LONG_BINPUT = 0x72;
const SETITEM = 0x73,
  TUPLE = 0x74,
  EMPTY_TUPLE = 0x29,
  SETITEMS = 0x75,
  BINFLOAT = 0x47;
const PROTO = 0x80,
  NEWOBJ = 0x81,
  TUPLE1 = 0x85,
  TUPLE2 = 0x86,
  TUPLE3 = 0x87;
const NEWTRUE = 0x88,
  NEWFALSE = 0x89,
  LONG1 = 0x8a,
  LONG4 = 0x8b,
  BINBYTES = 0x42,
  SHORT_BINBYTES = 0x43;
const SHORT_BINUNICODE = 0x8c,
  BINUNICODE8 = 0x8d,
  BINBYTES8 = 0x8e,
  EMPTY_SET = 0x8f,
  ADDITEMS = 0x90;
const FROZENSET = 0x91,
  NEWOBJ_EX = 0x92,
  STACK_GLOBAL = 0x93,
  MEMOIZE = 0x94,
  FRAME = 0x95,
  BYTEARRAY8 = 0x96;

const utf8 = new TextDecoder('utf-8');
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Thrown for malformed input (the message names the source and byte offset). */
class PickleError extends Error {}

/** Decodes one pickle; `opts.name` (e.g. the file path) starts every error message. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions = {}): unknown {
  return new Unpickler(bytes, opts).load();
}

/** An int as a number when exact, else a bigint. */
function toInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** Python 2 str payloads: UTF-8 when valid, else byte-per-char. */
function py2str(b: Uint8Array): string {
  try {
    return utf8Strict.decode(b);
  } catch {
    return latin1(b);
  }
}

class Unpickler {
  private pos = 0;
  private op = 0; // offset of the opcode being run
  private readonly dv: DataView;
  private readonly stack: unknown[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly name: string;

  constructor(
    private readonly buf: Uint8Array,
    private readonly opts: UnpickleOptions,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.name = opts.name ?? '<pickle>';
  }

  private fail(why: string, cause?: unknown): never {
    throw new PickleError(
      `${this.name}: corrupt pickle at byte ${this.op}: ${why}`,
      cause === undefined ? undefined : { cause },
    );
  }

  load(): unknown {
    for (;;) {
      this.op = this.pos;
      if (this.pos >= this.buf.length) this.fail('truncated: no STOP opcode');
      const code = this.buf[this.pos++];
      if (code === STOP) {
        if (this.stack.length === 0) this.fail('STOP with an empty stack');
        return this.stack.pop();
      }
      try {
        this.step(code);
      } catch (e) {
        if (e instanceof PickleError) throw e;
        this.fail(`opcode 0x${code.toString(16)}: ${(e as Error).message}`, e);
      }
    }
  }

  // ---- reading ----
  private take(n: number): Uint8Array {
    if (n > this.buf.length - this.pos) this.fail(`truncated: need ${n} bytes, ${this.buf.length - this.pos} left`);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  private u8(): number {
    return this.take(1)[0];
  }
  private u16(): number {
    const o = this.pos;
    this.take(2);
    return this.dv.getUint16(o, true);
  }
  private u32(): number {
    const o = this.pos;
    this.take(4);
    return this.dv.getUint32(o, true);
  }
  private i32(): number {
    const o = this.pos;
    this.take(4);
    return this.dv.getInt32(o, true);
  }
  private u64(): number {
    const o = this.pos;
    this.take(8);
    const v = this.dv.getBigUint64(o, true);
    if (v > BigInt(this.buf.length)) this.fail(`truncated: length ${v} exceeds the data`);
    return Number(v);
  }
  private line(): string {
    const end = this.buf.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('truncated: unterminated text argument');
    const s = latin1(this.buf.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
  /** Little-endian two's complement (LONG1/LONG4). */
  private long(n: number): number | bigint {
    const b = this.take(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return toInt(v);
  }

  // ---- stack ----
  private push(v: unknown): void {
    this.stack.push(v);
  }
  private pop(): unknown {
    if (this.stack.length === 0 || this.stack.length === this.marks[this.marks.length - 1])
      this.fail('stack underflow');
    return this.stack.pop();
  }
  private top(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }
  private popMark(): unknown[] {
    const m = this.marks.pop();
    if (m === undefined) this.fail('no MARK on the stack');
    return this.stack.splice(m);
  }
  private get(i: number): unknown {
    if (!this.memo.has(i)) this.fail(`memo key ${i} not found`);
    return this.memo.get(i);
  }
  private put(i: number): void {
    this.memo.set(i, this.top());
  }

  private findClass(module: string, name: string): unknown {
    module = py2modules[module] ?? module;
    const custom = this.opts.findClass?.(module, name);
    if (custom !== undefined) return custom;
    return builtins[`${module}.${name}`] ?? new PyClass(module, name);
  }

  private persistent(pid: unknown): unknown {
    if (!this.opts.persistentLoad) this.fail('persistent id found but no persistentLoad was given');
    return this.opts.persistentLoad(pid);
  }

  private setItems(target: unknown, items: unknown[]): void {
    if (items.length % 2) this.fail('SETITEMS with an odd number of items');
    let d: Map<unknown, unknown>;
    if (target instanceof Map) d = target;
    else if (target instanceof PyObject) d = target.items ??= new PyDict();
    else return this.fail(`SETITEM on ${describe(target)}`);
    for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
  }

  private append(target: unknown, items: unknown[]): void {
    if (Array.isArray(target)) for (const v of items) target.push(v);
    else if (target instanceof PyObject) (target.list ??= []).push(...items);
    else this.fail(`APPEND on ${describe(target)}`);
  }

  private build(target: unknown, state: unknown): void {
    if (isSettable(target)) target.__setstate__(state);
    else if (target instanceof PyObject) target.state = state;
    else if (target instanceof Map && state instanceof Map) for (const [k, v] of state) target.set(k, v);
    else this.fail(`BUILD on ${describe(target)}`);
  }

  /**
   * Runs one opcode. The opcodes are grouped by family; each family's handler returns false for a code
   * outside its family, so the first one that returns true has run it.
   */
  private step(code: number): void {
    if (this.stackOp(code) || this.memoOp(code) || this.numberOp(code) || this.textOp(code)) return;
    if (this.newContainerOp(code) || this.fillContainerOp(code)) return;
    if (this.globalOp(code) || this.callOp(code) || this.persistentOp(code)) return;
    this.fail(`unknown opcode 0x${code.toString(16).padStart(2, '0')}`);
  }

  /** Protocol and framing, marks, POP and DUP. */
  private stackOp(code: number): boolean {
    switch (code) {
      case PROTO: {
        const p = this.u8();
        if (p > 5) this.fail(`unsupported pickle protocol ${p}`);
        return true;
      }
      case FRAME:
        this.u64(); // frames are inline; the length is only a read-ahead hint
        return true;
      case MARK:
        this.marks.push(this.stack.length);
        return true;
      case POP:
        if (this.stack.length === this.marks[this.marks.length - 1]) this.popMark();
        else this.pop();
        return true;
      case POP_MARK:
        this.popMark();
        return true;
      case DUP:
        this.push(this.top());
        return true;
      default:
        return false;
    }
  }

  /** The memo: PUT and GET in their three widths, and MEMOIZE (a PUT under the memo's current size). */
  private memoOp(code: number): boolean {
    switch (code) {
      case BINPUT:
        this.put(this.u8());
        return true;
      case LONG_BINPUT:
        this.put(this.u32());
        return true;
      case PUT:
        this.put(Number(this.line()));
        return true;
      case MEMOIZE:
        this.put(this.memo.size);
        return true;
      case BINGET:
        this.push(this.get(this.u8()));
        return true;
      case LONG_BINGET:
        this.push(this.get(this.u32()));
        return true;
      case GET:
        this.push(this.get(Number(this.line())));
        return true;
      default:
        return false;
    }
  }

  /** None, booleans, ints (binary, LONG1/LONG4 and the text forms) and floats. */
  private numberOp(code: number): boolean {
    switch (code) {
      case NONE:
        this.push(null);
        return true;
      case NEWTRUE:
        this.push(true);
        return true;
      case NEWFALSE:
        this.push(false);
        return true;
      case BININT:
        this.push(this.i32());
        return true;
      case BININT1:
        this.push(this.u8());
        return true;
      case BININT2:
        this.push(this.u16());
        return true;
      case LONG1:
        this.push(this.long(this.u8()));
        return true;
      case LONG4: {
        const n = this.i32();
        if (n < 0) this.fail('negative LONG4 length');
        this.push(this.long(n));
        return true;
      }
      case BINFLOAT: {
        const o = this.pos;
        this.take(8);
        this.push(this.dv.getFloat64(o, false));
        return true;
      }
      default:
        return this.textNumberOp(code);
    }
  }

  /** The protocol 0 numbers, written as a line of text: INT (also 00/01 for booleans), LONG, FLOAT. */
  private textNumberOp(code: number): boolean {
    switch (code) {
      case INT: {
        const s = this.line().trim();
        this.push(s === '00' || s === '01' ? s === '01' : this.parseInt(s));
        return true;
      }
      case LONG:
        this.push(this.parseInt(this.line().trim().replace(/L$/, '')));
        return true;
      case FLOAT:
        this.push(this.parseFloat(this.line().trim()));
        return true;
      default:
        return false;
    }
  }

  /** Unicode strings, bytes and bytearrays, and Python 2 str (decoded by py2str). */
  private textOp(code: number): boolean {
    let v: unknown;
    switch (code) {
      case SHORT_BINUNICODE:
        v = utf8.decode(this.take(this.u8()));
        break;
      case BINUNICODE:
        v = utf8.decode(this.take(this.u32()));
        break;
      case BINUNICODE8:
        v = utf8.decode(this.take(this.u64()));
        break;
      case UNICODE:
        v = unescapeRawUnicode(this.line());
        break;
      case SHORT_BINBYTES:
        v = this.take(this.u8()).slice();
        break;
      case BINBYTES:
        v = this.take(this.u32()).slice();
        break;
      case BINBYTES8:
      case BYTEARRAY8:
        v = this.take(this.u64()).slice();
        break;
      case SHORT_BINSTRING:
        v = py2str(this.take(this.u8()));
        break;
      case BINSTRING: {
        const n = this.i32();
        if (n < 0) this.fail('negative BINSTRING length');
        v = py2str(this.take(n));
        break;
      }
      case STRING:
        v = py2str(latin1Bytes(unescapePyString(this.line().trim())));
        break;
      default:
        return false;
    }
    this.push(v);
    return true;
  }

  /** Opcodes that push a new container: empty ones, and dicts, lists, tuples, frozensets from the stack. */
  private newContainerOp(code: number): boolean {
    switch (code) {
      case EMPTY_DICT:
        this.push(new PyDict());
        return true;
      case EMPTY_LIST:
      case EMPTY_TUPLE:
        this.push([]);
        return true;
      case EMPTY_SET:
        this.push(new Set());
        return true;
      case DICT: {
        const items = this.popMark();
        const d = new PyDict();
        this.setItems(d, items);
        this.push(d);
        return true;
      }
      case LIST:
      case TUPLE:
        this.push(this.popMark());
        return true;
      case FROZENSET:
        this.push(new Set(this.popMark()));
        return true;
      case TUPLE1:
        this.push([this.pop()]);
        return true;
      case TUPLE2: {
        const b = this.pop();
        this.push([this.pop(), b]);
        return true;
      }
      case TUPLE3: {
        const c = this.pop();
        const b = this.pop();
        this.push([this.pop(), b, c]);
        return true;
      }
      default:
        return false;
    }
  }

  /** Opcodes that add items to the container on top of the stack (dict items, list items, set items). */
  private fillContainerOp(code: number): boolean {
    switch (code) {
      case SETITEM: {
        const v = this.pop();
        const k = this.pop();
        this.setItems(this.top(), [k, v]);
        return true;
      }
      case SETITEMS: {
        const items = this.popMark();
        this.setItems(this.top(), items);
        return true;
      }
      case APPEND: {
        const v = this.pop();
        this.append(this.top(), [v]);
        return true;
      }
      case APPENDS: {
        const items = this.popMark();
        this.append(this.top(), items);
        return true;
      }
      case ADDITEMS: {
        const items = this.popMark();
        const s = this.top();
        if (!(s instanceof Set)) this.fail(`ADDITEMS on ${describe(s)}`);
        for (const v of items) s.add(v);
        return true;
      }
      default:
        return false;
    }
  }

  /** Class lookups: GLOBAL reads module and name as two lines of text, STACK_GLOBAL pops them. */
  private globalOp(code: number): boolean {
    switch (code) {
      case GLOBAL: {
        const module = this.line();
        this.push(this.findClass(module, this.line()));
        return true;
      }
      case STACK_GLOBAL: {
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two strings');
        this.push(this.findClass(module, name));
        return true;
      }
      default:
        return false;
    }
  }

  /** Calls that make objects (REDUCE, NEWOBJ, NEWOBJ_EX, and protocol 0's INST and OBJ), and BUILD. */
  private callOp(code: number): boolean {
    switch (code) {
      case REDUCE:
      case NEWOBJ: {
        const args = this.pop();
        const fn = this.pop();
        this.push(call(fn, iterItems(args)));
        return true;
      }
      case NEWOBJ_EX: {
        const kwargs = this.pop();
        const args = this.pop();
        const cls = this.pop();
        this.push(call(cls, iterItems(args), kwargs instanceof PyDict && kwargs.size ? kwargs : undefined));
        return true;
      }
      case INST: {
        const module = this.line();
        const cls = this.findClass(module, this.line());
        this.push(call(cls, this.popMark()));
        return true;
      }
      case OBJ: {
        const [cls, ...args] = this.popMark();
        this.push(call(cls, args));
        return true;
      }
      case BUILD: {
        const state = this.pop();
        this.build(this.top(), state);
        return true;
      }
      default:
        return false;
    }
  }

  /** Persistent ids: BINPERSID takes the id from the stack, PERSID from a line of text. */
  private persistentOp(code: number): boolean {
    switch (code) {
      case BINPERSID:
        this.push(this.persistent(this.pop()));
        return true;
      case PERSID:
        this.push(this.persistent(this.line()));
        return true;
      default:
        return false;
    }
  }

  private parseInt(s: string): number | bigint {
    if (!/^[+-]?\d+$/.test(s)) this.fail(`bad integer ${JSON.stringify(s)}`);
    return toInt(BigInt(s));
  }
  private parseFloat(s: string): number {
    const special: Record<string, number> = { inf: Infinity, '-inf': -Infinity, nan: NaN };
    const v = special[s.toLowerCase()] ?? Number(s);
    if (Number.isNaN(v) && s.toLowerCase() !== 'nan') this.fail(`bad float ${JSON.stringify(s)}`);
    return v;
  }
}

/** Protocol 0 STRING: a quoted Python 2 str literal, returned one char per byte. */
function unescapePyString(lit: string): string {
  const q = lit[0];
  if ((q !== "'" && q !== '"') || lit[lit.length - 1] !== q || lit.length < 2)
    throw new Error('STRING argument is not quoted');
  const s = lit.slice(1, -1);
  const simple: Record<string, string> = {
    n: '\n',
    r: '\r',
    t: '\t',
    a: '\x07',
    b: '\b',
    f: '\f',
    v: '\v',
    '\\': '\\',
    "'": "'",
    '"': '"',
    '\n': '',
  };
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') {
      out += s[i];
      continue;
    }
    const c = s[++i];
    if (c === 'x') {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c >= '0' && c <= '7') {
      const m = /^[0-7]{1,3}/.exec(s.slice(i))![0];
      out += String.fromCharCode(parseInt(m, 8) & 0xff);
      i += m.length - 1;
    } else out += simple[c] ?? `\\${c}`;
  }
  return out;
}

/** Protocol 0 UNICODE: raw-unicode-escape (latin-1 text with \uXXXX and \UXXXXXXXX escapes). */
function unescapeRawUnicode(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u4: string | undefined, u8: string | undefined) =>
    String.fromCodePoint(parseInt(u4 ?? u8!, 16)),
  );
}
