// yolov5 v7.0's non_max_suppression on a plain float32 array, with the float32 arithmetic of the
// libtorch path (src/boxes/nms.ts): the same candidates, confidences (obj·cls rounded to float32),
// xywh → xyxy corners, class offsets (max_wh = 7680) and torchvision's greedy NMS decisions (IoUs
// computed in float32 on the offset boxes, suppression when IoU > threshold). Only the order of boxes
// with exactly equal confidence may differ (a stable sort here; torch's sort order for ties is unspecified).

import { greedyNmsSorted } from './greedy-nms.js';
import type { DetectionRows, NmsOptions } from './types.js';

/** Class offset added to boxes for class-aware NMS (pixels; larger than any image side). */
export const MAX_WH = 7680;
/** At most this many boxes (the most confident) go into the NMS per image. */
export const MAX_NMS = 30000;

const f32 = Math.fround;

/**
 * Greedy NMS over xyxy boxes (n × 4, row-major) with scores (n): indices of the kept boxes in decreasing
 * score order (ties in index order). A box is suppressed when its IoU with an already kept box is
 * strictly greater than iouThres, IoU = inter / (area_i + area_j − inter) in float32 (torchvision's CPU
 * kernel). With groups, only boxes of the same group are compared.
 */
export function greedyNms(
  boxes: Float32Array,
  scores: Float32Array,
  iouThres: number,
  groups?: Int32Array,
): Int32Array {
  const n = scores.length;
  if (boxes.length !== 4 * n) throw new Error(`greedyNms: ${boxes.length / 4} boxes for ${n} scores`);
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const kept = new Uint8Array(n);
  for (const members of groupsInOrder(order, groups)) {
    const m = members.length;
    const coords = new Float32Array(4 * m);
    members.forEach((i, k) => {
      for (let c = 0; c < 4; c++) coords[c * m + k] = boxes[4 * i + c];
    });
    const local = Int32Array.from({ length: m }, (_, k) => k);
    const byX1 = Int32Array.from(local).sort((a, b) => coords[a] - coords[b] || a - b);
    for (const k of greedyNmsSorted(coords, local, byX1, m, iouThres, true)) kept[members[k]] = 1;
  }
  return Int32Array.from(Array.from(order).filter((i) => kept[i]));
}

/** The boxes of each group (all boxes without groups), each list in visiting order. */
function groupsInOrder(order: Int32Array, groups?: Int32Array): number[][] {
  const lists = new Map<number, number[]>();
  for (const i of order) {
    const g = groups ? groups[i] : 0;
    let l = lists.get(g);
    if (!l) lists.set(g, (l = []));
    l.push(i);
  }
  return [...lists.values()];
}

/**
 * yolov5's non_max_suppression on an output (bs × N × (5+nc), row-major) of rows
 * [cx, cy, w, h, obj, cls scores...]: per image n × 6 rows [x1, y1, x2, y2, conf, cls], by decreasing conf.
 */
export function nonMaxSuppressionRows(
  pred: Float32Array,
  dims: readonly number[],
  opts: NmsOptions = {},
): DetectionRows[] {
  const confThres = opts.confThres ?? 0.25;
  const iouThres = opts.iouThres ?? 0.45;
  const agnostic = opts.agnostic ?? false;
  const maxDet = opts.maxDet ?? 300;
  const classes = opts.classes ?? null;
  if (!(confThres >= 0 && confThres <= 1))
    throw new RangeError(`Invalid Confidence threshold ${confThres}, valid values are between 0.0 and 1.0`);
  if (!(iouThres >= 0 && iouThres <= 1))
    throw new RangeError(`Invalid IoU ${iouThres}, valid values are between 0.0 and 1.0`);
  if (dims.length !== 3)
    throw new Error(`nonMaxSuppression: prediction must be (bs, N, 5+nc), got [${dims.join(', ')}]`);
  const [bs, rows, no] = dims;
  if (pred.length !== bs * rows * no)
    throw new Error(`nonMaxSuppression: ${pred.length} values for [${dims.join(', ')}]`);
  const nc = no - 5;
  if (nc < 1) throw new Error(`nonMaxSuppression: ${no} columns per row; expected 5 + number of classes`);
  const filter: CandidateFilter = {
    confThres,
    multiLabel: (opts.multiLabel ?? false) && nc > 1,
    want: classes ? new Set(classes) : null,
  };
  const out: DetectionRows[] = [];
  for (let xi = 0; xi < bs; xi++) {
    const cand = candidateRows(pred.subarray(xi * rows * no, (xi + 1) * rows * no), rows, no, filter);
    out.push(cand.length ? suppress(cand, iouThres, agnostic, maxDet) : { rows: new Float32Array(0), n: 0 });
  }
  return out;
}

