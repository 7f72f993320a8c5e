// Which boxes survive an augmentation (yolov5 v7.0 utils/augmentations.box_candidates semantics).

export interface CandidateOptions {
  /** minimum width and height in pixels of the new box (strictly greater); yolov5: 2 */
  whThr?: number;
  /** maximum aspect ratio max(w/h, h/w) of the new box (strictly less); yolov5: 100 */
  arThr?: number;
  /** minimum area ratio new / original (strictly greater); yolov5: 0.1 for boxes (0.01 for segments) */
  areaThr?: number;
  /** yolov5: 1e-16 */
  eps?: number;
}

/**
 * For n boxes, before (box1) and after (box2) augmentation, both as xyxy in pixels, returns a mask of
 * the candidates: w2 > whThr, h2 > whThr, w2·h2 / (w1·h1 + eps) > areaThr and
 * max(w2/(h2+eps), h2/(w2+eps)) < arThr.
 *
 * The boxes are read from 5-column rows [cls, x1, y1, x2, y2] (box1 coordinates are multiplied by
 * `scale1` first, as random_perspective passes the original boxes × its scale gain s).
 */
export function boxCandidates(
  box1: Float32Array | Float64Array,
  box2: Float32Array | Float64Array,
  n: number,
  opts: CandidateOptions = {},
  scale1 = 1,
): Uint8Array {
  const whThr = opts.whThr ?? 2;
  const arThr = opts.arThr ?? 100;
  const areaThr = opts.areaThr ?? 0.1;
  const eps = opts.eps ?? 1e-16;
  const keep = new Uint8Array(n);
  // numpy keeps float32 boxes × a Python float in float32 (and w1·h1 + eps too): mirror that
  const r = box1 instanceof Float32Array ? Math.fround : (x: number): number => x;
  for (let i = 0; i < n; i++) {
    const o = i * 5;
    const w1 = r(r(box1[o + 3] * scale1) - r(box1[o + 1] * scale1));
    const h1 = r(r(box1[o + 4] * scale1) - r(box1[o + 2] * scale1));
    const a1 = r(r(w1 * h1) + eps);
    const w2 = box2[o + 3] - box2[o + 1];
    const h2 = box2[o + 4] - box2[o + 2];
    const ar = Math.max(w2 / (h2 + eps), h2 / (w2 + eps));
    keep[i] = w2 > whThr && h2 > whThr && (w2 * h2) / a1 > areaThr && ar < arThr ? 1 : 0;
  }
  return keep;
}
