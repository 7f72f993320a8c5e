// MixUp (yolov5 v7.0 utils/augmentations.mixup semantics): r ~ Beta(32, 32),
// im = (im1·r + im2·(1 − r)).astype(uint8) (float64, truncated), labels concatenated.
//
// Beta(a, b) = X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b) drawn in that order (numpy does the same for
// a, b > 1, with its own generator). Gamma(k) uses Marsaglia & Tsang (2000): d = k − 1/3, c = 1/√(9d);
// repeat { repeat { z ~ N(0,1); v = 1 + c·z } while v ≤ 0; v = v³; u = rng.random();
//          accept d·v if u < 1 − 0.0331·z⁴ or ln u < z²/2 + d·(1 − v + ln v) }.
// For k < 1: Gamma(k + 1) · u^(1/k) with one more rng.random() after it.
// N(0,1) is Box–Muller from two draws (u1 = 1 − random() ∈ (0, 1], u2 = random()):
// z = √(−2 ln u1)·cos(2π u2); the second Box–Muller value is discarded (no hidden state).
// The number of draws varies (rejections are rare for k = 32: ~0.2% per gamma).
import type { Labels, PixelBoxes, RawImage, Rng } from '../types.js';
import { concatRows } from './labels.js';

/** One standard normal from two uniforms (Box–Muller). */
export function randomNormal(rng: Rng): number {
  const u1 = 1 - rng.random();
  const u2 = rng.random();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Gamma(shape, 1) by Marsaglia–Tsang. */
export function randomGamma(shape: number, rng: Rng): number {
  if (!(shape > 0)) throw new Error(`randomGamma: shape must be > 0 (got ${shape})`);
  if (shape < 1) {
    const g = randomGamma(shape + 1, rng);
    return g * rng.random() ** (1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let z: number;
    let v: number;
    do {
      z = randomNormal(rng);
      v = 1 + c * z;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.random();
    const z2 = z * z;
    if (u < 1 - 0.0331 * z2 * z2) return d * v;
    if (Math.log(u) < 0.5 * z2 + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) = X / (X + Y), X ~ Gamma(a) then Y ~ Gamma(b). */
export function randomBeta(a: number, b: number, rng: Rng): number {
  const x = randomGamma(a, rng);
  const y = randomGamma(b, rng);
  return x / (x + y);
}

/** Blends two equally sized images with ratio r: trunc(im1·r + im2·(1 − r)). Returns a new image. */
export function blendImages(im1: RawImage, im2: RawImage, r: number): RawImage {
  if (im1.width !== im2.width || im1.height !== im2.height) {
    throw new Error(`mixup: image sizes differ (${im1.width}×${im1.height} vs ${im2.width}×${im2.height})`);
  }
  const n = im1.width * im1.height * 3;
  const a = im1.data;
  const b = im2.data;
  const out = new Uint8Array(n);
  const q = 1 - r;
  for (let i = 0; i < n; i++) out[i] = a[i] * r + b[i] * q; // Uint8Array store truncates (values in 0..255)
  return { data: out, width: im1.width, height: im1.height };
}

/**
 * yolov5's mixup: r = Beta(alpha, beta) (32, 32), blended image, labels of both concatenated
 * (rows of either labels or pixel boxes — 5 columns).
 */
export function mixup<L extends Labels | PixelBoxes>(
  im1: RawImage,
  labels1: L,
  im2: RawImage,
  labels2: L,
  rng: Rng,
  alpha = 32.0,
  beta = 32.0,
): { img: RawImage; labels: L; r: number } {
  const r = randomBeta(alpha, beta, rng);
  const img = blendImages(im1, im2, r);
  return { img, labels: concatRows([labels1, labels2]) as L, r };
}
