// Pickled NumPy values (ndarray, dtype, scalars) as plain JS data, without NumPy.
import type { PyFunction } from './pyvalues.js';

type NumArray =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

interface Kind {
  name: string;
  size: number;
  make: (buf: ArrayBuffer, n: number) => NumArray;
}

// numpy type codes ('f8', 'i4', ...) -> element type
const kinds: Record<string, Kind> = {
  f8: { name: 'float64', size: 8, make: (b, n) => new Float64Array(b, 0, n) },
  f4: { name: 'float32', size: 4, make: (b, n) => new Float32Array(b, 0, n) },
  f2: { name: 'float16', size: 2, make: (b, n) => new Uint16Array(b, 0, n) },
  i8: { name: 'int64', size: 8, make: (b, n) => new BigInt64Array(b, 0, n) },
  u8: { name: 'uint64', size: 8, make: (b, n) => new BigUint64Array(b, 0, n) },
  i4: { name: 'int32', size: 4, make: (b, n) => new Int32Array(b, 0, n) },
  u4: { name: 'uint32', size: 4, make: (b, n) => new Uint32Array(b, 0, n) },
  i2: { name: 'int16', size: 2, make: (b, n) => new Int16Array(b, 0, n) },
  u2: { name: 'uint16', size: 2, make: (b, n) => new Uint16Array(b, 0, n) },
  i1: { name: 'int8', size: 1, make: (b, n) => new Int8Array(b, 0, n) },
  u1: { name: 'uint8', size: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  b1: { name: 'bool', size: 1, make: (b, n) => new Uint8Array(b, 0, n) },
};

/** numpy.dtype: `code` as numpy spells it ('f8', 'i8', 'b1', 'O8'), byte order from the pickled state. */
export class NpDtype {
  byteorder = '=';
  constructor(readonly code: string) {}
  /** 'float64', 'int64', 'bool', ... ('object' or the raw code for others). */
  get name(): string {
    return kinds[this.code]?.name ?? (this.code.startsWith('O') ? 'object' : this.code);
  }
  __setstate__(state: unknown): void {
    if (Array.isArray(state) && typeof state[1] === 'string') this.byteorder = state[1];
  }
  /** Decodes n packed elements (copied, so any alignment works). */
  decode(bytes: Uint8Array, n: number): NumArray {
    const k = kinds[this.code];
    if (!k) throw new Error(`numpy dtype '${this.code}' is not supported`);
    if (bytes.length < n * k.size) throw new Error(`numpy data has ${bytes.length} bytes, need ${n * k.size}`);
    const copy = bytes.slice(0, n * k.size);
    if (this.byteorder === '>' && k.size > 1) {
      for (let i = 0; i < copy.length; i += k.size) copy.subarray(i, i + k.size).reverse();
    }
    return k.make(copy.buffer, n);
  }
}

/**
 * numpy.ndarray: shape, dtype name and data (a typed array in C order unless fortranOrder;
 * float16 as raw Uint16Array bits; object arrays as a JS array).
 */
export class NdArray {
  shape: number[] = [];
  dtype = 'float64';
  fortranOrder = false;
  data: NumArray | unknown[] = new Float64Array(0);
  /** BUILD state: (version, shape, dtype, is_fortran, rawdata). */
  __setstate__(state: unknown): void {
    if (!Array.isArray(state) || state.length < 5) throw new Error('numpy ndarray: unexpected state');
    const [, shape, dtype, fortran, raw] = state as [unknown, number[], NpDtype, boolean, unknown];
    if (!(dtype instanceof NpDtype)) throw new Error('numpy ndarray: state has no dtype');
    this.shape = shape.map(Number);
    this.dtype = dtype.name;
    this.fortranOrder = fortran;
    const n = this.shape.reduce((a, b) => a * b, 1);
    this.data = raw instanceof Uint8Array ? dtype.decode(raw, n) : Array.isArray(raw) ? raw : [];
  }
  /** The elements as numbers (bigints converted), in storage order. */
  toArray(): number[] {
    return Array.from(this.data as ArrayLike<unknown>, (v) =>
      this.dtype === 'float16' ? halfToFloat(v as number) : Number(v),
    );
  }
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** numpy.core.multiarray.scalar(dtype, bytes): a number (bigint beyond 2^53 for 64-bit ints), or a boolean. */
function scalar([dtype, raw]: unknown[]): unknown {
  if (!(dtype instanceof NpDtype) || !(raw instanceof Uint8Array))
    throw new Error('numpy scalar: unexpected arguments');
  const v = dtype.decode(raw, 1)[0];
  if (dtype.name === 'bool') return v !== 0;
  if (dtype.name === 'float16') return halfToFloat(v as number);
  if (typeof v === 'bigint')
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  return v;
}

const fns: Record<string, PyFunction> = {
  _reconstruct: () => new NdArray(),
  scalar,
};

/** findClass for NumPy's pickled names (numpy.core.* and numpy 2's numpy._core.*). */
export function findNumpyClass(module: string, name: string): unknown {
  if (module === 'numpy' && name === 'dtype') return ([code]: unknown[]) => new NpDtype(String(code));
  if (module === 'numpy.core.multiarray' || module === 'numpy._core.multiarray') return fns[name];
  return undefined;
}
