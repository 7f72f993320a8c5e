// The labels cache: the verification results of a whole split, stored next to the labels folder
// (yolov5's `<labels dir>.cache`, e.g. datasets/x/labels/train.cache) and keyed by a hash of the
// file list with each image's and label's size and mtime. A missing, stale or unreadable cache is
// rebuilt silently; a folder we cannot write to only costs a warning.
//
// File layout (little-endian): 8 bytes magic 'TSYLC001', u32 header length, header JSON (utf-8),
// zero padding to a multiple of 4, then every image's labels as float32 rows, in header order.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { writeFileAtomic } from '@tsyolo/torch';
import { img2labelPath } from './files.js';
import { type VerifyOptions, type VerifyResult, verifyImageLabel } from './verify.js';

export const CACHE_VERSION = 1;
const MAGIC = 'TSYLC001';

export interface LabelEntry {
  /** image file, absolute */
  im: string;
  /** label file, absolute (it may not exist: a background image) */
  lb: string;
  /** [height, width] after EXIF orientation */
  shape: [number, number];
  /** n × 5 rows [cls, x, y, w, h], normalised */
  labels: Float32Array;
}

export interface LabelSummary {
  /** images with a label file (yolov5's nf) */
  found: number;
  /** images without a label file: backgrounds */
  missing: number;
  /** images with an empty label file: backgrounds */
  empty: number;
  /** images skipped as corrupt */
  corrupt: number;
  /** total labels over usable images */
  instances: number;
  /** warnings: corrupt files with their reason, duplicate labels removed */
  messages: string[];
}

export interface LoadLabelsResult {
  /** usable images, in the order given (corrupt ones left out) */
  entries: LabelEntry[];
  summary: LabelSummary;
  fromCache: boolean;
  /** where the cache lives (or would have lived) */
  cachePath: string;
  /** the summary line, then each message: for the caller to print */
  lines: string[];
}

export interface LoadLabelsOptions extends VerifyOptions {
  /** cache file (default: the first label's folder + '.cache') */
  cachePath?: string;
  /** read and write the cache (default true) */
  cache?: boolean;
  /** verifications in flight at once (default 4) */
  concurrency?: number;
  /** printed before the summary line, e.g. 'train: ' */
  prefix?: string;
  /** called after each verified image while scanning */
  onProgress?: (done: number, total: number) => void;
}

interface CachedImage {
  im: string;
  h: number;
  w: number;
  /** label rows */
  n: number;
  /** 0 ok, 1 missing, 2 empty, 3 corrupt (bit flags of VerifyResult folded into one code) */
  st: number;
  msg?: string;
}
interface CacheHeader {
  version: number;
  hash: string;
  nc: number;
  images: CachedImage[];
  /** sha256 of the float32 payload */
  payload: string;
}

/** Default cache file for a list of images: yolov5's `Path(label_files[0]).parent.with_suffix('.cache')`. */
export function defaultCachePath(imageFiles: readonly string[]): string {
  return `${dirname(img2labelPath(resolve(imageFiles[0])))}.cache`;
}

async function fileStamp(p: string): Promise<string> {
  try {
    const s = await stat(p, { bigint: true });
    return `${s.size}:${s.mtimeNs}`;
  } catch {
    return '-';
  }
}

/** Hash of the sorted unique file list with sizes and mtimes of images and labels, nc and root. */
async function datasetHash(files: string[], nc: number, root: string, fullDecode: boolean): Promise<string> {
  const h = createHash('sha256');
  h.update(`v${CACHE_VERSION}\0nc=${nc}\0root=${root}\0fullDecode=${fullDecode}\0`);
  const stamps = await mapPool(
    files,
    32,
    async (f) => `${f}\0${await fileStamp(f)}\0${await fileStamp(img2labelPath(f))}\n`,
  );
  for (const s of stamps) h.update(s);
  return h.digest('hex');
}

