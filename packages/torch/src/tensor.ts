// The Tensor: a handle to a libtorch tensor with PyTorch's methods.
// Hot methods call the dispatcher with cached op ids and create one wrapper per result.
import './polyfill.js';
import { type DType, isFloating } from './dtype.js';
import { type Handle, type NativeValue, native } from './native.js';
import { opId } from './registry.js';
import { type Disposable, track } from './scope.js';

const O = {
  add: opId('add.Tensor'),
  addS: opId('add.Scalar'),
  add_: opId('add_.Tensor'),
  addS_: opId('add_.Scalar'),
  sub: opId('sub.Tensor'),
  subS: opId('sub.Scalar'),
  sub_: opId('sub_.Tensor'),
  subS_: opId('sub_.Scalar'),
  mul: opId('mul.Tensor'),
  mulS: opId('mul.Scalar'),
  mul_: opId('mul_.Tensor'),
  mulS_: opId('mul_.Scalar'),
  div: opId('div.Tensor'),
  divS: opId('div.Scalar'),
  div_: opId('div_.Tensor'),
  divS_: opId('div_.Scalar'),
  rsub: opId('rsub.Scalar'),
  pow: opId('pow.Tensor_Tensor'),
  powS: opId('pow.Tensor_Scalar'),
  powSelf: opId('pow.Scalar'),
  neg: opId('neg'),
  abs: opId('abs'),
  exp: opId('exp'),
  log: opId('log'),
  sqrt: opId('sqrt'),
  rsqrt: opId('rsqrt'),
  sign: opId('sign'),
  floor: opId('floor'),
  ceil: opId('ceil'),
  round: opId('round'),
  reciprocal: opId('reciprocal'),
  atan: opId('atan'),
  sin: opId('sin'),
  cos: opId('cos'),
  tanh: opId('tanh'),
  sigmoid: opId('sigmoid'),
  relu: opId('relu'),
  silu: opId('silu'),
  leakyRelu: opId('leaky_relu'),
  hardswish: opId('hardswish'),
  softmax: opId('softmax.int'),
  logSoftmax: opId('log_softmax.int'),
  clamp: opId('clamp'),
  clamp_: opId('clamp_'),
  clampT: opId('clamp.Tensor'),
  maximum: opId('maximum'),
  minimum: opId('minimum'),
  eq: opId('eq.Tensor'),
  eqS: opId('eq.Scalar'),
  ne: opId('ne.Tensor'),
  neS: opId('ne.Scalar'),
  gt: opId('gt.Tensor'),
  gtS: opId('gt.Scalar'),
  ge: opId('ge.Tensor'),
  geS: opId('ge.Scalar'),
  lt: opId('lt.Tensor'),
  ltS: opId('lt.Scalar'),
  le: opId('le.Tensor'),
  leS: opId('le.Scalar'),
  logicalAnd: opId('logical_and'),
  logicalOr: opId('logical_or'),
  logicalNot: opId('logical_not'),
  view: opId('view'),
  reshape: opId('reshape'),
  permute: opId('permute'),
  transpose: opId('transpose.int'),
  contiguous: opId('contiguous'),
  expand: opId('expand'),
  squeeze: opId('squeeze'),
  squeezeDim: opId('squeeze.dim'),
  unsqueeze: opId('unsqueeze'),
  flatten: opId('flatten.using_ints'),
  flip: opId('flip'),
  repeat: opId('repeat'),
  split: opId('split.Tensor'),
  splitSizes: opId('split_with_sizes'),
  chunk: opId('chunk'),
  unbind: opId('unbind.int'),
  select: opId('select.int'),
  slice: opId('slice.Tensor'),
  narrow: opId('narrow'),
  index: opId('index.Tensor'),
  indexPut_: opId('index_put_'),
  indexSelect: opId('index_select'),
  maskedSelect: opId('masked_select'),
  maskedFill: opId('masked_fill.Scalar'),
  maskedFill_: opId('masked_fill_.Scalar'),
  sum: opId('sum'),
  sumDim: opId('sum.dim_IntList'),
  mean: opId('mean'),
  meanDim: opId('mean.dim'),
  max: opId('max'),
  maxDim: opId('max.dim'),
  min: opId('min'),
  minDim: opId('min.dim'),
  amax: opId('amax'),
  amin: opId('amin'),
  argmax: opId('argmax'),
  argmin: opId('argmin'),
  prod: opId('prod'),
  any: opId('any'),
  all: opId('all'),
  std: opId('std.correction'),
  var: opId('var.correction'),
  norm: opId('linalg_vector_norm'),
  cumsum: opId('cumsum'),
  topk: opId('topk'),
  sort: opId('sort'),
  argsort: opId('argsort'),
  gather: opId('gather'),
  scatter: opId('scatter.src'),
  scatter_: opId('scatter_.src'),
  scatterS_: opId('scatter_.value'),
  nonzero: opId('nonzero'),
  where: opId('where.self'),
  matmul: opId('matmul'),
  mm: opId('mm'),
  to: opId('to.dtype'),
  toDevice: opId('to.device'),
  clone: opId('clone'),
  detach: opId('detach'),
  copy_: opId('copy_'),
  zero_: opId('zero_'),
  fill_: opId('fill_.Scalar'),
  addcmul_: opId('addcmul_'),
  addcdiv_: opId('addcdiv_'),
  lerp_: opId('lerp_.Scalar'),
  sqrt_: opId('sqrt_'),
  sigmoid_: opId('sigmoid_'),
  isnan: opId('isnan'),
  isfinite: opId('isfinite'),
  equal: opId('equal'),
  allclose: opId('allclose'),
  toMemoryFormat: opId('contiguous'),
  scalarTensor: opId('scalar_tensor'),
};

