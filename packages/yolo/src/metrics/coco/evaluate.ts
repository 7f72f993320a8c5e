// Stage 2 of the COCO evaluation, pycocotools' evaluateImg for every (category, image) group: rank
// and cut the detections, compute their IoUs with the ground truths, and greedily match them at each
// IoU threshold and area range, recording each detection as true positive, false positive or ignored.

import type { Groups } from './load.js';
import {
  AREA_RNG,
  type CocoAnnotation,
  type CocoDetection,
  type EvalGroup,
  type EvalParams,
  FALSE_POSITIVE,
  IGNORED,
  TRUE_POSITIVE,
} from './types.js';

/** Work buffers shared by all groups and regrown (contents discarded) when a group needs more room. */
class Scratch {
  /** IoU of detection d and gt g at [d * G + g]. */
  ious = new Float64Array(0);
  /** Per [d * T + t]: the detection's match is an ignored gt. */
  ignored = new Uint8Array(0);
  dArea = new Float64Array(0);
  gArea = new Float64Array(0);
  gId = new Float64Array(0);
  crowd = new Uint8Array(0);
  /** Per gt (by index): ignored in the current area range. */
  gIg = new Uint8Array(0);
  /** Per gt (by matching position): already matched at the current threshold. */
  gtm = new Uint8Array(0);
  /** Matching position → gt index: non-ignored gts first, each part in file order. */
  gOrder = new Int32Array(0);

  /** Makes room for G gts, D detections and T thresholds. */
  fit(G: number, D: number, T: number): void {
    if (this.ious.length < D * G) this.ious = new Float64Array(Math.max(D * G, 2 * this.ious.length));
    if (this.ignored.length < T * D) this.ignored = new Uint8Array(Math.max(T * D, 2 * this.ignored.length));
    if (this.dArea.length < D) this.dArea = new Float64Array(Math.max(D, 2 * this.dArea.length));
    if (this.crowd.length < G) {
      const n = Math.max(G, 2 * this.crowd.length);
      this.gArea = new Float64Array(n);
      this.gId = new Float64Array(n);
      this.crowd = new Uint8Array(n);
      this.gIg = new Uint8Array(n);
      this.gtm = new Uint8Array(n);
      this.gOrder = new Int32Array(n);
    }
  }
}

/** One group's inputs: its gts and its detections (ranked and cut), as indices into the source lists. */
interface GroupInput {
  anns: readonly CocoAnnotation[];
  gIdx: readonly number[];
  results: readonly CocoDetection[];
  dIdx: readonly number[];
}

/** Detection indices by descending score (stable), cut to the largest maxDet. */
function rankDetections(dIdx: number[], results: readonly CocoDetection[], maxDetLast: number): number[] {
  if (dIdx.length > 1) dIdx = dIdx.slice().sort((x, y) => results[y].score - results[x].score);
  if (dIdx.length > maxDetLast) dIdx = dIdx.slice(0, maxDetLast);
  return dIdx;
}

/** Fills the per-gt (crowd, area, id) and per-detection (area) buffers; returns the detection scores. */
function loadGroup(s: Scratch, g: GroupInput): Float64Array {
  for (let j = 0; j < g.gIdx.length; j++) {
    const an = g.anns[g.gIdx[j]];
    s.crowd[j] = an.iscrowd ? 1 : 0; // crowd gts are the ignored ones (pycocotools sets ignore = iscrowd)
    s.gArea[j] = typeof an.area === 'number' ? an.area : an.bbox[2] * an.bbox[3];
    s.gId[j] = an.id;
  }
  const dScores = new Float64Array(g.dIdx.length);
  for (let d = 0; d < g.dIdx.length; d++) {
    const r = g.results[g.dIdx[d]];
    dScores[d] = r.score;
    s.dArea[d] = r.bbox[2] * r.bbox[3];
  }
  return dScores;
}

/** computeIoU: bbox IoU in float64, intersection / area(detection) for crowd gts, into s.ious. */
function computeIou(s: Scratch, g: GroupInput): void {
  const G = g.gIdx.length;
  const D = g.dIdx.length;
  for (let j = 0; j < G; j++) {
    const gb = g.anns[g.gIdx[j]].bbox;
    const gx = gb[0],
      gy = gb[1],
      gw = gb[2],
      gh = gb[3];
    const ga = gw * gh;
    const cr = s.crowd[j];
    for (let d = 0; d < D; d++) {
      const db = g.results[g.dIdx[d]].bbox;
      const dx = db[0],
        dy = db[1],
        dw = db[2],
        dh = db[3];
      let v = 0;
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w > 0) {
        const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
        if (h > 0) {
          const da = dw * dh;
          const inter = w * h;
          v = inter / (cr ? da : da + ga - inter);
        }
      }
      s.ious[d * G + j] = v;
    }
  }
}

