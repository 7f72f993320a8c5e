// Random affine / perspective augmentation (yolov5 v7.0 utils/augmentations.random_perspective semantics)
// and the cv2.warpAffine / cv2.warpPerspective bilinear warps it uses.
//
// Random draws, always all eight and in this order (each rng.uniform(a, b) = a + (b − a)·random()):
//   1. perspective x  uniform(−perspective, perspective)
//   2. perspective y  uniform(−perspective, perspective)
//   3. angle          uniform(−degrees, degrees)
//   4. scale          uniform(1 − scale, 1 + scale)
//   5. shear x        uniform(−shear, shear)          (degrees)
//   6. shear y        uniform(−shear, shear)
//   7. translate x    uniform(0.5 − translate, 0.5 + translate) · width
//   8. translate y    uniform(0.5 − translate, 0.5 + translate) · height
// Output size: height = img.h + 2·border[0], width = img.w + 2·border[1].
// M = T · S · R · P · C (applied right to left), all 3×3 in float64:
//   C: translate by (−img.w/2, −img.h/2); P: [[1,0,0],[0,1,0],[px,py,1]];
//   R: cv2.getRotationMatrix2D(center=(0,0), angle=a, scale=s) = [[s·cos a, s·sin a, 0], [−s·sin a, s·cos a, 0]];
//   S: [[1, tan(shx°), 0], [tan(shy°), 1, 0]]; T: translate by (tx, ty).
// The image is warped when border ≠ 0 or M ≠ I, with warpPerspective if perspective ≠ 0 else warpAffine.
//
// Warps follow OpenCV's fixed-point INTER_LINEAR with BORDER_CONSTANT (imgproc/imgwarp.cpp):
//   * the forward matrix is inverted (affine: OpenCV's closed form; perspective: 3×3 inverse);
//   * affine: for destination (x, y), X = (rne((m01·y + m02)·1024) + 16 + rne(m00·x·1024)) >> 5 and
//     likewise Y — source position in 1/32 pixel; perspective: W = m20·x + m21·y + m22,
//     X = rne((m00·x + m01·y + m02)·32/W) (0 if W = 0);
//   * integer source pixel (X >> 5, Y >> 5), fraction (fx, fy) = (X & 31, Y & 31); the value is
//     (Σ p·w + 512) >> 10 with w = (32−fx)(32−fy), fx(32−fy), (32−fx)fy, fx·fy over the 2×2 neighbours;
//     neighbours outside the source take the border colour.
//   Both warps were checked bit-exact against cv2 4.6.0 (affine exactly; perspective inverts the matrix
//   by cofactors rather than OpenCV's LU, so a pixel could in principle differ by rounding).
// Boxes: the 4 corners of each box go through M (divided by the 3rd coordinate for perspective), the new
// box is their min/max, clipped to [0, width] × [0, height], then filtered with boxCandidates
// (box1 = original × s, box2 = new).

import { roundHalfEven } from '../../util/python.js';
import type { PixelBoxes, RawImage, Rng } from '../types.js';
import { boxCandidates, type CandidateOptions } from './candidates.js';

export interface PerspectiveOptions {
  /** rotation range ± degrees; yolov5 function default 10 (hyps: 0) */
  degrees?: number;
  /** translation range ± fraction; default 0.1 */
  translate?: number;
  /** scale gain range ±; default 0.1 (hyps: 0.5 / 0.9) */
  scale?: number;
  /** shear range ± degrees; default 10 (hyps: 0) */
  shear?: number;
  /** perspective range ±; default 0 */
  perspective?: number;
  /** [bh, bw] border added on each side (negative crops, as the mosaic's [−s/2, −s/2]); default [0, 0] */
  border?: readonly [number, number];
  /** border colour, grey level or [r, g, b]; default 114 */
  fill?: number | readonly number[];
  /** box filter thresholds (yolov5: wh 2, ar 100, area 0.1) */
  candidates?: CandidateOptions;
}

/** The eight random values of one random_perspective call. */
export interface PerspectiveParams {
  px: number;
  py: number;
  /** degrees */
  angle: number;
  scale: number;
  /** degrees */
  shearX: number;
  /** degrees */
  shearY: number;
  /** translation in pixels */
  tx: number;
  ty: number;
}

export interface PerspectiveResult {
  img: RawImage;
  boxes: PixelBoxes;
  /** the forward 3×3 matrix, row-major */
  M: Float64Array;
  params: PerspectiveParams;
  /** rows of the input boxes that were kept */
  kept: Int32Array;
}

/** Draws the eight values in the documented order; width/height are the output size. */
export function drawPerspectiveParams(
  rng: Rng,
  opts: PerspectiveOptions,
  width: number,
  height: number,
): PerspectiveParams {
  const { degrees = 10, translate = 0.1, scale = 0.1, shear = 10, perspective = 0 } = opts;
  const px = rng.uniform(-perspective, perspective);
  const py = rng.uniform(-perspective, perspective);
  const angle = rng.uniform(-degrees, degrees);
  const s = rng.uniform(1 - scale, 1 + scale);
  const shearX = rng.uniform(-shear, shear);
  const shearY = rng.uniform(-shear, shear);
  const tx = rng.uniform(0.5 - translate, 0.5 + translate) * width;
  const ty = rng.uniform(0.5 - translate, 0.5 + translate) * height;
  return { px, py, angle, scale: s, shearX, shearY, tx, ty };
}

function mat3mul(a: Float64Array, b: Float64Array): Float64Array {
  const o = new Float64Array(9);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) o[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
  }
  return o;
}

function eye(): Float64Array {
  return Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
}

/** M = T · S · R · P · C for an input of imgW×imgH (3×3 row-major, float64). */
export function perspectiveMatrix(p: PerspectiveParams, imgW: number, imgH: number): Float64Array {
  const C = eye();
  C[2] = -imgW / 2;
  C[5] = -imgH / 2;
  const P = eye();
  P[6] = p.px;
  P[7] = p.py;
  const R = eye();
  const ang = (p.angle * Math.PI) / 180;
  const alpha = Math.cos(ang) * p.scale;
  const beta = Math.sin(ang) * p.scale;
  R[0] = alpha;
  R[1] = beta;
  R[3] = -beta;
  R[4] = alpha;
  const S = eye();
  S[1] = Math.tan((p.shearX * Math.PI) / 180);
  S[3] = Math.tan((p.shearY * Math.PI) / 180);
  const T = eye();
  T[2] = p.tx;
  T[5] = p.ty;
  return mat3mul(mat3mul(mat3mul(mat3mul(T, S), R), P), C);
}

function isIdentity(M: Float64Array): boolean {
  return (
    M[0] === 1 &&
    M[1] === 0 &&
    M[2] === 0 &&
    M[3] === 0 &&
    M[4] === 1 &&
    M[5] === 0 &&
    M[6] === 0 &&
    M[7] === 0 &&
    M[8] === 1
  );
}

function fillTriple(fill: number | readonly number[]): [number, number, number] {
  return typeof fill === 'number' ? [fill, fill, fill] : [fill[0], fill[1], fill[2]];
}

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
function satInt(v: number): number {
  return v < INT_MIN ? INT_MIN : v > INT_MAX ? INT_MAX : v;
}
function satShort(v: number): number {
  return v < -32768 ? -32768 : v > 32767 ? 32767 : v;
}

/**
 * Samples one destination pixel from source position (X, Y) in 1/32 pixel (fixed-point bilinear,
 * constant border). Shared by both warps.
 */
function sampleInto(
  src: Uint8Array,
  sw: number,
  sh: number,
  X: number,
  Y: number,
  out: Uint8Array,
  o: number,
  fr: number,
  fg: number,
  fb: number,
): void {
  const sx = satShort(X >> 5);
  const sy = satShort(Y >> 5);
  const fx = X & 31;
  const fy = Y & 31;
  const w00 = (32 - fx) * (32 - fy);
  const w01 = fx * (32 - fy);
  const w10 = (32 - fx) * fy;
  const w11 = fx * fy;
  if (sx >= 0 && sx < sw - 1 && sy >= 0 && sy < sh - 1) {
    const p = (sy * sw + sx) * 3;
    const q = p + sw * 3;
    out[o] = (src[p] * w00 + src[p + 3] * w01 + src[q] * w10 + src[q + 3] * w11 + 512) >> 10;
    out[o + 1] = (src[p + 1] * w00 + src[p + 4] * w01 + src[q + 1] * w10 + src[q + 4] * w11 + 512) >> 10;
    out[o + 2] = (src[p + 2] * w00 + src[p + 5] * w01 + src[q + 2] * w10 + src[q + 5] * w11 + 512) >> 10;
    return;
  }
  if (sx >= sw || sx + 1 < 0 || sy >= sh || sy + 1 < 0) {
    out[o] = fr;
    out[o + 1] = fg;
    out[o + 2] = fb;
    return;
  }
  const x0in = sx >= 0 && sx < sw;
  const x1in = sx + 1 >= 0 && sx + 1 < sw;
  const y0in = sy >= 0 && sy < sh;
  const y1in = sy + 1 >= 0 && sy + 1 < sh;
  const p00 = x0in && y0in ? (sy * sw + sx) * 3 : -1;
  const p01 = x1in && y0in ? (sy * sw + sx + 1) * 3 : -1;
  const p10 = x0in && y1in ? ((sy + 1) * sw + sx) * 3 : -1;
  const p11 = x1in && y1in ? ((sy + 1) * sw + sx + 1) * 3 : -1;
  for (let c = 0; c < 3; c++) {
    const fc = c === 0 ? fr : c === 1 ? fg : fb;
    const v00 = p00 >= 0 ? src[p00 + c] : fc;
    const v01 = p01 >= 0 ? src[p01 + c] : fc;
    const v10 = p10 >= 0 ? src[p10 + c] : fc;
    const v11 = p11 >= 0 ? src[p11 + c] : fc;
    out[o + c] = (v00 * w00 + v01 * w01 + v10 * w10 + v11 * w11 + 512) >> 10;
  }
}

/**
 * cv2.warpAffine(img, M[:2], (width, height), flags=INTER_LINEAR, borderValue=fill) with the forward
 * matrix M (6 or 9 numbers, row-major).
 */
export function warpAffine(
  img: RawImage,
  M: ArrayLike<number>,
  width: number,
  height: number,
  fill: number | readonly number[] = 114,
): RawImage {
  // OpenCV's closed-form inverse of the 2×3 matrix
  let D = M[0] * M[4] - M[1] * M[3];
  D = D !== 0 ? 1 / D : 0;
  const i0 = M[4] * D;
  const i1 = M[1] * -D;
  const i3 = M[3] * -D;
  const i4 = M[0] * D;
  const i2 = -i0 * M[2] - i1 * M[5];
  const i5 = -i3 * M[2] - i4 * M[5];
  const adelta = new Int32Array(width);
  const bdelta = new Int32Array(width);
  for (let x = 0; x < width; x++) {
    adelta[x] = satInt(roundHalfEven(i0 * x * 1024));
    bdelta[x] = satInt(roundHalfEven(i3 * x * 1024));
  }
  const [fr, fg, fb] = fillTriple(fill);
  const src = img.data;
  const sw = img.width;
  const sh = img.height;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const X0 = satInt(roundHalfEven((i1 * y + i2) * 1024)) + 16;
    const Y0 = satInt(roundHalfEven((i4 * y + i5) * 1024)) + 16;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      sampleInto(src, sw, sh, (X0 + adelta[x]) >> 5, (Y0 + bdelta[x]) >> 5, out, o, fr, fg, fb);
    }
  }
  return { data: out, width, height };
}

/** Inverse of a 3×3 row-major matrix (zeros if singular). */
export function invert3(M: ArrayLike<number>): Float64Array {
  const [a, b, c, d, e, f, g, h, i] = [M[0], M[1], M[2], M[3], M[4], M[5], M[6], M[7], M[8]];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (det === 0) return new Float64Array(9);
  const r = 1 / det;
  return Float64Array.of(
    A * r,
    -(b * i - c * h) * r,
    (b * f - c * e) * r,
    B * r,
    (a * i - c * g) * r,
    -(a * f - c * d) * r,
    C * r,
    -(a * h - b * g) * r,
    (a * e - b * d) * r,
  );
}

/** cv2.warpPerspective(img, M, (width, height), flags=INTER_LINEAR, borderValue=fill), forward M (9 numbers). */
export function warpPerspective(
  img: RawImage,
  M: ArrayLike<number>,
  width: number,
  height: number,
  fill: number | readonly number[] = 114,
): RawImage {
  const m = invert3(M);
  const [fr, fg, fb] = fillTriple(fill);
  const src = img.data;
  const sw = img.width;
  const sh = img.height;
  const out = new Uint8Array(width * height * 3);
  const bw0 = Math.min(64, width);
  for (let y = 0; y < height; y++) {
    for (let xt = 0; xt < width; xt += bw0) {
      const X0 = m[0] * xt + m[1] * y + m[2];
      const Y0 = m[3] * xt + m[4] * y + m[5];
      const W0 = m[6] * xt + m[7] * y + m[8];
      const end = Math.min(xt + bw0, width);
      let o = (y * width + xt) * 3;
      for (let x1 = 0; x1 < end - xt; x1++, o += 3) {
        let W = W0 + m[6] * x1;
        W = W ? 32 / W : 0;
        const fX = Math.max(INT_MIN, Math.min(INT_MAX, (X0 + m[0] * x1) * W));
        const fY = Math.max(INT_MIN, Math.min(INT_MAX, (Y0 + m[3] * x1) * W));
        sampleInto(src, sw, sh, satInt(roundHalfEven(fX)), satInt(roundHalfEven(fY)), out, o, fr, fg, fb);
      }
    }
  }
  return { data: out, width, height };
}

/**
 * Transforms pixel boxes through M: the four corners (x1y1, x2y2, x1y2, x2y1) are mapped (and divided by
 * w when `perspective`), the new box is their min/max, clipped to [0, width] × [0, height].
 * Returns float64 rows [cls, x1, y1, x2, y2].
 */
export function transformBoxes(
  boxes: PixelBoxes,
  M: ArrayLike<number>,
  perspective: boolean,
  width: number,
  height: number,
): Float64Array {
  const n = boxes.n;
  const src = boxes.rows;
  const out = new Float64Array(n * 5);
  const cx = [0, 0, 0, 0];
  const cy = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const o = i * 5;
    const x1 = src[o + 1];
    const y1 = src[o + 2];
    const x2 = src[o + 3];
    const y2 = src[o + 4];
    const xs = [x1, x2, x1, x2];
    const ys = [y1, y2, y2, y1];
    for (let k = 0; k < 4; k++) {
      const X = xs[k] * M[0] + ys[k] * M[1] + M[2];
      const Y = xs[k] * M[3] + ys[k] * M[4] + M[5];
      if (perspective) {
        const Z = xs[k] * M[6] + ys[k] * M[7] + M[8];
        cx[k] = X / Z;
        cy[k] = Y / Z;
      } else {
        cx[k] = X;
        cy[k] = Y;
      }
    }
    const nx1 = Math.min(cx[0], cx[1], cx[2], cx[3]);
    const ny1 = Math.min(cy[0], cy[1], cy[2], cy[3]);
    const nx2 = Math.max(cx[0], cx[1], cx[2], cx[3]);
    const ny2 = Math.max(cy[0], cy[1], cy[2], cy[3]);
    out[o] = src[o];
    out[o + 1] = nx1 < 0 ? 0 : nx1 > width ? width : nx1;
    out[o + 2] = ny1 < 0 ? 0 : ny1 > height ? height : ny1;
    out[o + 3] = nx2 < 0 ? 0 : nx2 > width ? width : nx2;
    out[o + 4] = ny2 < 0 ? 0 : ny2 > height ? height : ny2;
  }
  return out;
}

/**
 * yolov5's random_perspective: draws the eight parameters (see the file comment), warps the image
 * (or returns it unchanged when border = 0 and M = I) and transforms, clips and filters the boxes.
 */
export function randomPerspective(
  img: RawImage,
  boxes: PixelBoxes,
  opts: PerspectiveOptions,
  rng: Rng,
): PerspectiveResult {
  const border = opts.border ?? [0, 0];
  const height = img.height + border[0] * 2;
  const width = img.width + border[1] * 2;
  const params = drawPerspectiveParams(rng, opts, width, height);
  const M = perspectiveMatrix(params, img.width, img.height);
  return applyPerspective(img, boxes, M, params, opts);
}

/** The deterministic part of randomPerspective, for given parameters. */
export function applyPerspective(
  img: RawImage,
  boxes: PixelBoxes,
  M: Float64Array,
  params: PerspectiveParams,
  opts: PerspectiveOptions,
): PerspectiveResult {
  const border = opts.border ?? [0, 0];
  const height = img.height + border[0] * 2;
  const width = img.width + border[1] * 2;
  if (!(width > 0 && height > 0))
    throw new Error(`randomPerspective: output size ${width}×${height} is empty (border ${border})`);
  const persp = !!opts.perspective;
  const fill = opts.fill ?? 114;
  let out = img;
  if (border[0] !== 0 || border[1] !== 0 || !isIdentity(M)) {
    out = persp ? warpPerspective(img, M, width, height, fill) : warpAffine(img, M, width, height, fill);
  }
  const n = boxes.n;
  if (!n) return { img: out, boxes: { rows: new Float32Array(0), n: 0 }, M, params, kept: new Int32Array(0) };
  const moved = transformBoxes(boxes, M, persp, width, height);
  const keep = boxCandidates(boxes.rows, moved, n, opts.candidates, params.scale);
  let m = 0;
  for (let i = 0; i < n; i++) m += keep[i];
  const rows = new Float32Array(m * 5);
  const kept = new Int32Array(m);
  for (let i = 0, j = 0; i < n; i++) {
    if (!keep[i]) continue;
    for (let k = 0; k < 5; k++) rows[j * 5 + k] = moved[i * 5 + k];
    kept[j++] = i;
  }
  return { img: out, boxes: { rows, n: m }, M, params, kept };
}