/** An index for Tensor.index(): a number selects, "a:b:c" slices, null inserts a dim, "..." fills, a Tensor indexes. */
export type IndexSpec = number | string | null | Tensor;

export type TypedArrayOf =
  | Float32Array
  | Float64Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

function wrapList(v: NativeValue): Tensor[] {
  return (v as Handle[]).map((h) => new Tensor(h));
}

export class Tensor implements Disposable {
  /** @internal the native handle */
  readonly _h: Handle;
  _kept = false;
  private _shape: number[] | undefined;

  constructor(h: Handle) {
    this._h = h;
    track(this);
  }
  /** @internal outlives every scope: report its memory to V8 so the GC sees it */
  _escape(): void {
    native.reportExternal(this._h);
  }

  // ---- metadata ----
  get shape(): readonly number[] {
    return (this._shape ??= native.shape(this._h));
  }
  size(dim?: number): number {
    const s = this.shape;
    return dim === undefined ? this.numel : s[dim < 0 ? dim + s.length : dim];
  }
  get ndim(): number {
    return this.shape.length;
  }
  dim(): number {
    return this.shape.length;
  }
  get numel(): number {
    let n = 1;
    for (const d of this.shape) n *= d;
    return n;
  }
  get dtype(): DType {
    return native.dtype(this._h) as DType;
  }
  get device(): string {
    return native.device(this._h);
  }
  strides(): number[] {
    return native.strides(this._h);
  }
  get isDisposed(): boolean {
    return native.isDisposed(this._h);
  }

  // ---- lifetime ----
  dispose(): void {
    native.dispose(this._h);
  }
  [Symbol.dispose](): void {
    native.dispose(this._h);
  }

