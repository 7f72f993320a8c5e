// The greedy pass of NMS with torchvision.ops.nms's semantics, shared by the libtorch path
// (src/boxes/nms.ts) and the portable one (./nms.ts). In float32 mode every operation is rounded with
// Math.fround, which reproduces IEEE single precision exactly (a +,-,*,/ of two floats done in double
// and rounded once is correctly rounded), so IoUs and the `> thr` decisions match torchvision's CPU
// kernel bit for bit.
//
// Only pairs that overlap are evaluated: a pair whose intersection has no positive width has inter = 0
// and an IoU of 0 (or NaN), never > thr when thr >= 0. The live boxes (not yet visited, not suppressed)
// sit in x1 order, in buckets of B positions under a max-tree of their x2; the boxes that can overlap a
// kept box [x1, x2] are the live ones with x1' < x2 (a prefix of that order) and x2' > x1 (found by
// descending the tree, skipping subtrees whose max x2 is <= x1). Class offsets put different classes in
// disjoint x ranges, so a query only touches boxes of its own class that overlap it along x; boxes
// leave the tree as soon as they are visited or suppressed. With thr < 0 or NaN coordinates every
// later box is visited, as torchvision does.

const B = 16; // positions per bucket of the max-tree

/** Boxes by rank (visiting order): corners and areas, in float32 or float64. */
interface RankedBoxes {
  x1: Float32Array | Float64Array;
  y1: Float32Array | Float64Array;
  x2: Float32Array | Float64Array;
  y2: Float32Array | Float64Array;
  area: Float32Array | Float64Array;
  finite: boolean;
  iou: (r: number, s: number) => number;
}

/**
 * Greedy NMS: coords holds x1[n], y1[n], x2[n], y2[n] (structure of arrays); order is the visiting
 * order (by decreasing score), xOrder the boxes sorted by x1. Returns the kept box indices in visiting
 * order. single: float32 arithmetic (else float64).
 */
export function greedyNmsSorted(
  coords: Float32Array | Float64Array,
  order: Int32Array,
  xOrder: Int32Array,
  n: number,
  thr: number,
  single: boolean,
): Int32Array {
  const boxes = rankBoxes(coords, order, n, single);
  if (!(thr >= 0) || !boxes.finite || n < 32) return greedyAllPairs(boxes, order, n, thr);
  return greedyOverlapping(boxes, order, xOrder, n, thr);
}

function rankBoxes(c: Float32Array | Float64Array, order: Int32Array, n: number, single: boolean): RankedBoxes {
  const Arr = single ? Float32Array : Float64Array;
  const [x1, y1, x2, y2, area] = [new Arr(n), new Arr(n), new Arr(n), new Arr(n), new Arr(n)];
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
    area[r] = single ? Math.fround(Math.fround(d - a) * Math.fround(e - b)) : (d - a) * (e - b);
    if (Number.isNaN(a) || Number.isNaN(b) || Number.isNaN(d) || Number.isNaN(e)) finite = false;
  }
  const f = single ? iou32 : iou64;
  const iou = (r: number, s: number): number =>
    f(x1[r], y1[r], x2[r], y2[r], area[r], x1[s], y1[s], x2[s], y2[s], area[s]);
  return { x1, y1, x2, y2, area, finite, iou };
}

/** Every later live box is compared with each kept one. */
function greedyAllPairs(boxes: RankedBoxes, order: Int32Array, n: number, thr: number): Int32Array {
  const suppressed = new Uint8Array(n);
  const keep = new Int32Array(n);
  let nk = 0;
  for (let r = 0; r < n; r++) {
    if (suppressed[r]) continue;
    keep[nk++] = order[r];
    for (let s = r + 1; s < n; s++) if (!suppressed[s] && boxes.iou(r, s) > thr) suppressed[s] = 1;
  }
  return keep.subarray(0, nk);
}

/** Only the live boxes that overlap a kept box along x (found through LiveBoxes) are compared with it. */
function greedyOverlapping(
  boxes: RankedBoxes,
  order: Int32Array,
  xOrder: Int32Array,
  n: number,
  thr: number,
): Int32Array {
  const live = new LiveBoxes(boxes, order, xOrder, n);
  const suppressed = new Uint8Array(n);
  const keep = new Int32Array(n);
  let nk = 0;
  for (let r = 0; r < n; r++) {
    if (suppressed[r]) continue;
    keep[nk++] = order[r];
    live.remove(r); // visited: no longer a candidate
    live.forEachOverlapping(r, (s) => {
      if (boxes.iou(r, s) > thr) {
        suppressed[s] = 1;
        live.remove(s);
      }
    });
  }
  return keep.subarray(0, nk);
}

/** The live boxes in x1 order, in buckets of B positions under a max-tree of their x2. */
class LiveBoxes {
  private readonly byX: Int32Array; // rank at each position
  private readonly posOf: Int32Array; // position of each rank
  private readonly sx1: Float32Array | Float64Array; // x1 by position
  private readonly px2: Float64Array; // x2 by position, -Infinity once visited or suppressed
  private readonly mx: Float64Array; // the max-tree: bucket k is leaf size + k
  private readonly size: number;
  private readonly stack = new Int32Array(64);

