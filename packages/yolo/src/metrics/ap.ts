// yolov5 v7.0 detection metrics: per-class average precision (utils/metrics.py ap_per_class, compute_ap),
// val.py's prediction/label matching (process_batch), fitness and the confusion matrix.
//
// Everything after the IoU matrix runs on plain typed arrays in float64, with the same arithmetic
// order as numpy where that decides the last bits: np.interp's segment choice and formula, np.trapz's
// (x1 - x0) * (y1 + y0) / 2 terms, numpy's pairwise summation for sums/means over a contiguous axis and
// sequential summation over axis 0, round-half-to-even for np.round.
import { fromTypedArray, linspace, tidy, type Tensor } from '@tsyolo/torch';
import { boxIou } from '../boxes/convert.js';

// ---------------------------------------------------------------------------------------------
// numpy-equivalent numerics (own implementations of the documented behaviour)
// ---------------------------------------------------------------------------------------------

/** numpy.linspace(start, stop, num) in float64: start + i·step with step = (stop − start)/(num − 1), last = stop. */
export function npLinspace(start: number, stop: number, num: number): Float64Array {
  const y = new Float64Array(num);
  if (num === 1) {
    y[0] = start;
    return y;
  }
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) y[i] = i * step + start;
  y[num - 1] = stop;
  return y;
}

/**
 * Sum of a[off .. off+n) in numpy's pairwise order (what np.sum / np.mean use along a contiguous axis):
 * below 8 elements a plain loop, up to 128 eight interleaved partial sums, above that two halves
 * (split at a multiple of 8) summed recursively.
 */
function pairwise(a: ArrayLike<number>, off: number, n: number): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[off + i];
    return s;
  }
  if (n <= 128) {
    let r0 = a[off], r1 = a[off + 1], r2 = a[off + 2], r3 = a[off + 3];
    let r4 = a[off + 4], r5 = a[off + 5], r6 = a[off + 6], r7 = a[off + 7];
    const full = n - (n % 8);
    let i = 8;
    for (; i < full; i += 8) {
      r0 += a[off + i];
      r1 += a[off + i + 1];
      r2 += a[off + i + 2];
      r3 += a[off + i + 3];
      r4 += a[off + i + 4];
      r5 += a[off + i + 5];
      r6 += a[off + i + 6];
      r7 += a[off + i + 7];
    }
    let s = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) s += a[off + i];
    return s;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwise(a, off, n2) + pairwise(a, off + n2, n - n2);
}

/** np.sum of a contiguous float64 vector (reduction starts from 0, then the pairwise sum). */
export function npSum(a: ArrayLike<number>, off = 0, n = a.length - off): number {
  return 0 + pairwise(a, off, n);
}

/** np.mean of a contiguous float64 vector (NaN when empty, as numpy). */
export function npMean(a: ArrayLike<number>, off = 0, n = a.length - off): number {
  return npSum(a, off, n) / n;
}

