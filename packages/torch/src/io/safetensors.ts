// safetensors files: an 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and [begin, end) byte range, then the raw little-endian data.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import type { DType } from '../dtype.js';
import { elementSize } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { writeFileAtomic } from './atomic.js';
import { tensorBytes, tensorFromBytes } from './bytes.js';

export interface Safetensors {
  /** In header order. */
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

const fromCode: Record<string, DType> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};
const toCode = Object.fromEntries(Object.entries(fromCode).map(([k, v]) => [v, k])) as Record<DType, string>;

// The reference writer lays tensors out by dtype (its enum order, largest first), then by name.
const layoutRank: Record<DType, number> = {
  bool: 0,
  uint8: 1,
  int8: 2,
  int16: 3,
  float16: 4,
  bfloat16: 5,
  int32: 6,
  float32: 7,
  float64: 8,
  int64: 9,
};

const MAX_HEADER = 100_000_000; // as the reference reader

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/** Parses safetensors bytes; `name` (a path) starts every error message. Tensors are copies. */
export function parseSafetensors(buf: Uint8Array, name = '<buffer>'): Safetensors {
  const fail = (why: string): never => {
    throw new Error(`${name}: not a valid safetensors file: ${why}`);
  };
  if (buf.length < 8) fail(`truncated: ${buf.length} bytes, too short for the header length`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(buf.length - 8)) fail(`truncated: header length ${n} but only ${buf.length - 8} bytes follow`);
  if (n > BigInt(MAX_HEADER)) fail(`header length ${n} is too large`);
  const headerEnd = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, headerEnd)));
  } catch (e) {
    return fail(`header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    return fail('header is not a JSON object');

  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [key, v] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('__metadata__ is not an object');
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) {
        if (typeof mv !== 'string') fail(`__metadata__ value for '${mk}' is not a string`);
        metadata[mk] = mv as string;
      }
      continue;
    }
    entries.push(parseEntry(key, v, fail));
  }

  const dataLen = buf.length - headerEnd;
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.end > dataLen)
      fail(`truncated: tensor '${e.name}' ends at data byte ${e.end} but the data section has ${dataLen} bytes`);
    if (e.begin !== at)
      fail(`tensor '${e.name}' starts at data byte ${e.begin}, expected ${at} (offsets overlap or leave a gap)`);
    at = e.end;
  }
  if (at !== dataLen) fail(`${dataLen - at} bytes after the last tensor's data`);

  const tensors = new Map<string, Tensor>();
  try {
    for (const e of entries)
      tensors.set(e.name, tensorFromBytes(buf.subarray(headerEnd + e.begin, headerEnd + e.end), e.dtype, e.shape));
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
  return { tensors, metadata };
}

function parseEntry(name: string, v: unknown, fail: (why: string) => never): Entry {
  if (typeof v !== 'object' || v === null) fail(`entry '${name}' is not an object`);
  const { dtype, shape, data_offsets: offs } = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const dt = typeof dtype === 'string' ? fromCode[dtype] : undefined;
  if (!dt) return fail(`tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)}`);
  const isIndex = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!Array.isArray(shape) || !shape.every(isIndex))
    return fail(`tensor '${name}' has a bad shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isIndex) || offs[0] > offs[1])
    return fail(`tensor '${name}' has bad data_offsets ${JSON.stringify(offs)}`);
  const bytes = shape.reduce((a: number, b: number) => a * b, 1) * elementSize(dt);
  if (offs[1] - offs[0] !== bytes)
    fail(
      `tensor '${name}' (${dtype} ${JSON.stringify(shape)}) needs ${bytes} bytes but data_offsets span ${offs[1] - offs[0]}`,
    );
  return { name, dtype: dt, shape, begin: offs[0], end: offs[1] };
}

/** The `__metadata__` of a safetensors file, reading only its header (no tensor data). */
export function readSafetensorsMetadata(path: string): Record<string, string> {
  const fd = openSync(path, 'r');
  try {
    const len = Buffer.alloc(8);
    if (readSync(fd, len, 0, 8, 0) !== 8) throw new Error(`${path}: not a safetensors file: truncated header`);
    const n = Number(len.readBigUInt64LE(0));
    if (n > 100 * 2 ** 20 || n > fstatSync(fd).size - 8)
      throw new Error(`${path}: not a safetensors file: header length ${n}`);
    const head = Buffer.alloc(n);
    readSync(fd, head, 0, n, 8);
    const meta = (JSON.parse(head.toString('utf8')) as { __metadata__?: Record<string, string> }).__metadata__;
    return meta ?? {};
  } finally {
    closeSync(fd);
  }
}

export function loadSafetensors(path: string): Safetensors {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read: ${(e as Error).message}`);
  }
  return parseSafetensors(buf, path);
}

/**
 * The file as chunks: header length, JSON header (padded with spaces to a multiple of 8 bytes),
 * then the data laid out as the reference writer does (by dtype, largest first, then by name).
 */
export function encodeSafetensorsChunks(
  tensors: Map<string, Tensor> | Record<string, Tensor>,
  metadata?: Record<string, string>,
): Uint8Array[] {
  const list = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))];
  for (const [name, t] of list) {
    if (name === '__metadata__') throw new Error(`saveSafetensors: '__metadata__' is not a valid tensor name`);
    if (!toCode[t.dtype]) throw new Error(`saveSafetensors: tensor '${name}' has unsupported dtype ${t.dtype}`);
  }
  list.sort(([an, a], [bn, b]) => layoutRank[b.dtype] - layoutRank[a.dtype] || (an < bn ? -1 : an > bn ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string') throw new Error(`saveSafetensors: metadata '${k}' is not a string`);
    header.__metadata__ = metadata;
  }
  const data: Uint8Array[] = [];
  let at = 0;
  for (const [name, t] of list) {
    const b = tensorBytes(t);
    header[name] = { dtype: toCode[t.dtype], shape: [...t.shape], data_offsets: [at, at + b.byteLength] };
    data.push(b);
    at += b.byteLength;
  }
  let json = JSON.stringify(header);
  const jsonBytes = () => new TextEncoder().encode(json);
  let hb = jsonBytes();
  if (hb.length % 8) {
    json += ' '.repeat(8 - (hb.length % 8));
    hb = jsonBytes();
  }
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(hb.length), true);
  return [len, hb, ...data];
}

/** The whole file as one buffer. */
export function encodeSafetensors(
  tensors: Map<string, Tensor> | Record<string, Tensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const chunks = encodeSafetensorsChunks(tensors, metadata);
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Writes a safetensors file atomically. */
export function saveSafetensors(
  path: string,
  tensors: Map<string, Tensor> | Record<string, Tensor>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, encodeSafetensorsChunks(tensors, metadata));
}
