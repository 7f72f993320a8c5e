// AutoAnchor (yolov5 v7.0's check_anchors / kmean_anchors), written from the documented algorithm and
// made deterministic: every random draw comes from one seeded Xoshiro128 stream, in a documented order.
//
// The anchor–label fit is yolov5's ratio metric. For a label (w, h) and an anchor (kw, kh):
//   r = (w / kw, h / kh);  x = min over both sides of min(r, 1/r)        (1 = perfect fit, → 0 = poor fit)
// A label "fits" an anchor when x > 1/thr (thr = hyp anchor_t, 4.0: at most 4× larger or smaller per side).
//   bpr (best possible recall)  = the share of labels whose best anchor fits
//   aat (anchors above thr)     = the mean number of fitting anchors per label
//
// Draw order of the seeded stream (checkAnchors, then kmeanAnchors on the same stream):
//   1. one uniform(0.9, 1.1) per image, in dataset order (images without labels draw too), the
//      random scale yolov5 applies to the label sizes before measuring the fit;
//   2. only when anchors are recomputed, kmeanAnchors: the k-means++ draws (one uniform for the first
//      centre, then one per further centre) or, when k-means cannot give n centres, 2n uniforms for
//      yolov5's random initialisation;
//   3. per generation of the genetic evolution, per attempt (an attempt is repeated while it would change
//      nothing): 2n uniforms for the mutation mask (row-major over the n×2 anchors), one uniform for the
//      generation's scale, then 2n standard normals from n Box–Muller pairs (2 uniforms each; the cosine
//      value fills element 2j, the sine value element 2j+1).
//
// Deviations from yolov5 (all documented where they happen):
//   - yolov5 initialises with scipy.cluster.vq.kmeans(wh / std, n, iter=30), which runs 30 k-means
//     restarts from randomly chosen observations (numpy's global generator) and keeps the one of lowest
//     distortion. Here: one k-means++ initialisation from the seeded stream, then at most 30 Lloyd
//     iterations (stopping early once no assignment changes); scipy's initialisation is not reproduced,
//     so the starting anchors (and hence the evolved ones) differ from a Python run. As in scipy, a
//     cluster that loses all its points is dropped, which sends yolov5 to its random initialisation.
//   - numpy.random / random.random are replaced by the seeded Xoshiro128 (uniforms) and our own
//     Box–Muller sampler (normals).
//   - the fitness of the evolution is computed in float64 (yolov5: float32 torch), in the log domain:
//     min over sides of min(r, 1/r) = exp(−max(|log w − log kw|, |log h − log kh|)), so the inner loop over
//     labels × anchors needs no division. checkAnchors' bpr/aat follow yolov5's float32 arithmetic.
import { noGrad, tensor, tidy } from '@tsyolo/torch';
import { Xoshiro128 } from '../data/rng.js';
import type { Rng } from '../data/types.js';
import type { DetectionModel } from '../models/model.js';
import { checkAnchorOrder } from '../models/model.js';

const PREFIX = 'AutoAnchor: ';
const f32 = Math.fround;

export interface CheckAnchorsOptions {
  model: DetectionModel;
  /** original image sizes of the training set, [h, w] per image, in dataset order */
  shapes: readonly (readonly [number, number])[];
  /** per image: n × 5 rows [class, x, y, w, h], normalised to 0..1 */
  labels: readonly Float32Array[];
  /** hyp anchor_t: a label fits an anchor when neither side is more than thr× larger or smaller (4.0) */
  thr?: number;
  /** training image size (the long side every image is scaled to) */
  imgsz: number;
  /** seed of the random stream (label scale jitter, k-means++ and the evolution); default 0 */
  seed?: number;
  /** generations of the genetic evolution when anchors are recomputed (yolov5: 1000) */
  gen?: number;
  log?: (msg: string) => void;
}

