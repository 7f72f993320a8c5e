// Non-maximum suppression: a greedy NMS with torchvision.ops.nms's semantics, and yolov5 v7.0's
// non_max_suppression on top of it. libtorch has no torchvision, so the greedy pass runs here in
// JavaScript over typed arrays pulled out of the tensors once (no per-box tensor ops).
import { callTensor, fromTypedArray, tensor, tidy, zeros, cat, type Tensor } from '@tsyolo/torch';
import { xywh2xyxy } from './convert.js';
import type { NmsOptions as PortableNmsOptions } from '../portable/types.js';

/** Class offset added to boxes for class-aware NMS (pixels; larger than any image side). */
export const maxWh = 7680;
/** At most this many boxes (the most confident) go into nms() per image. */
export const maxNms = 30000;

/**
 * Greedy NMS over xyxy boxes (n,4) with scores (n): indices (int64, on the boxes' device) of the kept
 * boxes in decreasing score order. Boxes are visited in the order of scores.sort(0, descending) and
 * a box is suppressed when its IoU with an already kept box is strictly greater than iouThres.
 * The IoU is computed in the boxes' dtype exactly as torchvision's CPU kernel does:
 * inter / (area_i + area_j - inter), areas (x2-x1)*(y2-y1), no eps.
 */
export function nms(boxes: Tensor, scores: Tensor, iouThres: number): Tensor {
  if (boxes.ndim !== 2 || boxes.shape[1] !== 4) throw new Error(`nms: boxes must be (n,4), got [${boxes.shape.join(', ')}]`);
  if (scores.ndim !== 1 || scores.shape[0] !== boxes.shape[0]) {
    throw new Error(`nms: scores must be (${boxes.shape[0]}), got [${scores.shape.join(', ')}]`);
  }
  const n = boxes.shape[0];
  const device = boxes.device;
  if (n === 0) return zeros([0], { dtype: 'int64', device });
  const double = boxes.dtype === 'float64';
  const { coords, order, xOrder } = tidy(() => {
    const b = (device === 'cpu' ? boxes : boxes.cpu()).to(double ? 'float64' : 'float32').t().contiguous(); // (4,n)
    const s = device === 'cpu' ? scores : scores.cpu();
    const o = s.sort(0, true).indices.to('int32');
    const xo = b.select(0, 0).argsort().to('int32'); // by x1, for the overlap search
    return { coords: b.toTypedArray() as Float32Array | Float64Array, order: o.toTypedArray() as Int32Array, xOrder: xo.toTypedArray() as Int32Array };
  });
  const keep = greedy(coords, order, xOrder, n, iouThres, !double);
  return tidy(() => {
    const k = fromTypedArray(keep, [keep.length]).to('int64');
    return device === 'cpu' ? k : k.to(device);
  });
}

// The greedy pass. In float32 mode every operation is rounded with Math.fround, which reproduces IEEE
// single precision exactly (a +,-,*,/ of two floats done in double and rounded once is correctly
// rounded), so IoUs and the `> thr` decisions match torchvision's CPU kernel bit for bit.
// coords holds x1[n], y1[n], x2[n], y2[n]; order is the visiting order (by score).
//
// Only pairs that overlap are evaluated: a pair whose intersection has no positive width has inter = 0
// and an IoU of 0 (or NaN), never > thr when thr >= 0. The live boxes (not yet visited, not suppressed)
// sit in x1 order, in buckets of B positions under a max-tree of their x2; the boxes that can overlap a kept box [x1, x2] are the
// live ones with x1' < x2 (a prefix of that order) and x2' > x1 (found by descending the tree, skipping
// subtrees whose max x2 is <= x1). Class offsets put different classes in disjoint x ranges, so a query
// only touches boxes of its own class that overlap it along x; boxes leave the tree as soon as they are
// visited or suppressed. With thr < 0 or NaN coordinates every later box is visited, as torchvision does.
const B = 16; // positions per bucket of the max-tree

