// PyTorch's torch.save files (the zip format of PyTorch >= 1.6): <prefix>/data.pkl is a pickle whose
// persistent ids name storages stored as <prefix>/data/<key>. Tensors are rebuilt as new contiguous
// tensors, NumPy values as NdArray / numbers, nn.Modules and other classes stay PyObjects.
// Loaded tensors do not require grad (Parameters become plain tensors). They are owned by the
// caller: free them with collectTensors(value), or load inside tidy() and return Maps/arrays of the
// tensors to keep (tidy does not look inside PyObjects, so returning a PyObject frees its tensors).
import { readFileSync } from 'node:fs';
import { type Unzipped, unzipSync } from 'fflate';
import { asStrided } from '../creation.js';
import { type DType, elementSize } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { tensorFromBytes } from './bytes.js';
import { findNumpyClass } from './numpy-pickle.js';
import { unpickle } from './pickle.js';
import { PyClass, type PyFunction } from './pyvalues.js';

/**
 * What a .pt file holds: Tensor, PyDict, arrays, numbers/bigints, strings, booleans, null,
 * Uint8Array, Set, NdArray, PyObject (unresolved classes such as nn.Modules, with their state).
 */
export type PtValue = unknown;

export interface LoadPtOptions {
  /** Consulted before the built-in torch/numpy resolution; see UnpickleOptions.findClass. */
  findClass?: (module: string, name: string) => unknown;
}

const storageDtypes: Record<string, DType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  UntypedStorage: 'uint8',
};

// torch.<dtype> globals (as pickled, e.g. by _rebuild_tensor_v3 or in optimizer/model attributes)
const torchDtypes: Record<string, DType> = {
  float32: 'float32',
  float: 'float32',
  float64: 'float64',
  double: 'float64',
  float16: 'float16',
  half: 'float16',
  bfloat16: 'bfloat16',
  int64: 'int64',
  long: 'int64',
  int32: 'int32',
  int: 'int32',
  int16: 'int16',
  short: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
};

/** A storage from the archive: a flat tensor of its dtype, only alive while loading. */
class Storage {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly tensor: Tensor,
  ) {}
}

/** Row-major strides for size, ignoring dims of extent 1 (they may carry any stride). */
function isRowMajor(size: number[], stride: number[]): boolean {
  let expect = 1;
  for (let i = size.length - 1; i >= 0; i--) {
    if (size[i] !== 1 && stride[i] !== expect) return false;
    expect *= size[i];
  }
  return true;
}

function ints(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x))) throw new Error(`${what} is not a tuple of ints`);
  return v as number[];
}

/** _rebuild_tensor(_v2/_v3)(storage, offset, size, stride, ...): an owned contiguous copy of the view. */
function rebuildTensor(created: Tensor[]): PyFunction {
  return ([storage, offset, size, stride, , , dtype]) => {
    if (!(storage instanceof Storage)) throw new Error('tensor rebuild: first argument is not a storage');
    if (typeof dtype === 'string' && dtype !== storage.dtype)
      throw new Error(`tensor rebuild: ${dtype} view of a ${storage.dtype} storage is not supported`);
    const sz = ints(size, 'size');
    const st = ints(stride, 'stride');
    const off = Number(offset);
    if (sz.length !== st.length || !Number.isSafeInteger(off) || off < 0)
      throw new Error('tensor rebuild: bad size/stride/offset');
    const numel = storage.tensor.numel;
    if (sz.every((d) => d > 0)) {
      const last = sz.reduce((a, d, i) => a + (d - 1) * st[i], off);
      if (st.some((s) => s < 0) || last >= numel)
        throw new Error(
          `tensor rebuild: view [${sz}] stride [${st}] offset ${off} is outside storage '${storage.key}' of ${numel} elements`,
        );
    }
    const view = asStrided(storage.tensor, sz, st, off);
    const t = isRowMajor(sz, st) ? view.clone() : view.contiguous();
    view.dispose();
    created.push(t);
    return t;
  };
}

