// 4-image mosaic (yolov5 v7.0 LoadImagesAndLabels.load_mosaic semantics).
//
// Random draws, in this order:
//   1. yc = floor(rng.uniform(−b, 2s + b)), 2. xc = floor(rng.uniform(−b, 2s + b)), b = floor(−s/2)
//      (yolov5's mosaic_border = [−s // 2, −s // 2]), i.e. centres in [s/2, 3s/2);
//   3–5. three more images: rng.choice(population) each (Python's random.choices(k=3)); for a count n,
//        floor(rng.random()·n), the same as choice over 0..n−1;
//   6–8. random.shuffle of the four: for i = 3, 2, 1: j = rng.randint(0, i), swap(i, j);
//   9–16. randomPerspective's eight draws (see perspective.ts) with border = mosaic border.
// The images come from a callback (each already resized so its long side is s, as load_image does) and
// are placed on a 2s×2s canvas of grey 114 around (xc, yc): top-left, top-right, bottom-left,
// bottom-right, cropped at the canvas edge exactly as yolov5's x1a..y2b formulas. Labels (normalised to
// each image) become pixel xyxy offset by (padw, padh) = (x1a − x1b, y1a − y1b), are clipped to [0, 2s]
// and go through randomPerspective with the mosaic border, whose output is s×s.
// yolov5's copy_paste step only acts on segments, which this pipeline does not carry: not applied.

import { fullImage } from '../../portable/resize.js';
import type { Labels, PixelBoxes, RawImage, Rng } from '../types.js';
import { concatRows, xywhn2xyxyRows } from './labels.js';
import {
  applyPerspective,
  drawPerspectiveParams,
  type PerspectiveOptions,
  type PerspectiveParams,
  perspectiveMatrix,
} from './perspective.js';

export interface MosaicSource {
  /** the image, resized so that its long side is `size` */
  img: RawImage;
  /** its labels, normalised to that image */
  labels: Labels;
}

export interface MosaicOptions extends Omit<PerspectiveOptions, 'border'> {
  /** image size s (the output is s×s) */
  size: number;
}

export interface MosaicResult {
  /** s×s (after randomPerspective with the mosaic border) */
  img: RawImage;
  /** pixel [cls, x1, y1, x2, y2] in `img` */
  boxes: PixelBoxes;
  /** the four dataset indices, in placement order (top-left, top-right, bottom-left, bottom-right) */
  indices: number[];
  /** mosaic centre on the 2s×2s canvas */
  center: [number, number];
  params: PerspectiveParams;
}

/** The 2s×2s canvas and pixel boxes of a mosaic before randomPerspective (no random draws). */
export function buildMosaic(
  size: number,
  xc: number,
  yc: number,
  sources: readonly MosaicSource[],
  fill: number | readonly number[] = 114,
): { img: RawImage; boxes: PixelBoxes } {
  const s = size;
  const S2 = s * 2;
  const canvas = fullImage(S2, S2, fill);
  const parts: PixelBoxes[] = [];
  for (let i = 0; i < 4; i++) {
    const { img, labels } = sources[i];
    const w = img.width;
    const h = img.height;
    let x1a: number, y1a: number, x2a: number, y2a: number;
    let x1b: number, y1b: number, x2b: number, y2b: number;
    if (i === 0) {
      x1a = Math.max(xc - w, 0);
      y1a = Math.max(yc - h, 0);
      x2a = xc;
      y2a = yc;
      x1b = w - (x2a - x1a);
      y1b = h - (y2a - y1a);
      x2b = w;
      y2b = h;
    } else if (i === 1) {
      x1a = xc;
      y1a = Math.max(yc - h, 0);
      x2a = Math.min(xc + w, S2);
      y2a = yc;
      x1b = 0;
      y1b = h - (y2a - y1a);
      x2b = Math.min(w, x2a - x1a);
      y2b = h;
    } else if (i === 2) {
      x1a = Math.max(xc - w, 0);
      y1a = yc;
      x2a = xc;
      y2a = Math.min(S2, yc + h);
      x1b = w - (x2a - x1a);
      y1b = 0;
      x2b = w;
      y2b = Math.min(y2a - y1a, h);
    } else {
      x1a = xc;
      y1a = yc;
      x2a = Math.min(xc + w, S2);
      y2a = Math.min(S2, yc + h);
      x1b = 0;
      y1b = 0;
      x2b = Math.min(w, x2a - x1a);
      y2b = Math.min(y2a - y1a, h);
    }
    // img4[y1a:y2a, x1a:x2a] = img[y1b:y2b, x1b:x2b] (both regions have the same size by construction)
    const rows = Math.min(y2a - y1a, y2b - y1b);
    const cols = Math.min(x2a - x1a, x2b - x1b);
    if (rows > 0 && cols > 0) {
      for (let r = 0; r < rows; r++) {
        const sOff = ((y1b + r) * w + x1b) * 3;
        canvas.data.set(img.data.subarray(sOff, sOff + cols * 3), ((y1a + r) * S2 + x1a) * 3);
      }
    }
    if (labels.n) parts.push(xywhn2xyxyRows(labels, w, h, x1a - x1b, y1a - y1b));
  }
  const boxes = concatRows(parts);
  const r = boxes.rows;
  for (let i = 0; i < boxes.n; i++) {
    for (let k = 1; k <= 4; k++) {
      const v = r[i * 5 + k];
      r[i * 5 + k] = v < 0 ? 0 : v > S2 ? S2 : v;
    }
  }
  return { img: canvas, boxes };
}

/**
 * yolov5's load_mosaic for dataset item `index` out of `n` items (or an explicit list of candidate
 * indices), with images supplied by `loadImage`. Draw order: see the file comment.
 */
export function loadMosaic(
  index: number,
  population: number | readonly number[],
  loadImage: (i: number) => MosaicSource,
  opts: MosaicOptions,
  rng: Rng,
): MosaicResult {
  const s = opts.size;
  const b = Math.floor(-s / 2);
  const yc = Math.trunc(rng.uniform(-b, 2 * s + b));
  const xc = Math.trunc(rng.uniform(-b, 2 * s + b));
  const indices = [index];
  if (typeof population === 'number') {
    for (let k = 0; k < 3; k++) indices.push(Math.floor(rng.random() * population));
  } else {
    for (let k = 0; k < 3; k++) indices.push(rng.choice(population));
  }
  for (let i = 3; i > 0; i--) {
    const j = rng.randint(0, i);
    const t = indices[i];
    indices[i] = indices[j];
    indices[j] = t;
  }
  const sources = indices.map((i) => loadImage(i));
  const mosaic = buildMosaic(s, xc, yc, sources, opts.fill ?? 114);
  const border: [number, number] = [b, b];
  const popts: PerspectiveOptions = { ...opts, border };
  const width = mosaic.img.width + 2 * b;
  const height = mosaic.img.height + 2 * b;
  const params = drawPerspectiveParams(rng, popts, width, height);
  const M = perspectiveMatrix(params, mosaic.img.width, mosaic.img.height);
  const res = applyPerspective(mosaic.img, mosaic.boxes, M, params, popts);
  return { img: res.img, boxes: res.boxes, indices, center: [xc, yc], params };
}
