// Image resizing with cv2.resize semantics on uint8 HWC RGB buffers, and yolov5's letterbox.
//
// INTER_LINEAR reproduces OpenCV's 8-bit fixed-point path (imgproc/resize.cpp, x86 SIMD build):
//   * source coordinate per destination index d: f = float32((d + 0.5)·scale − 0.5), scale = 1/(dsize/ssize)
//     (computed in double, then rounded to float32 as OpenCV does); i = floor(f); t = float32(f − i).
//   * columns: i < 0 → (i, t) = (0, 0); i ≥ w − 1 → (i, t) = (w − 1, 0) and one tap only.
//     rows: t is kept, but the two source rows i, i + 1 are clamped into [0, h − 1].
//   * weights are 11-bit fixed point: a0 = rne(float32(1 − t)·2048), a1 = rne(t·2048) (rne = round half
//     to even, OpenCV's saturate_cast<short>(float)).
//   * horizontal pass (exact integers): H = S[i]·a0 + S[i+1]·a1.
//   * vertical pass, as OpenCV's SIMD kernel computes it (for the whole row, tail included, in 4.6):
//     ((((H0 >> 4)·b0) >> 16) + (((H1 >> 4)·b1) >> 16) + 2) >> 2, saturated to 0..255.
//   * an exact 2× downscale in both directions is done as INTER_AREA (OpenCV does the same switch):
//     (a + b + c + d + 2) >> 2.
// INTER_NEAREST: s = min(floor(d·(1/(dsize/ssize))), ssize − 1).
// INTER_AREA (downscaling only; upscaling falls back to INTER_LINEAR here, OpenCV instead uses a
// bilinear variant — yolov5 only uses INTER_AREA to shrink): integer factors use OpenCV's "fast"
// box average (sum·float32(1/area), rounded; partial border cells: sum/count); other factors use its
// float32 area-weight tables (computeResizeAreaTab) accumulated in float32 and rounded half to even.
// All three were checked bit-exact against cv2.resize of OpenCV 4.6.0 (the build yolov5's reference
// fixtures came from) on synthetic and real images, up- and downscaling (see test/augment.test.ts).

import { roundHalfEven } from '../util/python.js';
import type { RawImage } from './types.js';

const f32 = Math.fround;

export { roundHalfEven };

function sat8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function satShort(v: number): number {
  return v < -32768 ? -32768 : v > 32767 ? 32767 : v;
}

export type Interpolation = 'linear' | 'nearest' | 'area';

/** A w×h×3 image filled with one colour (a grey level or an [r, g, b] triple). */
export function fullImage(width: number, height: number, color: number | readonly number[] = 114): RawImage {
  const data = new Uint8Array(width * height * 3);
  fillColor(data, color);
  return { data, width, height };
}

function fillColor(data: Uint8Array, color: number | readonly number[]): void {
  if (typeof color === 'number') {
    data.fill(color);
    return;
  }
  const [r, g, b] = color;
  if (r === g && g === b) {
    data.fill(r);
    return;
  }
  for (let i = 0; i < data.length; i += 3) {
    data[i] = r;
    data[i + 1] = g;
    data[i + 2] = b;
  }
}

/** cv2.resize(img, (width, height), interpolation) for an HWC uint8 RGB image. Returns a new image. */
export function resizeImage(img: RawImage, width: number, height: number, interp: Interpolation = 'linear'): RawImage {
  if (!(width > 0 && height > 0) || !Number.isInteger(width) || !Number.isInteger(height)) {
    throw new Error(`resize: target size must be positive integers (got ${width}×${height})`);
  }
  if (img.width === width && img.height === height) {
    return { data: img.data.slice(0, width * height * 3), width, height };
  }
  const scaleX = 1 / (width / img.width);
  const scaleY = 1 / (height / img.height);
  const isx = roundHalfEven(scaleX);
  const isy = roundHalfEven(scaleY);
  const areaFast = Math.abs(scaleX - isx) < Number.EPSILON && Math.abs(scaleY - isy) < Number.EPSILON;
  if (interp === 'nearest') return resizeNearest(img, width, height);
  if (interp === 'linear') {
    if (areaFast && isx === 2 && isy === 2) return resizeAreaFast(img, width, height, 2, 2);
    return resizeLinear(img, width, height);
  }
  // area
  if (scaleX >= 1 && scaleY >= 1) {
    if (areaFast) return resizeAreaFast(img, width, height, isx, isy);
    return resizeArea(img, width, height, scaleX, scaleY);
  }
  return resizeLinear(img, width, height);
}

