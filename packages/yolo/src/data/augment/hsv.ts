// HSV colour-space augmentation (yolov5 v7.0 utils/augmentations.augment_hsv semantics) with OpenCV's
// 8-bit HSV convention: H in 0..179 (degrees / 2), S and V in 0..255.
//
// RGB → HSV (OpenCV's integer RGB2HSV_b, 12-bit fixed point, rne = round half to even):
//   V = max(R, G, B); m = min(R, G, B); d = V − m
//   sdiv[i] = rne(255·4096 / i), hdiv[i] = rne(180·4096 / (6·i)), both 0 for i = 0
//   S = (d·sdiv[V] + 2048) >> 12
//   h' = G − B            if V = R
//        B − R + 2d       else if V = G
//        R − G + 4d       otherwise
//   H = (h'·hdiv[d] + 2048) >> 12 (arithmetic shift), H += 180 if H < 0
// HSV → RGB (OpenCV's HSV2RGB_b, all in float32):
//   h = H·float32(6/180); k = floor(h) (sector, mod 6); t = h − k
//   s = S·float32(1/255); v = V·float32(1/255)
//   p = v·(1 − s); q = v·fma(−s, t, 1); u = v·fma(−s, 1 − t, 1) (SIMD) or v·(1 − s·(1 − t)) (tail)
//   (R, G, B) = (v,u,p) (q,v,p) (p,v,u) (p,q,v) (u,p,v) (v,p,q) for k = 0..5
//   each channel = float32(c·255) TRUNCATED toward zero, except in the last (width mod 32) pixels of
//   each image row, where it is rounded half to even. This is what OpenCV 4.x does on x86: its SIMD
//   kernel (AVX2 dispatch, 32 pixels per step, used on any AVX2 or AVX-512 CPU) truncates with v_trunc,
//   and its scalar tail rounds with saturate_cast. Truncation makes the RGB→HSV→RGB round trip lossy
//   even at unit gains (e.g. HSV (0, 1, 1) → RGB (1, 0, 0)), exactly like cv2.
// Every float32 operation is rounded with Math.fround; both conversions were checked bit-exact against
// cv2 4.6.0 (python3-opencv, Debian 12) over every RGB colour and every (H < 180, S, V).

import { roundHalfEven } from '../../util/python.js';
import type { RawImage, Rng } from '../types.js';

const f = Math.fround;

const SDIV = new Int32Array(256);
const HDIV = new Int32Array(256);
for (let i = 1; i < 256; i++) {
  SDIV[i] = roundHalfEven((255 << 12) / i);
  HDIV[i] = roundHalfEven((180 << 12) / (6 * i));
}
const HSCALE = f(6 / 180);
const INV255 = f(1 / 255);

/** One RGB pixel → [H, S, V] (OpenCV 8-bit convention). */
export function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  let v = b;
  let vmin = b;
  if (g > v) v = g;
  if (r > v) v = r;
  if (g < vmin) vmin = g;
  if (r < vmin) vmin = r;
  const diff = v - vmin;
  const s = (diff * SDIV[v] + 2048) >> 12;
  let h = v === r ? g - b : v === g ? b - r + 2 * diff : r - g + 4 * diff;
  h = (h * HDIV[diff] + 2048) >> 12;
  if (h < 0) h += 180;
  return [h, s, v];
}

/**
 * One HSV pixel (OpenCV 8-bit convention) → [R, G, B]. `round` = false (default) truncates like
 * OpenCV's SIMD kernel (most pixels); true rounds like its scalar tail.
 */
export function hsvToRgb(hh: number, ss: number, vv: number, round = false): [number, number, number] {
  const out = new Uint8Array(3);
  hsvToRgbInto(hh, ss, vv, out, 0, round);
  return [out[0], out[1], out[2]];
}

