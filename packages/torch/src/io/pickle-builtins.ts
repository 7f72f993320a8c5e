// The Python builtins a pickle may name (set, dict, bytes, OrderedDict, copyreg helpers, ...),
// and calling a resolved callable or an unresolved class.
import { PyClass, PyDict, type PyFunction, PyObject } from './pyvalues.js';

export function iterItems(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v;
  if (v instanceof Set || v instanceof Map) return [...v.keys()];
  if (typeof v === 'string') return [...v];
  if (v instanceof Uint8Array) return [...v];
  throw new Error(`cannot iterate ${describe(v)}`);
}

export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PyClass || v instanceof PyObject) return v.toString();
  if (Array.isArray(v)) return 'a tuple/list';
  if (v instanceof Map) return 'a dict';
  return typeof v;
}

function toDict(v: unknown, kwargs?: PyDict): PyDict {
  const d = new PyDict();
  if (v instanceof Map) for (const [k, x] of v) d.set(k, x);
  else
    for (const kv of iterItems(v)) {
      if (!Array.isArray(kv) || kv.length !== 2) throw new Error('dict(): items must be pairs');
      d.set(kv[0], kv[1]);
    }
  if (kwargs) for (const [k, x] of kwargs) d.set(k, x);
  return d;
}

function toBytes(args: unknown[]): Uint8Array {
  const [v, enc] = args;
  if (v === undefined) return new Uint8Array(0);
  if (typeof v === 'string') {
    const e = String(enc ?? 'utf-8')
      .toLowerCase()
      .replace(/[-_]/g, '');
    return e === 'latin1' || e === 'iso88591'
      ? Uint8Array.from(v, (c) => c.charCodeAt(0) & 0xff)
      : new TextEncoder().encode(v);
  }
  if (v instanceof Uint8Array) return v.slice();
  if (typeof v === 'number') return new Uint8Array(v);
  return Uint8Array.from(iterItems(v), Number);
}

export function call(fn: unknown, args: unknown[], kwargs?: PyDict): unknown {
  if (typeof fn === 'function') return (fn as PyFunction)(args, kwargs);
  if (fn instanceof PyClass) return new PyObject(fn.module, fn.name, args, kwargs);
  throw new Error(`cannot call ${describe(fn)}`);
}

export const builtins: Record<string, PyFunction> = {
  'builtins.set': ([v]) => new Set(iterItems(v)),
  'builtins.frozenset': ([v]) => new Set(iterItems(v)),
  'builtins.list': ([v]) => [...iterItems(v)],
  'builtins.tuple': ([v]) => [...iterItems(v)],
  'builtins.dict': ([v], kw) => toDict(v, kw),
  'builtins.bytes': (a) => toBytes(a),
  'builtins.bytearray': (a) => toBytes(a),
  'collections.OrderedDict': ([v]) => toDict(v),
  '_codecs.encode': (a) => toBytes(a),
  'copyreg._reconstructor': ([cls, , state]) =>
    cls instanceof PyClass ? new PyObject(cls.module, cls.name, state == null ? [] : [state]) : call(cls, []),
  'copyreg.__newobj__': ([cls, ...args]) => call(cls, args),
  'copyreg.__newobj_ex__': ([cls, args, kw]) => call(cls, iterItems(args), kw as PyDict | undefined),
};

/** Python 2 module names used by protocol <= 2 pickles, as Python 3 maps them back. */
export const py2modules: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };
