import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tensor, tidy } from '@tsyolo/torch';
import { Xoshiro128 } from '../src/data/rng.js';
import { anchorMetric, buildModel, checkAnchors, type DetectionModel, kmeanAnchors, labelSizes } from '../src/index.js';

// yolov5n's default anchors, pixels, level order (P3/8, P4/16, P5/32)
const DEFAULT_ANCHORS = [10, 13, 16, 30, 33, 23, 30, 61, 62, 45, 59, 119, 116, 90, 156, 198, 373, 326];

interface Dataset {
  shapes: [number, number][];
  labels: Float32Array[];
}

/** n images of random size, each with 0..maxLabels boxes whose pixel sizes (at imgsz) come from `size`. */
function synth(
  seed: number,
  n: number,
  maxLabels: number,
  size: (r: Xoshiro128) => [number, number],
  imgsz = 640,
  square = false,
): Dataset {
  const r = new Xoshiro128(seed, 12345);
  const shapes: [number, number][] = [];
  const labels: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const h = square ? 640 : r.randint(200, 1200);
    const w = square ? 640 : r.randint(200, 1200);
    shapes.push([h, w]);
    const f = imgsz / Math.max(h, w); // pixels at training size per original pixel
    const k = r.randint(0, maxLabels);
    const l = new Float32Array(k * 5);
    for (let j = 0; j < k; j++) {
      const [bw, bh] = size(r);
      l.set([r.randint(0, 2), r.random(), r.random(), Math.min(1, bw / (w * f)), Math.min(1, bh / (h * f))], j * 5);
    }
    labels.push(l);
  }
  return { shapes, labels };
}

/** yolov5's check_anchors metric with plain loops in float64, from scratch (scale draws: one per image). */
function referenceMetric(
  ds: Dataset,
  imgsz: number,
  anchors: number[],
  thr: number,
  seed: number,
): { bpr: number; aat: number } {
  const rng = new Xoshiro128(seed);
  const scale = ds.shapes.map(() => rng.uniform(0.9, 1.1));
  const wh: [number, number][] = [];
  ds.shapes.forEach(([h, w], i) => {
    const m = Math.max(h, w);
    const sw = ((imgsz * w) / m) * scale[i];
    const sh = ((imgsz * h) / m) * scale[i];
    const l = ds.labels[i];
    for (let r = 0; r < l.length; r += 5) wh.push([l[r + 3] * sw, l[r + 4] * sh]);
  });
  let best = 0;
  let above = 0;
  for (const [w, h] of wh) {
    let b = 0;
    for (let j = 0; j < anchors.length; j += 2) {
      const rw = w / anchors[j];
      const rh = h / anchors[j + 1];
      const x = Math.min(Math.min(rw, 1 / rw), Math.min(rh, 1 / rh));
      if (x > 1 / thr) above++;
      b = Math.max(b, x);
    }
    if (b > 1 / thr) best++;
  }
  return { bpr: best / wh.length, aat: above / wh.length };
}

/** Fitness of the evolution, plain loops: mean over labels (≥ 2 px on a side) of best·[best > 1/thr]. */
function referenceFitness(wh: Float32Array, k: ArrayLike<number>, thr: number): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < wh.length; i += 2) {
    const w = wh[i];
    const h = wh[i + 1];
    if (!(w >= 2 || h >= 2)) continue;
    n++;
    let b = 0;
    for (let j = 0; j < k.length; j += 2) {
      const rw = w / k[j];
      const rh = h / k[j + 1];
      b = Math.max(b, Math.min(rw, 1 / rw, rh, 1 / rh));
    }
    if (b > 1 / thr) sum += b;
  }
  return sum / n;
}

const anchorsOf = (m: DetectionModel): Float32Array => m.detect.anchors.toTypedArray() as Float32Array;
const areas = (a: ArrayLike<number>): number[] =>
  Array.from({ length: a.length / 2 }, (_, i) => a[2 * i] * a[2 * i + 1]);

test("checkAnchors: BPR and aat equal a plain-loop reference of yolov5's metric", () => {
  const ds = synth(1, 300, 8, (r) => [r.uniform(4, 400), r.uniform(4, 400)]);
  for (const seed of [0, 7]) {
    const model = buildModel('yolov5n', { nc: 3 });
    try {
      const res = checkAnchors({ model, ...ds, imgsz: 640, thr: 4.0, seed, gen: 50 });
      const ref = referenceMetric(ds, 640, DEFAULT_ANCHORS, 4.0, seed);
      assert.equal(res.bpr, ref.bpr);
      assert.equal(res.aat, ref.aat);
      assert.ok(res.bpr > 0.5 && res.bpr < 1, `bpr ${res.bpr}`);
    } finally {
      model.dispose();
    }
  }
  // anchorMetric alone, other thresholds and random anchors
  const r = new Xoshiro128(3);
  const wh = Float32Array.from({ length: 4000 }, () => r.uniform(1, 500));
  const k = Array.from({ length: 18 }, () => Math.fround(r.uniform(5, 400)));
  for (const thr of [2.0, 3.0, 4.0, 6.5]) {
    let best = 0;
    let above = 0;
    for (let i = 0; i < wh.length; i += 2) {
      let b = 0;
      for (let j = 0; j < k.length; j += 2) {
        const x = Math.min(wh[i] / k[j], k[j] / wh[i], wh[i + 1] / k[j + 1], k[j + 1] / wh[i + 1]);
        if (x > 1 / thr) above++;
        b = Math.max(b, x);
      }
      if (b > 1 / thr) best++;
    }
    const m = anchorMetric(wh, k, thr);
    assert.equal(m.bpr, best / 2000, `bpr thr=${thr}`);
    assert.equal(m.aat, above / 2000, `aat thr=${thr}`);
  }
});

test('checkAnchors: boxes the size of the default anchors keep them bit for bit', () => {
  const ds = synth(2, 100, 6, (r) => {
    const j = r.randint(0, 8);
    return [DEFAULT_ANCHORS[2 * j], DEFAULT_ANCHORS[2 * j + 1]];
  });
  const model = buildModel('yolov5n', { nc: 3 });
  try {
    const before = anchorsOf(model);
    const logs: string[] = [];
    const res = checkAnchors({ model, ...ds, imgsz: 640, seed: 0, log: (m) => logs.push(m) });
    assert.equal(res.replaced, false);
    assert.equal(res.bpr, 1);
    assert.equal(res.newBpr, undefined);
    assert.ok(res.aat >= 1);
    assert.deepEqual(anchorsOf(model), before);
    assert.deepEqual(Array.from(res.anchors), DEFAULT_ANCHORS);
    assert.match(logs.join('\n'), /AutoAnchor: .*best possible recall 1\.000/);
  } finally {
    model.dispose();
  }
});