/** cv2 INTER_LINEAR (fixed point, see the file comment). */
export function resizeLinear(img: RawImage, width: number, height: number): RawImage {
  const sw = img.width;
  const sh = img.height;
  const scaleX = 1 / (width / sw);
  const scaleY = 1 / (height / sh);
  const getRow = horizontalRows(img, width, linearColumns(sw, width, scaleX));
  const rows = linearRows(sh, height, scaleY);
  const W = width * 3;
  const out = new Uint8Array(width * height * 3);
  for (let dy = 0; dy < height; dy++) {
    const b0 = rows.b0[dy];
    const b1 = rows.b1[dy];
    const r0 = rows.r0[dy];
    const r1 = rows.r1[dy];
    const H0 = getRow(r0, r1);
    const H1 = getRow(r1, r0);
    const o = dy * W;
    for (let x = 0; x < W; x++) {
      const v = ((((H0[x] >> 4) * b0) >> 16) + (((H1[x] >> 4) * b1) >> 16) + 2) >> 2;
      out[o + x] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { data: out, width, height };
}

/**
 * INTER_LINEAR's column table for `width` output columns from `sw` source columns: per output column
 * the HWC offset of its left source pixel and the two 11-bit weights; columns from `xmax` on read only
 * the last source column (one tap).
 */
interface LinearColumns {
  xofs: Int32Array;
  xa0: Int32Array;
  xa1: Int32Array;
  xmax: number;
}

/** The column table (see LinearColumns); columns left of the source clamp to column 0 with weight 0 on the right tap. */
function linearColumns(sw: number, width: number, scaleX: number): LinearColumns {
  const xofs = new Int32Array(width);
  const xa0 = new Int32Array(width);
  const xa1 = new Int32Array(width);
  let xmax = width;
  for (let dx = 0; dx < width; dx++) {
    let fx = f32((dx + 0.5) * scaleX - 0.5);
    let sx = Math.floor(fx);
    fx = f32(fx - sx);
    if (sx < 0) {
      fx = 0;
      sx = 0;
    }
    if (sx >= sw - 1) {
      if (dx < xmax) xmax = dx;
      fx = 0;
      sx = sw - 1;
    }
    xofs[dx] = sx * 3;
    xa0[dx] = satShort(roundHalfEven(f32(1 - fx) * 2048));
    xa1[dx] = satShort(roundHalfEven(fx * 2048));
  }
  return { xofs, xa0, xa1, xmax };
}

/** INTER_LINEAR's row table: per output row the two source rows (clamped into the image) and their 11-bit weights. */
interface LinearRows {
  r0: Int32Array;
  r1: Int32Array;
  b0: Int32Array;
  b1: Int32Array;
}

/** The row table (see LinearRows); unlike columns, the weights keep their fraction at the borders. */
function linearRows(sh: number, height: number, scaleY: number): LinearRows {
  const r0 = new Int32Array(height);
  const r1 = new Int32Array(height);
  const b0 = new Int32Array(height);
  const b1 = new Int32Array(height);
  for (let dy = 0; dy < height; dy++) {
    let fy = f32((dy + 0.5) * scaleY - 0.5);
    const sy = Math.floor(fy);
    fy = f32(fy - sy);
    b0[dy] = satShort(roundHalfEven(f32(1 - fy) * 2048));
    b1[dy] = satShort(roundHalfEven(fy * 2048));
    r0[dy] = sy < 0 ? 0 : sy >= sh ? sh - 1 : sy;
    r1[dy] = sy + 1 < 0 ? 0 : sy + 1 >= sh ? sh - 1 : sy + 1;
  }
  return { r0, r1, b0, b1 };
}

/**
 * The horizontal pass with a two-row cache: the returned function gives source row `sy` resized to
 * `width` columns (exact integers, weights × 2048), computing it into the buffer that does not hold
 * row `other` unless one of the two buffers already holds `sy`. A returned buffer is overwritten by
 * later calls.
 */
function horizontalRows(img: RawImage, width: number, cols: LinearColumns): (sy: number, other: number) => Int32Array {
  const { xofs, xa0, xa1, xmax } = cols;
  const sw = img.width;
  const src = img.data;
  const W = width * 3;
  const bufA = new Int32Array(W);
  const bufB = new Int32Array(W);
  let rowA = -1;
  let rowB = -1;
  const hresize = (sy: number, out: Int32Array): void => {
    const base = sy * sw * 3;
    for (let dx = 0; dx < xmax; dx++) {
      const s = base + xofs[dx];
      const a0 = xa0[dx];
      const a1 = xa1[dx];
      const o = dx * 3;
      out[o] = src[s] * a0 + src[s + 3] * a1;
      out[o + 1] = src[s + 1] * a0 + src[s + 4] * a1;
      out[o + 2] = src[s + 2] * a0 + src[s + 5] * a1;
    }
    for (let dx = xmax; dx < width; dx++) {
      const s = base + xofs[dx];
      const o = dx * 3;
      out[o] = src[s] * 2048;
      out[o + 1] = src[s + 1] * 2048;
      out[o + 2] = src[s + 2] * 2048;
    }
  };
  return (sy: number, other: number): Int32Array => {
    if (rowA === sy) return bufA;
    if (rowB === sy) return bufB;
    // overwrite the buffer not holding `other`
    if (rowA !== other) {
      hresize(sy, bufA);
      rowA = sy;
      return bufA;
    }
    hresize(sy, bufB);
    rowB = sy;
    return bufB;
  };
}

/** cv2 INTER_NEAREST. */
export function resizeNearest(img: RawImage, width: number, height: number): RawImage {
  const sw = img.width;
  const sh = img.height;
  const src = img.data;
  const ifx = 1 / (width / sw);
  const ify = 1 / (height / sh);
  const xofs = new Int32Array(width);
  for (let dx = 0; dx < width; dx++) xofs[dx] = Math.min(Math.floor(dx * ifx), sw - 1) * 3;
  const out = new Uint8Array(width * height * 3);
  for (let dy = 0; dy < height; dy++) {
    const base = Math.min(Math.floor(dy * ify), sh - 1) * sw * 3;
    let o = dy * width * 3;
    for (let dx = 0; dx < width; dx++, o += 3) {
      const s = base + xofs[dx];
      out[o] = src[s];
      out[o + 1] = src[s + 1];
      out[o + 2] = src[s + 2];
    }
  }
  return { data: out, width, height };
}

/** OpenCV's INTER_AREA for integer factors sx × sy (box average). */
function resizeAreaFast(img: RawImage, width: number, height: number, sx: number, sy: number): RawImage {
  const sw = img.width;
  const sh = img.height;
  const src = img.data;
  const out = new Uint8Array(width * height * 3);
  const area = sx * sy;
  const scale = f32(1 / area);
  const fullCols = Math.min(Math.floor(sw / sx), width);
  const rowStride = sw * 3;
  for (let dy = 0; dy < height; dy++) {
    const sy0 = dy * sy;
    const o = dy * width * 3;
    if (sy0 >= sh) continue; // zeros, as OpenCV
    const fullRow = sy0 + sy <= sh;
    const w = fullRow ? fullCols : 0;
    for (let dx = 0; dx < w; dx++) {
      const sx0 = dx * sx * 3;
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let ky = 0; ky < sy; ky++) {
          const rb = (sy0 + ky) * rowStride + sx0 + c;
          for (let kx = 0; kx < sx; kx++) sum += src[rb + kx * 3];
        }
        out[o + dx * 3 + c] = sx === 2 && sy === 2 ? (sum + 2) >> 2 : sat8(roundHalfEven(f32(sum * scale)));
      }
    }
    // partial cells at the right / bottom border: mean of the pixels that exist
    for (let dx = w; dx < width; dx++) {
      const sx0 = dx * sx;
      if (sx0 >= sw) continue;
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        let count = 0;
        for (let ky = 0; ky < sy && sy0 + ky < sh; ky++) {
          for (let kx = 0; kx < sx && sx0 + kx < sw; kx++) {
            sum += src[(sy0 + ky) * rowStride + (sx0 + kx) * 3 + c];
            count++;
          }
        }
        out[o + dx * 3 + c] = sat8(roundHalfEven(f32(f32(sum) / count)));
      }
    }
  }
  return { data: out, width, height };
}

interface AreaTab {
  di: Int32Array;
  si: Int32Array;
  alpha: Float32Array;
  n: number;
}

/** OpenCV's computeResizeAreaTab. */
function areaTab(ssize: number, dsize: number, scale: number): AreaTab {
  const cap = ssize * 2 + dsize * 2;
  const di = new Int32Array(cap);
  const si = new Int32Array(cap);
  const alpha = new Float32Array(cap);
  let k = 0;
  for (let dx = 0; dx < dsize; dx++) {
    const fsx1 = dx * scale;
    const fsx2 = fsx1 + scale;
    const cellWidth = Math.min(scale, ssize - fsx1);
    let sx1 = Math.ceil(fsx1);
    let sx2 = Math.floor(fsx2);
    sx2 = Math.min(sx2, ssize - 1);
    sx1 = Math.min(sx1, sx2);
    if (sx1 - fsx1 > 1e-3) {
      di[k] = dx;
      si[k] = sx1 - 1;
      alpha[k++] = (sx1 - fsx1) / cellWidth;
    }
    for (let sx = sx1; sx < sx2; sx++) {
      di[k] = dx;
      si[k] = sx;
      alpha[k++] = 1.0 / cellWidth;
    }
    if (fsx2 - sx2 > 1e-3) {
      di[k] = dx;
      si[k] = sx2;
      alpha[k++] = Math.min(Math.min(fsx2 - sx2, 1), cellWidth) / cellWidth;
    }
  }
  return { di, si, alpha, n: k };
}