/** Which (row, class) pairs become NMS candidates. */
interface CandidateFilter {
  confThres: number;
  /** every class above the threshold (else only the best class of a row) */
  multiLabel: boolean;
  /** the classes to keep, or null for all */
  want: Set<number> | null;
}

/**
 * One image's candidates (`pred`: rows × no): rows with obj > confThres, corners from cx, cy, w, h and
 * confidences obj·cls in float32, then classes above confThres (all of them or the best one, per
 * `filter`). A flat list of [x1, y1, x2, y2, conf, cls], in row order.
 */
function candidateRows(pred: Float32Array, rows: number, no: number, filter: CandidateFilter): number[] {
  const { confThres, multiLabel, want } = filter;
  const nc = no - 5;
  const cand: number[] = [];
  for (let r = 0; r < rows; r++) {
    const o = r * no;
    const obj = pred[o + 4];
    if (!(obj > confThres)) continue;
    const hw = f32(pred[o + 2] / 2);
    const hh = f32(pred[o + 3] / 2);
    const x1 = f32(pred[o] - hw);
    const y1 = f32(pred[o + 1] - hh);
    const x2 = f32(pred[o] + hw);
    const y2 = f32(pred[o + 1] + hh);
    if (multiLabel) {
      for (let k = 0; k < nc; k++) {
        const c = f32(pred[o + 5 + k] * obj);
        if (c > confThres && (!want || want.has(k))) cand.push(x1, y1, x2, y2, c, k);
      }
    } else {
      let best = 0;
      let conf = f32(pred[o + 5] * obj);
      for (let k = 1; k < nc; k++) {
        const c = f32(pred[o + 5 + k] * obj);
        if (c > conf) [best, conf] = [k, c];
      }
      if (conf > confThres && (!want || want.has(best))) cand.push(x1, y1, x2, y2, conf, best);
    }
  }
  return cand;
}

/**
 * Greedy NMS over one image's candidates (flat [x1, y1, x2, y2, conf, cls] rows, at least one): the
 * MAX_NMS most confident, boxes offset by class × MAX_WH unless agnostic, at most maxDet kept rows.
 */
function suppress(cand: number[], iouThres: number, agnostic: boolean, maxDet: number): DetectionRows {
  const m = cand.length / 6;
  // by confidence, at most MAX_NMS
  const byConf = Int32Array.from({ length: m }, (_, i) => i).sort((a, b) => cand[6 * b + 4] - cand[6 * a + 4] || a - b);
  const k = Math.min(m, MAX_NMS);
  const boxes = new Float32Array(4 * k);
  const scores = new Float32Array(k);
  const groups = new Int32Array(k);
  let minX1 = Infinity;
  let maxX2 = -Infinity;
  for (let q = 0; q < k; q++) {
    const i = byConf[q];
    const off = agnostic ? 0 : cand[6 * i + 5] * MAX_WH;
    // the offset goes on all four coordinates, as yolov5's x[:, :4] + c
    for (let c = 0; c < 4; c++) boxes[4 * q + c] = f32(cand[6 * i + c] + off);
    scores[q] = cand[6 * i + 4];
    groups[q] = agnostic ? 0 : cand[6 * i + 5];
    minX1 = Math.min(minX1, cand[6 * i]);
    maxX2 = Math.max(maxX2, cand[6 * i + 2]);
  }
  // when every box lies within an x range of MAX_WH, offset boxes of different classes are at most
  // touching along x (fround is monotonic), so their IoU is 0: comparing within each class is exact
  const disjoint = !agnostic && maxX2 - minX1 <= MAX_WH;
  const keep = greedyNms(boxes, scores, iouThres, disjoint ? groups : undefined);
  const n = Math.min(keep.length, maxDet);
  const res = new Float32Array(6 * n);
  for (let j = 0; j < n; j++) {
    const i = byConf[keep[j]];
    for (let c = 0; c < 6; c++) res[6 * j + c] = cand[6 * i + c];
  }
  return { rows: res, n };
}