export interface CheckAnchorsResult {
  /** best possible recall of the model's anchors before the check */
  bpr: number;
  /** mean number of anchors above the threshold per label, before the check */
  aat: number;
  /** whether new anchors were written into the model */
  replaced: boolean;
  /** BPR of the recomputed anchors, when they were computed (bpr ≤ 0.98) */
  newBpr?: number;
  /** the model's anchors after the check, in pixels, (nl·na) × 2 in level order */
  anchors: Float32Array;
}

export interface KmeanAnchorsOptions {
  /** number of anchors (yolov5: 9) */
  n?: number;
  /** image size, scale of the random fallback initialisation (640) */
  imgSize?: number;
  /** hyp anchor_t (4.0) */
  thr?: number;
  /** generations of the genetic evolution (1000) */
  gen?: number;
  /** seed of a fresh Xoshiro128 stream (0), unless `rng` is given */
  seed?: number;
  /** continue an existing stream instead (checkAnchors passes its own) */
  rng?: Rng;
  log?: (msg: string) => void;
}

/**
 * Label sizes in pixels at training resolution: each image's [w, h] scaled so its long side is imgsz,
 * times an optional per-image factor, times each label's normalised w, h. Returned as float32, N × 2 flat
 * (yolov5 measures the fit on float32 tensors).
 */
export function labelSizes(
  shapes: readonly (readonly [number, number])[],
  labels: readonly Float32Array[],
  imgsz: number,
  scales?: ArrayLike<number>,
): Float32Array {
  if (shapes.length !== labels.length)
    throw new Error(`AutoAnchor: ${shapes.length} image shapes but ${labels.length} label sets`);
  let total = 0;
  for (const l of labels) {
    if (l.length % 5) throw new Error(`AutoAnchor: label rows must have 5 values (got ${l.length} values)`);
    total += l.length / 5;
  }
  const wh = new Float32Array(total * 2);
  let o = 0;
  for (let i = 0; i < labels.length; i++) {
    const [h, w] = shapes[i];
    const m = Math.max(w, h);
    const s = scales ? scales[i] : 1;
    // yolov5: shapes = imgsz * (w, h) / max(w, h), then * scale, then per label l[:, 3:5] * that
    const sw = ((imgsz * w) / m) * s;
    const sh = ((imgsz * h) / m) * s;
    const l = labels[i];
    for (let r = 0; r < l.length; r += 5) {
      wh[o++] = l[r + 3] * sw;
      wh[o++] = l[r + 4] * sh;
    }
  }
  return wh;
}

/**
 * yolov5's anchor fit of labels `wh` (N × 2 flat) to `anchors` (K × 2 flat, pixels), in float32 arithmetic:
 * bpr = share of labels whose best anchor has x > 1/thr; aat = mean count of anchors with x > 1/thr per label.
 */
export function anchorMetric(
  wh: ArrayLike<number>,
  anchors: ArrayLike<number>,
  thr = 4.0,
): { bpr: number; aat: number } {
  const n = wh.length >> 1;
  const k = anchors.length >> 1;
  const t = f32(1 / thr);
  let nBest = 0;
  let nAbove = 0;
  for (let i = 0; i < n; i++) {
    const w = f32(wh[2 * i]);
    const h = f32(wh[2 * i + 1]);
    let best = -Infinity;
    for (let j = 0; j < k; j++) {
      const rw = f32(w / f32(anchors[2 * j]));
      const rh = f32(h / f32(anchors[2 * j + 1]));
      const x = Math.min(Math.min(rw, f32(1 / rw)), Math.min(rh, f32(1 / rh)));
      if (x > t) nAbove++;
      if (x > best) best = x;
    }
    if (best > t) nBest++;
  }
  return { bpr: nBest / n, aat: nAbove / n };
}

/** The Detect layer's anchors in pixels (grid units × stride, float32 as yolov5 computes them), flat. */
function modelAnchorsPx(model: DetectionModel): Float32Array {
  const d = model.detect;
  return tidy(() => {
    const st = tensor(d.stride).view(-1, 1, 1);
    return d.anchors.to('cpu', 'float32').mul(st).contiguous().toTypedArray() as Float32Array;
  });
}

