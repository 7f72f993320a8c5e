// Validation as yolov5's val.py computes it: multi-label NMS at conf 0.001 / IoU 0.6, boxes
// mapped back to the original images, matching at IoU 0.50:0.05:0.95, AP per class, P/R at
// the best mean-F1 confidence, optional losses on the raw outputs, per-image timing.
import { cat, fromTypedArray, inferenceMode, noGrad, type Tensor, tensor, tidy } from '@tsyolo/torch';
import { type RatioPad, scaleBoxes, xywh2xyxy } from '../boxes/convert.js';
import { type NmsOptions, nonMaxSuppression } from '../boxes/nms.js';
import type { Batch, DataLoader } from '../data/loader.js';
import { Ensemble } from '../detect/ensemble.js';
import { OnnxModel } from '../detect/onnx-model.js';
import { forwardAugment } from '../detect/tta.js';
import type { ComputeLoss } from '../loss/compute-loss.js';
import { type ApPerClassResult, apPerClass, processBatch } from '../metrics/ap.js';
import type { DetectionModel } from '../models/model.js';

/** Images per forward pass inside a validation batch. */
export const INFER_CHUNK = 8;

export interface ValOptions {
  confThres?: number;
  iouThres?: number;
  maxDet?: number;
  singleCls?: boolean;
  /** also compute the training loss on the validation set (trainer) */
  computeLoss?: ComputeLoss | null;
  /** test-time augmentation (yolov5's --augment): predictions from forwardAugment; no losses then */
  augment?: boolean;
  /**
   * called with each batch's images, targets (pixels) and predictions (per image n×6 in letterboxed
   * pixels), the original [h0, w0] per image and the letterbox [[ratio_h, ratio_w], [pad_w, pad_h]]
   * that scaleBoxes takes to map boxes back (for plots, --save-txt, --save-json)
   */
  onBatch?: (b: ValBatch) => void;
  epoch?: number;
}

export interface ValBatch {
  /** (bs, 3, h, w) uint8 */
  images: Tensor;
  /** (n, 6) image index, class, x, y, w, h in letterboxed pixels */
  targets: Tensor;
  preds: Tensor[];
  paths: string[];
  /** original [h0, w0] per image */
  shapes: [number, number][];
  /** letterbox [[ratio_h, ratio_w], [pad_w, pad_h]] per image (scaleBoxes' ratioPad) */
  ratioPads: RatioPad[];
  batchIndex: number;
}

/**
 * A model the validator runs: a DetectionModel, an Ensemble of them (predictions only, no loss), or an
 * ONNX model on ONNX Runtime (predictions only; the loader's batches must fit its input shape).
 */
export type ValModel = DetectionModel | Ensemble | OnnxModel;

export interface ValResult {
  mp: number;
  mr: number;
  map50: number;
  map: number;
  /** box, obj, cls losses averaged over batches (zeros without computeLoss) */
  losses: [number, number, number];
  /** per class mAP50-95 (classes without labels: the overall mAP, as yolov5) */
  maps: Float64Array;
  /** labels per class */
  nt: Int32Array;
  seen: number;
  /** ms per image: pre-process, inference, NMS */
  speed: { pre: number; inference: number; nms: number };
  ap: ApPerClassResult | null;
}

/**
 * Validates `model` on one pass of `loader` (yolov5's val.run): per batch, inference (with losses when
 * asked), NMS and the matching of predictions to labels; then AP per class and the summary metrics.
 * A PyTorch model is put in eval mode and its training flag restored afterwards.
 */
export async function validate(model: ValModel, loader: DataLoader, opts: ValOptions = {}): Promise<ValResult> {
  const nc = model.nc;
  const nms: NmsOptions = {
    confThres: opts.confThres ?? 0.001,
    iouThres: opts.iouThres ?? 0.6,
    multiLabel: true,
    agnostic: opts.singleCls ?? false,
    maxDet: opts.maxDet ?? 300,
  };
  const onnx = model instanceof OnnxModel ? model : null;
  const native = model instanceof OnnxModel ? null : model;
  if (onnx && opts.augment) throw new Error(`${onnx.path}: test-time augmentation (--augment) needs PyTorch weights`);
  if (onnx && opts.computeLoss) throw new Error(`${onnx.path}: losses need the PyTorch model`);
  const training = native?.training ?? false;
  native?.eval();
  const stats: ValStats = {
    correct: [],
    confs: [],
    pcls: [],
    tcls: [],
    loss: [0, 0, 0],
    seen: 0,
    nBatches: 0,
    t: { pre: 0, inference: 0, nms: 0 },
  };
  try {
    for await (const batch of loader.epoch(opts.epoch ?? 0)) {
      // ONNX Runtime runs asynchronously: its predictions are made before the synchronous scope below
      const tOnnx = performance.now();
      const onnxPred = onnx ? await onnx.predict(batch.images) : null;
      const onnxMs = performance.now() - tOnnx;
      tidy(() => validateBatch(batch, { native, onnxPred, onnxMs }, nms, stats, opts));
      onnxPred?.dispose();
      batch.images.dispose();
      batch.targets.dispose();
    }
  } finally {
    native?.train(training);
  }
  return summarize(
    nc,
    stats.correct,
    stats.confs,
    stats.pcls,
    stats.tcls,
    stats.loss,
    stats.nBatches,
    stats.seen,
    stats.t,
  );
}