/** np.round / np.rint: round half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // half up
  if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

/** Largest j with xp[j] <= x (xp non-decreasing, xp[0] <= x). */
function lastLE(xp: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = xp.length; // first index with xp > x lies in [lo, hi]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x >= xp[mid]) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * numpy.interp(x, xp, fp, left, right) for non-decreasing xp: left/right outside [xp0, xpLast]
 * (defaults fp[0] / fp[last]); inside, the segment j is the last one with xp[j] <= x, an exact hit
 * returns fp[j], otherwise slope·(x − xp[j]) + fp[j] with slope = (fp[j+1] − fp[j]) / (xp[j+1] − xp[j]).
 */
export function npInterp(
  x: ArrayLike<number>,
  xp: ArrayLike<number>,
  fp: ArrayLike<number>,
  left?: number,
  right?: number,
): Float64Array {
  const n = xp.length;
  if (n === 0 || fp.length !== n) throw new Error('npInterp: xp and fp must be non-empty and of equal length');
  const lval = left ?? fp[0];
  const rval = right ?? fp[n - 1];
  const out = new Float64Array(x.length);
  const xLast = xp[n - 1];
  for (let k = 0; k < x.length; k++) {
    const v = x[k];
    if (Number.isNaN(v)) {
      out[k] = v;
    } else if (v > xLast) {
      out[k] = rval;
    } else if (v < xp[0]) {
      out[k] = lval;
    } else {
      const j = lastLE(xp, v);
      if (j >= n - 1) out[k] = fp[n - 1];
      else if (xp[j] === v) out[k] = fp[j];
      else {
        const slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
        let r = slope * (v - xp[j]) + fp[j];
        if (Number.isNaN(r)) {
          r = slope * (v - xp[j + 1]) + fp[j + 1];
          if (Number.isNaN(r) && fp[j] === fp[j + 1]) r = fp[j];
        }
        out[k] = r;
      }
    }
  }
  return out;
}

/** numpy.trapz(y, x): pairwise sum of (x[i+1] − x[i]) · (y[i+1] + y[i]) / 2. */
export function npTrapz(y: ArrayLike<number>, x: ArrayLike<number>): number {
  const n = y.length;
  if (n < 2) return 0;
  const t = new Float64Array(n - 1);
  for (let i = 0; i < n - 1; i++) t[i] = ((x[i + 1] - x[i]) * (y[i + 1] + y[i])) / 2.0;
  return npSum(t);
}

/**
 * yolov5's smooth(y, f): a box filter of width nf = round(len·f·2)//2 + 1, the ends padded with
 * nf//2 copies of the first/last value, 'valid' convolution (same length as y).
 */
export function smooth(y: ArrayLike<number>, f = 0.05): Float64Array {
  const n = y.length;
  const nf = Math.floor(roundHalfEven(n * f * 2) / 2) + 1;
  const h = Math.floor(nf / 2);
  const yp = new Float64Array(n + 2 * h);
  for (let i = 0; i < h; i++) {
    yp[i] = y[0];
    yp[h + n + i] = y[n - 1];
  }
  for (let i = 0; i < n; i++) yp[h + i] = y[i];
  const w = 1 / nf;
  const out = new Float64Array(yp.length - nf + 1);
  for (let k = 0; k < out.length; k++) {
    let s = 0;
    for (let j = 0; j < nf; j++) s += yp[k + j] * w;
    out[k] = s;
  }
  return out;
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

// ---------------------------------------------------------------------------------------------
// inputs
// ---------------------------------------------------------------------------------------------

/** Numbers or booleans: a tensor (any device/dtype), a typed array, or a plain array. */
export type NumericInput = Tensor | ArrayLike<number> | ArrayLike<boolean>;

function isTensor(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && typeof (x as Tensor).toTypedArray === 'function' && '_h' in (x as object);
}

/** A flat float64 copy (tensors are read row-major). */
function toF64(x: NumericInput): Float64Array {
  if (isTensor(x)) {
    const a = x.dtype === 'float16' || x.dtype === 'bfloat16' ? tidy(() => x.to('float32').toTypedArray()) : x.toTypedArray();
    if (a instanceof BigInt64Array) return Float64Array.from(a, Number);
    return Float64Array.from(a as ArrayLike<number>);
  }
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Number(x[i]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// compute_ap / ap_per_class
// ---------------------------------------------------------------------------------------------

const X101 = npLinspace(0, 1, 101);

export interface ComputeApResult {
  /** 101-point interpolated AP (area under the precision envelope). */
  ap: number;
  /** The precision envelope [1, precision..., 0] made non-increasing. */
  mpre: Float64Array;
  /** [0, recall..., 1]. */
  mrec: Float64Array;
}

/**
 * yolov5's compute_ap: sentinels mrec = [0, recall, 1], mpre = [1, precision, 0]; the precision envelope is
 * the running maximum taken from the end; AP = trapz(interp(linspace(0, 1, 101), mrec, mpre)).
 */
export function computeAp(recall: ArrayLike<number>, precision: ArrayLike<number>): ComputeApResult {
  const n = recall.length;
  const mrec = new Float64Array(n + 2);
  const mpre = new Float64Array(n + 2);
  mrec[0] = 0;
  mpre[0] = 1;
  for (let i = 0; i < n; i++) {
    mrec[i + 1] = recall[i];
    mpre[i + 1] = precision[i];
  }
  mrec[n + 1] = 1;
  mpre[n + 1] = 0;
  for (let i = n; i >= 0; i--) if (mpre[i + 1] > mpre[i]) mpre[i] = mpre[i + 1];
  const ap = npTrapz(npInterp(X101, mrec, mpre), X101);
  return { ap, mpre, mrec };
}

export interface ApPerClassResult {
  /** Number of classes evaluated: the distinct target classes. */
  nc: number;
  /** IoU thresholds (columns of tp). */
  nIou: number;
  /** The evaluated classes (sorted distinct target classes), yolov5's ap_class. */
  apClass: Int32Array;
  /** Labels per class. */
  nt: Int32Array;
  /** Per class at the best mean-F1 confidence: true positives, false positives (rounded as yolov5). */
  tp: Float64Array;
  fp: Float64Array;
  p: Float64Array;
  r: Float64Array;
  f1: Float64Array;
  /** AP per class and IoU threshold, nc × nIou row-major (0 for classes without predictions). */
  ap: Float64Array;
  /** ap[:, 0] and ap.mean(1). */
  ap50: Float64Array;
  apMean: Float64Array;
  /** Means over classes, as val.py prints them: mp, mr, map50, map (mAP@0.5:0.95). */
  mp: number;
  mr: number;
  map50: number;
  map: number;
  /** The confidence grid px = linspace(0, 1, 1000) and the index chosen by the smoothed mean F1. */
  px: Float64Array;
  bestIndex: number;
  /** Curves over px, nc × 1000 row-major: precision, recall and F1 against confidence. */
  pCurve: Float64Array;
  rCurve: Float64Array;
  f1Curve: Float64Array;
  /** Precision–recall curves at IoU 0.5 on px (recall axis), one per class with predictions. */
  py: Float64Array[];
}

/**
 * yolov5 v7.0's ap_per_class. tp: n × nIou booleans (a tensor, nested rows, or a flat row-major array);
 * conf, predCls: n; targetCls: m. Predictions are ranked by confidence (descending; ties keep their
 * input order); per distinct target class, recall = tpc/(n_l + eps), precision = tpc/(tpc + fpc),
 * curves against confidence on px = linspace(0, 1, 1000), AP per IoU column via computeAp; P/R/F1 at
 * the argmax of the smoothed (box filter 0.1) mean F1; tp = round(r·nt), fp = round(tp/(p + eps) − tp).
 * Pass float32 confidences (a float32 tensor or Float32Array) to rank exactly as yolov5 does.
 */
export function apPerClass(
  tp: NumericInput | ArrayLike<ArrayLike<number | boolean>>,
  conf: NumericInput,
  predCls: NumericInput,
  targetCls: NumericInput,
  eps = 1e-16,
): ApPerClassResult {
  const cf = toF64(conf);
  const pc = toF64(predCls);
  const tc = toF64(targetCls);
  const n = cf.length;
  if (pc.length !== n) throw new Error(`apPerClass: conf has ${n} entries, predCls ${pc.length}`);
  let tpf: Float64Array;
  let nIou: number;
  if (isTensor(tp)) {
    tpf = toF64(tp);
    nIou = tp.ndim === 2 ? tp.shape[1] : 1;
  } else if (tp.length > 0 && typeof tp[0] === 'object' && tp[0] !== null) {
    const rows = tp as ArrayLike<ArrayLike<number | boolean>>;
    nIou = rows[0].length;
    tpf = new Float64Array(rows.length * nIou);
    for (let i = 0; i < rows.length; i++) for (let j = 0; j < nIou; j++) tpf[i * nIou + j] = Number(rows[i][j]);
  } else {
    tpf = toF64(tp as NumericInput);
    nIou = n > 0 ? tpf.length / n : 10;
  }
  if (tpf.length !== n * nIou || !Number.isInteger(nIou)) throw new Error(`apPerClass: tp has ${tpf.length} entries for ${n} predictions`);

  // rank by confidence, descending (stable)
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => cf[b] - cf[a]);

  // distinct target classes and their counts
  const sortedT = Float64Array.from(tc).sort();
  const classes: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sortedT.length; i++) {
    if (i === 0 || sortedT[i] !== sortedT[i - 1]) {
      classes.push(sortedT[i]);
      counts.push(1);
    } else counts[counts.length - 1]++;
  }
  const nc = classes.length;
  const NP = 1000;
  const px = npLinspace(0, 1, NP);
  const negPx = px.map((v) => -v);
  const ap = new Float64Array(nc * nIou);
  const pCurve = new Float64Array(nc * NP);
  const rCurve = new Float64Array(nc * NP);
  const py: Float64Array[] = [];

  for (let ci = 0; ci < nc; ci++) {
    const c = classes[ci];
    const idx: number[] = [];
    for (const i of order) if (pc[i] === c) idx.push(i);
    const nl = counts[ci];
    const np_ = idx.length;
    if (np_ === 0 || nl === 0) continue;
    const negConf = new Float64Array(np_);
    for (let k = 0; k < np_; k++) negConf[k] = -cf[idx[k]];
    // cumulative TP / FP per IoU column
    const recall = new Float64Array(np_ * nIou); // column-major: [j * np_ + k]
    const precision = new Float64Array(np_ * nIou);
    for (let j = 0; j < nIou; j++) {
      let tpc = 0;
      let fpc = 0;
      for (let k = 0; k < np_; k++) {
        const t = tpf[idx[k] * nIou + j] !== 0 ? 1 : 0;
        tpc += t;
        fpc += 1 - t;
        recall[j * np_ + k] = tpc / (nl + eps);
        precision[j * np_ + k] = tpc / (tpc + fpc);
      }
    }
    rCurve.set(npInterp(negPx, negConf, recall.subarray(0, np_), 0), ci * NP);
    pCurve.set(npInterp(negPx, negConf, precision.subarray(0, np_), 1), ci * NP);
    for (let j = 0; j < nIou; j++) {
      const res = computeAp(recall.subarray(j * np_, (j + 1) * np_), precision.subarray(j * np_, (j + 1) * np_));
      ap[ci * nIou + j] = res.ap;
      if (j === 0) py.push(npInterp(px, res.mrec, res.mpre));
    }
  }

  // F1 curves, their mean over classes (sequential, as numpy's axis-0 reduction) and the smoothed argmax
  const f1Curve = new Float64Array(nc * NP);
  for (let k = 0; k < nc * NP; k++) f1Curve[k] = (2 * pCurve[k] * rCurve[k]) / (pCurve[k] + rCurve[k] + eps);
  const f1Mean = new Float64Array(NP);
  if (nc > 0) {
    for (let ci = 0; ci < nc; ci++) for (let k = 0; k < NP; k++) f1Mean[k] += f1Curve[ci * NP + k];
    for (let k = 0; k < NP; k++) f1Mean[k] /= nc;
  }
  const bestIndex = nc > 0 ? argmax(smooth(f1Mean, 0.1)) : 0;

  const p = new Float64Array(nc);
  const r = new Float64Array(nc);
  const f1 = new Float64Array(nc);
  const tpOut = new Float64Array(nc);
  const fpOut = new Float64Array(nc);
  const ap50 = new Float64Array(nc);
  const apMean = new Float64Array(nc);
  for (let ci = 0; ci < nc; ci++) {
    p[ci] = pCurve[ci * NP + bestIndex];
    r[ci] = rCurve[ci * NP + bestIndex];
    f1[ci] = f1Curve[ci * NP + bestIndex];
    tpOut[ci] = roundHalfEven(r[ci] * counts[ci]);
    fpOut[ci] = roundHalfEven(tpOut[ci] / (p[ci] + eps) - tpOut[ci]);
    ap50[ci] = ap[ci * nIou];
    apMean[ci] = npMean(ap, ci * nIou, nIou);
  }
  return {
    nc,
    nIou,
    apClass: Int32Array.from(classes),
    nt: Int32Array.from(counts),
    tp: tpOut,
    fp: fpOut,
    p,
    r,
    f1,
    ap,
    ap50,
    apMean,
    mp: nc ? npMean(p) : 0,
    mr: nc ? npMean(r) : 0,
    map50: nc ? npMean(ap50) : 0,
    map: nc ? npMean(apMean) : 0,
    px,
    bestIndex,
    pCurve,
    rCurve,
    f1Curve,
    py,
  };
}

/** yolov5's fitness: 0.1·mAP@0.5 + 0.9·mAP@0.5:0.95 (P and R weigh 0). */
export function fitness(p: number, r: number, map50: number, map: number): number {
  return 0 * p + 0 * r + 0.1 * map50 + 0.9 * map;
}

// ---------------------------------------------------------------------------------------------
// val.py process_batch
// ---------------------------------------------------------------------------------------------

/**
 * The matching core of processBatch on plain arrays. iou: m × n (labels × detections) row-major;
 * labelCls: m; detCls: n; iouv: thresholds. Returns correct as n × T (row-major, 1 = true).
 *
 * Per threshold, the candidate pairs have iou >= thr and equal class. yolov5 v7.0 sorts them by IoU
 * (descending), keeps the first pair per detection (its best label), reorders by detection index (a
 * side effect of np.unique) and then keeps the first pair per label: so each label goes to the
 * lowest-index detection among those whose best label it is. Equal IoUs for one detection go to the
 * larger label index (numpy's argsort reversed; its order for ties among more than 16 pairs is not
 * specified).
 */
export function matchPredictions(
  iou: ArrayLike<number>,
  labelCls: ArrayLike<number>,
  detCls: ArrayLike<number>,
  iouv: ArrayLike<number>,
): Uint8Array {
  const m = labelCls.length;
  const n = detCls.length;
  const T = iouv.length;
  const correct = new Uint8Array(n * T);
  if (m === 0 || n === 0) return correct;
  const best = new Int32Array(n);
  const taken = new Uint8Array(m);
  for (let t = 0; t < T; t++) {
    const thr = iouv[t];
    best.fill(-1);
    for (let d = 0; d < n; d++) {
      let bi = -1;
      let bv = -Infinity;
      for (let l = 0; l < m; l++) {
        const v = iou[l * n + d];
        if (v >= thr && labelCls[l] === detCls[d] && v >= bv) {
          bv = v;
          bi = l;
        }
      }
      best[d] = bi;
    }
    taken.fill(0);
    for (let d = 0; d < n; d++) {
      const l = best[d];
      if (l >= 0 && !taken[l]) {
        taken[l] = 1;
        correct[d * T + t] = 1;
      }
    }
  }
  return correct;
}

let defaultIouv: Float32Array | undefined;
/** val.py's iouv = torch.linspace(0.5, 0.95, 10) (float32, computed by libtorch). */
export function iouVector(): Float32Array {
  if (!defaultIouv) defaultIouv = tidy(() => linspace(0.5, 0.95, 10).toTypedArray() as Float32Array);
  return defaultIouv.slice();
}

/**
 * yolov5 v7.0 val.py process_batch: detections n × 6 [x1, y1, x2, y2, conf, cls], labels m × 5
 * [cls, x1, y1, x2, y2], iouv the IoU thresholds (default torch.linspace(0.5, 0.95, 10)). Returns
 * correct, an n × T bool tensor on the CPU. The IoU matrix is box_iou(labels, detections) in the
 * detections' dtype (float32 as in yolov5); see matchPredictions for the matching rule.
 */
export function processBatch(detections: Tensor, labels: Tensor, iouv?: Tensor | ArrayLike<number>): Tensor {
  const thr = iouv === undefined ? iouVector() : isTensor(iouv) ? toF64(iouv) : iouv;
  const n = detections.shape[0];
  const m = labels.shape[0];
  const T = thr.length;
  if (n === 0 || m === 0) return fromTypedArray(new Uint8Array(n * T), [n, T], 'bool');
  const [iou, lc, dc] = tidy(() => {
    const lab = labels.index(':', '1:5').to(detections.dtype);
    const i = boxIou(lab, detections.index(':', ':4')).toTypedArray() as ArrayLike<number>;
    const l = toF64(labels.index(':', 0));
    const d = toF64(detections.index(':', 5));
    return [i, l, d] as const;
  });
  return fromTypedArray(matchPredictions(iou, lc, dc, thr), [n, T], 'bool');
}

// ---------------------------------------------------------------------------------------------
// ConfusionMatrix
// ---------------------------------------------------------------------------------------------

/**
 * yolov5 v7.0's ConfusionMatrix: (nc + 1) × (nc + 1) counts, row = predicted class, column = true
 * class, index nc = background. processBatch keeps detections with conf > conf, pairs with IoU > iouThres,
 * one pair per detection (its highest IoU) and then one per label (highest IoU). A label without a pair
 * counts as background (FN, row nc); an unpaired detection counts as background FP (column nc) only
 * when the image had at least one pair, as in yolov5 v7.0.
 */
export class ConfusionMatrix {
  readonly nc: number;
  readonly conf: number;
  readonly iouThres: number;
  /** Row-major (nc + 1) × (nc + 1) counts: matrix[pred * (nc + 1) + true]. */
  readonly matrix: Float64Array;

  constructor(nc: number, conf = 0.25, iouThres = 0.45) {
    this.nc = nc;
    this.conf = conf;
    this.iouThres = iouThres;
    this.matrix = new Float64Array((nc + 1) * (nc + 1));
  }

  /** matrix[pred, true]. */
  at(pred: number, truth: number): number {
    return this.matrix[pred * (this.nc + 1) + truth];
  }

  private inc(pred: number, truth: number): void {
    this.matrix[pred * (this.nc + 1) + truth] += 1;
  }

  /**
   * detections n × 6 [x1, y1, x2, y2, conf, cls] (or null when the image has none), labels m × 5
   * [cls, x1, y1, x2, y2] (with null detections also a plain class vector, as val.py passes it).
   */
  processBatch(detections: Tensor | null, labels: Tensor): void {
    if (detections === null) {
      const cls = tidy(() => toF64(labels.ndim === 2 ? labels.index(':', 0) : labels));
      for (const c of cls) this.inc(this.nc, Math.trunc(c));
      return;
    }
    const [iouAll, gc, dcAll, confs] = tidy(() => {
      const g = toF64(labels.index(':', 0));
      const d = toF64(detections.index(':', 5));
      const c = toF64(detections.index(':', 4));
      const i =
        detections.shape[0] && labels.shape[0]
          ? (boxIou(labels.index(':', '1:5').to(detections.dtype), detections.index(':', ':4')).toTypedArray() as ArrayLike<number>)
          : new Float64Array(0);
      return [i, g, d, c] as const;
    });
    // detections above the confidence threshold (kept in order)
    const keep: number[] = [];
    for (let i = 0; i < confs.length; i++) if (confs[i] > this.conf) keep.push(i);
    const nAll = confs.length;
    const nd = keep.length;
    const dc = keep.map((i) => dcAll[i]);
    const iou = new Float64Array(gc.length * nd);
    for (let l = 0; l < gc.length; l++) for (let d = 0; d < nd; d++) iou[l * nd + d] = iouAll[l * nAll + keep[d]];
    const m = gc.length;
    // candidate pairs, IoU > threshold, in row-major (label, detection) order
    const cl: number[] = [];
    const cd: number[] = [];
    const cv: number[] = [];
    for (let l = 0; l < m; l++)
      for (let d = 0; d < nd; d++) {
        const v = iou[l * nd + d];
        if (v > this.iouThres) {
          cl.push(l);
          cd.push(d);
          cv.push(v);
        }
      }
    let ml: number[] = cl;
    let md: number[] = cd;
    if (cl.length > 1) {
      // best pair per detection (ties: the later pair, as argsort()[::-1]), in detection order
      const bestPerDet = new Int32Array(nd).fill(-1);
      for (let k = 0; k < cl.length; k++) {
        const b = bestPerDet[cd[k]];
        if (b < 0 || cv[k] >= cv[b]) bestPerDet[cd[k]] = k;
      }
      const stage: number[] = [];
      for (let d = 0; d < nd; d++) if (bestPerDet[d] >= 0) stage.push(bestPerDet[d]);
      // then the best pair per label among those (ties: the later one in detection order)
      const bestPerLab = new Int32Array(m).fill(-1);
      for (const k of stage) {
        const b = bestPerLab[cl[k]];
        if (b < 0 || cv[k] >= cv[b]) bestPerLab[cl[k]] = k;
      }
      const fin: number[] = [];
      for (let l = 0; l < m; l++) if (bestPerLab[l] >= 0) fin.push(bestPerLab[l]);
      ml = fin.map((k) => cl[k]);
      md = fin.map((k) => cd[k]);
    }
    const any = ml.length > 0;
    const detOfLabel = new Int32Array(m).fill(-1);
    for (let k = 0; k < ml.length; k++) detOfLabel[ml[k]] = md[k];
    for (let l = 0; l < m; l++) {
      const g = Math.trunc(gc[l]);
      if (any && detOfLabel[l] >= 0) this.inc(Math.trunc(dc[detOfLabel[l]]), g);
      else this.inc(this.nc, g);
    }
    if (any) {
      const matched = new Uint8Array(nd);
      for (const d of md) matched[d] = 1;
      for (let d = 0; d < nd; d++) if (!matched[d]) this.inc(Math.trunc(dc[d]), this.nc);
    }
  }

  /** Diagonal TP and off-diagonal FP per class (background row/column excluded), as tp_fp(). */
  tpFp(): { tp: Float64Array; fp: Float64Array } {
    const k = this.nc + 1;
    const tp = new Float64Array(this.nc);
    const fp = new Float64Array(this.nc);
    for (let i = 0; i < this.nc; i++) {
      tp[i] = this.matrix[i * k + i];
      let s = 0;
      for (let j = 0; j < k; j++) s += this.matrix[i * k + j];
      fp[i] = s - tp[i];
    }
    return { tp, fp };
  }

  /** Column-normalised matrix (each true class sums to 1), matrix / (column sum + 1e-9), as plotted. */
  normalized(): Float64Array {
    const k = this.nc + 1;
    const out = new Float64Array(k * k);
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += this.matrix[i * k + j];
      for (let i = 0; i < k; i++) out[i * k + j] = this.matrix[i * k + j] / (s + 1e-9);
    }
    return out;
  }

  /** The counts as nested rows. */
  toRows(normalize = false): number[][] {
    const a = normalize ? this.normalized() : this.matrix;
    const k = this.nc + 1;
    return Array.from({ length: k }, (_, i) => Array.from(a.subarray(i * k, (i + 1) * k)));
  }

  reset(): void {
    this.matrix.fill(0);
  }
}