/**
 * yolov5's check_anchors: measures how well the model's anchors fit the training labels and, when
 * the best possible recall is 0.98 or lower, recomputes them (kmeanAnchors) and writes them into the
 * model (grid units, order checked) if they fit better.
 */
export function checkAnchors(opts: CheckAnchorsOptions): CheckAnchorsResult {
  const { model, shapes, labels, imgsz } = opts;
  const thr = opts.thr ?? 4.0;
  const log = opts.log ?? (() => {});
  const rng = new Xoshiro128(opts.seed ?? 0);
  const d = model.detect;

  // 1. per-image random scale, one draw per image in dataset order
  const scales = new Float64Array(shapes.length);
  for (let i = 0; i < scales.length; i++) scales[i] = rng.uniform(0.9, 1.1);
  const wh = labelSizes(shapes, labels, imgsz, scales);
  const current = modelAnchorsPx(model);

  if (wh.length === 0) {
    log(`${PREFIX}no labels to check the anchors against, keeping them`);
    return { bpr: 0, aat: 0, replaced: false, anchors: current };
  }
  const { bpr, aat } = anchorMetric(wh, current, thr);
  const summary = `${PREFIX}${aat.toFixed(2)} anchors per label, best possible recall ${bpr.toFixed(3)}`;
  if (bpr > 0.98) {
    log(`${summary}: the current anchors fit the dataset`);
    return { bpr, aat, replaced: false, anchors: current };
  }
  log(`${summary}: anchors fit poorly, recomputing them`);

  // 2. kmeanAnchors on the label sizes without the random scale (yolov5 hands it the dataset, whose
  //    sizes it recomputes unscaled), continuing the same random stream
  const na = current.length >> 1;
  const candidate = kmeanAnchors(labelSizes(shapes, labels, imgsz), {
    n: na,
    imgSize: imgsz,
    thr,
    gen: opts.gen ?? 1000,
    rng,
    log,
  });
  const newBpr = anchorMetric(wh, candidate, thr).bpr;
  if (!(newBpr > bpr)) {
    log(`${PREFIX}recomputed anchors reach BPR ${newBpr.toFixed(3)}, not better; keeping the current anchors`);
    return { bpr, aat, replaced: false, newBpr, anchors: current };
  }

  // 3. write them in: pixels in the buffer's dtype and device, order check (in pixels, as yolov5), then grid units
  const { device, dtype, shape } = d.anchors;
  noGrad(() => {
    const px = tidy(() =>
      tensor(candidate)
        .to(device, dtype)
        .view(...shape),
    );
    d.anchors = px; // replaces (and frees) the old buffer, resets the grids
    checkAnchorOrder(d);
    d.anchors = tidy(() => {
      const st = tensor(d.stride).to(device, dtype).view(-1, 1, 1);
      return d.anchors.div(st);
    });
  });
  log(`${PREFIX}new anchors written into the model (BPR ${bpr.toFixed(3)} → ${newBpr.toFixed(3)})`);
  return { bpr, aat, replaced: true, newBpr, anchors: modelAnchorsPx(model) };
}

/** A standard normal per element of `out`, from Box–Muller pairs (cosine → 2j, sine → 2j+1). */
function fillNormals(rng: Rng, out: Float64Array): void {
  for (let j = 0; j < out.length; j += 2) {
    const u1 = 1 - rng.random(); // (0, 1]: log stays finite
    const u2 = rng.random();
    const r = Math.sqrt(-2 * Math.log(u1));
    const a = 2 * Math.PI * u2;
    out[j] = r * Math.cos(a);
    if (j + 1 < out.length) out[j + 1] = r * Math.sin(a);
  }
}

/** Sorts n × 2 anchors by area, small to large (stable). */
function sortByArea(k: Float64Array): Float64Array {
  const n = k.length >> 1;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => k[2 * a] * k[2 * a + 1] - k[2 * b] * k[2 * b + 1]);
  const out = new Float64Array(k.length);
  idx.forEach((src, i) => {
    out[2 * i] = k[2 * src];
    out[2 * i + 1] = k[2 * src + 1];
  });
  return out;
}

