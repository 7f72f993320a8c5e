// yolov5 v7.0's ap_per_class (utils/metrics.py): per-class precision, recall, F1 and average precision
// from the matched predictions of a whole validation run, in the same float64 arithmetic as numpy.
//
// The steps: read the tp matrix; rank predictions by confidence; count the labels per class; per class,
// cumulate TP/FP into recall and precision, sample them against confidence and integrate AP per IoU
// column; pick the confidence with the best smoothed mean F1; report each class at that confidence.
import { computeAp } from './compute-ap.js';
import { isTensor, type NumericInput, toF64 } from './inputs.js';
import { argmax, npInterp, npLinspace, npMean, roundHalfEven, smooth } from './numpy.js';

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

/** Points of the confidence grid px the P, R and F1 curves are sampled on. */
const NP = 1000;

type TpInput = NumericInput | ArrayLike<ArrayLike<number | boolean>>;

/** The tp matrix of n predictions as flat row-major float64, with its column count (IoU thresholds). */
function readTpMatrix(tp: TpInput, n: number): { tpf: Float64Array; nIou: number } {
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
  if (tpf.length !== n * nIou || !Number.isInteger(nIou))
    throw new Error(`apPerClass: tp has ${tpf.length} entries for ${n} predictions`);
  return { tpf, nIou };
}

/** The sorted distinct target classes and the number of labels of each (np.unique with counts). */
function countTargets(tc: Float64Array): { classes: number[]; counts: number[] } {
  const sortedT = Float64Array.from(tc).sort();
  const classes: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sortedT.length; i++) {
    if (i === 0 || sortedT[i] !== sortedT[i - 1]) {
      classes.push(sortedT[i]);
      counts.push(1);
    } else counts[counts.length - 1]++;
  }
  return { classes, counts };
}

/** What every class's curves are computed from. */
interface RankedPredictions {
  /** Confidence, class and flat n × nIou tp of each prediction, in input order. */
  cf: Float64Array;
  pc: Float64Array;
  tpf: Float64Array;
  nIou: number;
  /** Prediction indices by descending confidence (ties in input order). */
  order: number[];
  eps: number;
}

/**
 * Cumulative recall tpc/(nl + eps) and precision tpc/(tpc + fpc) over the ranked predictions idx of
 * one class with nl labels, column-major: entry [j · idx.length + k] for IoU column j, rank k.
 */
function cumulativePr(
  rp: RankedPredictions,
  idx: readonly number[],
  nl: number,
): { recall: Float64Array; precision: Float64Array } {
  const { tpf, nIou, eps } = rp;
  const np_ = idx.length;
  const recall = new Float64Array(np_ * nIou);
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
  return { recall, precision };
}

/** Per-class curves and APs; classes without predictions keep zeros and add no PR curve. */
interface ClassCurves {
  ap: Float64Array;
  pCurve: Float64Array;
  rCurve: Float64Array;
  py: Float64Array[];
}

/**
 * For each class: recall and precision against confidence on px (np.interp over the negated
 * confidences, padded with 0 and 1 to the left), AP per IoU column, and the PR curve at the first column.
 */
function classCurves(
  rp: RankedPredictions,
  classes: readonly number[],
  counts: readonly number[],
  px: Float64Array,
): ClassCurves {
  const { cf, pc, nIou } = rp;
  const nc = classes.length;
  const negPx = px.map((v) => -v);
  const out: ClassCurves = {
    ap: new Float64Array(nc * nIou),
    pCurve: new Float64Array(nc * NP),
    rCurve: new Float64Array(nc * NP),
    py: [],
  };
  for (let ci = 0; ci < nc; ci++) {
    const c = classes[ci];
    const idx: number[] = [];
    for (const i of rp.order) if (pc[i] === c) idx.push(i);
    const nl = counts[ci];
    const np_ = idx.length;
    if (np_ === 0 || nl === 0) continue;
    const negConf = new Float64Array(np_);
    for (let k = 0; k < np_; k++) negConf[k] = -cf[idx[k]];
    const { recall, precision } = cumulativePr(rp, idx, nl);
    out.rCurve.set(npInterp(negPx, negConf, recall.subarray(0, np_), 0), ci * NP);
    out.pCurve.set(npInterp(negPx, negConf, precision.subarray(0, np_), 1), ci * NP);
    for (let j = 0; j < nIou; j++) {
      const res = computeAp(recall.subarray(j * np_, (j + 1) * np_), precision.subarray(j * np_, (j + 1) * np_));
      out.ap[ci * nIou + j] = res.ap;
      if (j === 0) out.py.push(npInterp(px, res.mrec, res.mpre));
    }
  }
  return out;
}

