// Non-maximum suppression: a greedy NMS with torchvision.ops.nms's semantics, and yolov5 v7.0's
// non_max_suppression on top of it. libtorch has no torchvision, so the greedy pass runs here in
// JavaScript (src/portable/greedy-nms.ts, shared with the portable path) over typed arrays pulled out
// of the tensors once (no per-box tensor ops).
import { callTensor, cat, fromTypedArray, type Tensor, tensor, tidy, zeros } from '@tsyolo/torch';
import { greedyNmsSorted } from '../portable/greedy-nms.js';
import { MAX_NMS, MAX_WH } from '../portable/nms.js';
import type { NmsOptions as PortableNmsOptions } from '../portable/types.js';
import { xywh2xyxy } from './convert.js';

/** Class offset added to boxes for class-aware NMS (pixels; larger than any image side). */
export const maxWh = MAX_WH;
/** At most this many boxes (the most confident) go into nms() per image. */
export const maxNms = MAX_NMS;

/**
 * Greedy NMS over xyxy boxes (n,4) with scores (n): indices (int64, on the boxes' device) of the kept
 * boxes in decreasing score order. Boxes are visited in the order of scores.sort(0, descending) and
 * a box is suppressed when its IoU with an already kept box is strictly greater than iouThres.
 * The IoU is computed in the boxes' dtype exactly as torchvision's CPU kernel does:
 * inter / (area_i + area_j - inter), areas (x2-x1)*(y2-y1), no eps.
 */
export function nms(boxes: Tensor, scores: Tensor, iouThres: number): Tensor {
  if (boxes.ndim !== 2 || boxes.shape[1] !== 4)
    throw new Error(`nms: boxes must be (n,4), got [${boxes.shape.join(', ')}]`);
  if (scores.ndim !== 1 || scores.shape[0] !== boxes.shape[0]) {
    throw new Error(`nms: scores must be (${boxes.shape[0]}), got [${scores.shape.join(', ')}]`);
  }
  const n = boxes.shape[0];
  const device = boxes.device;
  if (n === 0) return zeros([0], { dtype: 'int64', device });
  const double = boxes.dtype === 'float64';
  const { coords, order, xOrder } = tidy(() => {
    const b = (device === 'cpu' ? boxes : boxes.cpu())
      .to(double ? 'float64' : 'float32')
      .t()
      .contiguous(); // (4,n)
    const s = device === 'cpu' ? scores : scores.cpu();
    const o = s.sort(0, true).indices.to('int32');
    const xo = b.select(0, 0).argsort().to('int32'); // by x1, for the overlap search
    return {
      coords: b.toTypedArray() as Float32Array | Float64Array,
      order: o.toTypedArray() as Int32Array,
      xOrder: xo.toTypedArray() as Int32Array,
    };
  });
  const keep = greedyNmsSorted(coords, order, xOrder, n, iouThres, !double);
  return tidy(() => {
    const k = fromTypedArray(keep, [keep.length]).to('int64');
    return device === 'cpu' ? k : k.to(device);
  });
}

export interface NmsOptions extends PortableNmsOptions {
  /** Number of mask coefficients at the end of each row (segmentation models). Default 0. */
  nm?: number;
}

/**
 * yolov5 v7.0's non_max_suppression on an inference output (bs, N, 5+nc+nm) of rows
 * [cx, cy, w, h, obj, cls..., masks...]: one (n, 6+nm) tensor [x1, y1, x2, y2, conf, cls, masks...]
 * per image, sorted by decreasing confidence. A list (as Detect returns in eval mode) uses its first element.
 * Half-precision input is processed in float32 (yolov5's class offsets overflow float16).
 * yolov5's time limit (a warning and an early stop) and merge-NMS (off by default) are not implemented.
 */
export function nonMaxSuppression(prediction: Tensor | readonly Tensor[], opts: NmsOptions = {}): Tensor[] {
  const confThres = opts.confThres ?? 0.25;
  const iouThres = opts.iouThres ?? 0.45;
  const agnostic = opts.agnostic ?? false;
  const maxDet = opts.maxDet ?? 300;
  const nm = opts.nm ?? 0;
  const classes = opts.classes ?? null;
  if (!(confThres >= 0 && confThres <= 1))
    throw new RangeError(`Invalid Confidence threshold ${confThres}, valid values are between 0.0 and 1.0`);
  if (!(iouThres >= 0 && iouThres <= 1))
    throw new RangeError(`Invalid IoU ${iouThres}, valid values are between 0.0 and 1.0`);
  const pred = Array.isArray(prediction) ? (prediction as readonly Tensor[])[0] : (prediction as Tensor);
  if (pred.ndim !== 3)
    throw new Error(`nonMaxSuppression: prediction must be (bs, N, 5+nc), got [${pred.shape.join(', ')}]`);
  const [bs, , no] = pred.shape;
  const nc = no - nm - 5;
  const mi = 5 + nc;
  const multiLabel = (opts.multiLabel ?? false) && nc > 1;
  const device = pred.device;
  const low = pred.dtype === 'float16' || pred.dtype === 'bfloat16';

  const output: Tensor[] = [];
  for (let xi = 0; xi < bs; xi++) {
    output.push(
      tidy(() => {
        const empty = (): Tensor => zeros([0, 6 + nm], { dtype: low ? 'float32' : pred.dtype, device });
        let p = pred.select(0, xi);
        if (low) p = p.float();
        let x = p.index(p.select(1, 4).gt(confThres)); // candidates (a copy)
        if (x.shape[0] === 0) return empty();
        x.index(':', '5:').mul_(x.index(':', '4:5')); // conf = obj * cls (mask columns too, as v7.0)
        const box = xywh2xyxy(x.index(':', ':4'));
        const mask = x.index(':', `${mi}:`);
        if (multiLabel) {
          const [i, j] = x.index(':', `5:${mi}`).gt(confThres).nonzero().unbind(1);
          x = cat([box.index(i), x.index(i, j.add(5)).unsqueeze(1), j.unsqueeze(1).to(x.dtype), mask.index(i)], 1);
        } else {
          const { values: conf, indices: j } = x.index(':', `5:${mi}`).maxDim(1, true);
          x = cat([box, conf, j.to(x.dtype), mask], 1).index(conf.view(-1).gt(confThres));
        }
        if (classes !== null) {
          const want = tensor([...classes], { dtype: x.dtype, device });
          x = x.index(callTensor('any.dim', [x.index(':', '5:6').eq(want), 1]));
        }
        if (x.shape[0] === 0) return empty();
        x = x.index(x.select(1, 4).argsort(0, true).index(`:${maxNms}`)); // by confidence, at most maxNms
        const offsets = x.index(':', '5:6').mul(agnostic ? 0 : maxWh);
        const keep = nms(x.index(':', ':4').add(offsets), x.select(1, 4), iouThres).index(`:${maxDet}`);
        return x.index(keep);
      }),
    );
  }
  return output;
}