/** Run fn over items with at most `limit` in flight; results in item order. */
export async function mapPool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (x: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

function statusOf(r: VerifyResult): number {
  return r.nCorrupt ? 3 : r.nMissing ? 1 : r.nEmpty ? 2 : 0;
}

function encodeCache(hash: string, nc: number, files: string[], results: VerifyResult[]): Uint8Array {
  const total = results.reduce((s, r) => s + r.labels.length, 0);
  const payload = new Float32Array(total);
  let off = 0;
  const images: CachedImage[] = files.map((im, i) => {
    const r = results[i];
    payload.set(r.labels, off);
    off += r.labels.length;
    const c: CachedImage = { im, h: r.image.height, w: r.image.width, n: r.labels.length / 5, st: statusOf(r) };
    if (r.message) c.msg = r.message;
    return c;
  });
  const payloadBytes = new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  const header: CacheHeader = {
    version: CACHE_VERSION,
    hash,
    nc,
    images,
    payload: createHash('sha256').update(payloadBytes).digest('hex'),
  };
  const hj = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (4 - ((12 + hj.length) % 4)) % 4;
  const head = Buffer.alloc(12 + hj.length + pad);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(hj.length, 8);
  hj.copy(head, 12);
  return Buffer.concat([head, payloadBytes]);
}

/** The cached results for exactly these files, or undefined when missing/stale/corrupt. */
function decodeCache(bytes: Buffer, hash: string, files: string[]): Map<string, VerifyResult> | undefined {
  if (bytes.length < 12 || bytes.toString('latin1', 0, 8) !== MAGIC) return undefined;
  const hl = bytes.readUInt32LE(8);
  if (12 + hl > bytes.length) return undefined;
  const header = JSON.parse(bytes.toString('utf8', 12, 12 + hl)) as CacheHeader;
  if (header.version !== CACHE_VERSION || header.hash !== hash || !Array.isArray(header.images)) return undefined;
  const start = 12 + hl + ((4 - ((12 + hl) % 4)) % 4);
  const payloadBytes = bytes.subarray(start);
  if (createHash('sha256').update(payloadBytes).digest('hex') !== header.payload) return undefined;
  const payload = new Float32Array(payloadBytes.length / 4);
  new Uint8Array(payload.buffer).set(payloadBytes);
  const map = new Map<string, VerifyResult>();
  let off = 0;
  for (const c of header.images) {
    const labels = payload.slice(off, off + c.n * 5);
    off += c.n * 5;
    if (labels.length !== c.n * 5) return undefined;
    map.set(c.im, {
      ok: c.st !== 3,
      image: { width: c.w, height: c.h },
      labels,
      nMissing: c.st === 1 ? 1 : 0,
      nFound: c.st === 0 || c.st === 2 ? 1 : 0,
      nEmpty: c.st === 2 ? 1 : 0,
      nCorrupt: c.st === 3 ? 1 : 0,
      message: c.msg ?? '',
    });
  }
  if (off !== payload.length) return undefined;
  for (const f of files) if (!map.has(f)) return undefined;
  return map;
}

/** Deepest folder containing every path (used as the default dataset root for symlink checks). */
function commonDir(paths: string[]): string {
  let d = dirname(paths[0]);
  for (const p of paths) {
    while (relative(d, p).startsWith('..')) {
      const up = dirname(d);
      if (up === d) return d;
      d = up;
    }
  }
  return d;
}

/** yolov5's scan line: `Scanning <dir>... N images, M backgrounds, K corrupt`. */
export function formatScanSummary(
  dir: string,
  summary: LabelSummary,
  usable: number,
  opts: { prefix?: string; fromCache?: boolean } = {},
): string {
  const s = summary;
  return `${opts.prefix ?? ''}Scanning ${dir}${opts.fromCache ? ' (cached)' : ''}... ${usable} images, ${s.missing + s.empty} backgrounds, ${s.corrupt} corrupt`;
}

/**
 * Verify every image and its labels (img2labelPath), through the cache when it is current.
 * Corrupt images are left out of `entries` and named in `summary.messages`.
 */
export async function loadLabels(
  imageFiles: readonly string[],
  nc: number,
  opts: LoadLabelsOptions = {},
): Promise<LoadLabelsResult> {
  if (imageFiles.length === 0) throw new Error('loadLabels: no image files');
  const files = imageFiles.map((f) => resolve(f));
  const unique = [...new Set(files)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const root = opts.root !== undefined ? resolve(opts.root) : commonDir([...unique, ...unique.map(img2labelPath)]);
  const cachePath = opts.cachePath ? resolve(opts.cachePath) : defaultCachePath(files);
  const useCache = opts.cache ?? true;
  const vopts: VerifyOptions = { root, fullDecode: opts.fullDecode };
  const hash = await datasetHash(unique, nc, root, opts.fullDecode ?? true);
  const extra: string[] = [];

  let results: Map<string, VerifyResult> | undefined;
  let fromCache = false;
  if (useCache) {
    try {
      results = decodeCache(readFileSync(cachePath), hash, unique);
      fromCache = results !== undefined;
    } catch {
      results = undefined; // missing or unreadable: rebuild
    }
  }
  if (!results) {
    let done = 0;
    const verified = await mapPool(unique, opts.concurrency ?? 4, async (im) => {
      const r = await verifyImageLabel(im, img2labelPath(im), nc, vopts);
      opts.onProgress?.(++done, unique.length);
      return r;
    });
    results = new Map(unique.map((im, i) => [im, verified[i]]));
    if (useCache) {
      try {
        writeFileAtomic(cachePath, encodeCache(hash, nc, unique, verified));
      } catch (e) {
        extra.push(
          `${opts.prefix ?? ''}WARNING ⚠️ Cache directory ${dirname(cachePath)} is not writeable: ${(e as Error).message}`,
        );
      }
    }
  }

  const summary: LabelSummary = { found: 0, missing: 0, empty: 0, corrupt: 0, instances: 0, messages: [] };
  for (const im of unique) {
    const r = results.get(im) as VerifyResult;
    summary.found += r.nFound;
    summary.missing += r.nMissing;
    summary.empty += r.nEmpty;
    summary.corrupt += r.nCorrupt;
    if (r.message) summary.messages.push(r.message);
  }
  summary.messages.push(...extra);
  const entries: LabelEntry[] = [];
  for (const im of files) {
    const r = results.get(im) as VerifyResult;
    if (!r.ok) continue;
    summary.instances += r.labels.length / 5;
    entries.push({ im, lb: img2labelPath(im), shape: [r.image.height, r.image.width], labels: r.labels });
  }
  const scanDir = cachePath.endsWith('.cache') ? cachePath.slice(0, -'.cache'.length) : cachePath;
  const lines = [
    formatScanSummary(scanDir, summary, entries.length, { prefix: opts.prefix, fromCache }),
    ...summary.messages.map((m) => `${opts.prefix ?? ''}${m}`),
  ];
  return { entries, summary, fromCache, cachePath, lines };
}
