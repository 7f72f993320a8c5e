// One training/validation sample as yolov5's dataset builds it: mosaic (+ mixup) or a
// letterboxed single image, random perspective, HSV and flips, all drawn from
// sampleRng(seed, epoch, index). Runs inside loader workers: no libtorch here.
import { letterbox, resizeImage } from '../portable/resize.js';
import { randomFlip } from './augment/flip.js';
import { decodeRgb } from './decode.js';
import { augmentHsv } from './augment/hsv.js';
import { xywhn2xyxyRows, xyxy2xywhnRows } from './augment/labels.js';
import { mixup } from './augment/mixup.js';
import { loadMosaic, type MosaicSource } from './augment/mosaic.js';
import { type PerspectiveOptions, randomPerspective } from './augment/perspective.js';
import { sampleRng } from './rng.js';
import type { Hyp, Labels, RawImage, Rng } from './types.js';

/** Everything a worker needs to build samples (structured-cloneable). */
export interface DatasetSpec {
  files: string[];
  /** per image: n×5 rows [cls, x, y, w, h] normalised */
  labels: Float32Array[];
  /** per image: original [h, w] (after EXIF orientation) */
  shapes: [number, number][];
  imgsz: number;
  augment: boolean;
  hyp: Hyp;
  seed: number;
  stride: number;
  /** rectangular batches: per-batch [h, w] letterbox shapes, and each image's batch */
  rectShapes?: [number, number][];
  batchOf?: number[];
  /** keep decoded, resized images in memory ('ram') */
  cache?: 'ram' | null;
}

export interface Sample {
  /** CHW uint8 RGB */
  chw: Uint8Array;
  height: number;
  width: number;
  /** n×5 [cls, x, y, w, h] normalised to this image */
  labels: Float32Array;
  path: string;
  /** original [h0, w0] and [[ratio_h, ratio_w], [pad_w, pad_h]] for mapping boxes back (validation) */
  shapes: [[number, number], [[number, number], [number, number]]];
}

interface Loaded {
  img: RawImage;
  /** original [h0, w0] */
  hw0: [number, number];
}

const ram = new Map<number, Loaded>();

/** Reads an image as RGB (EXIF orientation applied) and resizes its long side to imgsz, as yolov5's load_image. */
export async function loadImage(spec: DatasetSpec, i: number): Promise<Loaded> {
  const hit = ram.get(i);
  if (hit) return hit;
  const path = spec.files[i];
  let decoded: RawImage;
  try {
    decoded = await decodeRgb(path);
  } catch (e) {
    throw new Error(`${path}: cannot decode image: ${(e as Error).message}`);
  }
  let img = decoded;
  const { width: w0, height: h0 } = img;
  const r = spec.imgsz / Math.max(h0, w0);
  if (r !== 1) {
    const interp = spec.augment || r > 1 ? 'linear' : 'area';
    img = resizeImage(img, Math.ceil(w0 * r), Math.ceil(h0 * r), interp);
  }
  const out = { img, hw0: [h0, w0] as [number, number] };
  if (spec.cache === 'ram') ram.set(i, out);
  return out;
}

class NeedImages extends Error {
  constructor(readonly indices: number[]) {
    super('images not loaded');
  }
}

function labelsOf(spec: DatasetSpec, i: number): Labels {
  const rows = spec.labels[i];
  return { rows, n: rows.length / 5 };
}

/** An augmented (or letterboxed) image with its labels, before the colour and flip steps. */
interface Placed {
  img: RawImage;
  labels: Labels;
  shapes: Sample['shapes'];
}

/** The geometric augmentation settings of the hyperparameters. */
function perspectiveOf(hyp: Hyp): Omit<PerspectiveOptions, 'border'> {
  return {
    degrees: hyp.degrees,
    translate: hyp.translate,
    scale: hyp.scale,
    shear: hyp.shear,
    perspective: hyp.perspective,
  };
}

/** Image `i` from the loaded ones; a missing one aborts the attempt so buildSample can fetch it. */
function loadedImage(loaded: Map<number, Loaded>, i: number): Loaded {
  const l = loaded.get(i);
  if (!l) throw new NeedImages([i]);
  return l;
}

/**
 * A 4-image mosaic, blended with a second mosaic with probability hyp.mixup. Images not loaded yet are
 * noted and replaced by a 1×1 placeholder, so one pass (whose draws do not depend on pixels) finds all
 * of them; the attempt then stops with NeedImages.
 */
