// Multi-tensor (_foreach_*) ops: one dispatcher call for a whole list of tensors instead of one per
// tensor. Each element gets the same arithmetic as the single-tensor op, so results are bit-identical.
import { type Handle, native } from './native.js';
import { opId } from './registry.js';
import { Tensor } from './tensor.js';

const O = {
  add: opId('_foreach_add.List'),
  add_: opId('_foreach_add_.List'),
  mul_: opId('_foreach_mul_.Scalar'),
  norm: opId('_foreach_norm.Scalar'),
};

const handles = (ts: readonly Tensor[]): Handle[] => ts.map((t) => t._h);
const wrap = (hs: unknown): Tensor[] => (hs as Handle[]).map((h) => new Tensor(h));

/** a[i] + alpha·b[i], new tensors. */
export function foreachAdd(a: readonly Tensor[], b: readonly Tensor[], alpha = 1): Tensor[] {
  return wrap(native.call(O.add, handles(a), handles(b), alpha));
}

/** a[i] += alpha·b[i], in place. */
export function foreachAdd_(a: readonly Tensor[], b: readonly Tensor[], alpha = 1): void {
  native.callVoid(O.add_, handles(a), handles(b), alpha);
}

/** a[i] *= s, in place. */
export function foreachMul_(a: readonly Tensor[], s: number): void {
  native.callVoid(O.mul_, handles(a), s);
}

/** The ord-norm of each tensor (0-dim tensors). */
export function foreachNorm(a: readonly Tensor[], ord = 2): Tensor[] {
  return wrap(native.call(O.norm, handles(a), ord));
}
