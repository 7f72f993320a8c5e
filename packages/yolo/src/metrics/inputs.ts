// The numeric inputs the metrics accept (tensors, typed arrays, plain arrays) and their conversion
// to flat float64 arrays, on which every metric computes.
import { type Tensor, tidy } from '@tsyolo/torch';

/** Numbers or booleans: a tensor (any device/dtype), a typed array, or a plain array. */
export type NumericInput = Tensor | ArrayLike<number> | ArrayLike<boolean>;

/** Whether x is a libtorch tensor rather than an array. */
export function isTensor(x: unknown): x is Tensor {
  return (
    typeof x === 'object' && x !== null && typeof (x as Tensor).toTypedArray === 'function' && '_h' in (x as object)
  );
}

/** A flat float64 copy (tensors are read row-major; half-precision ones through float32). */
export function toF64(x: NumericInput): Float64Array {
  if (isTensor(x)) {
    const a =
      x.dtype === 'float16' || x.dtype === 'bfloat16' ? tidy(() => x.to('float32').toTypedArray()) : x.toTypedArray();
    if (a instanceof BigInt64Array) return Float64Array.from(a, Number);
    return Float64Array.from(a as ArrayLike<number>);
  }
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Number(x[i]);
  return out;
}