/** OpenCV's general INTER_AREA downscale (float32 accumulation). */
function resizeArea(img: RawImage, width: number, height: number, scaleX: number, scaleY: number): RawImage {
  const src = img.data;
  const xt = areaTab(img.width, width, scaleX);
  const yt = areaTab(img.height, height, scaleY);
  const W = width * 3;
  const buf = new Float32Array(W);
  const sum = new Float32Array(W);
  const out = new Uint8Array(W * height);
  const flush = (dy: number): void => {
    const o = dy * W;
    for (let x = 0; x < W; x++) out[o + x] = sat8(roundHalfEven(sum[x]));
  };
  let prevDy = yt.n ? yt.di[0] : 0;
  for (let j = 0; j < yt.n; j++) {
    const beta = yt.alpha[j];
    const dy = yt.di[j];
    const base = yt.si[j] * img.width * 3;
    buf.fill(0);
    for (let k = 0; k < xt.n; k++) {
      const s = base + xt.si[k] * 3;
      const d = xt.di[k] * 3;
      const a = xt.alpha[k];
      buf[d] = buf[d] + f32(src[s] * a);
      buf[d + 1] = buf[d + 1] + f32(src[s + 1] * a);
      buf[d + 2] = buf[d + 2] + f32(src[s + 2] * a);
    }
    if (dy !== prevDy) {
      flush(prevDy);
      for (let x = 0; x < W; x++) sum[x] = beta * buf[x];
      prevDy = dy;
    } else {
      for (let x = 0; x < W; x++) sum[x] = sum[x] + f32(beta * buf[x]);
    }
  }
  if (yt.n) flush(prevDy);
  return { data: out, width, height };
}

