// Tensor factories: from data, constants, ranges and random draws.

import type { DType } from './dtype.js';
import { type Handle, native } from './native.js';
import { opId } from './registry.js';
import { Tensor } from './tensor.js';

const O = {
  zeros: opId('zeros'),
  ones: opId('ones'),
  full: opId('full'),
  empty: opId('empty.memory_format'),
  arange: opId('arange.start_step'),
  linspace: opId('linspace'),
  eye: opId('eye'),
  rand: opId('rand'),
  randn: opId('randn'),
  randint: opId('randint.low'),
  randperm: opId('randperm'),
  zerosLike: opId('zeros_like'),
  onesLike: opId('ones_like'),
  fullLike: opId('full_like'),
  emptyLike: opId('empty_like'),
  randLike: opId('rand_like'),
  randnLike: opId('randn_like'),
  cat: opId('cat'),
  stack: opId('stack'),
  where: opId('where.self'),
  scalarTensor: opId('scalar_tensor'),
  uniform_: opId('uniform_'),
  normal_: opId('normal_'),
  meshgrid: opId('meshgrid.indexing'),
  asStrided: opId('as_strided'),
};

export interface TensorOptions {
  dtype?: DType;
  device?: string;
}

type Nested = number | boolean | Nested[];

function shapeOf(data: Nested): number[] {
  const s: number[] = [];
  let d: Nested = data;
  while (Array.isArray(d)) {
    s.push(d.length);
    d = d[0];
  }
  return s;
}

function dev(opts?: TensorOptions): string | null {
  return opts?.device ?? null;
}

/** A tensor from a TypedArray (copied) with the given shape; the dtype follows the array unless given. */
export function fromTypedArray(data: ArrayBufferView, shape: readonly number[], dtype?: DType): Tensor {
  return new Tensor(native.fromTypedArray(data, shape, dtype));
}

/** A tensor from nested arrays of numbers/booleans (default float32, or int64/bool when asked). */
export function tensor(data: Nested | ArrayBufferView, opts: TensorOptions = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const n = (data as unknown as { length: number }).length;
    const t = fromTypedArray(data, [n]);
    return opts.dtype && opts.dtype !== t.dtype ? convert(t, opts.dtype) : t;
  }
  const shape = shapeOf(data);
  const flat = (Array.isArray(data) ? (data as unknown[]).flat(Infinity) : [data]) as (number | boolean)[];
  const n = shape.reduce((a, b) => a * b, 1);
  if (flat.length !== n)
    throw new Error(`tensor(): ragged nested array (shape ${JSON.stringify(shape)}, ${flat.length} values)`);
  const dtype = opts.dtype ?? (typeof flat[0] === 'boolean' ? 'bool' : 'float32');
  let t: Tensor;
  switch (dtype) {
    case 'float64':
      t = fromTypedArray(Float64Array.from(flat, Number), shape);
      break;
    case 'int64':
      t = fromTypedArray(
        BigInt64Array.from(flat, (v) => BigInt(Math.trunc(Number(v)))),
        shape,
      );
      break;
    case 'int32':
      t = fromTypedArray(Int32Array.from(flat, Number), shape);
      break;
    case 'uint8':
      t = fromTypedArray(Uint8Array.from(flat, Number), shape);
      break;
    case 'bool':
      t = fromTypedArray(
        Uint8Array.from(flat, (v) => (v ? 1 : 0)),
        shape,
        'bool',
      );
      break;
    default: {
      const f = fromTypedArray(Float32Array.from(flat, Number), shape);
      t = dtype === 'float32' ? f : convert(f, dtype);
    }
  }
  return opts.device && opts.device !== 'cpu' ? move(t, opts.device) : t;
}

function convert(t: Tensor, dtype: DType): Tensor {
  const r = t.to(dtype);
  t.dispose();
  return r;
}
function move(t: Tensor, device: string): Tensor {
  const r = t.to(device);
  t.dispose();
  return r;
}