/**
 * Lloyd's k-means on N × 2 points with a k-means++ initialisation from `rng`; at most `iters` iterations.
 * Returns the centres, or null when n centres cannot be had (fewer distinct points, or a cluster emptied,
 * which scipy's kmeans answers by dropping the centre).
 */
function kmeans(p: Float64Array, n: number, iters: number, rng: Rng): Float64Array | null {
  const N = p.length >> 1;
  if (n < 1 || n > N) return null;
  const c = kmeansPlusPlus(p, n, rng);
  return c && lloydIterations(p, c, iters);
}

/**
 * k-means++ centres for N × 2 points (1 ≤ n ≤ N): the first uniform, then each with probability
 * proportional to the squared distance to the nearest centre; null when every point is already a centre.
 */
function kmeansPlusPlus(p: Float64Array, n: number, rng: Rng): Float64Array | null {
  const N = p.length >> 1;
  const c = new Float64Array(2 * n);
  const d2 = new Float64Array(N).fill(Infinity);
  let pick = Math.min(N - 1, Math.floor(rng.random() * N));
  for (let j = 0; ; ) {
    c[2 * j] = p[2 * pick];
    c[2 * j + 1] = p[2 * pick + 1];
    let sum = 0;
    for (let i = 0; i < N; i++) {
      const dx = p[2 * i] - c[2 * j];
      const dy = p[2 * i + 1] - c[2 * j + 1];
      const v = dx * dx + dy * dy;
      if (v < d2[i]) d2[i] = v;
      sum += d2[i];
    }
    if (++j === n) break;
    if (!(sum > 0)) return null; // every point is already a centre
    let u = rng.random() * sum;
    pick = -1;
    for (let i = 0; i < N; i++) {
      if (d2[i] <= 0) continue;
      pick = i;
      u -= d2[i];
      if (u < 0) break;
    }
  }
  return c;
}

/**
 * At most `iters` Lloyd iterations moving the centres `c` (n × 2, updated in place and returned) to the
 * means of their nearest points, stopping once no assignment changes; null when a cluster empties.
 */
function lloydIterations(p: Float64Array, c: Float64Array, iters: number): Float64Array | null {
  const N = p.length >> 1;
  const n = c.length >> 1;
  const assign = new Int32Array(N).fill(-1);
  const sx = new Float64Array(n);
  const sy = new Float64Array(n);
  const cnt = new Int32Array(n);
  for (let it = 0; it < iters; it++) {
    let changed = false;
    sx.fill(0);
    sy.fill(0);
    cnt.fill(0);
    for (let i = 0; i < N; i++) {
      const x = p[2 * i];
      const y = p[2 * i + 1];
      let bj = 0;
      let bd = Infinity;
      for (let j = 0; j < n; j++) {
        const dx = x - c[2 * j];
        const dy = y - c[2 * j + 1];
        const v = dx * dx + dy * dy;
        if (v < bd) {
          bd = v;
          bj = j;
        }
      }
      if (assign[i] !== bj) {
        assign[i] = bj;
        changed = true;
      }
      sx[bj] += x;
      sy[bj] += y;
      cnt[bj]++;
    }
    if (!changed) break; // the centres are already the means of their points
    for (let j = 0; j < n; j++) {
      if (!cnt[j]) return null;
      c[2 * j] = sx[j] / cnt[j];
      c[2 * j + 1] = sy[j] / cnt[j];
    }
  }
  return c;
}

/**
 * yolov5's kmean_anchors: n anchors (pixels, n × 2 flat, sorted by area) for label sizes `whAllLabels`
 * (N × 2 flat, pixels at training resolution) by k-means on whitened sizes and a genetic evolution of
 * `gen` generations maximising the mean best-anchor ratio of the labels that fit.
 */
