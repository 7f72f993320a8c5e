// NumPy .npy files (format 1.0-3.0, little-endian, C or Fortran order).
import { readFileSync } from 'node:fs';
import { fromTypedArray } from '../creation.js';
import type { DType } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { writeFileAtomic } from './atomic.js';

const descrToDtype: Record<string, DType> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<f2': 'float16',
  '<i8': 'int64',
  '<i4': 'int32',
  '<i2': 'int16',
  '|i1': 'int8',
  '|u1': 'uint8',
  '|b1': 'bool',
};
const dtypeToDescr: Partial<Record<DType, string>> = Object.fromEntries(
  Object.entries(descrToDtype).map(([k, v]) => [v, k]),
);

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parses .npy bytes into a tensor; `name` is used in error messages. */
export function parseNpy(buf: Uint8Array, name = '<buffer>'): Tensor {
  const fail = (why: string): never => {
    throw new Error(`${name}: not a valid .npy file: ${why}`);
  };
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) fail('bad magic');
  const major = buf[6];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) fail('truncated header');
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else {
    return fail(`unsupported version ${major}`);
  }
  if (start + headerLen > buf.length) fail('truncated header');
  const header = new TextDecoder().decode(buf.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeStr = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeStr === undefined) return fail(`unreadable header ${JSON.stringify(header)}`);
  const dtype = descrToDtype[descr] ?? fail(`unsupported dtype '${descr}'`);
  const shape = shapeStr
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const itemSize = Number(descr.slice(2));
  const dataStart = start + headerLen;
  const need = n * itemSize;
  if (buf.length - dataStart < need) fail(`truncated data: need ${need} bytes, have ${buf.length - dataStart}`);
  // copy into an aligned buffer
  const bytes = new Uint8Array(need);
  bytes.set(buf.subarray(dataStart, dataStart + need));
  const view = typedView(bytes.buffer, dtype, n);
  if (!fortran) return fromTypedArray(view, shape, dtype);
  const t = fromTypedArray(view, [...shape].reverse(), dtype);
  const p = t.permute(...shape.map((_, i) => shape.length - 1 - i));
  const c = p.contiguous();
  t.dispose();
  p.dispose();
  return c;
}

function typedView(ab: ArrayBuffer, dtype: DType, n: number): ArrayBufferView {
  switch (dtype) {
    case 'float32':
      return new Float32Array(ab, 0, n);
    case 'float64':
      return new Float64Array(ab, 0, n);
    case 'float16':
      return new Uint16Array(ab, 0, n);
    case 'int64':
      return new BigInt64Array(ab, 0, n);
    case 'int32':
      return new Int32Array(ab, 0, n);
    case 'int16':
      return new Int16Array(ab, 0, n);
    case 'int8':
      return new Int8Array(ab, 0, n);
    default:
      return new Uint8Array(ab, 0, n);
  }
}

export function loadNpy(path: string): Tensor {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read: ${(e as Error).message}`);
  }
  return parseNpy(buf, path);
}

/** Encodes a tensor as .npy (version 1.0) bytes. */
export function encodeNpy(t: Tensor): Uint8Array {
  const descr = dtypeToDescr[t.dtype];
  if (!descr) throw new Error(`saveNpy: dtype ${t.dtype} has no .npy equivalent`);
  const data = t.toTypedArray();
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += `${' '.repeat((64 - (total % 64)) % 64)}\n`;
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

export function saveNpy(path: string, t: Tensor): void {
  writeFileAtomic(path, encodeNpy(t));
}