  // ---- data ----
  /** A copy of the data as a TypedArray (float16/bfloat16 as Uint16Array, bool as Uint8Array). */
  toTypedArray(): TypedArrayOf {
    return native.toTypedArray(this._h);
  }
  /** The data as a flat array of numbers. */
  toArray(): number[] {
    const a = native.toTypedArray(
      this.dtype === 'float16' || this.dtype === 'bfloat16' ? this.to('float32')._h : this._h,
    );
    return Array.from(a as ArrayLike<number | bigint>, Number);
  }
  /** Nested arrays, like torch's tolist(). */
  tolist(): unknown {
    const flat = this.toArray();
    const s = this.shape;
    if (s.length === 0) return flat[0];
    const build = (d: number, off: number): unknown[] => {
      const out: unknown[] = [];
      const stride = s.slice(d + 1).reduce((a, b) => a * b, 1);
      for (let i = 0; i < s[d]; i++) out.push(d === s.length - 1 ? flat[off + i] : build(d + 1, off + i * stride));
      return out;
    };
    return build(0, 0);
  }
  /**
   * The value of a one-element tensor as a number (bool: 0 or 1). An int64 value that no double holds
   * exactly (beyond ±2**53, e.g. 2**53 + 1) is never rounded: it throws a RangeError; use itemBigInt().
   */
  item(): number {
    const v = native.item(this._h);
    if (typeof v === 'bigint')
      throw new RangeError(`item(): the int64 value ${v} is not exactly representable as a number; use itemBigInt()`);
    return Number(v);
  }
  /** The value of a one-element integer or bool tensor as a bigint, exact over the whole int64 range. */
  itemBigInt(): bigint {
    const d = this.dtype;
    if (isFloating(d)) throw new TypeError(`itemBigInt(): needs an integer or bool tensor, got ${d}`);
    return BigInt(native.item(this._h));
  }

  // ---- arithmetic ----
  add(o: Tensor | number, alpha?: number): Tensor {
    return new Tensor(
      (typeof o === 'number'
        ? native.call(O.addS, this._h, o, alpha)
        : native.binary(0, this._h, o._h, alpha)) as Handle,
    );
  }
  sub(o: Tensor | number, alpha?: number): Tensor {
    return new Tensor(
      (typeof o === 'number'
        ? native.call(O.subS, this._h, o, alpha)
        : native.binary(1, this._h, o._h, alpha)) as Handle,
    );
  }
  /** other - this */
  rsub(o: number): Tensor {
    return new Tensor(native.call(O.rsub, this._h, o) as Handle);
  }
  mul(o: Tensor | number): Tensor {
    return new Tensor(
      (typeof o === 'number' ? native.call(O.mulS, this._h, o) : native.binary(2, this._h, o._h)) as Handle,
    );
  }
  div(o: Tensor | number): Tensor {
    return new Tensor(
      (typeof o === 'number' ? native.call(O.divS, this._h, o) : native.binary(3, this._h, o._h)) as Handle,
    );
  }
  pow(o: Tensor | number): Tensor {
    return new Tensor(
      (typeof o === 'number' ? native.call(O.powS, this._h, o) : native.call(O.pow, this._h, o._h)) as Handle,
    );
  }
  neg(): Tensor {
    return this.u(O.neg);
  }
  abs(): Tensor {
    return this.u(O.abs);
  }
  exp(): Tensor {
    return this.u(O.exp);
  }
  log(): Tensor {
    return this.u(O.log);
  }
  sqrt(): Tensor {
    return this.u(O.sqrt);
  }
  rsqrt(): Tensor {
    return this.u(O.rsqrt);
  }
  square(): Tensor {
    return this.mul(this);
  }
  sign(): Tensor {
    return this.u(O.sign);
  }
  floor(): Tensor {
    return this.u(O.floor);
  }
  ceil(): Tensor {
    return this.u(O.ceil);
  }
  round(): Tensor {
    return this.u(O.round);
  }
  reciprocal(): Tensor {
    return this.u(O.reciprocal);
  }
  atan(): Tensor {
    return this.u(O.atan);
  }
  sin(): Tensor {
    return this.u(O.sin);
  }
  cos(): Tensor {
    return this.u(O.cos);
  }
  tanh(): Tensor {
    return this.u(O.tanh);
  }
  sigmoid(): Tensor {
    return this.u(O.sigmoid);
  }
  relu(): Tensor {
    return this.u(O.relu);
  }
  silu(): Tensor {
    return this.u(O.silu);
  }
  leakyRelu(negativeSlope = 0.01): Tensor {
    return new Tensor(native.call(O.leakyRelu, this._h, negativeSlope) as Handle);
  }
  hardswish(): Tensor {
    return this.u(O.hardswish);
  }
  softmax(dim: number): Tensor {
    return new Tensor(native.call(O.softmax, this._h, dim) as Handle);
  }
  logSoftmax(dim: number): Tensor {
    return new Tensor(native.call(O.logSoftmax, this._h, dim) as Handle);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return new Tensor(native.call(O.clamp, this._h, min ?? null, max ?? null) as Handle);
  }
  /** Clamp by tensors (broadcast). */
  clampTensor(min: Tensor | null, max: Tensor | null): Tensor {
    return new Tensor(native.call(O.clampT, this._h, min?._h ?? null, max?._h ?? null) as Handle);
  }
  maximum(o: Tensor): Tensor {
    return new Tensor(native.call(O.maximum, this._h, o._h) as Handle);
  }
  minimum(o: Tensor): Tensor {
    return new Tensor(native.call(O.minimum, this._h, o._h) as Handle);
  }

