// COCO bbox evaluation with the protocol of pycocotools' COCOeval (evaluate → accumulate → summarize),
// written from its documented semantics on plain typed arrays. The stages live in metrics/coco/:
// load.ts (loadRes check, parameters, grouping), evaluate.ts (per image/category matching),
// accumulate.ts (precision/recall arrays), summarize.ts (the 12 statistics and their text).
//
// Protocol: image ids = sorted distinct gt image ids, category ids = sorted gt category ids; results
// must only name gt images; a result's area is w·h and its id its 1-based position; a gt is ignored
// when iscrowd (pycocotools replaces any 'ignore' field by iscrowd) or when its 'area' is outside the
// area range. Per image and category, detections are ranked by score (stable) and cut to the largest
// maxDets; gts are ordered non-ignored first (stable). IoU is bbox IoU in float64, with
// intersection/area(det) for crowd gts. Greedy matching per IoU threshold t: each detection in rank
// order takes the gt with the highest IoU >= min(t, 1 − 1e-10) (later gts win ties) that is unmatched
// or crowd, never an ignored gt once it holds a non-ignored one. A detection matched to an ignored gt,
// or unmatched and outside the area range, is ignored. accumulate ranks all kept detections of a
// category over the images (stable by −score, each image cut to maxDet), cumulates TP/FP, recall =
// tp/npig, precision = tp/(tp + fp + 2^-52) made non-increasing from the end, sampled at
// searchsorted(recall, recThrs, 'left'); −1 marks absent entries. summarize means the entries > −1.
import { readFileSync } from 'node:fs';
import { accumulate } from './coco/accumulate.js';
import { evaluateGroups } from './coco/evaluate.js';
import { checkResults, groupByImageCategory, makeParams } from './coco/load.js';
import { summarize } from './coco/summarize.js';
import {
  AREA_LBL,
  AREA_RNG,
  COCO_STATS_NAMES,
  type CocoDetection,
  type CocoEvalOptions,
  type CocoEvalResult,
  type CocoGroundTruth,
} from './coco/types.js';

export { cocoPerCategoryAp } from './coco/summarize.js';
export {
  COCO_STATS_NAMES,
  type CocoAnnotation,
  type CocoCategory,
  type CocoDetection,
  type CocoEvalOptions,
  type CocoEvalResult,
  type CocoGroundTruth,
  type CocoImage,
} from './coco/types.js';

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** pycocotools' COCOeval(gt, gt.loadRes(results), 'bbox') with evaluate(), accumulate(), summarize(), from two JSON files. */
export function cocoEval(gtJsonPath: string, resultsJsonPath: string, opts: CocoEvalOptions = {}): CocoEvalResult {
  return cocoEvalData(readJson(gtJsonPath) as CocoGroundTruth, readJson(resultsJsonPath) as CocoDetection[], opts);
}

/** The same on parsed objects: a COCO ground-truth dataset and a results list. */
export function cocoEvalData(
  gt: CocoGroundTruth,
  results: readonly CocoDetection[],
  opts: CocoEvalOptions = {},
): CocoEvalResult {
  checkResults(gt, results);
  const p = makeParams(gt, opts);
  const groups = evaluateGroups(gt.annotations, results, groupByImageCategory(gt, results, p), p);
  const acc = accumulate(groups, p);
  const { stats, summary } = summarize(acc, p);
  return {
    stats,
    statsNames: [...COCO_STATS_NAMES],
    precision: acc.precision,
    precisionDims: [p.T, p.R, p.K, p.A, p.M],
    recall: acc.recall,
    recallDims: [p.T, p.K, p.A, p.M],
    scores: acc.scores,
    params: {
      imgIds: p.imgIds,
      catIds: p.catIds,
      iouThrs: p.iouThrs,
      recThrs: p.recThrs,
      maxDets: p.maxDets,
      areaRng: AREA_RNG.map((r) => [r[0], r[1]]),
      areaRngLbl: [...AREA_LBL],
    },
    summary,
  };
}