function hsvToRgbInto(hh: number, ss: number, vv: number, out: Uint8Array, o: number, round: boolean): void {
  const s = f(ss * INV255);
  const v = f(vv * INV255);
  let h = f(hh * HSCALE);
  let sector = Math.floor(h);
  h = f(h - sector);
  sector %= 6;
  const p = f(v * f(1 - s));
  // OpenCV's build contracts 1 − s·t (and, in its SIMD kernel only, 1 − s·(1 − t)) into one fused
  // multiply-add; a float32 product is exact in float64, so f(a·b + c) is that FMA on this input domain
  const q = f(v * f(1 - s * h));
  const u = round ? f(v * f(1 - f(s * f(1 - h)))) : f(v * f(1 - s * f(1 - h)));
  let r: number;
  let g: number;
  let b: number;
  switch (sector) {
    case 0:
      r = v;
      g = u;
      b = p;
      break;
    case 1:
      r = q;
      g = v;
      b = p;
      break;
    case 2:
      r = p;
      g = v;
      b = u;
      break;
    case 3:
      r = p;
      g = q;
      b = v;
      break;
    case 4:
      r = u;
      g = p;
      b = v;
      break;
    default:
      r = v;
      g = p;
      b = q;
  }
  // values are in [0, 255]: a Uint8Array store truncates a non-negative float, no saturation needed
  if (round) {
    out[o] = roundHalfEven(f(r * 255));
    out[o + 1] = roundHalfEven(f(g * 255));
    out[o + 2] = roundHalfEven(f(b * 255));
  } else {
    out[o] = f(r * 255);
    out[o + 1] = f(g * 255);
    out[o + 2] = f(b * 255);
  }
}

/** The three lookup tables augment_hsv builds for gains r = [rh, rs, rv]. */
export function hsvLuts(gains: readonly [number, number, number]): {
  hue: Uint8Array;
  sat: Uint8Array;
  val: Uint8Array;
} {
  const hue = new Uint8Array(256);
  const sat = new Uint8Array(256);
  const val = new Uint8Array(256);
  for (let x = 0; x < 256; x++) {
    // numpy: ((x * r0) % 180).astype(uint8), clip(x * r, 0, 255).astype(uint8): float64 then truncation
    const hv = x * gains[0];
    hue[x] = Math.trunc(((hv % 180) + 180) % 180);
    const sv = x * gains[1];
    sat[x] = Math.trunc(sv < 0 ? 0 : sv > 255 ? 255 : sv);
    const vv = x * gains[2];
    val[x] = Math.trunc(vv < 0 ? 0 : vv > 255 ? 255 : vv);
  }
  return { hue, sat, val };
}

/** Applies fixed HSV gains (no random draws) in place: RGB → HSV → LUTs → RGB. */
export function applyHsvGains(img: RawImage, gains: readonly [number, number, number]): RawImage {
  const { hue, sat, val } = hsvLuts(gains);
  const d = img.data;
  const W = img.width;
  const simdW = W - (W % 32); // pixels per row done by OpenCV's SIMD kernel (truncating)
  const n = W * img.height * 3;
  for (let i = 0, x = 0; i < n; i += 3, x = x + 1 === W ? 0 : x + 1) {
    const r = d[i];
    const g = d[i + 1];
    const b = d[i + 2];
    // rgbToHsv inlined: this loop runs per pixel and must not allocate
    let v = b;
    let vmin = b;
    if (g > v) v = g;
    if (r > v) v = r;
    if (g < vmin) vmin = g;
    if (r < vmin) vmin = r;
    const diff = v - vmin;
    const s = (diff * SDIV[v] + 2048) >> 12;
    let h = v === r ? g - b : v === g ? b - r + 2 * diff : r - g + 4 * diff;
    h = (h * HDIV[diff] + 2048) >> 12;
    if (h < 0) h += 180;
    hsvToRgbInto(hue[h], sat[s], val[v], d, i, x >= simdW);
  }
  return img;
}

/**
 * yolov5's augment_hsv, in place. If any gain is non-zero, draws three values in the order h, s, v:
 * r_k = rng.uniform(−1, 1)·gain_k + 1, and applies them (see applyHsvGains). With all gains zero
 * nothing is drawn. Returns the gains used (or null).
 */
export function augmentHsv(
  img: RawImage,
  hgain: number,
  sgain: number,
  vgain: number,
  rng: Rng,
): [number, number, number] | null {
  if (!hgain && !sgain && !vgain) return null;
  const gains: [number, number, number] = [
    rng.uniform(-1, 1) * hgain + 1,
    rng.uniform(-1, 1) * sgain + 1,
    rng.uniform(-1, 1) * vgain + 1,
  ];
  applyHsvGains(img, gains);
  return gains;
}
