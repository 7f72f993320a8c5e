// Stage 1 of the COCO evaluation: check the results against the ground truth (pycocotools' loadRes),
// settle the parameters (evaluate()'s sorted, distinct ids) and group ground truths and detections by
// (category, image) as _prepare does.
import { npLinspace } from '../numpy.js';
import { AREA_RNG, type CocoDetection, type CocoEvalOptions, type CocoGroundTruth, type EvalParams } from './types.js';

/** Refuses a results list that is not an array or that names images absent from the ground truth. */
export function checkResults(gt: CocoGroundTruth, results: readonly CocoDetection[]): void {
  if (!Array.isArray(results))
    throw new TypeError('cocoEval: results must be a list of {image_id, category_id, bbox, score}');
  const gtImgSet = new Set<number>(gt.images.map((im) => im.id));
  const unknown = new Set<number>();
  for (const r of results) if (!gtImgSet.has(r.image_id)) unknown.add(r.image_id);
  if (unknown.size) {
    const list = [...unknown].slice(0, 10).join(', ');
    throw new Error(
      `cocoEval: results do not correspond to the ground truth: ${unknown.size} image id(s) not in it (${list}${unknown.size > 10 ? ', ...' : ''})`,
    );
  }
}

function uniqSorted(a: Iterable<number>): number[] {
  return [...new Set(a)].sort((x, y) => x - y);
}

/** The parameters: image and category ids sorted and distinct (default: all of the gt), maxDets ascending. */
export function makeParams(gt: CocoGroundTruth, opts: CocoEvalOptions): EvalParams {
  const imgIds = uniqSorted(opts.imgIds ?? gt.images.map((im) => im.id));
  const catIds = uniqSorted(opts.catIds ?? gt.categories.map((c) => c.id));
  const maxDets = [...(opts.maxDets ?? [1, 10, 100])].sort((x, y) => x - y);
  const iouThrs = npLinspace(0.5, 0.95, 10);
  const recThrs = npLinspace(0, 1, 101);
  return {
    imgIds,
    catIds,
    maxDets,
    iouThrs,
    recThrs,
    T: iouThrs.length,
    R: recThrs.length,
    K: catIds.length,
    A: AREA_RNG.length,
    M: maxDets.length,
    I: imgIds.length,
  };
}

/** Indices into the annotation and result lists, per group key k · I + i, each in file order. */
export interface Groups {
  gt: Map<number, number[]>;
  dt: Map<number, number[]>;
}

/** Position of each id in a list. */
function positions(ids: readonly number[]): Map<number, number> {
  const pos = new Map<number, number>();
  ids.forEach((id, i) => pos.set(id, i));
  return pos;
}

/** Appends j to the list under key. */
function addTo(map: Map<number, number[]>, key: number, j: number): void {
  let g = map.get(key);
  if (!g) map.set(key, (g = []));
  g.push(j);
}

/**
 * _prepare: the ground truths and the detections (those with a 4-number bbox) of the evaluated
 * images and categories, grouped by (category k, image i) under the key k · I + i.
 */
export function groupByImageCategory(gt: CocoGroundTruth, results: readonly CocoDetection[], p: EvalParams): Groups {
  const imgPos = positions(p.imgIds);
  const catPos = positions(p.catIds);
  const groups: Groups = { gt: new Map(), dt: new Map() };
  const anns = gt.annotations;
  for (let j = 0; j < anns.length; j++) {
    const i = imgPos.get(anns[j].image_id);
    const k = catPos.get(anns[j].category_id);
    if (i === undefined || k === undefined) continue;
    addTo(groups.gt, k * p.I + i, j);
  }
  for (let j = 0; j < results.length; j++) {
    const r = results[j];
    if (!r.bbox || r.bbox.length < 4) continue;
    const i = imgPos.get(r.image_id);
    const k = catPos.get(r.category_id);
    if (i === undefined || k === undefined) continue;
    addTo(groups.dt, k * p.I + i, j);
  }
  return groups;
}
