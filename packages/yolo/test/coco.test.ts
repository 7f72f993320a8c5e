// COCO evaluation (pycocotools' COCOeval protocol, bbox): the seeded parity fixture and hand-built cases.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadNpy, tidy } from '@tsyolo/torch';
import { type CocoDetection, type CocoGroundTruth, cocoEval, cocoEvalData, cocoPerCategoryAp } from '../src/index.js';
import { cocoFixture } from './fixtures.js';

function readJson<T>(name: string): T {
  return JSON.parse(readFileSync(cocoFixture(name), 'utf8')) as T;
}
function npyValues(name: string): Float64Array {
  return tidy(() => Float64Array.from(loadNpy(cocoFixture(name)).toTypedArray() as Float64Array));
}
function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('fixture: stats, precision and recall equal pycocotools 2.0.11', (t) => {
  const ref = readJson<{
    stats: number[];
    stats_names: string[];
    summarize_stdout: string;
    params: { iouThrs: number[]; maxDets: number[]; areaRng: number[][] };
    per_category_area_all_maxDets100: Record<string, { 'AP@[.5:.95]': number; 'AP@.5': number }>;
  }>('pycocotools_stats.json');
  const t0 = performance.now();
  const res = cocoEval(cocoFixture('gt.json'), cocoFixture('detections.json'));
  const ms = performance.now() - t0;

  assert.deepEqual(Array.from(res.params.iouThrs), ref.params.iouThrs);
  assert.deepEqual(res.params.maxDets, ref.params.maxDets);
  assert.deepEqual(res.params.areaRng, ref.params.areaRng);
  assert.deepEqual(res.params.catIds, [1, 3, 7, 12, 20]);
  assert.equal(res.params.imgIds.length, 50);

  const dStats = maxAbs(res.stats, ref.stats);
  const wantP = npyValues('pycocotools_precision.npy');
  const wantR = npyValues('pycocotools_recall.npy');
  assert.deepEqual(res.precisionDims, [10, 101, 5, 4, 3]);
  assert.deepEqual(res.recallDims, [10, 5, 4, 3]);
  const dP = maxAbs(res.precision, wantP);
  const dR = maxAbs(res.recall, wantR);
  t.diagnostic(`cocoEval ${ms.toFixed(1)} ms; max |diff| stats ${dStats}, precision ${dP}, recall ${dR}`);
  assert.ok(dStats <= 1e-12, `stats differ by ${dStats}: ${res.stats} vs ${ref.stats}`);
  assert.ok(dP <= 1e-12, `precision differs by ${dP}`);
  assert.ok(dR <= 1e-12, `recall differs by ${dR}`);
  // -1 (absent) entries in the same places
  for (let i = 0; i < wantP.length; i++) assert.equal(res.precision[i] === -1, wantP[i] === -1, `precision[${i}]`);

  // the summarize() text
  const lines = ref.summarize_stdout.split('\n').filter((l) => l.startsWith(' Average'));
  assert.equal(res.summary, lines.join('\n'));

  // per-category AP
  for (const c of cocoPerCategoryAp(res)) {
    const w = ref.per_category_area_all_maxDets100[String(c.catId)];
    assert.ok(Math.abs(c.ap - w['AP@[.5:.95]']) <= 1e-12, `category ${c.catId} AP`);
    assert.ok(Math.abs(c.ap50 - w['AP@.5']) <= 1e-12, `category ${c.catId} AP50`);
  }

  // the same through parsed objects
  const again = cocoEvalData(readJson<CocoGroundTruth>('gt.json'), readJson<CocoDetection[]>('detections.json'));
  assert.deepEqual(again.stats, res.stats);
});

// ---------------------------------------------------------------------------------------------
// hand-built cases
// ---------------------------------------------------------------------------------------------

