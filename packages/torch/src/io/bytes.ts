// Raw little-endian bytes <-> tensors, for the file readers and writers.
import { fromTypedArray } from '../creation.js';
import { type DType, elementSize } from '../dtype.js';
import type { Tensor } from '../tensor.js';

type ArrayCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView;

const ctors: Record<DType, ArrayCtor> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/**
 * A typed array over `bytes` holding n elements of dtype (bool as Uint8Array, float16/bfloat16 as
 * Uint16Array). Views the bytes in place when aligned, else copies them into an aligned buffer.
 */
export function typedArrayOf(bytes: Uint8Array, dtype: DType, n: number): ArrayBufferView {
  const size = elementSize(dtype);
  if (bytes.byteLength < n * size) throw new RangeError(`need ${n * size} bytes, have ${bytes.byteLength}`);
  let src = bytes;
  if (bytes.byteOffset % size !== 0) {
    src = new Uint8Array(n * size);
    src.set(bytes.subarray(0, n * size));
  }
  return new ctors[dtype](src.buffer, src.byteOffset, n);
}

/** A new tensor of the given dtype and shape, copied from little-endian bytes. */
export function tensorFromBytes(bytes: Uint8Array, dtype: DType, shape: readonly number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return fromTypedArray(typedArrayOf(bytes, dtype, n), shape, dtype);
}

/** The tensor's data as little-endian bytes (a copy, C order). */
export function tensorBytes(t: Tensor): Uint8Array {
  const a = t.toTypedArray();
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
