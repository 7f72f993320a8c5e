// The mutation table of yolov5 v7.0's hyperparameter evolution: per hyp key its mutation gain
// (0 = never mutated) and the bounds every evolved value is clipped to.
import type { Hyp } from '../data/types.js';
import { RESULT_KEYS } from '../engine/results.js';

export interface MutationLimit {
  /** mutation scale (0: the key is never mutated) */
  gain: number;
  lower: number;
  upper: number;
}

type EvolvedKey = Exclude<keyof Hyp, 'label_smoothing'>;

const t = (gain: number, lower: number, upper: number): MutationLimit => ({ gain, lower, upper });

/** Keys in yolov5's meta order (this is also the column order of a new evolve.csv). */
export const MUTATION_META: Readonly<Record<EvolvedKey, MutationLimit>> = {
  lr0: t(1, 1e-5, 1e-1),
  lrf: t(1, 0.01, 1.0),
  momentum: t(0.3, 0.6, 0.98),
  weight_decay: t(1, 0, 0.001),
  warmup_epochs: t(1, 0, 5),
  warmup_momentum: t(1, 0, 0.95),
  warmup_bias_lr: t(1, 0, 0.2),
  box: t(1, 0.02, 0.2),
  cls: t(1, 0.2, 4.0),
  cls_pw: t(1, 0.5, 2.0),
  obj: t(1, 0.2, 4.0),
  obj_pw: t(1, 0.5, 2.0),
  iou_t: t(0, 0.1, 0.7),
  anchor_t: t(1, 2.0, 8.0),
  anchors: t(2, 2.0, 10.0),
  fl_gamma: t(0, 0, 2.0),
  hsv_h: t(1, 0, 0.1),
  hsv_s: t(1, 0, 0.9),
  hsv_v: t(1, 0, 0.9),
  degrees: t(1, 0, 45),
  translate: t(1, 0, 0.9),
  scale: t(1, 0, 0.9),
  shear: t(1, 0, 10),
  perspective: t(0, 0, 0.001),
  flipud: t(1, 0, 1),
  fliplr: t(0, 0, 1),
  mosaic: t(1, 0, 1),
  mixup: t(1, 0, 1),
  copy_paste: t(1, 0, 1),
};

export const MUTATION_KEYS = Object.keys(MUTATION_META) as readonly EvolvedKey[];

/** The limits of a key, or undefined for a key evolution does not know. */
export function mutationLimit(key: string): MutationLimit | undefined {
  return Object.hasOwn(MUTATION_META, key) ? MUTATION_META[key as EvolvedKey] : undefined;
}

/** The 7 result columns that open every evolve.csv row (yolov5's order). */
export const RESULT_COLUMNS: readonly string[] = RESULT_KEYS.slice(3, 10);