  constructor(
    private readonly boxes: RankedBoxes,
    order: Int32Array,
    xOrder: Int32Array,
    private readonly n: number,
  ) {
    const rankOf = new Int32Array(n);
    for (let r = 0; r < n; r++) rankOf[order[r]] = r;
    this.byX = new Int32Array(n);
    for (let p = 0; p < n; p++) this.byX[p] = rankOf[xOrder[p]];
    this.sx1 = new (boxes.x1 instanceof Float32Array ? Float32Array : Float64Array)(n);
    this.px2 = new Float64Array(n);
    this.posOf = new Int32Array(n);
    for (let p = 0; p < n; p++) {
      const r = this.byX[p];
      this.sx1[p] = boxes.x1[r];
      this.px2[p] = boxes.x2[r];
      this.posOf[r] = p;
    }
    let size = 1;
    while (size < Math.ceil(n / B)) size <<= 1;
    this.size = size;
    this.mx = new Float64Array(2 * size).fill(-Infinity);
    for (let p = 0; p < n; p++) {
      const i = size + ((p / B) | 0);
      if (this.px2[p] > this.mx[i]) this.mx[i] = this.px2[p];
    }
    for (let i = size - 1; i >= 1; i--)
      this.mx[i] = this.mx[2 * i] > this.mx[2 * i + 1] ? this.mx[2 * i] : this.mx[2 * i + 1];
  }

  /** Takes rank r out of the candidates and updates the maxima above its bucket. */
  remove(r: number): void {
    const { px2, mx, n, size } = this;
    const p = this.posOf[r];
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
  }

  /** Calls fn(s) for each live rank s whose box overlaps rank r's with positive width and height. */
  forEachOverlapping(r: number, fn: (s: number) => void): void {
    const { x1, y1, x2, y2 } = this.boxes;
    const hi = this.firstAtOrRight(x2[r]);
    if (hi === 0) return;
    const [ix1, iy1, iy2] = [x1[r], y1[r], y2[r]];
    this.forEachBucket(ix1, Math.ceil(hi / B), (q0) => {
      for (let q = q0, q1 = Math.min(q0 + B, hi); q < q1; q++) {
        if (!(this.px2[q] > ix1)) continue;
        const s = this.byX[q];
        if (y2[s] > iy1 && y1[s] < iy2) fn(s); // positive overlap along y
      }
    });
  }

  /** The first position whose x1 is >= x (boxes from there on have no positive overlap along x). */
  private firstAtOrRight(x: number): number {
    let a = 0;
    let b = this.n;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (this.sx1[mid] >= x) b = mid;
      else a = mid + 1;
    }
    return a;
  }

  /** Calls fn(first position) for each bucket below hb whose maximum x2 is > x1, descending the tree. */
  private forEachBucket(x1: number, hb: number, fn: (q0: number) => void): void {
    const { mx, size, stack } = this;
    let sp = 0;
    stack[sp++] = 1;
    while (sp > 0) {
      const i = stack[--sp];
      if (i >= size) {
        fn((i - size) * B);
        continue;
      }
      // children of i cover buckets [l, l + span) and [l + span, l + 2 span)
      const level = 31 - Math.clz32(i);
      const span = size >>> (level + 1);
      const l = (i - (1 << level)) * 2 * span;
      if (l + span < hb && mx[2 * i + 1] > x1) stack[sp++] = 2 * i + 1;
      if (mx[2 * i] > x1) stack[sp++] = 2 * i;
    }
  }
}

/** IoU of two boxes in float32 as torchvision's CPU kernel computes it (w, h floored at 0, no eps). */
function iou32(
  ix1: number,
  iy1: number,
  ix2: number,
  iy2: number,
  ia: number,
  jx1: number,
  jy1: number,
  jx2: number,
  jy2: number,
  ja: number,
): number {
  const f = Math.fround;
  const dw = f((ix2 < jx2 ? ix2 : jx2) - (ix1 > jx1 ? ix1 : jx1));
  const dh = f((iy2 < jy2 ? iy2 : jy2) - (iy1 > jy1 ? iy1 : jy1));
  const inter = f((dw > 0 ? dw : 0) * (dh > 0 ? dh : 0)); // std::max(0, d): NaN becomes 0
  return f(inter / f(f(ia + ja) - inter));
}

function iou64(
  ix1: number,
  iy1: number,
  ix2: number,
  iy2: number,
  ia: number,
  jx1: number,
  jy1: number,
  jx2: number,
  jy2: number,
  ja: number,
): number {
  const dw = (ix2 < jx2 ? ix2 : jx2) - (ix1 > jx1 ? ix1 : jx1);
  const dh = (iy2 < jy2 ? iy2 : jy2) - (iy1 > jy1 ? iy1 : jy1);
  const inter = (dw > 0 ? dw : 0) * (dh > 0 ? dh : 0);
  return inter / (ia + ja - inter);
}
