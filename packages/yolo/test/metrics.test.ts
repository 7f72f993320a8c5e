// yolov5 v7.0 metrics: compute_ap, ap_per_class, val.py process_batch, fitness, ConfusionMatrix,
// hand-built cases and the yolov5 parity numbers of the coco_eval fixture.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fromTypedArray, tensor, tidy, zeros } from '@tsyolo/torch';
import { apPerClass, ConfusionMatrix, computeAp, fitness, iouVector, processBatch } from '../src/index.js';
import { npInterp, npLinspace, npSum, roundHalfEven, smooth } from '../src/metrics/ap.js';
import { cocoFixture } from './fixtures.js';

const near = (a: number, b: number, tol = 1e-12, what = '') =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

test('numpy-equivalent helpers', () => {
  // np.interp: left/right, exact hits, duplicates in xp take the last equal point
  assert.deepEqual(
    Array.from(npInterp([-1, 0, 0.25, 0.5, 0.75, 1, 2], [0, 0.5, 0.5, 1], [1, 1, 0.5, 0])),
    [1, 1, 1, 0.5, 0.25, 0, 0],
  );
  assert.deepEqual(Array.from(npInterp([-1, 2], [0, 1], [3, 4], 9, 8)), [9, 8]);
  const x = npLinspace(0, 1, 101);
  assert.equal(x[0], 0);
  assert.equal(x[100], 1);
  assert.equal(x[50], 0.5);
  assert.equal(roundHalfEven(2.5), 2);
  assert.equal(roundHalfEven(3.5), 4);
  assert.equal(roundHalfEven(-0.5), -0);
  assert.equal(roundHalfEven(1.2), 1);
  assert.equal(npSum([1, 2, 3]), 6);
  // smooth: constant stays constant, length kept
  const s = smooth(new Float64Array(1000).fill(0.25), 0.1);
  assert.equal(s.length, 1000);
  for (const v of s) near(v, 0.25, 1e-15);
});

test('computeAp: 101-point interpolation by hand', () => {
  // one perfect detection: mrec [0, 1, 1], mpre [1, 1, 0]; np.interp at x = 1 takes the sentinel 0,
  // so the last trapezoid is 0.01·(1 + 0)/2 and AP = 0.995 (yolov5's value for perfect predictions)
  const perfect = computeAp([1], [1]);
  near(perfect.ap, 0.995);
  assert.deepEqual(Array.from(perfect.mrec), [0, 1, 1]);
  assert.deepEqual(Array.from(perfect.mpre), [1, 1, 0]);

  // TP, FP, TP over 2 labels: recall .5 .5 1, precision 1 .5 2/3 → envelope 1 (r < .5), 2/3 (.5 ≤ r < 1), 0 at r = 1
  const r = computeAp([0.5, 0.5, 1], [1, 0.5, 2 / 3]);
  assert.deepEqual(Array.from(r.mpre), [1, 1, 2 / 3, 2 / 3, 0]);
  const hand = 49 * 0.01 * 1 + (0.01 * (1 + 2 / 3)) / 2 + 49 * 0.01 * (2 / 3) + (0.01 * (2 / 3 + 0)) / 2;
  near(r.ap, hand, 1e-12);

  // nothing found: at x = 0, np.interp takes the last of the equal recall points (precision 0)
  assert.equal(computeAp([0, 0], [0, 0]).ap, 0);
});

test('apPerClass: hand-built TP/FP/TP, a missed class, P/R at the best F1', () => {
  // class 0: 2 labels; predictions TP (0.9), FP (0.8), TP (0.7) at every IoU threshold
  // class 1: 1 label, no prediction; class 5: predictions but no labels (not evaluated)
  const row = (v: number) => new Array(10).fill(v);
  const tp = [row(1), row(0), row(1), row(1)];
  const res = apPerClass(tp, Float32Array.of(0.9, 0.8, 0.7, 0.95), [0, 0, 0, 5], [0, 0, 1]);
  assert.deepEqual(Array.from(res.apClass), [0, 1]);
  assert.deepEqual(Array.from(res.nt), [2, 1]);
  const ap0 = 49 * 0.01 + (0.01 * (5 / 3)) / 2 + 49 * 0.01 * (2 / 3) + (0.01 * (2 / 3)) / 2;
  for (let j = 0; j < 10; j++) {
    near(res.ap[j], ap0, 1e-12, `ap[0, ${j}]`);
    assert.equal(res.ap[10 + j], 0);
  }
  near(res.map50, ap0 / 2);
  near(res.map, ap0 / 2);
  // F1 is highest (0.8 for class 0) below conf 0.7, where all predictions count: p = 2/3, r = 1
  assert.equal(res.bestIndex, 0);
  near(res.p[0], 2 / 3);
  near(res.r[0], 1);
  near(res.f1[0], 0.8, 1e-12);
  assert.equal(res.tp[0], 2);
  assert.equal(res.fp[0], 1);
  assert.equal(res.p[1], 0);
  assert.equal(res.r[1], 0);
  near(res.mp, 1 / 3);
  near(res.mr, 0.5);
  assert.equal(res.py.length, 1);
  assert.equal(res.px.length, 1000);

  // perfect predictions: AP 0.995 for every class and threshold (yolov5's 101-point interpolation)
  const perfect = apPerClass(zeros([3, 10]).add(1).bool(), [0.9, 0.8, 0.7], [0, 1, 1], [0, 1, 1]);
  for (const v of perfect.ap) near(v, 0.995);
  near(perfect.mp, 1);
  near(perfect.mr, 1);
  near(perfect.map, 0.995);

  // no predictions at all
  const none = apPerClass(new Uint8Array(0), [], [], [0, 1]);
  assert.equal(none.nc, 2);
  assert.equal(none.map, 0);
  // no labels at all
  assert.equal(apPerClass([[1]], [0.5], [0], []).nc, 0);
});