/** Flags the gts ignored in the area range [lo, hi] (crowd or outside), orders them last; returns the others' count. */
function orderGts(s: Scratch, G: number, lo: number, hi: number): number {
  let npig = 0;
  for (let g = 0; g < G; g++) {
    s.gIg[g] = s.crowd[g] || s.gArea[g] < lo || s.gArea[g] > hi ? 1 : 0;
    if (!s.gIg[g]) s.gOrder[npig++] = g;
  }
  for (let g = 0, p = npig; g < G; g++) if (s.gIg[g]) s.gOrder[p++] = g;
  return npig;
}

/**
 * The matching position of the gt that the detection with IoU row `row` takes at threshold thr, or −1:
 * the highest IoU >= thr (later gts win ties) among unmatched or crowd gts, never moving from a
 * non-ignored gt to an ignored one.
 */
function bestGt(s: Scratch, G: number, row: number, thr: number): number {
  let best = thr;
  let m = -1;
  for (let p = 0; p < G; p++) {
    const g = s.gOrder[p];
    if (s.gtm[p] && !s.crowd[g]) continue;
    if (m > -1 && !s.gIg[s.gOrder[m]] && s.gIg[g]) break;
    const v = s.ious[row + g];
    if (v < best) continue;
    best = v;
    m = p;
  }
  return m;
}

/** Greedy matching at every IoU threshold: marks true positives in flags[off + d·T + t] and matches to ignored gts. */
function matchDetections(
  s: Scratch,
  G: number,
  D: number,
  iouThrs: Float64Array,
  flags: Uint8Array,
  off: number,
): void {
  const T = iouThrs.length;
  for (let t = 0; t < T; t++) {
    s.gtm.fill(0, 0, G);
    const thr = Math.min(iouThrs[t], 1 - 1e-10);
    for (let d = 0; d < D; d++) {
      const m = bestGt(s, G, d * G, thr);
      if (m === -1) continue;
      const gm = s.gOrder[m];
      s.gtm[m] = 1;
      s.ignored[d * T + t] = s.gIg[gm];
      if (s.gId[gm] !== 0) flags[off + d * T + t] = TRUE_POSITIVE;
    }
  }
}

/** Ignores detections matched to an ignored gt, and unmatched ones whose area is outside [lo, hi]. */
function ignoreDetections(
  s: Scratch,
  D: number,
  T: number,
  lo: number,
  hi: number,
  flags: Uint8Array,
  off: number,
): void {
  for (let d = 0; d < D; d++) {
    const outside = s.dArea[d] < lo || s.dArea[d] > hi;
    for (let t = 0; t < T; t++) {
      const at = d * T + t;
      if (s.ignored[at] || (outside && flags[off + at] === FALSE_POSITIVE)) flags[off + at] = IGNORED;
    }
  }
}

/** evaluateImg for one group, every area range at once. */
function evaluateGroup(s: Scratch, g: GroupInput, iouThrs: Float64Array): EvalGroup {
  const G = g.gIdx.length;
  const D = g.dIdx.length;
  const T = iouThrs.length;
  const A = AREA_RNG.length;
  s.fit(G, D, T);
  const dScores = loadGroup(s, g);
  computeIou(s, g);
  const flags = new Uint8Array(A * D * T);
  const npigs = new Int32Array(A);
  for (let a = 0; a < A; a++) {
    const [lo, hi] = AREA_RNG[a];
    npigs[a] = orderGts(s, G, lo, hi);
    const off = a * D * T; // flags[off + d * T + t]
    flags.fill(FALSE_POSITIVE, off, off + D * T); // unmatched: false positive unless ignored below
    s.ignored.fill(0, 0, D * T);
    if (G > 0 && D > 0) matchDetections(s, G, D, iouThrs, flags, off);
    ignoreDetections(s, D, T, lo, hi, flags, off);
  }
  return { D, scores: dScores, flags, npig: npigs };
}

/** evaluate(): one record per group key k · I + i that has gts or detections; undefined elsewhere. */
export function evaluateGroups(
  anns: readonly CocoAnnotation[],
  results: readonly CocoDetection[],
  groups: Groups,
  p: EvalParams,
): (EvalGroup | undefined)[] {
  const out: (EvalGroup | undefined)[] = new Array(p.K * p.I);
  const keys = new Set<number>([...groups.gt.keys(), ...groups.dt.keys()]);
  const maxDetLast = p.M ? p.maxDets[p.M - 1] : 0;
  const s = new Scratch();
  for (const key of keys) {
    const gIdx = groups.gt.get(key) ?? [];
    const dIdx = rankDetections(groups.dt.get(key) ?? [], results, maxDetLast);
    out[key] = evaluateGroup(s, { anns, gIdx, results, dIdx }, p.iouThrs);
  }
  return out;
}