type Box = [number, number, number, number];
let annId = 1;
function ann(image_id: number, category_id: number, bbox: Box, extra: Record<string, unknown> = {}) {
  return { id: annId++, image_id, category_id, bbox, area: bbox[2] * bbox[3], iscrowd: 0, ...extra };
}
function gtOf(imgIds: number[], catIds: number[], annotations: ReturnType<typeof ann>[]): CocoGroundTruth {
  return {
    images: imgIds.map((id) => ({ id, width: 640, height: 640 })),
    categories: catIds.map((id) => ({ id, name: `c${id}` })),
    annotations,
  };
}
function det(image_id: number, category_id: number, bbox: Box, score: number): CocoDetection {
  return { image_id, category_id, bbox, score };
}
const near = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
// precision is tp / (tp + fp + 2^-52), so a perfect curve reads 1 − 2^-52 at most
const nearAll = (a: readonly number[], b: readonly number[]) => {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-12, `[${i}] ${v} vs ${b[i]}\n${a}`));
};

// boxes: medium-sized (area 50·50 = 2500 ∈ [32², 96²])
const A: Box = [10, 10, 50, 50];
const B: Box = [200, 200, 50, 50];
const C: Box = [400, 100, 50, 50];
const FAR: Box = [500, 500, 50, 50];

test('perfect detections: AP = AR = 1, absent area ranges -1', () => {
  const gt = gtOf([1, 2], [1, 2], [ann(1, 1, A), ann(1, 2, B), ann(2, 1, C)]);
  const dts = [det(1, 1, A, 0.9), det(1, 2, B, 0.8), det(2, 1, C, 0.7)];
  const s = cocoEvalData(gt, dts).stats;
  nearAll(s, [1, 1, 1, -1, 1, -1, 1, 1, 1, -1, 1, -1]);
});

test('one false positive and one missed object: AP from the interpolated curve', () => {
  // ranked: TP (0.9), FP (0.8), TP (0.7); 3 gts, so recall 1/3, 1/3, 2/3 and precision 1, 1/2, 2/3.
  // Precision envelope: 1 up to recall 1/3, 2/3 up to recall 2/3, nothing beyond.
  // The 101 recall thresholds 0, .01, ..., 1: 34 (≤ .33) take 1, 33 (.34 ... .66) take 2/3, 34 take 0.
  const gt = gtOf([1], [1], [ann(1, 1, A), ann(1, 1, B), ann(1, 1, C)]);
  const dts = [det(1, 1, A, 0.9), det(1, 1, FAR, 0.8), det(1, 1, B, 0.7)];
  const r = cocoEvalData(gt, dts);
  const ap = (34 * 1 + 33 * (2 / 3)) / 101;
  near(r.stats[0], ap, 1e-12);
  near(r.stats[1], ap, 1e-12);
  near(r.stats[8], 2 / 3);
  near(r.stats[6], 1 / 3); // AR@1: only the top detection
  // without the miss: thresholds ≤ .5 (51) take 1, the other 50 take 2/3
  const gt2 = gtOf([1], [1], [ann(1, 1, A), ann(1, 1, B)]);
  near(cocoEvalData(gt2, dts).stats[0], (51 + 50 * (2 / 3)) / 101);
});

test('a false positive ranked first halves precision everywhere', () => {
  const gt = gtOf([1, 2], [1], [ann(1, 1, A)]);
  // the FP is on image 2, which has no annotations
  const r = cocoEvalData(gt, [det(2, 1, A, 0.9), det(1, 1, A, 0.8)]);
  near(r.stats[0], 0.5);
  // ranked after the TP it costs nothing
  near(cocoEvalData(gt, [det(2, 1, A, 0.7), det(1, 1, A, 0.8)]).stats[0], 1);
});

test('empty images change nothing; detections only on unknown images are rejected', () => {
  const anns = [ann(1, 1, A), ann(1, 1, B)];
  const dts = [det(1, 1, A, 0.9), det(1, 1, FAR, 0.8), det(1, 1, B, 0.7)];
  const base = cocoEvalData(gtOf([1], [1], anns), dts).stats;
  assert.deepEqual(cocoEvalData(gtOf([1, 5, 9], [1], anns), dts).stats, base);
  assert.throws(() => cocoEvalData(gtOf([1], [1], anns), [...dts, det(77, 1, A, 0.5)]), /not in it \(77\)/);
  // no detections at all: AP 0 where there are gts
  const none = cocoEvalData(gtOf([1], [1], anns), []).stats;
  nearAll(none, [0, 0, 0, -1, 0, -1, 0, 0, 0, -1, 0, -1]);
  // no annotations at all: nothing to average
  assert.ok(cocoEvalData(gtOf([1], [1], []), dts).stats.every((v) => v === -1));
});

