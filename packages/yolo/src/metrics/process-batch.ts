// yolov5 v7.0 val.py's process_batch: which predictions of one image are correct at each IoU threshold.
import { fromTypedArray, linspace, type Tensor, tidy } from '@tsyolo/torch';
import { boxIou } from '../boxes/convert.js';
import { isTensor, toF64 } from './inputs.js';

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
