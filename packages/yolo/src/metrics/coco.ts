// COCO bbox evaluation with the protocol of pycocotools' COCOeval (evaluate → accumulate → summarize),
// written from its documented semantics on plain typed arrays.
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
import { npLinspace, npMean } from './ap.js';

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

const AREA_RNG: [number, number][] = [
  [0, 1e10],
  [0, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e10],
];
const AREA_LBL = ['all', 'small', 'medium', 'large'];
const EPS = 2 ** -52; // np.spacing(1)

/** Per (category, image) with any gt or detection: what accumulate needs from evaluateImg, for every area range. */
interface EvalGroup {
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

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** pycocotools' COCOeval(gt, gt.loadRes(results), 'bbox') with evaluate(), accumulate(), summarize(), from two JSON files. */
export function cocoEval(gtJsonPath: string, resultsJsonPath: string, opts: CocoEvalOptions = {}): CocoEvalResult {
  return cocoEvalData(readJson(gtJsonPath) as CocoGroundTruth, readJson(resultsJsonPath) as CocoDetection[], opts);
}

/** The same on parsed objects: a COCO ground-truth dataset and a results list. */
export function cocoEvalData(gt: CocoGroundTruth, results: readonly CocoDetection[], opts: CocoEvalOptions = {}): CocoEvalResult {
  if (!Array.isArray(results)) throw new TypeError('cocoEval: results must be a list of {image_id, category_id, bbox, score}');
  const gtImgSet = new Set<number>(gt.images.map((im) => im.id));
  // loadRes: results may only refer to ground-truth images
  const unknown = new Set<number>();
  for (const r of results) if (!gtImgSet.has(r.image_id)) unknown.add(r.image_id);
  if (unknown.size) {
    const list = [...unknown].slice(0, 10).join(', ');
    throw new Error(`cocoEval: results do not correspond to the ground truth: ${unknown.size} image id(s) not in it (${list}${unknown.size > 10 ? ', ...' : ''})`);
  }

  // params (evaluate() makes imgIds/catIds sorted and unique, maxDets sorted)
  const uniqSorted = (a: Iterable<number>): number[] => [...new Set(a)].sort((x, y) => x - y);
  const imgIds = uniqSorted(opts.imgIds ?? gtImgSet);
  const catIds = uniqSorted(opts.catIds ?? gt.categories.map((c) => c.id));
  const maxDets = [...(opts.maxDets ?? [1, 10, 100])].sort((x, y) => x - y);
  const iouThrs = npLinspace(0.5, 0.95, 10);
  const recThrs = npLinspace(0, 1, 101);
  const T = iouThrs.length;
  const R = recThrs.length;
  const K = catIds.length;
  const A = AREA_RNG.length;
  const M = maxDets.length;
  const I = imgIds.length;
  const maxDetLast = M ? maxDets[M - 1] : 0;

  const imgPos = new Map<number, number>();
  imgIds.forEach((id, i) => imgPos.set(id, i));
  const catPos = new Map<number, number>();
  catIds.forEach((id, k) => catPos.set(id, k));

  // _prepare: group gts and dts per (category, image), keeping file order within a group
  const gtGroups = new Map<number, number[]>();
  const dtGroups = new Map<number, number[]>();
  const anns = gt.annotations;
  for (let j = 0; j < anns.length; j++) {
    const i = imgPos.get(anns[j].image_id);
    const k = catPos.get(anns[j].category_id);
    if (i === undefined || k === undefined) continue;
    const key = k * I + i;
    let g = gtGroups.get(key);
    if (!g) gtGroups.set(key, (g = []));
    g.push(j);
  }
  for (let j = 0; j < results.length; j++) {
    const r = results[j];
    if (!r.bbox || r.bbox.length < 4) continue;
    const i = imgPos.get(r.image_id);
    const k = catPos.get(r.category_id);
    if (i === undefined || k === undefined) continue;
    const key = k * I + i;
    let g = dtGroups.get(key);
    if (!g) dtGroups.set(key, (g = []));
    g.push(j);
  }

  const gtArea = (a: CocoAnnotation): number => (typeof a.area === 'number' ? a.area : a.bbox[2] * a.bbox[3]);
  const gtCrowd = (a: CocoAnnotation): boolean => Boolean(a.iscrowd);

  // evaluate: one record per (category, image) that has gts or detections, all area ranges at once
  const groups: (EvalGroup | undefined)[] = new Array(K * I);
  const keys = new Set<number>([...gtGroups.keys(), ...dtGroups.keys()]);
  // scratch buffers, grown as needed
  let ious = new Float64Array(0);
  let ignored = new Uint8Array(0);
  let dArea = new Float64Array(0);
  let gArea = new Float64Array(0);
  let gId = new Float64Array(0);
  let crowd = new Uint8Array(0);
  let gIg = new Uint8Array(0);
  let gtm = new Uint8Array(0);
  let gOrder = new Int32Array(0);
  for (const key of keys) {
    const gIdx = gtGroups.get(key) ?? [];
    let dIdx = dtGroups.get(key) ?? [];
    // detections by score, descending, stable; cut to the largest maxDet
    if (dIdx.length > 1) dIdx = dIdx.slice().sort((x, y) => results[y].score - results[x].score);
    if (dIdx.length > maxDetLast) dIdx = dIdx.slice(0, maxDetLast);
    const G = gIdx.length;
    const D = dIdx.length;
    if (ious.length < D * G) ious = new Float64Array(Math.max(D * G, 2 * ious.length));
    if (ignored.length < T * D) ignored = new Uint8Array(Math.max(T * D, 2 * ignored.length));
    if (dArea.length < D) dArea = new Float64Array(Math.max(D, 2 * dArea.length));
    if (crowd.length < G) {
      const n = Math.max(G, 2 * crowd.length);
      gArea = new Float64Array(n);
      gId = new Float64Array(n);
      crowd = new Uint8Array(n);
      gIg = new Uint8Array(n);
      gtm = new Uint8Array(n);
      gOrder = new Int32Array(n);
    }
    for (let g = 0; g < G; g++) {
      const an = anns[gIdx[g]];
      crowd[g] = gtCrowd(an) ? 1 : 0;
      gArea[g] = gtArea(an);
      gId[g] = an.id;
    }
    // computeIoU: ious[d * G + g]
    for (let g = 0; g < G; g++) {
      const gb = anns[gIdx[g]].bbox;
      const gx = gb[0], gy = gb[1], gw = gb[2], gh = gb[3];
      const ga = gw * gh;
      const cr = crowd[g];
      for (let d = 0; d < D; d++) {
        const db = results[dIdx[d]].bbox;
        const dx = db[0], dy = db[1], dw = db[2], dh = db[3];
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
        ious[d * G + g] = v;
      }
    }
    const dScores = new Float64Array(D);
    for (let d = 0; d < D; d++) {
      const r = results[dIdx[d]];
      dScores[d] = r.score;
      dArea[d] = r.bbox[2] * r.bbox[3];
    }

    const flags = new Uint8Array(A * D * T);
    const npigs = new Int32Array(A);
    for (let a = 0; a < A; a++) {
      const [lo, hi] = AREA_RNG[a];
      // gt ignore flags; order: non-ignored first (stable)
      let npig = 0;
      for (let g = 0; g < G; g++) {
        gIg[g] = crowd[g] || gArea[g] < lo || gArea[g] > hi ? 1 : 0;
        if (!gIg[g]) gOrder[npig++] = g;
      }
      for (let g = 0, p = npig; g < G; g++) if (gIg[g]) gOrder[p++] = g;
      npigs[a] = npig;
      const off = a * D * T; // flags[off + d * T + t]
      flags.fill(2, off, off + D * T); // unmatched: false positive unless ignored below
      ignored.fill(0, 0, D * T);
      if (G > 0 && D > 0) {
        for (let t = 0; t < T; t++) {
          gtm.fill(0, 0, G);
          const thr = Math.min(iouThrs[t], 1 - 1e-10);
          for (let d = 0; d < D; d++) {
            let best = thr;
            let m = -1;
            const row = d * G;
            for (let p = 0; p < G; p++) {
              const g = gOrder[p];
              if (gtm[p] && !crowd[g]) continue;
              if (m > -1 && !gIg[gOrder[m]] && gIg[g]) break;
              const v = ious[row + g];
              if (v < best) continue;
              best = v;
              m = p;
            }
            if (m === -1) continue;
            const gm = gOrder[m];
            gtm[m] = 1;
            ignored[d * T + t] = gIg[gm];
            if (gId[gm] !== 0) flags[off + d * T + t] = 1;
          }
        }
      }
      // matched to an ignored gt, or unmatched and outside the area range: ignored
      for (let d = 0; d < D; d++) {
        const outside = dArea[d] < lo || dArea[d] > hi;
        for (let t = 0; t < T; t++) {
          const at = d * T + t;
          if (ignored[at] || (outside && flags[off + at] === 2)) flags[off + at] = 0;
        }
      }
    }
    groups[key] = { D, scores: dScores, flags, npig: npigs };
  }

  // accumulate
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const scores = new Float64Array(T * R * K * A * M).fill(-1);
  const pIdx = (t: number, r: number, k: number, a: number, m: number): number => (((t * R + r) * K + k) * A + a) * M + m;
  const rIdx = (t: number, k: number, a: number, m: number): number => ((t * K + k) * A + a) * M + m;
  const q = new Float64Array(R);
  const ss = new Float64Array(R);
  for (let k = 0; k < K; k++) {
    const E: EvalGroup[] = [];
    for (let i = 0; i < I; i++) {
      const e = groups[k * I + i];
      if (e) E.push(e);
    }
    if (!E.length) continue;
    // concatenate the images' detections (each already cut to the largest maxDet)
    let N = 0;
    for (const e of E) N += e.D;
    const sc = new Float64Array(N);
    const pos = new Int32Array(N); // rank within its image
    {
      let o = 0;
      for (const e of E) for (let d = 0; d < e.D; d++, o++) {
        sc[o] = e.scores[d];
        pos[o] = d;
      }
    }
    // stable sort by descending score; a smaller maxDet keeps a subsequence of the same order
    const orderAll = Array.from({ length: N }, (_, j) => j).sort((x, y) => sc[y] - sc[x]);
    const order = new Int32Array(N);
    const rc = new Float64Array(N);
    const pr = new Float64Array(N);
    const flag = new Uint8Array(N * T); // [o * T + t]
    for (let a = 0; a < A; a++) {
      let npig = 0;
      for (const e of E) npig += e.npig[a];
      if (npig === 0) continue;
      let o = 0;
      for (const e of E) {
        const n = e.D * T;
        flag.set(e.flags.subarray(a * n, (a + 1) * n), o);
        o += n;
      }
      for (let m = 0; m < M; m++) {
        const maxDet = maxDets[m];
        let nd = 0;
        for (let j = 0; j < N; j++) if (pos[orderAll[j]] < maxDet) order[nd++] = orderAll[j];
        for (let t = 0; t < T; t++) {
          let tp = 0;
          let fp = 0;
          // every detection is a step of the curves (ignored ones repeat the previous values)
          for (let j = 0; j < nd; j++) {
            const f = flag[order[j] * T + t];
            if (f === 1) tp++;
            else if (f === 2) fp++;
            rc[j] = tp / npig;
            pr[j] = tp / (fp + tp + EPS);
          }
          recall[rIdx(t, k, a, m)] = nd ? rc[nd - 1] : 0;
          for (let j = nd - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
          q.fill(0);
          ss.fill(0);
          // searchsorted(rc, recThrs, 'left'): first index with rc >= thr (rc is non-decreasing)
          let pi = 0;
          for (let ri = 0; ri < R; ri++) {
            while (pi < nd && rc[pi] < recThrs[ri]) pi++;
            if (pi >= nd) break;
            q[ri] = pr[pi];
            ss[ri] = sc[order[pi]];
          }
          for (let ri = 0; ri < R; ri++) {
            precision[pIdx(t, ri, k, a, m)] = q[ri];
            scores[pIdx(t, ri, k, a, m)] = ss[ri];
          }
        }
      }
    }
  }

  // summarize
  const summarize = (ap: boolean, iouThr: number | null, area: string, md: number): number => {
    const a = AREA_LBL.indexOf(area);
    const m = maxDets.indexOf(md);
    const vals: number[] = [];
    if (a >= 0 && m >= 0) {
      const ts = iouThr === null ? [...iouThrs.keys()] : [...iouThrs.keys()].filter((t) => iouThrs[t] === iouThr);
      for (const t of ts) {
        if (ap) {
          for (let r = 0; r < R; r++)
            for (let k = 0; k < K; k++) {
              const v = precision[pIdx(t, r, k, a, m)];
              if (v > -1) vals.push(v);
            }
        } else {
          for (let k = 0; k < K; k++) {
            const v = recall[rIdx(t, k, a, m)];
            if (v > -1) vals.push(v);
          }
        }
      }
    }
    return vals.length ? npMean(vals) : -1;
  };
  const md2 = maxDets[2];
  const spec: [boolean, number | null, string, number][] = [
    [true, null, 'all', 100],
    [true, 0.5, 'all', md2],
    [true, 0.75, 'all', md2],
    [true, null, 'small', md2],
    [true, null, 'medium', md2],
    [true, null, 'large', md2],
    [false, null, 'all', maxDets[0]],
    [false, null, 'all', maxDets[1]],
    [false, null, 'all', md2],
    [false, null, 'small', md2],
    [false, null, 'medium', md2],
    [false, null, 'large', md2],
  ];
  const stats = spec.map(([ap, thr, area, md]) => summarize(ap, thr, area, md));
  const lines = spec.map(([ap, thr, area, md], j) => {
    const title = (ap ? 'Average Precision' : 'Average Recall').padEnd(18);
    const type = ap ? '(AP)' : '(AR)';
    const iouStr = (thr === null ? `${iouThrs[0].toFixed(2)}:${iouThrs[T - 1].toFixed(2)}` : thr.toFixed(2)).padEnd(9);
    return ` ${title} ${type} @[ IoU=${iouStr} | area=${area.padStart(6)} | maxDets=${String(md).padStart(3)} ] = ${stats[j].toFixed(3)}`;
  });

  return {
    stats,
    statsNames: [...COCO_STATS_NAMES],
    precision,
    precisionDims: [T, R, K, A, M],
    recall,
    recallDims: [T, K, A, M],
    scores,
    params: { imgIds, catIds, iouThrs, recThrs, maxDets, areaRng: AREA_RNG.map((r) => [r[0], r[1]]), areaRngLbl: [...AREA_LBL] },
    summary: lines.join('\n'),
  };
}

/** Per-category AP@[.5:.95] and AP@.5 (area all, the largest maxDets) from a result, −1 where absent. */
export function cocoPerCategoryAp(res: CocoEvalResult): { catId: number; ap: number; ap50: number }[] {
  const [T, R, K, A, M] = res.precisionDims;
  const m = M - 1;
  return res.params.catIds.map((catId, k) => {
    const all: number[] = [];
    const at50: number[] = [];
    for (let t = 0; t < T; t++)
      for (let r = 0; r < R; r++) {
        const v = res.precision[(((t * R + r) * K + k) * A + 0) * M + m];
        if (v > -1) {
          all.push(v);
          if (res.params.iouThrs[t] === 0.5) at50.push(v);
        }
      }
    return { catId, ap: all.length ? npMean(all) : -1, ap50: at50.length ? npMean(at50) : -1 };
  });
}