/** What validate gathers batch after batch: per image matches, confidences and classes, losses, counts, times. */
interface ValStats {
  /** per image with predictions: npr × 10 matches (one per IoU threshold 0.50:0.05:0.95) */
  correct: Uint8Array[];
  confs: Float32Array[];
  pcls: Float32Array[];
  /** per image with labels: the label classes */
  tcls: Float32Array[];
  /** summed box, obj, cls losses */
  loss: number[];
  seen: number;
  nBatches: number;
  /** summed ms: pre-process, inference, NMS */
  t: { pre: number; inference: number; nms: number };
}

/** Where a batch's predictions come from: the PyTorch model, or ONNX Runtime's output made beforehand (and its time). */
interface BatchPredictor {
  native: DetectionModel | Ensemble | null;
  onnxPred: Tensor | null;
  onnxMs: number;
}

/** One batch (inside the caller's tidy scope): inference, optional losses, NMS, per-image matching, onBatch. */
function validateBatch(batch: Batch, from: BatchPredictor, nms: NmsOptions, stats: ValStats, opts: ValOptions): void {
  const { onnxPred } = from;
  const t0 = performance.now();
  const [, , h, w] = batch.images.shape;
  const im = onnxPred ? null : batch.images.float().div(255);
  const t1 = performance.now();
  const { pred, raw } = onnxPred ? { pred: onnxPred, raw: null } : forwardChunked(from.native!, im!, opts.augment);
  const t2 = performance.now() + (onnxPred ? from.onnxMs : 0);
  if (opts.computeLoss && raw) {
    const items = noGrad(() => opts.computeLoss!.call(raw, batch.targets).items.toArray());
    for (let k = 0; k < 3; k++) stats.loss[k] += items[k];
  }
  const targets = batch.targets.mul(tensor([1, 1, w, h, w, h]));
  const t3 = performance.now();
  const preds = inferenceMode(() => nonMaxSuppression(pred, nms));
  const t4 = performance.now();
  stats.t.pre += t1 - t0;
  stats.t.inference += t2 - t1;
  stats.t.nms += t4 - t3;
  const imgIdx = targets.shape[0] ? (targets.index(':', 0).toArray() as number[]) : [];
  preds.forEach((p, si) => {
    stats.seen++;
    const rows = imgIdx.map((v, i) => (v === si ? i : -1)).filter((i) => i >= 0);
    const labels = rows.length ? targets.index(tensor(rows, { dtype: 'int64' })).index(':', '1:') : null;
    const [shape0, ratioPad] = batch.shapes[si];
    scoreImage(p, labels, [h, w], shape0, ratioPad, stats, opts.singleCls);
  });
  opts.onBatch?.({
    images: batch.images,
    targets,
    preds,
    paths: batch.paths,
    shapes: batch.shapes.map((s) => s[0]),
    ratioPads: batch.shapes.map((s) => s[1]),
    batchIndex: stats.nBatches,
  });
  stats.nBatches++;
}

/**
 * One image's share of the statistics: its label classes, and for its predictions (n × 6, letterboxed
 * pixels) which ones match a label at each IoU threshold, compared on the original image's scale.
 * `labels` are n × 5 rows [class, x, y, w, h] in letterboxed pixels, or null without labels.
 */
