// TensorRTx .wts weights: a text file whose first line is the tensor count, then one line per tensor,
// `name count hex hex ...`, each value a float32 written as the 8 hex digits of its big-endian IEEE 754
// bits (Python's struct.pack('>f', v).hex()). As TensorRTx's yolov5 gen_wts.py, the file holds the
// unfused float32 state_dict of the model (BatchNorm tensors, num_batches_tracked as floats), with
// Detect's anchor_grid (anchors in pixels, (nl, na, 2)) and strides added after its anchors.
import { readFileSync } from 'node:fs';
import { fromTypedArray, noGrad, type Tensor, tidy, writeFileAtomic } from '@tsyolo/torch';
import type { DetectionModel } from '../models/model.js';

export interface WtsOptions {
  /** add Detect's anchor_grid and strides as gen_wts.py does (default true) */
  tensorrtx?: boolean;
}

/** The tensors a .wts file of the model holds, in order, as float32. */
export function wtsTensors(model: DetectionModel, opts: WtsOptions = {}): Map<string, Float32Array> {
  if (model.fused)
    throw new Error(
      '.wts export needs the unfused model (TensorRTx builds its layers from the Conv and BatchNorm tensors); load the weights again without fuse()',
    );
  const out = new Map<string, Float32Array>();
  const anchorsKey = `model.${model.layers.length - 1}.anchors`;
  const stride = model.detect.stride;
  const flat = (t: Tensor): Float32Array =>
    t.detach().to('float32').contiguous().view(-1).toTypedArray() as Float32Array;
  noGrad(() =>
    tidy(() => {
      for (const [k, t] of model.stateDict()) {
        out.set(k, flat(t));
        if ((opts.tensorrtx ?? true) && k === anchorsKey) {
          // anchors (nl, na, 2) in grid units · stride[..., None, None]: pixels, as gen_wts.py registers it
          const st = fromTypedArray(Float32Array.from(stride), [stride.length]).view(-1, 1, 1);
          out.set(k.replace(/anchors$/, 'anchor_grid'), flat(t.float().mul(st)));
          out.set(k.replace(/anchors$/, 'strides'), Float32Array.from(stride));
        }
      }
    }),
  );
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** One line of a .wts file: `name count hex...` and a newline. */
function wtsLine(name: string, v: Float32Array): string {
  const u8 = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const parts: string[] = new Array(v.length + 2);
  parts[0] = name;
  parts[1] = String(v.length);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (let i = 0, o = 0; i < v.length; i++, o += 4) {
    parts[i + 2] = le
      ? HEX[u8[o + 3]] + HEX[u8[o + 2]] + HEX[u8[o + 1]] + HEX[u8[o]]
      : HEX[u8[o]] + HEX[u8[o + 1]] + HEX[u8[o + 2]] + HEX[u8[o + 3]];
  }
  return `${parts.join(' ')}\n`;
}

/** The .wts text as encoded chunks (one per tensor), for writing without one huge string. */
export function encodeWts(tensors: ReadonlyMap<string, Float32Array>): Uint8Array[] {
  const enc = new TextEncoder();
  const chunks = [enc.encode(`${tensors.size}\n`)];
  for (const [k, v] of tensors) {
    if (/\s/.test(k)) throw new Error(`.wts: tensor name '${k}' contains whitespace`);
    chunks.push(enc.encode(wtsLine(k, v)));
  }
  return chunks;
}

/** Writes the model's .wts file atomically; returns its size in bytes and the tensor count. */
export function writeWts(
  model: DetectionModel,
  path: string,
  opts: WtsOptions = {},
): { bytes: number; tensors: number; values: number } {
  const tensors = wtsTensors(model, opts);
  const chunks = encodeWts(tensors);
  writeFileAtomic(path, chunks);
  let values = 0;
  for (const v of tensors.values()) values += v.length;
  return { bytes: chunks.reduce((s, c) => s + c.byteLength, 0), tensors: tensors.size, values };
}

const hexVal = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) hexVal[48 + i] = i;
for (let i = 0; i < 6; i++) {
  hexVal[97 + i] = 10 + i;
  hexVal[65 + i] = 10 + i;
}

/** Parses .wts bytes into name → float32 values (bit patterns kept exactly, NaNs included). */
export function parseWts(data: Uint8Array, source = '.wts'): Map<string, Float32Array> {
  let p = 0;
  const n = data.length;
  const isSpace = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;
  const token = (): string | null => {
    while (p < n && isSpace(data[p])) p++;
    if (p >= n) return null;
    const s = p;
    while (p < n && !isSpace(data[p])) p++;
    return new TextDecoder().decode(data.subarray(s, p));
  };
  const first = token();
  const count = Number(first);
  if (first === null || !Number.isInteger(count) || count < 0)
    throw new Error(`${source}: the first line must be the tensor count, got '${first ?? ''}'`);
  const out = new Map<string, Float32Array>();
  for (let t = 0; t < count; t++) {
    const name = token();
    const lenTok = token();
    const len = Number(lenTok);
    if (name === null || lenTok === null || !Number.isInteger(len) || len < 0)
      throw new Error(
        `${source}: tensor ${t + 1} of ${count}: expected 'name count', got '${name ?? ''} ${lenTok ?? ''}'`,
      );
    if (out.has(name)) throw new Error(`${source}: tensor '${name}' appears twice`);
    const v = new Float32Array(len);
    const bits = new Uint32Array(v.buffer);
    for (let i = 0; i < len; i++) {
      while (p < n && isSpace(data[p])) p++;
      let x = 0;
      let k = 0;
      for (; k < 8 && p < n && !isSpace(data[p]); k++, p++) {
        const h = hexVal[data[p]];
        if (h < 0)
          throw new Error(`${source}: '${name}' value ${i}: not a hex digit '${String.fromCharCode(data[p])}'`);
        x = x * 16 + h;
      }
      if (k !== 8 || (p < n && !isSpace(data[p])))
        throw new Error(`${source}: '${name}' value ${i}: expected 8 hex digits`);
      bits[i] = x;
    }
    out.set(name, v);
  }
  if (token() !== null) throw new Error(`${source}: data after the ${count} tensors the first line announces`);
  return out;
}

/** Reads a .wts file (see parseWts). */
export function readWts(path: string): Map<string, Float32Array> {
  return parseWts(readFileSync(path), path);
}
