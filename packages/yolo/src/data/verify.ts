// Checking one image and its label file, as yolov5's verify_image_label does, plus a few safety
// checks of our own (symlinks out of the dataset, huge files, class < nc, finite values).
import type { Stats } from 'node:fs';
import { lstat, readFile, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { IMG_FORMATS, imageExt, UNSUPPORTED_IMG_FORMATS } from './files.js';

/** Refuse image files bigger than this. */
export const MAX_IMAGE_BYTES = 200 * 1024 * 1024;
/** Refuse label files bigger than this. */
export const MAX_LABEL_BYTES = 16 * 1024 * 1024;
/** Smallest accepted image side, in pixels (yolov5: > 9). */
export const MIN_IMAGE_SIDE = 10;
/** Pixel-count limit handed to sharp (a decompression-bomb guard). */
export const MAX_IMAGE_PIXELS = 1 << 28;

/** sharp's metadata().format values we accept (heif only as AVIF, the one codec prebuilt sharp has). */
const SHARP_FORMATS = new Set(['jpeg', 'png', 'webp', 'tiff', 'gif', 'heif']);

export interface VerifyOptions {
  /** dataset root: symlinks (image or label) resolving outside it are refused; unset = no such check */
  root?: string;
  /** decode the whole image to catch truncated files (default true) */
  fullDecode?: boolean;
}

export interface VerifyResult {
  ok: boolean;
  /** size after EXIF orientation; 0×0 when the image is corrupt */
  image: { width: number; height: number };
  /** n × 5 rows [cls, x, y, w, h], duplicates removed */
  labels: Float32Array;
  nMissing: 0 | 1;
  nFound: 0 | 1;
  nEmpty: 0 | 1;
  nCorrupt: 0 | 1;
  /** '' or one warning line naming the file */
  message: string;
}

class Corrupt extends Error {}

function within(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}

/** lstat the file; a symlink must resolve inside root (its target is never opened otherwise). */
async function checkFile(p: string, what: string, root: string | undefined, maxBytes: number): Promise<boolean> {
  let st: Stats;
  try {
    st = await lstat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new Corrupt(`cannot stat ${what}: ${(e as Error).message}`);
  }
  if (st.isSymbolicLink()) {
    if (root !== undefined) {
      let target: string;
      let realRoot: string;
      try {
        target = await realpath(p);
        realRoot = await realpath(root);
      } catch {
        throw new Corrupt(`${what} is a broken symlink`);
      }
      if (!within(realRoot, target))
        throw new Corrupt(`${what} is a symlink pointing outside the dataset root (${target})`);
    }
    try {
      st = await lstat(await realpath(p));
    } catch {
      throw new Corrupt(`${what} is a broken symlink`);
    }
  }
  if (!st.isFile()) throw new Corrupt(`${what} is not a regular file`);
  if (st.size > maxBytes)
    throw new Corrupt(
      `huge file: ${what} is ${(st.size / 2 ** 20).toFixed(0)} MB (limit ${(maxBytes / 2 ** 20).toFixed(0)} MB)`,
    );
  return true;
}

const NUM = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parse a YOLO label file's text into n × 5 rows; polygon rows (yolov5 segments) become their boxes. */
export function parseLabels(text: string, nc: number): { labels: Float32Array; duplicates: number } {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const rows = lines.map((l) => l.split(/\s+/));
  const segments = rows.some((r) => r.length > 6);
  const out = new Float32Array(rows.length * 5);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const v = r.map((t) => {
      if (!NUM.test(t)) throw new Corrupt(`line ${i + 1}: '${t}' is not a number`);
      const x = Number(t);
      if (!Number.isFinite(x)) throw new Corrupt(`line ${i + 1}: '${t}' is not finite`);
      return x;
    });
    if (segments) {
      if (v.length < 7 || v.length % 2 === 0)
        throw new Corrupt(`line ${i + 1}: ${v.length} columns; a polygon row needs a class and x y pairs`);
      let x1 = Infinity,
        y1 = Infinity,
        x2 = -Infinity,
        y2 = -Infinity;
      for (let k = 1; k < v.length; k += 2) {
        x1 = Math.min(x1, v[k]);
        x2 = Math.max(x2, v[k]);
        y1 = Math.min(y1, v[k + 1]);
        y2 = Math.max(y2, v[k + 1]);
      }
      out.set([v[0], (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], i * 5);
    } else {
      if (v.length !== 5) throw new Corrupt(`line ${i + 1}: labels require 5 columns, ${v.length} columns detected`);
      out.set(v, i * 5);
    }
  }
  for (let i = 0; i < rows.length; i++) {
    const r = out.subarray(i * 5, i * 5 + 5);
    for (let k = 0; k < 5; k++) {
      if (!Number.isFinite(r[k])) throw new Corrupt(`line ${i + 1}: value out of float32 range`);
      if (r[k] < 0) throw new Corrupt(`line ${i + 1}: negative label values ${fmtRow(r)}`);
      if (k > 0 && r[k] > 1)
        throw new Corrupt(`line ${i + 1}: non-normalized or out of bounds coordinates ${fmtRow(r)}`);
    }
    if (!Number.isInteger(r[0])) throw new Corrupt(`line ${i + 1}: class ${r[0]} is not an integer`);
    if (r[0] >= nc)
      throw new Corrupt(`line ${i + 1}: class ${r[0]} exceeds dataset class count ${nc} (classes 0-${nc - 1})`);
  }
  // duplicate rows (bitwise equal after float32 conversion): keep the first
  const seen = new Set<string>();
  const bits = new Uint32Array(out.buffer);
  const keep: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    const key = Array.from(bits.subarray(i * 5, i * 5 + 5)).join(',');
    if (!seen.has(key)) {
      seen.add(key);
      keep.push(i);
    }
  }
  if (keep.length === rows.length) return { labels: out, duplicates: 0 };
  const dedup = new Float32Array(keep.length * 5);
  keep.forEach((i, j) => dedup.set(out.subarray(i * 5, i * 5 + 5), j * 5));
  return { labels: dedup, duplicates: rows.length - keep.length };
}

