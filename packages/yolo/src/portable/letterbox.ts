// The model input from decoded pixels: RGBA → RGB, yolov5's letterbox (the same cv2-exact resize the
// native path uses, ./resize.ts, which is plain TypeScript), HWC uint8 → CHW float32 / 255.
// Given the same decoded pixels the input is bit-identical to prepare() in src/detect/image.ts.

import { letterbox } from '../portable/resize.js';
import type { LetterboxedInput, Pixels, RawImage } from './types.js';

/** Packed RGB bytes (RawImage) from RGB or RGBA pixels; alpha is dropped (not blended). */
export function toRgb(px: Pixels): RawImage {
  const { width, height, channels } = px;
  const n = width * height;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0))
    throw new Error(`pixels: bad size ${width}×${height}`);
  if (px.data.length !== n * channels)
    throw new Error(`pixels: ${px.data.length} bytes for ${width}×${height}×${channels}`);
  if (channels === 3)
    return {
      data:
        px.data instanceof Uint8Array
          ? px.data
          : new Uint8Array(px.data.buffer, px.data.byteOffset, px.data.byteLength),
      width,
      height,
    };
  const out = new Uint8Array(n * 3);
  const src = px.data;
  for (let p = 0, q = 0, r = 0; p < n; p++, q += 4, r += 3) {
    out[r] = src[q];
    out[r + 1] = src[q + 1];
    out[r + 2] = src[q + 2];
  }
  return { data: out, width, height };
}

export interface LetterboxInputOptions {
  /** pad only to a multiple of stride (detect.py's default, for dynamic models) or to the full size (false, fixed-shape models) */
  auto?: boolean;
  stride?: number;
}

/** Letterboxes an image to newShape ([h, w] or a square side) and lays it out as a CHW float32 input in 0..1. */
export function letterboxInput(
  img: Pixels | RawImage,
  newShape: number | readonly [number, number],
  opts: LetterboxInputOptions = {},
): LetterboxedInput {
  const rgb = 'channels' in img ? toRgb(img) : img;
  const lb = letterbox(rgb, newShape, { auto: opts.auto ?? true, stride: opts.stride ?? 32 });
  const { width: w, height: h, data } = lb.img;
  const n = w * h;
  const out = new Float32Array(3 * n);
  for (let p = 0, q = 0; p < n; p++, q += 3) {
    out[p] = data[q] / 255;
    out[n + p] = data[q + 1] / 255;
    out[2 * n + p] = data[q + 2] / 255;
  }
  return { data: out, shape: [h, w], ratio: lb.ratio, pad: lb.pad };
}