function torchClasses(created: Tensor[]): (module: string, name: string) => unknown {
  const rebuild = rebuildTensor(created);
  return (module, name) => {
    if (module === 'torch._utils') {
      if (name === '_rebuild_tensor' || name === '_rebuild_tensor_v2' || name === '_rebuild_tensor_v3') return rebuild;
      if (name === '_rebuild_parameter' || name === '_rebuild_parameter_with_state')
        return (([data]) => data) as PyFunction;
    }
    if (module === 'torch._tensor' && name === '_rebuild_from_type_v2')
      return (([fn, , args]) => (fn as PyFunction)(args as unknown[])) as PyFunction;
    if (module === 'torch') {
      if (name === 'Size') return (([dims]) => [...(dims as number[])]) as PyFunction;
      if (name === 'device') return ((args) => args.join(':')) as PyFunction;
      if (torchDtypes[name]) return torchDtypes[name];
    }
    return findNumpyClass(module, name);
  };
}

function findDataPkl(files: Unzipped): string | undefined {
  const candidates = Object.keys(files).filter((k) => k === 'data.pkl' || k.endsWith('/data.pkl'));
  return candidates.sort((a, b) => a.length - b.length)[0];
}

/** Parses torch.save bytes; `name` (a path) starts every error message. */
export function parsePt(buf: Uint8Array, name = '<buffer>', opts: LoadPtOptions = {}): PtValue {
  const fail = (why: string): never => {
    throw new Error(`${name}: ${why}`);
  };
  const isZip = buf.length >= 4 && buf[0] === 0x50 && buf[1] === 0x4b && buf[2] === 0x03 && buf[3] === 0x04;
  if (!isZip) {
    if (buf.length > 0 && buf[0] === 0x80)
      fail('legacy (non-zip, PyTorch < 1.6) torch.save format not supported; re-save it with a current PyTorch');
    fail('not a torch.save zip archive (bad magic)');
  }
  let files: Unzipped;
  try {
    files = unzipSync(buf);
  } catch (e) {
    return fail(`corrupt or truncated zip archive (${(e as Error).message})`);
  }
  const pkl = findDataPkl(files);
  if (pkl === undefined) {
    const ts = Object.keys(files).some((k) => k.endsWith('constants.pkl'));
    return fail(ts ? 'a TorchScript archive, not a torch.save file (no data.pkl)' : 'zip archive has no data.pkl');
  }
  const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
  const order = files[`${prefix}byteorder`];
  if (order && new TextDecoder().decode(order).trim() === 'big') fail('big-endian archives are not supported');

  const storages = new Map<string, Storage>();
  const created: Tensor[] = [];
  const persistentLoad = (pid: unknown): unknown => {
    if (!Array.isArray(pid) || pid[0] !== 'storage')
      throw new Error(`unsupported persistent id ${JSON.stringify(String(pid))}`);
    const [, type, keyV, , numelV] = pid as [string, unknown, unknown, unknown, unknown];
    const key = String(keyV);
    const cached = storages.get(key);
    if (cached) return cached;
    const dtype =
      type instanceof PyClass ? storageDtypes[type.name] : typeof type === 'string' ? (type as DType) : undefined;
    if (!dtype) throw new Error(`storage '${key}' has unsupported type ${String(type)}`);
    const numel = Number(numelV);
    const entry = files[`${prefix}data/${key}`];
    if (!entry) throw new Error(`storage '${key}': archive entry ${prefix}data/${key} is missing`);
    const need = numel * elementSize(dtype);
    if (!Number.isSafeInteger(numel) || numel < 0 || entry.length < need)
      throw new Error(
        `storage '${key}': entry has ${entry.length} bytes, ${numel} ${dtype} elements need ${need} (truncated?)`,
      );
    const s = new Storage(key, dtype, tensorFromBytes(entry.subarray(0, need), dtype, [numel]));
    storages.set(key, s);
    return s;
  };
  const torch = torchClasses(created);
  const findClass = (module: string, cls: string): unknown => {
    const custom = opts.findClass?.(module, cls);
    return custom !== undefined ? custom : torch(module, cls);
  };
  let ok = false;
  try {
    const value = unpickle(files[pkl], { name: `${name}: ${pkl}`, findClass, persistentLoad });
    ok = true;
    return value;
  } finally {
    for (const s of storages.values()) s.tensor.dispose();
    if (!ok) for (const t of created) t.dispose();
  }
}

/** Loads a torch.save file (zip format); tensors are new CPU tensors the caller owns. */
export function loadPt(path: string, opts: LoadPtOptions = {}): PtValue {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read: ${(e as Error).message}`);
  }
  return parsePt(buf, path, opts);
}