function fmtRow(r: Float32Array): string {
  return `[${Array.from(r, (x) => +x.toPrecision(6)).join(' ')}]`;
}

/** Image size after EXIF orientation: orientations 5–8 swap width and height. */
async function checkImage(imgPath: string, fullDecode: boolean): Promise<{ width: number; height: number }> {
  const ext = imageExt(imgPath);
  if ((UNSUPPORTED_IMG_FORMATS as readonly string[]).includes(ext))
    throw new Corrupt(`unsupported image format .${ext} (sharp cannot decode it; convert to PNG or JPEG)`);
  if (!(IMG_FORMATS as readonly string[]).includes(ext))
    throw new Corrupt(`invalid image format .${ext} (supported: ${IMG_FORMATS.join(', ')})`);
  // read the bytes ourselves: the file is opened once (no symlink swap in between) and libvips'
  // file cache cannot hand back results for an older version of the file
  const bytes = await readFile(imgPath);
  if (bytes.length === 0) throw new Corrupt('empty image file');
  const opts = { failOn: 'truncated' as const, limitInputPixels: MAX_IMAGE_PIXELS };
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, opts).metadata();
  } catch (e) {
    throw new Corrupt(`unreadable image: ${(e as Error).message}`);
  }
  if (!meta.format || !SHARP_FORMATS.has(meta.format))
    throw new Corrupt(`invalid image format ${meta.format ?? 'unknown'}`);
  if (!meta.width || !meta.height) throw new Corrupt('image has no size');
  const o = meta.orientation ?? 1;
  const [width, height] = o >= 5 && o <= 8 ? [meta.height, meta.width] : [meta.width, meta.height];
  if (width < MIN_IMAGE_SIDE || height < MIN_IMAGE_SIDE)
    throw new Corrupt(`image size ${width}x${height} <${MIN_IMAGE_SIDE} pixels`);
  if (fullDecode) {
    try {
      // shrink-on-load still reads every scan, so truncation and decode errors surface here
      await sharp(bytes, opts).resize(64, 64, { fit: 'fill' }).raw().toBuffer();
    } catch (e) {
      // libvips' error text can be lost when several decodes run at once ('Unknown error'), so name
      // the commonest case ourselves: a JPEG cut short has no end-of-image marker (FF D9)
      const n = bytes.length;
      if (meta.format === 'jpeg' && !(bytes[n - 2] === 0xff && bytes[n - 1] === 0xd9))
        throw new Corrupt(`truncated JPEG (no end-of-image marker): ${(e as Error).message}`);
      throw new Corrupt(`corrupt image data: ${(e as Error).message}`);
    }
  }
  return { width, height };
}

/**
 * Verify one image and its labels. Never throws for bad data: a corrupt image or malformed label
 * gives nCorrupt = 1 and a message naming the file and the reason.
 */
export async function verifyImageLabel(
  imgPath: string,
  labelPath: string,
  nc: number,
  opts: VerifyOptions = {},
): Promise<VerifyResult> {
  const root = opts.root === undefined ? undefined : resolve(opts.root);
  const res: VerifyResult = {
    ok: true,
    image: { width: 0, height: 0 },
    labels: new Float32Array(0),
    nMissing: 0,
    nFound: 0,
    nEmpty: 0,
    nCorrupt: 0,
    message: '',
  };
  try {
    if (!(await checkFile(imgPath, 'image', root, MAX_IMAGE_BYTES))) throw new Corrupt('image file not found');
    res.image = await checkImage(imgPath, opts.fullDecode ?? true);
    let labelText: string | undefined;
    try {
      if (await checkFile(labelPath, `label ${labelPath}`, root, MAX_LABEL_BYTES))
        labelText = await readFile(labelPath, 'utf8');
    } catch (e) {
      if (e instanceof Corrupt) throw e;
      throw new Corrupt(`cannot read label ${labelPath}: ${(e as Error).message}`);
    }
    if (labelText === undefined) {
      res.nMissing = 1;
    } else {
      res.nFound = 1;
      let parsed: ReturnType<typeof parseLabels>;
      try {
        parsed = parseLabels(labelText, nc);
      } catch (e) {
        if (e instanceof Corrupt) throw new Corrupt(`label ${labelPath} ${e.message}`);
        throw e;
      }
      res.labels = parsed.labels;
      if (parsed.labels.length === 0) res.nEmpty = 1;
      if (parsed.duplicates > 0) res.message = `WARNING ⚠️ ${imgPath}: ${parsed.duplicates} duplicate labels removed`;
    }
  } catch (e) {
    const reason = e instanceof Corrupt ? e.message : `unexpected error: ${(e as Error).message}`;
    return {
      ok: false,
      image: { width: 0, height: 0 },
      labels: new Float32Array(0),
      nMissing: 0,
      nFound: 0,
      nEmpty: 0,
      nCorrupt: 1,
      message: `WARNING ⚠️ ${imgPath}: ignoring corrupt image/label: ${reason}`,
    };
  }
  return res;
}