function greedy(c: Float32Array | Float64Array, order: Int32Array, xOrder: Int32Array, n: number, thr: number, single: boolean): Int32Array {
  const Arr = single ? Float32Array : Float64Array;
  // boxes by rank (visiting order)
  const x1 = new Arr(n);
  const y1 = new Arr(n);
  const x2 = new Arr(n);
  const y2 = new Arr(n);
  const ar = new Arr(n);
  let finite = true;
  for (let r = 0; r < n; r++) {
    const k = order[r];
    const a = c[k];
    const b = c[n + k];
    const d = c[2 * n + k];
    const e = c[3 * n + k];
    x1[r] = a;
    y1[r] = b;
    x2[r] = d;
    y2[r] = e;
    ar[r] = single ? Math.fround(Math.fround(d - a) * Math.fround(e - b)) : (d - a) * (e - b);
    if (a !== a || b !== b || d !== d || e !== e) finite = false;
  }
  const suppressed = new Uint8Array(n);
  const keep = new Int32Array(n);
  let nk = 0;

  if (!(thr >= 0) || !finite || n < 32) {
    for (let r = 0; r < n; r++) {
      if (suppressed[r]) continue;
      keep[nk++] = order[r];
      for (let s = r + 1; s < n; s++) {
        if (suppressed[s]) continue;
        const o = single
          ? iou32(x1[r], y1[r], x2[r], y2[r], ar[r], x1[s], y1[s], x2[s], y2[s], ar[s])
          : iou64(x1[r], y1[r], x2[r], y2[r], ar[r], x1[s], y1[s], x2[s], y2[s], ar[s]);
        if (o > thr) suppressed[s] = 1;
      }
    }
    return keep.subarray(0, nk);
  }

  // positions in x1 order: the rank at each position, x1 and (while live) x2 by position
  const byX = new Int32Array(n);
  const rankOf = new Int32Array(n);
  for (let r = 0; r < n; r++) rankOf[order[r]] = r;
  for (let p = 0; p < n; p++) byX[p] = rankOf[xOrder[p]];
  const sx1 = new Arr(n);
  const px2 = new Float64Array(n); // -Infinity once visited or suppressed
  const posOf = new Int32Array(n);
  for (let p = 0; p < n; p++) {
    const r = byX[p];
    sx1[p] = x1[r];
    px2[p] = x2[r];
    posOf[r] = p;
  }
  // a max-tree of px2 over buckets of B positions: bucket k is leaf size + k
  const nb = Math.ceil(n / B);
  let size = 1;
  while (size < nb) size <<= 1;
  const mx = new Float64Array(2 * size).fill(-Infinity);
  for (let p = 0; p < n; p++) {
    const i = size + ((p / B) | 0);
    if (px2[p] > mx[i]) mx[i] = px2[p];
  }
  for (let i = size - 1; i >= 1; i--) mx[i] = mx[2 * i] > mx[2 * i + 1] ? mx[2 * i] : mx[2 * i + 1];
  const kill = (r: number): void => {
    const p = posOf[r];
    px2[p] = -Infinity;
    const k = (p / B) | 0;
    let m = -Infinity;
    for (let q = k * B, e = Math.min(q + B, n); q < e; q++) if (px2[q] > m) m = px2[q];
    let i = size + k;
    if (m === mx[i]) return;
    mx[i] = m;
    for (i >>= 1; i >= 1; i >>= 1) {
      const v = mx[2 * i] > mx[2 * i + 1] ? mx[2 * i] : mx[2 * i + 1];
      if (v === mx[i]) break;
      mx[i] = v;
    }
  };
  const stack = new Int32Array(64);

  for (let r = 0; r < n; r++) {
    if (suppressed[r]) continue;
    keep[nk++] = order[r];
    kill(r); // visited: no longer a candidate
    const ix1 = x1[r];
    const iy1 = y1[r];
    const ix2 = x2[r];
    const iy2 = y2[r];
    const ia = ar[r];
    // hi: first position with x1 >= ix2 (boxes from there on have no positive overlap along x)
    let a = 0;
    let b = n;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (sx1[mid] >= ix2) b = mid;
      else a = mid + 1;
    }
    const hi = a;
    if (hi === 0) continue;
    const hb = Math.ceil(hi / B); // buckets [0, hb) hold positions below hi
    let sp = 0;
    stack[sp++] = 1;
    while (sp > 0) {
      const i = stack[--sp];
      if (i < size) {
        // children of i cover buckets [l, l + span) and [l + span, l + 2 span)
        const level = 31 - Math.clz32(i);
        const span = size >>> (level + 1);
        const l = (i - (1 << level)) * 2 * span;
        if (l + span < hb && mx[2 * i + 1] > ix1) stack[sp++] = 2 * i + 1;
        if (mx[2 * i] > ix1) stack[sp++] = 2 * i;
        continue;
      }
      const q0 = (i - size) * B;
      const q1 = Math.min(q0 + B, hi);
      for (let q = q0; q < q1; q++) {
        if (!(px2[q] > ix1)) continue;
        const s = byX[q];
        if (!(y2[s] > iy1 && y1[s] < iy2)) continue; // no positive overlap along y
        const o = single
          ? iou32(ix1, iy1, ix2, iy2, ia, x1[s], y1[s], x2[s], y2[s], ar[s])
          : iou64(ix1, iy1, ix2, iy2, ia, x1[s], y1[s], x2[s], y2[s], ar[s]);
        if (o > thr) {
          suppressed[s] = 1;
          kill(s);
        }
      }
    }
  }
  return keep.subarray(0, nk);
}

/** IoU of two boxes in float32 as torchvision's CPU kernel computes it (w, h floored at 0, no eps). */
function iou32(ix1: number, iy1: number, ix2: number, iy2: number, ia: number, jx1: number, jy1: number, jx2: number, jy2: number, ja: number): number {
  const f = Math.fround;
  const dw = f((ix2 < jx2 ? ix2 : jx2) - (ix1 > jx1 ? ix1 : jx1));
  const dh = f((iy2 < jy2 ? iy2 : jy2) - (iy1 > jy1 ? iy1 : jy1));
  const inter = f((dw > 0 ? dw : 0) * (dh > 0 ? dh : 0)); // std::max(0, d): NaN becomes 0
  return f(inter / f(f(ia + ja) - inter));
}

function iou64(ix1: number, iy1: number, ix2: number, iy2: number, ia: number, jx1: number, jy1: number, jx2: number, jy2: number, ja: number): number {
  const dw = (ix2 < jx2 ? ix2 : jx2) - (ix1 > jx1 ? ix1 : jx1);
  const dh = (iy2 < jy2 ? iy2 : jy2) - (iy1 > jy1 ? iy1 : jy1);
  const inter = (dw > 0 ? dw : 0) * (dh > 0 ? dh : 0);
  return inter / (ia + ja - inter);
}

/** The portable NMS's options, plus mask coefficients. */
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
  if (!(confThres >= 0 && confThres <= 1)) throw new RangeError(`Invalid Confidence threshold ${confThres}, valid values are between 0.0 and 1.0`);
  if (!(iouThres >= 0 && iouThres <= 1)) throw new RangeError(`Invalid IoU ${iouThres}, valid values are between 0.0 and 1.0`);
  const pred = Array.isArray(prediction) ? (prediction as readonly Tensor[])[0] : (prediction as Tensor);
  if (pred.ndim !== 3) throw new Error(`nonMaxSuppression: prediction must be (bs, N, 5+nc), got [${pred.shape.join(', ')}]`);
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