  // ---- in place (return this) ----
  add_(o: Tensor | number, alpha?: number): this {
    if (typeof o === 'number') native.callVoid(O.addS_, this._h, o, alpha);
    else native.callVoid(O.add_, this._h, o._h, alpha);
    return this.same();
  }
  sub_(o: Tensor | number, alpha?: number): this {
    if (typeof o === 'number') native.callVoid(O.subS_, this._h, o, alpha);
    else native.callVoid(O.sub_, this._h, o._h, alpha);
    return this.same();
  }
  mul_(o: Tensor | number): this {
    if (typeof o === 'number') native.callVoid(O.mulS_, this._h, o);
    else native.callVoid(O.mul_, this._h, o._h);
    return this.same();
  }
  div_(o: Tensor | number): this {
    if (typeof o === 'number') native.callVoid(O.divS_, this._h, o);
    else native.callVoid(O.div_, this._h, o._h);
    return this.same();
  }
  clamp_(min?: number | null, max?: number | null): this {
    native.callVoid(O.clamp_, this._h, min ?? null, max ?? null);
    return this.same();
  }
  copy_(src: Tensor): this {
    native.callVoid(O.copy_, this._h, src._h);
    return this.same();
  }
  zero_(): this {
    native.callVoid(O.zero_, this._h);
    return this.same();
  }
  fill_(v: number): this {
    native.callVoid(O.fill_, this._h, v);
    return this.same();
  }
  /** this += value * t1 * t2 */
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this {
    native.callVoid(O.addcmul_, this._h, t1._h, t2._h, value);
    return this.same();
  }
  /** this += value * t1 / t2 */
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this {
    native.callVoid(O.addcdiv_, this._h, t1._h, t2._h, value);
    return this.same();
  }
  /** this += weight * (end - this) */
  lerp_(end: Tensor, weight: number): this {
    native.callVoid(O.lerp_, this._h, end._h, weight);
    return this.same();
  }
  sqrt_(): this {
    native.callVoid(O.sqrt_, this._h);
    return this.same();
  }
  sigmoid_(): this {
    native.callVoid(O.sigmoid_, this._h);
    return this.same();
  }
  maskedFill_(mask: Tensor, value: number): this {
    native.callVoid(O.maskedFill_, this._h, mask._h, value);
    return this.same();
  }
  scatter_(dim: number, index: Tensor, src: Tensor | number): this {
    if (typeof src === 'number') native.callVoid(O.scatterS_, this._h, dim, index._h, src);
    else native.callVoid(O.scatter_, this._h, dim, index._h, src._h);
    return this.same();
  }

  // ---- comparisons and logic ----
  eq(o: Tensor | number): Tensor {
    return this.cmp(o, O.eq, O.eqS);
  }
  ne(o: Tensor | number): Tensor {
    return this.cmp(o, O.ne, O.neS);
  }
  gt(o: Tensor | number): Tensor {
    return this.cmp(o, O.gt, O.gtS);
  }
  ge(o: Tensor | number): Tensor {
    return this.cmp(o, O.ge, O.geS);
  }
  lt(o: Tensor | number): Tensor {
    return this.cmp(o, O.lt, O.ltS);
  }
  le(o: Tensor | number): Tensor {
    return this.cmp(o, O.le, O.leS);
  }
  logicalAnd(o: Tensor): Tensor {
    return new Tensor(native.call(O.logicalAnd, this._h, o._h) as Handle);
  }
  logicalOr(o: Tensor): Tensor {
    return new Tensor(native.call(O.logicalOr, this._h, o._h) as Handle);
  }
  logicalNot(): Tensor {
    return this.u(O.logicalNot);
  }
  isnan(): Tensor {
    return this.u(O.isnan);
  }
  isfinite(): Tensor {
    return this.u(O.isfinite);
  }
  /** Same shape and exactly equal values. */
  equal(o: Tensor): boolean {
    return native.call(O.equal, this._h, o._h) as boolean;
  }
  allclose(o: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
    return native.call(O.allclose, this._h, o._h, rtol, atol) as boolean;
  }