test('crowd regions: detections inside never count as false positives', () => {
  const crowd: Box = [100, 300, 300, 300];
  const inside = (i: number): Box => [110 + i * 60, 310 + i * 40, 40, 40];
  const dts = [det(1, 1, inside(0), 0.95), det(1, 1, inside(1), 0.94), det(1, 1, inside(2), 0.93), det(1, 1, A, 0.5)];
  // with the region marked crowd: 3 detections match it (ignored), the last one is a TP → AP 1
  const withCrowd = cocoEvalData(gtOf([1], [1], [ann(1, 1, A), ann(1, 1, crowd, { iscrowd: 1 })]), dts);
  near(withCrowd.stats[0], 1);
  assert.equal(withCrowd.stats[8], 1);
  // a crowd-only image adds no gt to recall and no FP
  const crowdOnly = cocoEvalData(gtOf([1, 2], [1], [ann(1, 1, A), ann(2, 1, crowd, { iscrowd: 1 })]), [
    det(2, 1, inside(0), 0.99),
    det(1, 1, A, 0.5),
  ]);
  near(crowdOnly.stats[0], 1);
  // the same region as an ordinary gt: the inside detections are false positives ranked first
  const plain = cocoEvalData(gtOf([1], [1], [ann(1, 1, A), ann(1, 1, crowd)]), dts);
  assert.ok(plain.stats[0] < 0.5, `${plain.stats[0]}`);
  // pycocotools replaces an 'ignore' field by iscrowd: ignore=1 alone does not ignore the gt
  const ign = cocoEvalData(gtOf([1], [1], [ann(1, 1, A), ann(1, 1, B, { ignore: 1 })]), [det(1, 1, A, 0.9)]);
  near(ign.stats[8], 0.5);
});

test('a category without detections counts 0, one without annotations is left out (-1)', () => {
  const gt = gtOf([1], [1, 2, 3], [ann(1, 1, A), ann(1, 2, B)]);
  // category 1 perfect, category 2 never detected, category 3 only detections
  const r = cocoEvalData(gt, [det(1, 1, A, 0.9), det(1, 3, C, 0.8)]);
  near(r.stats[0], 0.5);
  near(r.stats[8], 0.5);
  const per = cocoPerCategoryAp(r);
  assert.deepEqual(
    per.map((c) => c.catId),
    [1, 2, 3],
  );
  nearAll(
    per.map((c) => c.ap),
    [1, 0, -1],
  );
  // catIds restricts the evaluation
  near(cocoEvalData(gt, [det(1, 1, A, 0.9)], { catIds: [1] }).stats[0], 1);
  // imgIds restricts it too
  const gt2 = gtOf([1, 2], [1], [ann(1, 1, A), ann(2, 1, B)]);
  near(cocoEvalData(gt2, [det(1, 1, A, 0.9)], { imgIds: [1] }).stats[0], 1);
  near(cocoEvalData(gt2, [det(1, 1, A, 0.9)]).stats[8], 0.5);
});

test('maxDets: detections are cut per image by score', () => {
  const gt = gtOf([1], [1], [ann(1, 1, A)]);
  const fps = (k: number, hi: number) =>
    Array.from({ length: k }, (_, i) => det(1, 1, [300 + i, 300, 20, 20] as Box, hi - i * 1e-4));
  // 10 higher-scored false positives: the TP is the 11th detection
  const r = cocoEvalData(gt, [det(1, 1, A, 0.5), ...fps(10, 0.9)]);
  assert.equal(r.stats[6], 0); // AR@1
  assert.equal(r.stats[7], 0); // AR@10
  assert.equal(r.stats[8], 1); // AR@100
  near(r.stats[0], 1 / 11); // precision 1/11 at the only recall step
  // 100 higher-scored false positives: the TP falls out of maxDets=100
  const r100 = cocoEvalData(gt, [...fps(100, 0.99), det(1, 1, A, 0.5)]);
  assert.equal(r100.stats[8], 0);
  assert.equal(r100.stats[0], 0);
  // custom maxDets
  const r3 = cocoEvalData(gt, [det(1, 1, A, 0.5), ...fps(10, 0.9)], { maxDets: [1, 11, 100] });
  assert.equal(r3.stats[7], 1);
});