test('fitness', () => {
  near(fitness(0.5, 0.5, 0.6, 0.4), 0.42, 1e-15);
  near(fitness(1, 1, 0, 0), 0, 0);
});

test('processBatch: thresholds, classes and yolov5 v7.0 matching order', () => {
  const iouv = iouVector();
  assert.equal(iouv.length, 10);
  assert.equal(iouv[0], 0.5);
  assert.equal(iouv[9], Math.fround(0.95));
  tidy(() => {
    const labels = tensor([[0, 0, 0, 10, 10]]);
    // det0: IoU 0.62, det1: IoU 0.93, both class 0; det2: exact box, wrong class
    const dets = tensor([
      [0, 0, 10, 6.2, 0.5, 0],
      [0, 0, 10, 9.3, 0.9, 0],
      [0, 0, 10, 10, 0.8, 1],
    ]);
    const c = processBatch(dets, labels, iouv);
    assert.deepEqual(c.shape, [3, 10]);
    assert.equal(c.dtype, 'bool');
    const rows = c.tolist() as boolean[][];
    // where both qualify, the lowest-index detection takes the label (np.unique reorders by detection)
    assert.deepEqual(rows[0].map(Number), [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(rows[1].map(Number), [0, 0, 0, 1, 1, 1, 1, 1, 1, 0]);
    assert.deepEqual(rows[2].map(Number), new Array(10).fill(0));

    // one detection between two labels: only its best label counts, the other label stays free
    const two = tensor([
      [0, 0, 0, 10, 10],
      [0, 0, 1, 10, 11],
    ]);
    const one = processBatch(tensor([[0, 0, 10, 10.5, 0.9, 0]]), two, iouv).tolist() as boolean[][];
    assert.deepEqual(one[0].map(Number), new Array(10).fill(1)); // IoU .952 with label 0
    // a detection takes its best label even if another detection wants it
    const d2 = tensor([
      [0, 0, 10, 10, 0.9, 0], // IoU 1 with label 0
      [0, 0.2, 10, 10.2, 0.8, 0], // best with label 0 (IoU .961) over label 1 (IoU .852): never correct
    ]);
    const rr = processBatch(d2, two, iouv).tolist() as boolean[][];
    assert.equal(rr[0].every(Boolean), true);
    assert.equal(rr[1].some(Boolean), false);

    // empty inputs
    assert.deepEqual(processBatch(zeros([0, 6]), labels, iouv).shape, [0, 10]);
    const nolab = processBatch(dets, zeros([0, 5]), iouv);
    assert.deepEqual(nolab.shape, [3, 10]);
    assert.equal((nolab.toArray() as number[]).some(Boolean), false);
    // default thresholds
    assert.deepEqual(processBatch(dets, labels).tolist(), c.tolist());
  });
});

test('ConfusionMatrix: matches, confusions, background and normalisation', () => {
  const cm = new ConfusionMatrix(2);
  tidy(() => {
    const labels = tensor([
      [0, 0, 0, 10, 10],
      [1, 100, 100, 120, 120],
      [1, 200, 200, 220, 220],
    ]);
    const dets = tensor([
      [0, 0, 10, 10, 0.9, 0], // label 0, right class
      [100, 100, 120, 121, 0.8, 0], // label 1, predicted as class 0
      [300, 300, 310, 310, 0.7, 1], // nothing there: background FP
      [200, 200, 220, 220, 0.2, 1], // below conf 0.25: dropped, so label 2 is missed
    ]);
    cm.processBatch(dets, labels);
  });
  assert.equal(cm.at(0, 0), 1);
  assert.equal(cm.at(0, 1), 1);
  assert.equal(cm.at(1, 2), 1);
  assert.equal(cm.at(2, 1), 1);
  assert.equal(
    cm.matrix.reduce((a, b) => a + b, 0),
    4,
  );
  // an image without any pair: labels are background FN, detections are not counted (yolov5 v7.0)
  tidy(() => cm.processBatch(tensor([[50, 50, 60, 60, 0.9, 0]]), tensor([[1, 0, 0, 10, 10]])));
  assert.equal(cm.at(2, 1), 2);
  assert.equal(cm.at(0, 2), 0);
  // an image without detections
  tidy(() => cm.processBatch(null, tensor([0, 1])));
  assert.equal(cm.at(2, 0), 1);
  assert.equal(cm.at(2, 1), 3);
  const { tp, fp } = cm.tpFp();
  assert.deepEqual(Array.from(tp), [1, 0]);
  assert.deepEqual(Array.from(fp), [1, 1]);
  const n = cm.normalized();
  for (let j = 0; j < 3; j++) {
    const col = n[j] + n[3 + j] + n[6 + j];
    near(col, 1, 1e-8, `column ${j}`);
  }
  assert.deepEqual(cm.toRows(), [
    [1, 1, 0],
    [0, 0, 1],
    [1, 3, 0],
  ]);
});

interface Y5Variant {
  P: number;
  R: number;
  mAP50: number;
  'mAP50-95': number;
  per_class: Record<
    string,
    { P: number; R: number; AP50: number; 'AP50-95': number; TP_at_maxF1: number; FP_at_maxF1: number; n_gt: number }
  >;
  n_dets: number;
  n_labels: number;
}

test('fixture: val.py matching + ap_per_class equal yolov5 v7.0', (t) => {
  const read = (n: string) => JSON.parse(readFileSync(cocoFixture(n), 'utf8'));
  const gt = read('gt.json') as {
    images: { id: number }[];
    categories: { id: number }[];
    annotations: { image_id: number; category_id: number; bbox: number[]; iscrowd?: number }[];
  };
  const dets = read('detections.json') as { image_id: number; category_id: number; bbox: number[]; score: number }[];
  const ref = read('yolov5_metrics.json') as Record<string, Y5Variant>;
  const cats = gt.categories.map((c) => c.id).sort((a, b) => a - b);
  const iouv = iouVector();
  const byImage = <T extends { image_id: number }>(xs: T[]) => {
    const m = new Map<number, T[]>();
    for (const x of xs) m.set(x.image_id, [...(m.get(x.image_id) ?? []), x]);
    return m;
  };
  const annsOf = byImage(gt.annotations);
  const detsOf = byImage(dets);

  for (const [variant, keepCrowd] of [
    ['main (crowd dropped)', false],
    ['variant_include_crowd', true],
  ] as const) {
    const t0 = performance.now();
    const correct: number[] = [];
    const conf: number[] = [];
    const predCls: number[] = [];
    const targetCls: number[] = [];
    for (const im of gt.images) {
      const labs = (annsOf.get(im.id) ?? [])
        .filter((a) => keepCrowd || !a.iscrowd)
        .map((a) => [cats.indexOf(a.category_id), a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]]);
      const pred = (detsOf.get(im.id) ?? []).map((d) => [
        d.bbox[0],
        d.bbox[1],
        d.bbox[0] + d.bbox[2],
        d.bbox[1] + d.bbox[3],
        d.score,
        cats.indexOf(d.category_id),
      ]);
      for (const l of labs) targetCls.push(l[0]);
      if (!pred.length) continue;
      const c = tidy(() => {
        const p = fromTypedArray(Float32Array.from(pred.flat()), [pred.length, 6]);
        const l = fromTypedArray(Float32Array.from(labs.flat()), [labs.length, 5]);
        return processBatch(p, l, iouv).toTypedArray() as Uint8Array;
      });
      for (const v of c) correct.push(v);
      for (const p of pred) {
        conf.push(p[4]);
        predCls.push(p[5]);
      }
    }
    // yolov5's confidences are float32
    const res = apPerClass(Uint8Array.from(correct), Float32Array.from(conf), predCls, targetCls);
    const ms = performance.now() - t0;
    const want = ref[variant];
    assert.equal(conf.length, want.n_dets);
    assert.equal(targetCls.length, want.n_labels);
    const diffs = [res.mp - want.P, res.mr - want.R, res.map50 - want.mAP50, res.map - want['mAP50-95']].map(Math.abs);
    let maxDiff = Math.max(...diffs);
    for (let c = 0; c < res.nc; c++) {
      const w = want.per_class[String(c)];
      assert.equal(res.apClass[c], c);
      assert.equal(res.nt[c], w.n_gt);
      assert.equal(res.tp[c], w.TP_at_maxF1, `class ${c} TP`);
      assert.equal(res.fp[c], w.FP_at_maxF1, `class ${c} FP`);
      for (const d of [res.p[c] - w.P, res.r[c] - w.R, res.ap50[c] - w.AP50, res.apMean[c] - w['AP50-95']])
        maxDiff = Math.max(maxDiff, Math.abs(d));
    }
    t.diagnostic(`${variant}: ${ms.toFixed(1)} ms, max |diff| vs yolov5 ${maxDiff}`);
    assert.ok(maxDiff <= 1e-6, `${variant}: max diff ${maxDiff}`);
  }
});
