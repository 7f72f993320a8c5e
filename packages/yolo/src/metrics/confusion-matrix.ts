// yolov5 v7.0's ConfusionMatrix (utils/metrics.py): counts of predicted class against true class,
// with an extra background row and column, accumulated image by image during validation.
import { type Tensor, tidy } from '@tsyolo/torch';
import { boxIou } from '../boxes/convert.js';
import { toF64 } from './inputs.js';

/** One image as plain arrays: the labels and the detections above the confidence threshold. */
interface ImageArrays {
  /** Label classes (m). */
  gc: Float64Array;
  /** Classes of the kept detections (nd), in input order. */
  dc: number[];
  /** IoU of label l with kept detection d at [l * nd + d]. */
  iou: Float64Array;
  nd: number;
}

/** Reads one image's tensors and keeps the detections with confidence above conf. */
function readImage(detections: Tensor, labels: Tensor, conf: number): ImageArrays {
  const [iouAll, gc, dcAll, confs] = tidy(() => {
    const g = toF64(labels.index(':', 0));
    const d = toF64(detections.index(':', 5));
    const c = toF64(detections.index(':', 4));
    const i =
      detections.shape[0] && labels.shape[0]
        ? (boxIou(
            labels.index(':', '1:5').to(detections.dtype),
            detections.index(':', ':4'),
          ).toTypedArray() as ArrayLike<number>)
        : new Float64Array(0);
    return [i, g, d, c] as const;
  });
  const keep: number[] = [];
  for (let i = 0; i < confs.length; i++) if (confs[i] > conf) keep.push(i);
  const nAll = confs.length;
  const nd = keep.length;
  const dc = keep.map((i) => dcAll[i]);
  const iou = new Float64Array(gc.length * nd);
  for (let l = 0; l < gc.length; l++) for (let d = 0; d < nd; d++) iou[l * nd + d] = iouAll[l * nAll + keep[d]];
  return { gc, dc, iou, nd };
}

/** Label–detection pairs as parallel lists: label index, detection index, IoU. */
interface Pairs {
  l: number[];
  d: number[];
  v: number[];
}

/** The pairs with IoU above the threshold, in row-major (label, detection) order. */
function candidatePairs(img: ImageArrays, iouThres: number): Pairs {
  const { iou, nd } = img;
  const out: Pairs = { l: [], d: [], v: [] };
  for (let l = 0; l < img.gc.length; l++)
    for (let d = 0; d < nd; d++) {
      const v = iou[l * nd + d];
      if (v > iouThres) {
        out.l.push(l);
        out.d.push(d);
        out.v.push(v);
      }
    }
  return out;
}

/**
 * yolov5's de-duplication of several pairs: the best pair per detection (ties: the later pair, as
 * argsort()[::-1]) in detection order, then among those the best pair per label (ties: the later one
 * in detection order), in label order.
 */
function uniquePairs(c: Pairs, m: number, nd: number): { l: number[]; d: number[] } {
  if (c.l.length <= 1) return { l: c.l, d: c.d };
  const bestPerDet = new Int32Array(nd).fill(-1);
  for (let k = 0; k < c.l.length; k++) {
    const b = bestPerDet[c.d[k]];
    if (b < 0 || c.v[k] >= c.v[b]) bestPerDet[c.d[k]] = k;
  }
  const stage: number[] = [];
  for (let d = 0; d < nd; d++) if (bestPerDet[d] >= 0) stage.push(bestPerDet[d]);
  const bestPerLab = new Int32Array(m).fill(-1);
  for (const k of stage) {
    const b = bestPerLab[c.l[k]];
    if (b < 0 || c.v[k] >= c.v[b]) bestPerLab[c.l[k]] = k;
  }
  const fin: number[] = [];
  for (let l = 0; l < m; l++) if (bestPerLab[l] >= 0) fin.push(bestPerLab[l]);
  return { l: fin.map((k) => c.l[k]), d: fin.map((k) => c.d[k]) };
}

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
    const img = readImage(detections, labels, this.conf);
    const { gc, dc, nd } = img;
    const m = gc.length;
    const pairs = uniquePairs(candidatePairs(img, this.iouThres), m, nd);
    const paired = pairs.l.length > 0;
    const detOfLabel = new Int32Array(m).fill(-1);
    for (let k = 0; k < pairs.l.length; k++) detOfLabel[pairs.l[k]] = pairs.d[k];
    // each label: counted against its paired detection's class, or as missed (background row)
    for (let l = 0; l < m; l++) {
      const g = Math.trunc(gc[l]);
      if (paired && detOfLabel[l] >= 0) this.inc(Math.trunc(dc[detOfLabel[l]]), g);
      else this.inc(this.nc, g);
    }
    // unpaired detections are background false positives, but only in an image with some pair (as yolov5 v7.0)
    if (paired) {
      const matched = new Uint8Array(nd);
      for (const d of pairs.d) matched[d] = 1;
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

  /** Clears every count. */
  reset(): void {
    this.matrix.fill(0);
  }
}