export function scalar(v: number, opts: TensorOptions = {}): Tensor {
  return new Tensor(native.call(O.scalarTensor, v, opts.dtype ?? 'float32', null, dev(opts)) as Handle);
}
export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return new Tensor(native.call(O.zeros, shape, opts.dtype ?? 'float32', null, dev(opts)) as Handle);
}
export function ones(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return new Tensor(native.call(O.ones, shape, opts.dtype ?? 'float32', null, dev(opts)) as Handle);
}
export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  return new Tensor(native.call(O.full, shape, value, opts.dtype ?? 'float32', null, dev(opts)) as Handle);
}
export function empty(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return new Tensor(native.call(O.empty, shape, opts.dtype ?? 'float32', null, dev(opts)) as Handle);
}
/** [start, end) by step; float32 unless a dtype is given (int64 for integer arguments, as torch does). */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  const ints = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  return new Tensor(
    native.call(O.arange, start, end, step, opts.dtype ?? (ints ? 'int64' : 'float32'), null, dev(opts)) as Handle,
  );
}
export function linspace(start: number, end: number, steps: number, opts: TensorOptions = {}): Tensor {
  return new Tensor(native.call(O.linspace, start, end, steps, opts.dtype ?? 'float32', null, dev(opts)) as Handle);
}
export function eye(n: number, opts: TensorOptions = {}): Tensor {
  return new Tensor(native.call(O.eye, n, opts.dtype ?? 'float32', null, dev(opts)) as Handle);
}
/** Uniform [0, 1) from libtorch's seeded generator. */
export function rand(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return new Tensor(native.call(O.rand, shape, opts.dtype ?? 'float32', null, dev(opts)) as Handle);
}
export function randn(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return new Tensor(native.call(O.randn, shape, opts.dtype ?? 'float32', null, dev(opts)) as Handle);
}
/** Integers in [low, high). */
export function randint(low: number, high: number, shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return new Tensor(native.call(O.randint, low, high, shape, opts.dtype ?? 'int64', null, dev(opts)) as Handle);
}
export function randperm(n: number, opts: TensorOptions = {}): Tensor {
  return new Tensor(native.call(O.randperm, n, opts.dtype ?? 'int64', null, dev(opts)) as Handle);
}
export function zerosLike(t: Tensor, opts: TensorOptions = {}): Tensor {
  return new Tensor(native.call(O.zerosLike, t._h, opts.dtype ?? null, null, dev(opts)) as Handle);
}
export function onesLike(t: Tensor, opts: TensorOptions = {}): Tensor {
  return new Tensor(native.call(O.onesLike, t._h, opts.dtype ?? null, null, dev(opts)) as Handle);
}
export function fullLike(t: Tensor, value: number, opts: TensorOptions = {}): Tensor {
  return new Tensor(native.call(O.fullLike, t._h, value, opts.dtype ?? null, null, dev(opts)) as Handle);
}
export function emptyLike(t: Tensor): Tensor {
  return new Tensor(native.call(O.emptyLike, t._h) as Handle);
}
export function randLike(t: Tensor): Tensor {
  return new Tensor(native.call(O.randLike, t._h) as Handle);
}
export function randnLike(t: Tensor): Tensor {
  return new Tensor(native.call(O.randnLike, t._h) as Handle);
}
/** Fills t in place from U(low, high). */
export function uniform_(t: Tensor, low = 0, high = 1): Tensor {
  native.callVoid(O.uniform_, t._h, low, high);
  return t;
}
/** Fills t in place from N(mean, std²). */
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  native.callVoid(O.normal_, t._h, mean, std);
  return t;
}
export function cat(ts: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(
    native.call(
      O.cat,
      ts.map((t) => t._h),
      dim,
    ) as Handle,
  );
}
export function stack(ts: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(
    native.call(
      O.stack,
      ts.map((t) => t._h),
      dim,
    ) as Handle,
  );
}
/** cond ? a : b, elementwise with broadcasting. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  return new Tensor(native.call(O.where, cond._h, a._h, b._h) as Handle);
}
export function meshgrid(ts: readonly Tensor[], indexing: 'ij' | 'xy' = 'ij'): Tensor[] {
  return (
    native.call(
      O.meshgrid,
      ts.map((t) => t._h),
      indexing,
    ) as Handle[]
  ).map((h) => new Tensor(h));
}
/** A view of t's storage with the given shape, strides and offset. */
export function asStrided(t: Tensor, shape: readonly number[], strides: readonly number[], offset = 0): Tensor {
  return new Tensor(native.call(O.asStrided, t._h, shape, strides, offset) as Handle);
}