test('checkAnchors: very elongated boxes get new anchors, in grid units and in order', () => {
  // tall, thin boxes (3–6 px by 150–600 px) and some wide ones: no default anchor is within 4× on both sides
  const ds = synth(
    3,
    400,
    10,
    (r) => {
      const w = r.uniform(3, 6);
      const h = r.uniform(150, 600);
      return r.random() < 0.8 ? [w, h] : [h, w];
    },
    640,
    true,
  );
  const model = buildModel('yolov5n', { nc: 3 });
  try {
    const logs: string[] = [];
    const res = checkAnchors({ model, ...ds, imgsz: 640, seed: 11, log: (m) => logs.push(m) });
    assert.ok(res.bpr < 0.05, `bpr before ${res.bpr}`);
    assert.equal(res.replaced, true, logs.join('\n'));
    assert.ok(res.newBpr !== undefined && res.newBpr > res.bpr && res.newBpr > 0.9, `new bpr ${res.newBpr}`);
    // the model's anchors are the reported pixel anchors divided by the strides
    const { stride } = model.detect;
    assert.deepEqual(stride, [8, 16, 32]);
    assert.deepEqual(model.detect.anchors.shape, [3, 3, 2]);
    const grid = anchorsOf(model);
    for (let i = 0; i < grid.length; i++) {
      const s = stride[Math.floor(i / 6)];
      assert.ok(Math.abs(grid[i] * s - res.anchors[i]) <= 1e-4 * res.anchors[i], `anchor ${i}`);
    }
    // sorted by area, smallest at stride 8 (checkAnchorOrder leaves it), and the fit of the new anchors
    const a = areas(res.anchors);
    for (let i = 1; i < a.length; i++) assert.ok(a[i] >= a[i - 1], `area order ${a}`);
    const ref = referenceMetric(ds, 640, Array.from(res.anchors), 4.0, 11);
    assert.ok(Math.abs(ref.bpr - res.newBpr) < 1e-3, `${ref.bpr} vs ${res.newBpr}`);
    assert.notDeepEqual(Array.from(res.anchors), DEFAULT_ANCHORS);
    // the detect layer decodes with the new anchors (grids rebuilt)
    const out = tidy(() => model.predict(tensor(new Float32Array(3 * 64 * 64)).view(1, 3, 64, 64)).shape);
    assert.deepEqual(out, [1, 3 * (64 + 16 + 4), 8]);

    // same seed → the same anchors
    const again = buildModel('yolov5n', { nc: 3 });
    try {
      const res2 = checkAnchors({ model: again, ...ds, imgsz: 640, seed: 11 });
      assert.deepEqual(res2.anchors, res.anchors);
      assert.deepEqual(anchorsOf(again), grid);
    } finally {
      again.dispose();
    }
  } finally {
    model.dispose();
  }
});

test('kmeanAnchors: deterministic per seed, sorted by area, evolution never lowers the fitness', () => {
  const ds = synth(4, 500, 8, (r) => [r.uniform(1, 300) * r.uniform(0.5, 2), r.uniform(1, 300)]);
  const wh = labelSizes(ds.shapes, ds.labels, 640);
  const a = kmeanAnchors(wh, { n: 9, imgSize: 640, thr: 4.0, gen: 300, seed: 5 });
  const b = kmeanAnchors(wh, { n: 9, imgSize: 640, thr: 4.0, gen: 300, seed: 5 });
  const c = kmeanAnchors(wh, { n: 9, imgSize: 640, thr: 4.0, gen: 300, seed: 6 });
  assert.equal(a.length, 18);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const ar = areas(a);
  for (let i = 1; i < ar.length; i++) assert.ok(ar[i] >= ar[i - 1]);
  for (const v of a) assert.ok(v >= 2);
  // gen = 0 is the k-means result (same draws come first): the evolution can only improve on it
  const init = kmeanAnchors(wh, { n: 9, gen: 0, seed: 5 });
  assert.ok(referenceFitness(wh, a, 4.0) >= referenceFitness(wh, init, 4.0) - 1e-6);
  assert.ok(referenceFitness(wh, a, 4.0) > 0.5);
  // fewer labels than anchors: yolov5's random initialisation, still n anchors ≥ 2 px
  const few = kmeanAnchors(new Float32Array([50, 60, 70, 80]), { n: 9, gen: 20, seed: 1 });
  assert.equal(few.length, 18);
  for (const v of few) assert.ok(v >= 2);
});

test('kmeanAnchors: 10^4 labels, 1000 generations', (t) => {
  const r = new Xoshiro128(9);
  const wh = Float32Array.from({ length: 20000 }, () => r.uniform(3, 600));
  const t0 = performance.now();
  const k = kmeanAnchors(wh, { n: 9, gen: 1000, seed: 0 });
  const ms = performance.now() - t0;
  t.diagnostic(`kmeanAnchors 10^4 labels, gen 1000: ${ms.toFixed(0)} ms`);
  assert.equal(k.length, 18);
  assert.ok(ms < 20000);
});