export function kmeanAnchors(whAllLabels: ArrayLike<number>, opts: KmeanAnchorsOptions = {}): Float32Array {
  const n = opts.n ?? 9;
  const imgSize = opts.imgSize ?? 640;
  const thr = 1 / (opts.thr ?? 4.0);
  const gen = opts.gen ?? 1000;
  const rng = opts.rng ?? new Xoshiro128(opts.seed ?? 0);
  const log = opts.log ?? (() => {});
  if (whAllLabels.length % 2) throw new Error('kmeanAnchors: label sizes must be N × 2');

  const wh = usableLabelSizes(whAllLabels, log);
  const start = sortByArea(initialAnchors(wh, n, imgSize, rng, log));
  const evolved = evolveAnchors(start, anchorFitness(wh, n, thr), gen, rng);
  const out = Float32Array.from(sortByArea(evolved.k));
  let s = `${PREFIX}thr=${thr.toFixed(2)}, fitness ${evolved.f.toFixed(4)}, anchors (n=${n}, img_size=${imgSize}):`;
  for (let j = 0; j < n; j++) s += ` ${Math.round(out[2 * j])},${Math.round(out[2 * j + 1])}`;
  log(s);
  return out;
}

/**
 * The label sizes k-means works on: warns about labels with a side under 3 px, drops those with both
 * sides under 2 px, and rounds the rest to float32 (yolov5 casts the filtered sizes to float32).
 * Returned N × 2 flat, in float64 storage.
 */
function usableLabelSizes(whAllLabels: ArrayLike<number>, log: (msg: string) => void): Float64Array {
  const N0 = whAllLabels.length >> 1;
  let tiny = 0;
  let kept = 0;
  for (let i = 0; i < N0; i++) {
    const w = whAllLabels[2 * i];
    const h = whAllLabels[2 * i + 1];
    if (w < 3 || h < 3) tiny++;
    if (w >= 2 || h >= 2) kept++;
  }
  if (tiny) log(`${PREFIX}warning: ${tiny} of ${N0} labels are smaller than 3 pixels`);
  const wh = new Float64Array(kept * 2);
  for (let i = 0, o = 0; i < N0; i++) {
    const w = whAllLabels[2 * i];
    const h = whAllLabels[2 * i + 1];
    if (w >= 2 || h >= 2) {
      wh[o++] = f32(w);
      wh[o++] = f32(h);
    }
  }
  return wh;
}

/**
 * The anchors the evolution starts from (n × 2, unsorted): k-means on the sizes whitened by their
 * population standard deviation, scaled back; when k-means cannot give n centres (too few or too
 * alike labels), 2n sorted uniforms times imgSize, yolov5's random initialisation.
 */
function initialAnchors(
  wh: Float64Array,
  n: number,
  imgSize: number,
  rng: Rng,
  log: (msg: string) => void,
): Float64Array {
  const N = wh.length >> 1;
  let k: Float64Array | null = null;
  if (N >= n) {
    const s = sideDeviations(wh);
    const white = new Float64Array(N * 2);
    for (let i = 0; i < N; i++) {
      white[2 * i] = wh[2 * i] / s[0];
      white[2 * i + 1] = wh[2 * i + 1] / s[1];
    }
    log(`${PREFIX}k-means for ${n} anchors on ${N} labels`);
    k = kmeans(white, n, 30, rng);
    if (k) for (let j = 0; j < n; j++) (k[2 * j] *= s[0]), (k[2 * j + 1] *= s[1]);
  }
  if (!k) {
    log(`${PREFIX}warning: k-means cannot give ${n} anchors, starting from random ones`);
    const u = Array.from({ length: 2 * n }, () => rng.random()).sort((a, b) => a - b);
    k = Float64Array.from(u, (v) => v * imgSize);
  }
  return k;
}

