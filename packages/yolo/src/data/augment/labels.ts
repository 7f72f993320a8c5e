// Label-row conversions used by the augmentations, on plain Float32Array rows (no tensors).
// yolov5 keeps labels as float32 numpy arrays and does these conversions in float32, so every
// intermediate here is rounded to float32 (Math.fround) to land on the same values.
import type { Labels, PixelBoxes } from '../types.js';

const f = Math.fround;

/**
 * Normalised [cls, cx, cy, w, h] rows → pixel [cls, x1, y1, x2, y2] rows for an image of w×h
 * placed at (padw, padh): x1 = w·(cx − bw/2) + padw, y1 = h·(cy − bh/2) + padh, x2/y2 likewise with +.
 */
export function xywhn2xyxyRows(labels: Labels, w: number, h: number, padw = 0, padh = 0): PixelBoxes {
  const n = labels.n;
  const src = labels.rows;
  const out = new Float32Array(n * 5);
  for (let i = 0; i < n; i++) {
    const o = i * 5;
    const cx = src[o + 1];
    const cy = src[o + 2];
    const hw = f(src[o + 3] / 2);
    const hh = f(src[o + 4] / 2);
    out[o] = src[o];
    out[o + 1] = f(f(w * f(cx - hw)) + padw);
    out[o + 2] = f(f(h * f(cy - hh)) + padh);
    out[o + 3] = f(f(w * f(cx + hw)) + padw);
    out[o + 4] = f(f(h * f(cy + hh)) + padh);
  }
  return { rows: out, n };
}

/**
 * Pixel [cls, x1, y1, x2, y2] rows → normalised [cls, cx, cy, w, h] rows for an image of w×h.
 * With `clip`, coordinates are first clipped to [0, w − eps] / [0, h − eps] (yolov5's
 * xyxy2xywhn(..., clip=True, eps=1e-3) as used in __getitem__).
 */
export function xyxy2xywhnRows(boxes: PixelBoxes, w: number, h: number, clip = false, eps = 0): Labels {
  const n = boxes.n;
  const src = boxes.rows;
  const out = new Float32Array(n * 5);
  const wmax = w - eps;
  const hmax = h - eps;
  for (let i = 0; i < n; i++) {
    const o = i * 5;
    let x1 = src[o + 1];
    let y1 = src[o + 2];
    let x2 = src[o + 3];
    let y2 = src[o + 4];
    if (clip) {
      x1 = f(x1 < 0 ? 0 : x1 > wmax ? wmax : x1);
      x2 = f(x2 < 0 ? 0 : x2 > wmax ? wmax : x2);
      y1 = f(y1 < 0 ? 0 : y1 > hmax ? hmax : y1);
      y2 = f(y2 < 0 ? 0 : y2 > hmax ? hmax : y2);
    }
    out[o] = src[o];
    out[o + 1] = f(f(f(x1 + x2) / 2) / w);
    out[o + 2] = f(f(f(y1 + y2) / 2) / h);
    out[o + 3] = f(f(x2 - x1) / w);
    out[o + 4] = f(f(y2 - y1) / h);
  }
  return { rows: out, n };
}

/** Clips pixel box coordinates in place to [0, w] × [0, h]. */
export function clipBoxRows(boxes: PixelBoxes, w: number, h: number): PixelBoxes {
  const r = boxes.rows;
  for (let i = 0; i < boxes.n; i++) {
    const o = i * 5;
    for (let k = 1; k <= 4; k++) {
      const hi = k & 1 ? w : h;
      const v = r[o + k];
      r[o + k] = v < 0 ? 0 : v > hi ? hi : v;
    }
  }
  return boxes;
}

/** Concatenates row sets (of 5 columns each). */
export function concatRows<T extends { rows: Float32Array; n: number }>(
  parts: readonly T[],
): { rows: Float32Array; n: number } {
  let n = 0;
  for (const p of parts) n += p.n;
  const rows = new Float32Array(n * 5);
  let at = 0;
  for (const p of parts) {
    rows.set(p.rows.subarray(0, p.n * 5), at);
    at += p.n * 5;
  }
  return { rows, n };
}