/**
 * F1 curves 2PR/(P + R + eps), their mean over classes (summed class by class, as numpy reduces
 * axis 0) and the argmax of that mean smoothed by a box filter of fraction 0.1.
 */
function bestF1(
  pCurve: Float64Array,
  rCurve: Float64Array,
  nc: number,
  eps: number,
): { f1Curve: Float64Array; bestIndex: number } {
  const f1Curve = new Float64Array(nc * NP);
  for (let k = 0; k < nc * NP; k++) f1Curve[k] = (2 * pCurve[k] * rCurve[k]) / (pCurve[k] + rCurve[k] + eps);
  const f1Mean = new Float64Array(NP);
  if (nc > 0) {
    for (let ci = 0; ci < nc; ci++) for (let k = 0; k < NP; k++) f1Mean[k] += f1Curve[ci * NP + k];
    for (let k = 0; k < NP; k++) f1Mean[k] /= nc;
  }
  const bestIndex = nc > 0 ? argmax(smooth(f1Mean, 0.1)) : 0;
  return { f1Curve, bestIndex };
}

/** Per-class values at the chosen confidence, as in ApPerClassResult. */
interface ClassStats {
  p: Float64Array;
  r: Float64Array;
  f1: Float64Array;
  tp: Float64Array;
  fp: Float64Array;
  ap50: Float64Array;
  apMean: Float64Array;
}

/** Each class at the chosen confidence: P, R, F1, yolov5's rounded TP/FP counts, AP@0.5 and mean AP. */
function classStats(
  curves: ClassCurves,
  f1Curve: Float64Array,
  bestIndex: number,
  counts: readonly number[],
  nIou: number,
  eps: number,
): ClassStats {
  const nc = counts.length;
  const s: ClassStats = {
    p: new Float64Array(nc),
    r: new Float64Array(nc),
    f1: new Float64Array(nc),
    tp: new Float64Array(nc),
    fp: new Float64Array(nc),
    ap50: new Float64Array(nc),
    apMean: new Float64Array(nc),
  };
  for (let ci = 0; ci < nc; ci++) {
    s.p[ci] = curves.pCurve[ci * NP + bestIndex];
    s.r[ci] = curves.rCurve[ci * NP + bestIndex];
    s.f1[ci] = f1Curve[ci * NP + bestIndex];
    s.tp[ci] = roundHalfEven(s.r[ci] * counts[ci]);
    s.fp[ci] = roundHalfEven(s.tp[ci] / (s.p[ci] + eps) - s.tp[ci]);
    s.ap50[ci] = curves.ap[ci * nIou];
    s.apMean[ci] = npMean(curves.ap, ci * nIou, nIou);
  }
  return s;
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
  tp: TpInput,
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
  const { tpf, nIou } = readTpMatrix(tp, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => cf[b] - cf[a]);
  const { classes, counts } = countTargets(tc);
  const nc = classes.length;
  const px = npLinspace(0, 1, NP);
  const curves = classCurves({ cf, pc, tpf, nIou, order, eps }, classes, counts, px);
  const { f1Curve, bestIndex } = bestF1(curves.pCurve, curves.rCurve, nc, eps);
  const s = classStats(curves, f1Curve, bestIndex, counts, nIou, eps);
  return {
    nc,
    nIou,
    apClass: Int32Array.from(classes),
    nt: Int32Array.from(counts),
    tp: s.tp,
    fp: s.fp,
    p: s.p,
    r: s.r,
    f1: s.f1,
    ap: curves.ap,
    ap50: s.ap50,
    apMean: s.apMean,
    mp: nc ? npMean(s.p) : 0,
    mr: nc ? npMean(s.r) : 0,
    map50: nc ? npMean(s.ap50) : 0,
    map: nc ? npMean(s.apMean) : 0,
    px,
    bestIndex,
    pCurve: curves.pCurve,
    rCurve: curves.rCurve,
    f1Curve,
    py: curves.py,
  };
}