/** Population standard deviation of widths and of heights (N × 2 flat, N ≥ 1); 1 for a constant side. */
function sideDeviations(wh: Float64Array): number[] {
  const N = wh.length >> 1;
  const mean = [0, 0];
  for (let i = 0; i < N; i++) {
    mean[0] += wh[2 * i];
    mean[1] += wh[2 * i + 1];
  }
  mean[0] /= N;
  mean[1] /= N;
  const sd = [0, 0];
  for (let i = 0; i < N; i++) {
    sd[0] += (wh[2 * i] - mean[0]) ** 2;
    sd[1] += (wh[2 * i + 1] - mean[1]) ** 2;
  }
  return sd.map((v) => Math.sqrt(v / N) || 1); // a constant side is left unscaled
}

/**
 * The evolution's fitness of n anchors for labels `wh`: the mean over labels of best·[best > thr] (best =
 * the label's best ratio over the anchors), computed in the log domain so the inner loop needs no division.
 * The returned function reuses one scratch buffer; it is not reentrant.
 */
function anchorFitness(wh: Float64Array, n: number, thr: number): (kk: Float64Array) => number {
  const N = wh.length >> 1;
  const lw = new Float64Array(N);
  const lh = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    lw[i] = Math.log(wh[2 * i]);
    lh[i] = Math.log(wh[2 * i + 1]);
  }
  const dThr = -Math.log(thr); // best > thr  ⇔  min distance < −log(thr)
  const lk = new Float64Array(2 * n);
  return (kk: Float64Array): number => {
    for (let j = 0; j < 2 * n; j++) lk[j] = Math.log(kk[j]);
    let sum = 0;
    for (let i = 0; i < N; i++) {
      const a = lw[i];
      const b = lh[i];
      let dmin = Infinity;
      for (let j = 0; j < 2 * n; j += 2) {
        const dw = Math.abs(a - lk[j]);
        const dh = Math.abs(b - lk[j + 1]);
        const dd = dw > dh ? dw : dh;
        if (dd < dmin) dmin = dd;
      }
      if (dmin < dThr) sum += Math.exp(-dmin);
    }
    return N ? sum / N : 0;
  };
}

/**
 * yolov5's genetic evolution of anchors `k` (n × 2 flat) over `gen` generations: each generation
 * multiplies the anchors by a random factor (see mutationFactors), keeps every side at 2 px or more,
 * and adopts the result when its fitness is strictly higher. Returns the best anchors and their fitness.
 */
function evolveAnchors(
  k: Float64Array,
  fitness: (kk: Float64Array) => number,
  gen: number,
  rng: Rng,
): { k: Float64Array; f: number } {
  let f = fitness(k);
  const scratch = { mask: new Float64Array(k.length), z: new Float64Array(k.length) };
  const v = new Float64Array(k.length);
  const kg = new Float64Array(k.length);
  for (let g = 0; g < gen; g++) {
    mutationFactors(rng, v, scratch);
    for (let j = 0; j < k.length; j++) kg[j] = Math.max(2.0, k[j] * v[j]);
    const fg = fitness(kg);
    if (fg > f) {
      f = fg;
      k = Float64Array.from(kg);
    }
  }
  return { k, f };
}

/**
 * One generation's mutation factors into `v`: with probability mp = 0.9 per element, 1 + scalar·z·σ
 * (scalar uniform per attempt, z standard normal, σ = 0.1), else 1; clipped to [0.3, 3]. An attempt in
 * which every factor is exactly 1 is drawn again. `scratch` holds the mask and normal draws.
 */
function mutationFactors(rng: Rng, v: Float64Array, scratch: { mask: Float64Array; z: Float64Array }): void {
  const mp = 0.9;
  const sigma = 0.1;
  const { mask, z } = scratch;
  let allOne = true;
  while (allOne) {
    for (let j = 0; j < v.length; j++) mask[j] = rng.random();
    const scalar = rng.random();
    fillNormals(rng, z);
    for (let j = 0; j < v.length; j++) {
      const m = mask[j] < mp ? 1 : 0;
      v[j] = Math.min(3.0, Math.max(0.3, m * scalar * z[j] * sigma + 1));
      if (v[j] !== 1) allOne = false;
    }
  }
}