  // ---- shape ----
  view(...shape: number[]): Tensor {
    return new Tensor(native.call(O.view, this._h, shape) as Handle);
  }
  reshape(...shape: number[]): Tensor {
    return new Tensor(native.call(O.reshape, this._h, shape) as Handle);
  }
  permute(...dims: number[]): Tensor {
    return new Tensor(native.call(O.permute, this._h, dims) as Handle);
  }
  transpose(d0: number, d1: number): Tensor {
    return new Tensor(native.call(O.transpose, this._h, d0, d1) as Handle);
  }
  t(): Tensor {
    return this.transpose(0, 1);
  }
  contiguous(memoryFormat?: 'contiguous' | 'channels_last'): Tensor {
    return new Tensor(native.call(O.contiguous, this._h, memoryFormat) as Handle);
  }
  expand(...shape: number[]): Tensor {
    return new Tensor(native.call(O.expand, this._h, shape) as Handle);
  }
  expandAs(o: Tensor): Tensor {
    return this.expand(...o.shape);
  }
  squeeze(dim?: number): Tensor {
    return new Tensor(
      (dim === undefined ? native.call(O.squeeze, this._h) : native.call(O.squeezeDim, this._h, dim)) as Handle,
    );
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(native.call(O.unsqueeze, this._h, dim) as Handle);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return new Tensor(native.call(O.flatten, this._h, startDim, endDim) as Handle);
  }
  flip(...dims: number[]): Tensor {
    return new Tensor(native.call(O.flip, this._h, dims) as Handle);
  }
  repeat(...times: number[]): Tensor {
    return new Tensor(native.call(O.repeat, this._h, times) as Handle);
  }
  /** Splits into pieces of `size` along dim, or into the given sizes. */
  split(size: number | number[], dim = 0): Tensor[] {
    return wrapList(
      typeof size === 'number'
        ? native.call(O.split, this._h, size, dim)
        : native.call(O.splitSizes, this._h, size, dim),
    );
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return wrapList(native.call(O.chunk, this._h, chunks, dim));
  }
  unbind(dim = 0): Tensor[] {
    return wrapList(native.call(O.unbind, this._h, dim));
  }
  select(dim: number, index: number): Tensor {
    return new Tensor(native.call(O.select, this._h, dim, index) as Handle);
  }
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
    return new Tensor(native.call(O.slice, this._h, dim, start ?? null, end ?? null, step) as Handle);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(native.call(O.narrow, this._h, dim, start, length) as Handle);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(native.call(O.indexSelect, this._h, dim, index._h) as Handle);
  }
  maskedSelect(mask: Tensor): Tensor {
    return new Tensor(native.call(O.maskedSelect, this._h, mask._h) as Handle);
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return new Tensor(native.call(O.maskedFill, this._h, mask._h, value) as Handle);
  }

  /**
   * Python-style indexing: `x.index(0, ':', '1:5:2', null, '...', mask)`.
   * Numbers select, "a:b:c" strings slice, null adds a dim, "..." fills the rest,
   * Tensors (bool masks or int64 indices) index as torch's advanced indexing does.
   */
  index(...specs: IndexSpec[]): Tensor {
    const { view, tensors } = this.basicIndex(specs);
    if (!tensors.some((t) => t !== null)) return view;
    return new Tensor(
      native.call(
        O.index,
        view._h,
        tensors.map((t) => (t ? t._h : null)),
      ) as Handle,
    );
  }

  /** In-place assignment through an index: `x.indexPut_([':', 0], value)`. */
  indexPut_(specs: IndexSpec[], value: Tensor | number): this {
    const { view, tensors } = this.basicIndex(specs);
    const val = typeof value === 'number' ? scalarLike(value, view) : value;
    if (tensors.some((t) => t !== null)) {
      native.callVoid(
        O.indexPut_,
        view._h,
        tensors.map((t) => (t ? t._h : null)),
        val._h,
        false,
      );
    } else {
      native.callVoid(O.copy_, view._h, val._h);
    }
    if (typeof value === 'number') val.dispose();
    if (view !== (this as Tensor)) view.dispose();
    return this;
  }

  private basicIndex(specs: IndexSpec[]): { view: Tensor; tensors: (Tensor | null)[] } {
    let t: Tensor = this;
    const tensors: (Tensor | null)[] = [];
    let dim = 0;
    const consumed = specs
      .filter((s) => s !== null && s !== '...')
      .reduce<number>((n, s) => n + (s instanceof Tensor && s.dtype === 'bool' ? s.ndim : 1), 0);
    const temps: Tensor[] = [];
    const step = (next: Tensor): void => {
      if (t !== this) temps.push(t);
      t = next;
    };
    for (const s of specs) {
      if (s === null) {
        step(t.unsqueeze(dim));
        tensors.push(null);
        dim++;
      } else if (s === '...') {
        const skip = this.ndim - consumed;
        for (let i = 0; i < skip; i++) tensors.push(null);
        dim += skip;
      } else if (typeof s === 'number') {
        step(t.select(dim, s));
      } else if (typeof s === 'string') {
        const parts = s.split(':');
        if (parts.length < 2 || parts.length > 3) throw new Error(`bad slice '${s}'`);
        const [a, b, c] = parts.map((p) => (p.trim() === '' ? null : Number(p)));
        if (a !== null || b !== null || (c !== null && c !== 1)) step(t.slice(dim, a, b, c ?? 1));
        tensors.push(null);
        dim++;
      } else {
        tensors.push(s);
        dim += s.dtype === 'bool' ? s.ndim : 1;
      }
    }
    while (tensors.length && tensors[tensors.length - 1] === null) tensors.pop();
    for (const x of temps) x.dispose();
    return { view: t, tensors };
  }

  // ---- reductions ----
  sum(dim?: number | number[], keepdim = false, dtype?: DType): Tensor {
    if (dim === undefined) return new Tensor(native.call(O.sum, this._h, dtype ?? null) as Handle);
    return new Tensor(
      native.call(O.sumDim, this._h, typeof dim === 'number' ? [dim] : dim, keepdim, dtype ?? null) as Handle,
    );
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    if (dim === undefined) return this.u(O.mean);
    return new Tensor(native.call(O.meanDim, this._h, typeof dim === 'number' ? [dim] : dim, keepdim) as Handle);
  }
  /** Maximum of all elements. */
  max(): Tensor {
    return this.u(O.max);
  }
  min(): Tensor {
    return this.u(O.min);
  }
  /** Maximum along a dim with its indices. */
  maxDim(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = wrapList(native.call(O.maxDim, this._h, dim, keepdim));
    return { values, indices };
  }
  minDim(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = wrapList(native.call(O.minDim, this._h, dim, keepdim));
    return { values, indices };
  }
  amax(dim: number | number[], keepdim = false): Tensor {
    return new Tensor(native.call(O.amax, this._h, typeof dim === 'number' ? [dim] : dim, keepdim) as Handle);
  }
  amin(dim: number | number[], keepdim = false): Tensor {
    return new Tensor(native.call(O.amin, this._h, typeof dim === 'number' ? [dim] : dim, keepdim) as Handle);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.call(O.argmax, this._h, dim ?? null, keepdim) as Handle);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.call(O.argmin, this._h, dim ?? null, keepdim) as Handle);
  }
  prod(): Tensor {
    return this.u(O.prod);
  }
  any(): Tensor {
    return this.u(O.any);
  }
  all(): Tensor {
    return this.u(O.all);
  }
  /** Standard deviation (unbiased unless correction = 0). */
  std(dim?: number | number[], correction = 1, keepdim = false): Tensor {
    return new Tensor(
      native.call(
        O.std,
        this._h,
        dim === undefined ? null : typeof dim === 'number' ? [dim] : dim,
        correction,
        keepdim,
      ) as Handle,
    );
  }
  var(dim?: number | number[], correction = 1, keepdim = false): Tensor {
    return new Tensor(
      native.call(
        O.var,
        this._h,
        dim === undefined ? null : typeof dim === 'number' ? [dim] : dim,
        correction,
        keepdim,
      ) as Handle,
    );
  }
  /** Vector p-norm over all elements or the given dims. */
  norm(p = 2, dim?: number | number[], keepdim = false): Tensor {
    return new Tensor(
      native.call(
        O.norm,
        this._h,
        p,
        dim === undefined ? null : typeof dim === 'number' ? [dim] : dim,
        keepdim,
      ) as Handle,
    );
  }
  cumsum(dim: number): Tensor {
    return new Tensor(native.call(O.cumsum, this._h, dim) as Handle);
  }
  topk(k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
    const [values, indices] = wrapList(native.call(O.topk, this._h, k, dim, largest, sorted));
    return { values, indices };
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = wrapList(native.call(O.sort, this._h, dim, descending));
    return { values, indices };
  }
  argsort(dim = -1, descending = false): Tensor {
    return new Tensor(native.call(O.argsort, this._h, dim, descending) as Handle);
  }
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(native.call(O.gather, this._h, dim, index._h) as Handle);
  }
  scatter(dim: number, index: Tensor, src: Tensor): Tensor {
    return new Tensor(native.call(O.scatter, this._h, dim, index._h, src._h) as Handle);
  }
  /** Indices of non-zero elements, (n, ndim) int64. */
  nonzero(): Tensor {
    return this.u(O.nonzero);
  }
  matmul(o: Tensor): Tensor {
    return new Tensor(native.call(O.matmul, this._h, o._h) as Handle);
  }
  mm(o: Tensor): Tensor {
    return new Tensor(native.call(O.mm, this._h, o._h) as Handle);
  }

  // ---- conversion ----
  to(dtype: DType): Tensor;
  to(device: string, dtype?: DType): Tensor;
  to(a: string, dtype?: DType): Tensor {
    if (a === 'cpu' || a.startsWith('cuda'))
      return new Tensor(native.call(O.toDevice, this._h, a, dtype ?? this.dtype) as Handle);
    return new Tensor(native.call(O.to, this._h, a) as Handle);
  }
  float(): Tensor {
    return this.to('float32');
  }
  double(): Tensor {
    return this.to('float64');
  }
  half(): Tensor {
    return this.to('float16');
  }
  long(): Tensor {
    return this.to('int64');
  }
  int(): Tensor {
    return this.to('int32');
  }
  bool(): Tensor {
    return this.to('bool');
  }
  cpu(): Tensor {
    return this.to('cpu');
  }
  clone(): Tensor {
    return this.u(O.clone);
  }
  /** A view without autograd history. */
  detach(): Tensor {
    return this.u(O.detach);
  }

  // ---- autograd ----
  get requiresGrad(): boolean {
    return native.requiresGrad(this._h);
  }
  set requiresGrad(on: boolean) {
    native.setRequiresGrad(this._h, on);
  }
  requiresGrad_(on = true): this {
    native.setRequiresGrad(this._h, on);
    return this;
  }
  get isLeaf(): boolean {
    return native.isLeaf(this._h);
  }
  /** The accumulated gradient (a new wrapper each read; dispose it or read it inside a scope). */
  get grad(): Tensor | null {
    const g = native.grad(this._h);
    return g === null ? null : new Tensor(g);
  }
  set grad(g: Tensor | null) {
    native.setGrad(this._h, g ? g._h : null);
  }
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.backward([this._h], gradient ? [gradient._h] : null, opts.retainGraph, opts.createGraph);
  }

  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device})`;
  }

  // ---- helpers ----
  private u(id: number): Tensor {
    return new Tensor(native.call(id, this._h) as Handle);
  }
  private cmp(o: Tensor | number, t: number, s: number): Tensor {
    return new Tensor((typeof o === 'number' ? native.call(s, this._h, o) : native.call(t, this._h, o._h)) as Handle);
  }
  private same(): this {
    this._shape = undefined;
    return this;
  }
}

function scalarLike(v: number, like: Tensor): Tensor {
  return new Tensor(native.call(O.scalarTensor, v, like.dtype) as Handle);
}