/**
 * yolov5's LoadImagesAndLabels.load_image resize: the long side becomes `size`
 * (dsize = ceil(w0·r), ceil(h0·r) with r = size / max(h0, w0)); INTER_LINEAR when augmenting or
 * enlarging, INTER_AREA when shrinking without augmentation. Returns the input itself when r = 1.
 */
export function resizeLongSide(
  img: RawImage,
  size: number,
  augment: boolean,
): { img: RawImage; h0: number; w0: number } {
  const h0 = img.height;
  const w0 = img.width;
  const r = size / Math.max(h0, w0);
  if (r === 1) return { img, h0, w0 };
  const interp: Interpolation = augment || r > 1 ? 'linear' : 'area';
  return { img: resizeImage(img, Math.ceil(w0 * r), Math.ceil(h0 * r), interp), h0, w0 };
}

/** cv2.copyMakeBorder(img, top, bottom, left, right, BORDER_CONSTANT, value=color). */
export function padImage(
  img: RawImage,
  top: number,
  bottom: number,
  left: number,
  right: number,
  color: number | readonly number[] = 114,
): RawImage {
  if (top === 0 && bottom === 0 && left === 0 && right === 0) return img;
  const width = img.width + left + right;
  const height = img.height + top + bottom;
  const out = fullImage(width, height, color);
  const srcRow = img.width * 3;
  for (let y = 0; y < img.height; y++) {
    out.data.set(img.data.subarray(y * srcRow, (y + 1) * srcRow), ((y + top) * width + left) * 3);
  }
  return out;
}

export interface LetterboxOptions {
  /** padding colour, grey level or [r, g, b]; yolov5: 114 */
  color?: number | readonly number[];
  /** pad only to a multiple of `stride` (minimum rectangle); yolov5 default true */
  auto?: boolean;
  /** stretch to exactly the new shape, no padding (only when !auto) */
  scaleFill?: boolean;
  /** allow enlarging; false → only shrink */
  scaleup?: boolean;
  stride?: number;
}

export interface LetterboxResult {
  img: RawImage;
  /** [width ratio, height ratio] */
  ratio: [number, number];
  /** [dw, dh]: padding on each side (halves, may be fractional) */
  pad: [number, number];
}

/**
 * yolov5 v7.0 utils/augmentations.letterbox: resize keeping the aspect ratio and pad to `newShape`
 * ([h, w] or a square size). Python's round (half to even) is reproduced for the unpadded size.
 */
export function letterbox(
  img: RawImage,
  newShape: number | readonly [number, number],
  opts: LetterboxOptions = {},
): LetterboxResult {
  const { color = 114, auto = true, scaleFill = false, scaleup = true, stride = 32 } = opts;
  const [nh, nw] = typeof newShape === 'number' ? [newShape, newShape] : newShape;
  const h = img.height;
  const w = img.width;
  let r = Math.min(nh / h, nw / w);
  if (!scaleup) r = Math.min(r, 1.0);
  let ratio: [number, number] = [r, r];
  let uw = roundHalfEven(w * r);
  let uh = roundHalfEven(h * r);
  let dw = nw - uw;
  let dh = nh - uh;
  if (auto) {
    dw = ((dw % stride) + stride) % stride;
    dh = ((dh % stride) + stride) % stride;
  } else if (scaleFill) {
    dw = 0;
    dh = 0;
    uw = nw;
    uh = nh;
    ratio = [nw / w, nh / h];
  }
  dw /= 2;
  dh /= 2;
  let out = w !== uw || h !== uh ? resizeImage(img, uw, uh, 'linear') : img;
  const top = roundHalfEven(dh - 0.1);
  const bottom = roundHalfEven(dh + 0.1);
  const left = roundHalfEven(dw - 0.1);
  const right = roundHalfEven(dw + 0.1);
  out = padImage(out, top, bottom, left, right, color);
  if (out === img) out = { data: img.data.slice(), width: img.width, height: img.height };
  return { img: out, ratio, pad: [dw, dh] };
}
