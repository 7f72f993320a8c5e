// Shared shapes of the data pipeline. Images travel as packed uint8 HWC RGB buffers
// (what sharp decodes to); labels as rows [class, x, y, w, h] with normalised centre/size.

export type { RawImage } from '../portable/types.js';

/** Labels of one image: n rows of [class, x_center, y_center, width, height], normalised to 0..1. */
export interface Labels {
  /** n × 5, row-major */
  rows: Float32Array;
  n: number;
}

/** Boxes in pixels for augmentation: n rows of [class, x1, y1, x2, y2]. */
export interface PixelBoxes {
  rows: Float32Array;
  n: number;
}

/** yolov5's hyperparameters (hyp.scratch-*.yaml), by their yolov5 names. */
export interface Hyp {
  lr0: number;
  lrf: number;
  momentum: number;
  weight_decay: number;
  warmup_epochs: number;
  warmup_momentum: number;
  warmup_bias_lr: number;
  box: number;
  cls: number;
  cls_pw: number;
  obj: number;
  obj_pw: number;
  iou_t: number;
  anchor_t: number;
  fl_gamma: number;
  hsv_h: number;
  hsv_s: number;
  hsv_v: number;
  degrees: number;
  translate: number;
  scale: number;
  shear: number;
  perspective: number;
  flipud: number;
  fliplr: number;
  mosaic: number;
  mixup: number;
  copy_paste: number;
  anchors?: number;
  label_smoothing?: number;
}

/** A deterministic random source: every random choice flows from (seed, epoch, index). */
export interface Rng {
  /** uniform in [0, 1) */
  random(): number;
  /** uniform in [a, b) */
  uniform(a: number, b: number): number;
  /** integer in [a, b] inclusive */
  randint(a: number, b: number): number;
  /** one element */
  choice<T>(xs: readonly T[]): T;
}
