// The data shapes of the COCO bbox evaluation: the public input and result types, the fixed
// parameters of the protocol (area ranges, names of the 12 statistics), and the internal records the
// stages hand to each other (parameters with their dimensions, one evaluated image/category group).

export interface CocoImage {
  id: number;
  [k: string]: unknown;
}
export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** [x, y, w, h] */
  bbox: readonly number[];
  /** Used for the area ranges; defaults to w·h when absent. */
  area?: number;
  iscrowd?: number | boolean;
  [k: string]: unknown;
}
export interface CocoCategory {
  id: number;
  [k: string]: unknown;
}
export interface CocoGroundTruth {
  images: readonly CocoImage[];
  annotations: readonly CocoAnnotation[];
  categories: readonly CocoCategory[];
  [k: string]: unknown;
}
export interface CocoDetection {
  image_id: number;
  category_id: number;
  /** [x, y, w, h] */
  bbox: readonly number[];
  score: number;
  [k: string]: unknown;
}

export interface CocoEvalOptions {
  /** Evaluate only these images (pycocotools' params.imgIds); default every gt image. */
  imgIds?: readonly number[];
  /** Evaluate only these categories (params.catIds); default every gt category. */
  catIds?: readonly number[];
  /** params.maxDets, default [1, 10, 100] (sorted ascending as evaluate() does). */
  maxDets?: readonly number[];
}

export interface CocoEvalResult {
  /** AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl (−1 where nothing to average). */
  stats: number[];
  statsNames: string[];
  /** eval['precision'], T × R × K × A × M row-major, −1 where absent. */
  precision: Float64Array;
  precisionDims: [number, number, number, number, number];
  /** eval['recall'], T × K × A × M row-major. */
  recall: Float64Array;
  recallDims: [number, number, number, number];
  /** eval['scores'], the detection score at each precision entry (T × R × K × A × M). */
  scores: Float64Array;
  params: {
    imgIds: number[];
    catIds: number[];
    iouThrs: Float64Array;
    recThrs: Float64Array;
    maxDets: number[];
    areaRng: [number, number][];
    areaRngLbl: string[];
  };
  /** The 12 lines pycocotools' summarize() prints. */
  summary: string;
}

export const COCO_STATS_NAMES = [
  'AP@[.5:.95] all 100',
  'AP@.5 all 100',
  'AP@.75 all 100',
  'AP small',
  'AP medium',
  'AP large',
  'AR@1',
  'AR@10',
  'AR@100',
  'AR small',
  'AR medium',
  'AR large',
];

/** The area ranges all, small, medium, large (in pixels², inclusive at both ends). */
export const AREA_RNG: [number, number][] = [
  [0, 1e10],
  [0, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e10],
];
export const AREA_LBL = ['all', 'small', 'medium', 'large'];

/** The evaluation parameters after evaluate()'s normalisation, with the array dimensions they imply. */
export interface EvalParams {
  /** Sorted distinct image and category ids. */
  imgIds: number[];
  catIds: number[];
  /** Ascending. */
  maxDets: number[];
  /** linspace(0.5, 0.95, 10) and linspace(0, 1, 101). */
  iouThrs: Float64Array;
  recThrs: Float64Array;
  /** IoU thresholds, recall thresholds, categories, area ranges, maxDets, images. */
  T: number;
  R: number;
  K: number;
  A: number;
  M: number;
  I: number;
}

/** Position of (t, r, k, a, m) in the row-major T × R × K × A × M precision and scores arrays. */
export function precisionIndex(p: EvalParams, t: number, r: number, k: number, a: number, m: number): number {
  return (((t * p.R + r) * p.K + k) * p.A + a) * p.M + m;
}

/** Position of (t, k, a, m) in the row-major T × K × A × M recall array. */
export function recallIndex(p: EvalParams, t: number, k: number, a: number, m: number): number {
  return ((t * p.K + k) * p.A + a) * p.M + m;
}

/** Per (category, image) with any gt or detection: what accumulate needs from evaluateImg, for every area range. */
export interface EvalGroup {
  /** Detections kept (≤ the largest maxDet), in rank order. */
  D: number;
  scores: Float64Array;
  /**
   * A × D × T outcome of each detection: 0 ignored, 1 true positive, 2 false positive. A match counts
   * when the gt id is non-zero (pycocotools stores the gt id and tests it against 0).
   */
  flags: Uint8Array;
  /** Non-ignored gts per area range. */
  npig: Int32Array;
}

/** Outcome codes in EvalGroup.flags. */
export const IGNORED = 0;
export const TRUE_POSITIVE = 1;
export const FALSE_POSITIVE = 2;
