// Stage 3 of the COCO evaluation, pycocotools' accumulate(): per category, area range, maxDets and IoU
// threshold, rank the detections of all images together, cumulate true and false positives into
// recall and precision, and sample the precision envelope at the 101 recall thresholds.
import {
  type EvalGroup,
  type EvalParams,
  FALSE_POSITIVE,
  precisionIndex,
  recallIndex,
  TRUE_POSITIVE,
} from './types.js';

/** np.spacing(1): the epsilon in precision's denominator. */
const EPS = 2 ** -52;

/** eval['precision'], eval['recall'] and eval['scores'], −1 where absent. */
export interface Accumulated {
  precision: Float64Array;
  recall: Float64Array;
  scores: Float64Array;
}

/** The detections of one category over all its images, ranked together. */
interface CategoryDetections {
  /** The category's groups in image order. */
  groups: EvalGroup[];
  /** Concatenated over the groups: score, and rank within its own image. */
  sc: Float64Array;
  pos: Int32Array;
  /** Indices into sc by descending score (stable); a smaller maxDet keeps a subsequence of this order. */
  orderAll: number[];
}

/** Gathers category k's groups and ranks their detections; null when it has none. */
function categoryDetections(
  groups: readonly (EvalGroup | undefined)[],
  k: number,
  I: number,
): CategoryDetections | null {
  const E: EvalGroup[] = [];
  for (let i = 0; i < I; i++) {
    const e = groups[k * I + i];
    if (e) E.push(e);
  }
  if (!E.length) return null;
  let N = 0;
  for (const e of E) N += e.D;
  const sc = new Float64Array(N);
  const pos = new Int32Array(N);
  let o = 0;
  for (const e of E)
    for (let d = 0; d < e.D; d++, o++) {
      sc[o] = e.scores[d];
      pos[o] = d;
    }
  const orderAll = Array.from({ length: N }, (_, j) => j).sort((x, y) => sc[y] - sc[x]);
  return { groups: E, sc, pos, orderAll };
}

/** Work buffers for one category: the maxDet-cut order, recall and precision per step, outcomes. */
interface CurveBuffers {
  order: Int32Array;
  rc: Float64Array;
  pr: Float64Array;
  /** Outcome of concatenated detection o at threshold t: [o * T + t]. */
  flag: Uint8Array;
  /** Sampled precision and score per recall threshold. */
  q: Float64Array;
  ss: Float64Array;
}

/** Copies the outcomes for area range a of every group into flag; returns the non-ignored gt count. */
function loadAreaRange(cat: CategoryDetections, a: number, T: number, flag: Uint8Array): number {
  let npig = 0;
  for (const e of cat.groups) npig += e.npig[a];
  if (npig === 0) return 0;
  let o = 0;
  for (const e of cat.groups) {
    const n = e.D * T;
    flag.set(e.flags.subarray(a * n, (a + 1) * n), o);
    o += n;
  }
  return npig;
}

/**
 * The curves at threshold t over the first nd ranked detections: every detection is a step (ignored
 * ones repeat the previous values); recall = tp/npig, precision = tp/(tp + fp + eps) made
 * non-increasing from the end, then sampled at searchsorted(recall, recThrs, 'left') into q and ss.
 * Returns the final recall (0 without detections).
 */
function sampleCurve(
  cat: CategoryDetections,
  b: CurveBuffers,
  nd: number,
  t: number,
  npig: number,
  p: EvalParams,
): number {
  const { order, rc, pr, flag, q, ss } = b;
  let tp = 0;
  let fp = 0;
  for (let j = 0; j < nd; j++) {
    const f = flag[order[j] * p.T + t];
    if (f === TRUE_POSITIVE) tp++;
    else if (f === FALSE_POSITIVE) fp++;
    rc[j] = tp / npig;
    pr[j] = tp / (fp + tp + EPS);
  }
  const finalRecall = nd ? rc[nd - 1] : 0;
  for (let j = nd - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
  q.fill(0);
  ss.fill(0);
  // first index with rc >= thr (rc is non-decreasing)
  let pi = 0;
  for (let ri = 0; ri < p.R; ri++) {
    while (pi < nd && rc[pi] < p.recThrs[ri]) pi++;
    if (pi >= nd) break;
    q[ri] = pr[pi];
    ss[ri] = cat.sc[order[pi]];
  }
  return finalRecall;
}

/** Fills the entries of category k, area range a, for every maxDet and IoU threshold. */
function accumulateAreaRange(
  cat: CategoryDetections,
  b: CurveBuffers,
  k: number,
  a: number,
  npig: number,
  p: EvalParams,
  out: Accumulated,
): void {
  const N = cat.sc.length;
  for (let m = 0; m < p.M; m++) {
    const maxDet = p.maxDets[m];
    let nd = 0;
    for (let j = 0; j < N; j++) if (cat.pos[cat.orderAll[j]] < maxDet) b.order[nd++] = cat.orderAll[j];
    for (let t = 0; t < p.T; t++) {
      out.recall[recallIndex(p, t, k, a, m)] = sampleCurve(cat, b, nd, t, npig, p);
      for (let ri = 0; ri < p.R; ri++) {
        out.precision[precisionIndex(p, t, ri, k, a, m)] = b.q[ri];
        out.scores[precisionIndex(p, t, ri, k, a, m)] = b.ss[ri];
      }
    }
  }
}

/** accumulate(): precision T × R × K × A × M, recall T × K × A × M and scores, from the evaluated groups. */
export function accumulate(groups: readonly (EvalGroup | undefined)[], p: EvalParams): Accumulated {
  const { T, R, K, A, M } = p;
  const out: Accumulated = {
    precision: new Float64Array(T * R * K * A * M).fill(-1),
    recall: new Float64Array(T * K * A * M).fill(-1),
    scores: new Float64Array(T * R * K * A * M).fill(-1),
  };
  const q = new Float64Array(R);
  const ss = new Float64Array(R);
  for (let k = 0; k < K; k++) {
    const cat = categoryDetections(groups, k, p.I);
    if (!cat) continue;
    const N = cat.sc.length;
    const b: CurveBuffers = {
      order: new Int32Array(N),
      rc: new Float64Array(N),
      pr: new Float64Array(N),
      flag: new Uint8Array(N * T),
      q,
      ss,
    };
    for (let a = 0; a < A; a++) {
      const npig = loadAreaRange(cat, a, T, b.flag);
      if (npig === 0) continue;
      accumulateAreaRange(cat, b, k, a, npig, p, out);
    }
  }
  return out;
}
