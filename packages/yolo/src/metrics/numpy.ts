// Small numeric helpers that reproduce numpy's documented results to the last bit, on float64 arrays:
// linspace, sum/mean in numpy's pairwise order, round-half-to-even, interp, trapz, plus yolov5's
// smooth() box filter and a first-maximum argmax. The metrics code builds on these so that its
// numbers agree exactly with yolov5's and pycocotools' numpy code.
import { roundHalfEven } from '../util/python.js';

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

/** Sum of 8 ≤ n ≤ 128 values with eight interleaved accumulators, folded as numpy folds them. */
function unrolledSum(a: ArrayLike<number>, off: number, n: number): number {
  let r0 = a[off],
    r1 = a[off + 1],
    r2 = a[off + 2],
    r3 = a[off + 3];
  let r4 = a[off + 4],
    r5 = a[off + 5],
    r6 = a[off + 6],
    r7 = a[off + 7];
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
  if (n <= 128) return unrolledSum(a, off, n);
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

/** np.round / np.rint: round half to even (the same rule as Python's round()). */
export { roundHalfEven };

/** Largest j with xp[j] <= x (xp non-decreasing, xp[0] <= x), by binary search. */
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

/** np.interp for one x with xp[0] <= x <= xp[last]: the value on the segment that starts at or before x. */
function interpInside(v: number, xp: ArrayLike<number>, fp: ArrayLike<number>): number {
  const n = xp.length;
  const j = lastLE(xp, v);
  if (j >= n - 1) return fp[n - 1];
  if (xp[j] === v) return fp[j];
  const slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
  let r = slope * (v - xp[j]) + fp[j];
  if (Number.isNaN(r)) {
    // numpy retries from the right end of the segment, then accepts a flat segment's value
    r = slope * (v - xp[j + 1]) + fp[j + 1];
    if (Number.isNaN(r) && fp[j] === fp[j + 1]) r = fp[j];
  }
  return r;
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
    if (Number.isNaN(v)) out[k] = v;
    else if (v > xLast) out[k] = rval;
    else if (v < xp[0]) out[k] = lval;
    else out[k] = interpInside(v, xp, fp);
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

/** np.argmax: index of the first largest value (0 for an empty array). */
export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}