function scoreImage(
  p: Tensor,
  labels: Tensor | null,
  hw: [number, number],
  shape0: [number, number],
  ratioPad: RatioPad,
  stats: ValStats,
  singleCls?: boolean,
): void {
  const nl = labels ? labels.shape[0] : 0;
  const npr = p.shape[0];
  if (nl) stats.tcls.push(Float32Array.from(labels!.index(':', 0).toArray()));
  if (npr === 0) return;
  if (singleCls) {
    // the predictions come out of inference mode, where they cannot be changed in place: change a copy
    p = p.clone();
    p.index(':', 5).fill_(0);
  }
  let corr = new Uint8Array(npr * 10);
  if (nl) {
    const predn = p.clone();
    predn.index(':', ':4').copy_(scaleBoxes(hw, p.index(':', ':4'), shape0, ratioPad));
    const tbox = scaleBoxes(hw, xywh2xyxy(labels!.index(':', '1:5')), shape0, ratioPad);
    const labelsn = cat([labels!.index(':', '0:1'), tbox], 1);
    corr = processBatch(predn, labelsn).toTypedArray() as Uint8Array;
  }
  stats.correct.push(corr);
  stats.confs.push(Float32Array.from(p.index(':', 4).toTypedArray() as Float32Array));
  stats.pcls.push(Float32Array.from(p.index(':', 5).toTypedArray() as Float32Array));
}

/** A forward pass without gradients: test-time augmentation's predictions (no raw outputs), else predictions and raw outputs. */
function forwardOnce(
  m: DetectionModel | Ensemble,
  x: Tensor,
  augment?: boolean,
): { pred: Tensor; raw: Tensor[] | null } {
  return noGrad(() =>
    augment ? { pred: m instanceof Ensemble ? m.predict(x, true) : forwardAugment(m, x), raw: null } : m.forwardBoth(x),
  );
}

/**
 * forwardOnce over sub-batches of INFER_CHUNK images, concatenated (on the CPU, per-image cost at batch
 * 32 is ~1.6x that at 8); the input goes channels-last first when the model is laid out so.
 */
function forwardChunked(
  m: DetectionModel | Ensemble,
  input: Tensor,
  augment?: boolean,
): { pred: Tensor; raw: Tensor[] | null } {
  const layout = m instanceof Ensemble ? m.models[0].layout : m.layout;
  const x = layout === 'channels_last' ? input.contiguous('channels_last') : input;
  if (x.shape[0] <= INFER_CHUNK) return forwardOnce(m, x, augment);
  const outs = x.split(INFER_CHUNK, 0).map((c) => forwardOnce(m, c, augment));
  const raws = outs.map((o) => o.raw);
  return {
    pred: cat(
      outs.map((o) => o.pred),
      0,
    ),
    raw: raws.every((r) => r)
      ? raws[0]!.map((_, l) =>
          cat(
            raws.map((r) => r![l]),
            0,
          ),
        )
      : null,
  };
}

function concat<T extends Float32Array | Uint8Array>(parts: T[], make: (n: number) => T): T {
  const out = make(parts.reduce((n, p) => n + p.length, 0));
  let k = 0;
  for (const p of parts) {
    out.set(p, k);
    k += p.length;
  }
  return out;
}

function summarize(
  nc: number,
  correct: Uint8Array[],
  confs: Float32Array[],
  pcls: Float32Array[],
  tcls: Float32Array[],
  loss: number[],
  nBatches: number,
  seen: number,
  t: { pre: number; inference: number; nms: number },
): ValResult {
  const tp = concat(correct, (n) => new Uint8Array(n));
  const conf = concat(confs, (n) => new Float32Array(n));
  const pc = concat(pcls, (n) => new Float32Array(n));
  const tc = concat(tcls, (n) => new Float32Array(n));
  const nt = new Int32Array(nc);
  for (const c of tc) nt[c]++;
  let res: ValResult['ap'] = null;
  let mp = 0;
  let mr = 0;
  let map50 = 0;
  let map = 0;
  if (conf.length && tp.some((v) => v)) {
    const n = conf.length;
    res = tidy(() => apPerClass(fromTypedArray(tp, [n, 10], 'bool'), conf, pc, tc));
    ({ mp, mr, map50, map } = res);
  }
  const maps = new Float64Array(nc).fill(map);
  if (res) res.apClass.forEach((c, i) => (maps[c] = res!.apMean[i]));
  const per = (v: number): number => (seen ? v / seen : 0);
  return {
    mp,
    mr,
    map50,
    map,
    losses: loss.map((v) => (nBatches ? v / nBatches : 0)) as [number, number, number],
    maps,
    nt,
    seen,
    speed: { pre: per(t.pre), inference: per(t.inference), nms: per(t.nms) },
    ap: res,
  };
}