function mosaicSample(
  spec: DatasetSpec,
  index: number,
  loaded: Map<number, Loaded>,
  persp: Omit<PerspectiveOptions, 'border'>,
  rng: Rng,
): Placed {
  const n = spec.files.length;
  const missing = new Set<number>();
  const placeholder: MosaicSource = {
    img: { data: new Uint8Array(3), width: 1, height: 1 },
    labels: { rows: new Float32Array(0), n: 0 },
  };
  const mosaicSource = (i: number): MosaicSource => {
    const l = loaded.get(i);
    if (!l) {
      missing.add(i);
      return placeholder;
    }
    return { img: l.img, labels: labelsOf(spec, i) };
  };
  const m = loadMosaic(index, n, mosaicSource, { size: spec.imgsz, ...persp }, rng);
  let img = m.img;
  let boxes = m.boxes;
  if (rng.random() < spec.hyp.mixup) {
    const m2 = loadMosaic(rng.randint(0, n - 1), n, mosaicSource, { size: spec.imgsz, ...persp }, rng);
    const mixed = mixup(img, boxes, m2.img, m2.boxes, rng);
    img = mixed.img;
    boxes = mixed.labels;
  }
  if (missing.size) throw new NeedImages([...missing]);
  const labels = xyxy2xywhnRows(boxes, img.width, img.height, true, 1e-3);
  const l0 = loadedImage(loaded, index);
  const noScale: [[number, number], [number, number]] = [
    [1, 1],
    [0, 0],
  ];
  return { img, labels, shapes: [l0.hw0, noScale] };
}

/**
 * One image letterboxed to its batch's rectangle (or imgsz square), then randomly warped when
 * augmenting; shapes records the scale and padding for mapping boxes back.
 */
function letterboxSample(
  spec: DatasetSpec,
  index: number,
  loaded: Map<number, Loaded>,
  persp: Omit<PerspectiveOptions, 'border'>,
  rng: Rng,
): Placed {
  const l = loadedImage(loaded, index);
  const [h, w] = [l.img.height, l.img.width];
  const shape: [number, number] =
    spec.rectShapes && spec.batchOf ? spec.rectShapes[spec.batchOf[index]] : [spec.imgsz, spec.imgsz];
  const lb = letterbox(l.img, shape, { auto: false, scaleup: spec.augment });
  let img = lb.img;
  let boxes = xywhn2xyxyRows(labelsOf(spec, index), lb.ratio[0] * w, lb.ratio[1] * h, lb.pad[0], lb.pad[1]);
  if (spec.augment) {
    const p = randomPerspective(img, boxes, persp, rng);
    img = p.img;
    boxes = p.boxes;
  }
  const labels = xyxy2xywhnRows(boxes, img.width, img.height, true, 1e-3);
  return { img, labels, shapes: [l.hw0, [[h / l.hw0[0], w / l.hw0[1]], lb.pad]] };
}

/** The synchronous part, given already-loaded images; throws NeedImages for missing ones. */
function assemble(spec: DatasetSpec, index: number, epoch: number, loaded: Map<number, Loaded>): Sample {
  const rng = sampleRng(spec.seed, epoch, index);
  const hyp = spec.hyp;
  const persp = perspectiveOf(hyp);
  // the mosaic draw happens only when augmenting; every later draw follows from the same stream
  const placed =
    spec.augment && rng.random() < hyp.mosaic
      ? mosaicSample(spec, index, loaded, persp, rng)
      : letterboxSample(spec, index, loaded, persp, rng);
  let { img, labels } = placed;
  if (spec.augment) {
    augmentHsv(img, hyp.hsv_h, hyp.hsv_s, hyp.hsv_v, rng);
    const f = randomFlip(img, labels, hyp.flipud, hyp.fliplr, rng);
    img = f.img;
    labels = f.labels;
  }
  return {
    chw: hwcToChw(img),
    height: img.height,
    width: img.width,
    labels: labels.rows.slice(0, labels.n * 5),
    path: spec.files[index],
    shapes: placed.shapes,
  };
}

function hwcToChw(img: RawImage): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  const src = img.data;
  for (let p = 0, q = 0; p < n; p++, q += 3) {
    out[p] = src[q];
    out[n + p] = src[q + 1];
    out[2 * n + p] = src[q + 2];
  }
  return out;
}

/**
 * Builds sample `index` of `epoch`. The random draws are replayed from the same seed after
 * any missing image is decoded, so the result depends only on (seed, epoch, index).
 */
export async function buildSample(spec: DatasetSpec, index: number, epoch: number): Promise<Sample> {
  const loaded = new Map<number, Loaded>();
  loaded.set(index, await loadImage(spec, index));
  for (let attempt = 0; attempt < 16; attempt++) {
    try {
      return assemble(spec, index, epoch, loaded);
    } catch (e) {
      if (!(e instanceof NeedImages)) throw e;
      const missing = e.indices.filter((i) => !loaded.has(i));
      await Promise.all(missing.map(async (i) => loaded.set(i, await loadImage(spec, i))));
    }
  }
  throw new Error(`sample ${index}: too many image fetch rounds`);
}
