// Run plots: each writes a decodable image of the expected size and format, copes with empty inputs,
// and gives the same bytes for the same input. Set PLOTS_OUT=dir to keep the images for a look.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { appendResults } from '../src/engine/results.js';
import { labelsToBoxes, plotImages, predsToBoxes } from '../src/plots/batch.js';
import { blues, plotConfusionMatrix, plotMcCurve, plotPrCurve } from '../src/plots/curves.js';
import { plotLabels } from '../src/plots/labels.js';
import { gaussianSmooth, plotResults } from '../src/plots/results.js';
import { extent, niceTicks, tickLabel } from '../src/plots/svg.js';

const DIR = process.env.PLOTS_OUT ?? mkdtempSync(join(tmpdir(), 'plots-'));
mkdirSync(DIR, { recursive: true });
const out = (name: string) => join(DIR, name);

async function expectImage(path: string, format: 'png' | 'jpeg', width: number, height: number): Promise<void> {
  const m = await sharp(path).metadata();
  assert.equal(m.format, format, path);
  assert.equal(m.width, width, path);
  assert.equal(m.height, height, path);
}

/** Renders twice into different files and compares the bytes. */
async function deterministic(render: (path: string) => Promise<void>, name: string): Promise<void> {
  const [a, b] = [out(name), out(`again-${name}`)];
  await render(a);
  await render(b);
  assert.ok(readFileSync(a).equals(readFileSync(b)), `${name}: same input, different bytes`);
}

/** A tiny LCG so the synthetic data is fixed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const NAMES = ['person', 'bicycle', 'car', 'dog', 'cat'];

function syntheticLabels(n: number, nc: number, seed = 1): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n * 5);
  for (let i = 0; i < n; i++) {
    const w = 0.02 + r() * 0.5;
    const h = 0.02 + r() * 0.5;
    a.set([Math.floor(r() ** 2 * nc), w / 2 + r() * (1 - w), h / 2 + r() * (1 - h), w, h], i * 5);
  }
  return a;
}

test('svg helpers: nice ticks, labels, extents', () => {
  assert.deepEqual(niceTicks(0, 1, 5).values, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(-0.05, 9.45, 5, 1).values, [0, 2, 4, 6, 8]);
  assert.deepEqual(niceTicks(0.9, 1.1, 5, 1).values, [1]);
  assert.equal(tickLabel(0.30000000000000004, 0.1), '0.3');
  assert.equal(tickLabel(-1e-17, 0.2), '0.0');
  assert.equal(tickLabel(250, 50), '250');
  assert.deepEqual(extent([]), [0, 1]);
  assert.deepEqual(extent([2, 2]), [1.8, 2.2]);
  assert.deepEqual(extent([0, NaN, 10]), [-0.5, 10.5]);
  assert.deepEqual(extent([0.09, 0.08999999999999998]), [
    0.08999999999999998 - 0.008999999999999998,
    0.09 + 0.008999999999999998,
  ]);
  assert.equal(niceTicks(1e17, 1e17 + 64).values.length, 1);
  assert.equal(blues(0), '#f7fbff');
  assert.equal(blues(1), '#08306b');
});

test('gaussianSmooth: constant stays constant, mass is kept, single value', () => {
  for (const v of gaussianSmooth([3, 3, 3, 3])) assert.ok(Math.abs(v - 3) < 1e-12);
  const y = Array.from({ length: 50 }, (_, i) => (i === 25 ? 1 : 0));
  const s = gaussianSmooth(y, 3);
  assert.ok(Math.abs(s.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.ok(s[25] > s[24] && s[24] > s[20] && s[20] > 0);
  assert.ok(Math.abs(gaussianSmooth([7])[0] - 7) < 1e-12);
});

test('plotResults: results.png 1500×700 from a results.csv, and from one row', async () => {
  const csv = out('results.csv');
  rmSync(csv, { force: true });
  const r = rng(2);
  for (let e = 0; e < 30; e++) {
    const d = Math.exp(-e / 10);
    const noise = () => (r() - 0.5) * 0.01;
    appendResults(csv, e, [
      0.05 + 0.05 * d + noise(),
      0.03 + 0.02 * d + noise(),
      0.02 * d + noise(),
      0.8 - 0.6 * d + noise(),
      0.7 - 0.6 * d + noise(),
      0.75 - 0.7 * d + noise(),
      0.5 - 0.48 * d + noise(),
      0.04 + 0.04 * d + noise(),
      0.02 + 0.02 * d,
      0.01 * d + noise(),
      0.01,
      0.01,
      0.01,
    ]);
  }
  const t0 = performance.now();
  await plotResults(csv, out('results.png'));
  console.log(`results.png (30 epochs): ${(performance.now() - t0).toFixed(0)} ms`);
  await deterministic((p) => plotResults(csv, p), 'results.png');
  await expectImage(out('results.png'), 'png', 1500, 700);

  const one = out('results-one.csv');
  rmSync(one, { force: true });
  appendResults(one, 0, [0.1, 0.05, 0.02, 0, 0, 0, 0, 0.09, 0.04, 0.01, 0.07, 0.0033, 0.0033]);
  await plotResults(one, out('results-one.png'));
  await expectImage(out('results-one.png'), 'png', 1500, 700);
});

test('plotLabels: labels.jpg 1000×1000, also with no labels and without names', async () => {
  const labels = syntheticLabels(3000, NAMES.length);
  await deterministic((p) => plotLabels(labels, NAMES, p), 'labels.jpg');
  await expectImage(out('labels.jpg'), 'jpeg', 1000, 1000);
  await plotLabels(new Float32Array(0), NAMES, out('labels-empty.jpg'));
  await expectImage(out('labels-empty.jpg'), 'jpeg', 1000, 1000);
  await plotLabels(new Float32Array(0), [], out('labels-none.jpg'));
  await expectImage(out('labels-none.jpg'), 'jpeg', 1000, 1000);
  // many labels and classes: subsampled scatters, numeric class ticks
  const many = syntheticLabels(100_000, 80, 3);
  const t0 = performance.now();
  await plotLabels(
    many,
    Array.from({ length: 80 }, (_, i) => `c${i}`),
    out('labels-100k.jpg'),
  );
  const ms = performance.now() - t0;
  console.log(`labels.jpg with 100k labels: ${ms.toFixed(0)} ms`);
  await expectImage(out('labels-100k.jpg'), 'jpeg', 1000, 1000);
});

/** bs images of h × w (CHW uint8): a colour gradient per image with a dark square where the first box is. */
function syntheticBatch(bs: number, h: number, w: number): { images: Uint8Array; targets: number[] } {
  const images = new Uint8Array(bs * 3 * h * w);
  const targets: number[] = [];
  const r = rng(4);
  for (let i = 0; i < bs; i++) {
    const [cx, cy, bw, bh] = [0.3 + r() * 0.4, 0.3 + r() * 0.4, 0.2 + r() * 0.3, 0.2 + r() * 0.3];
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const inside = Math.abs(x / w - cx) < bw / 2 && Math.abs(y / h - cy) < bh / 2;
        const p = y * w + x;
        images[(i * 3 + 0) * h * w + p] = inside ? 40 : (x * 255) / w;
        images[(i * 3 + 1) * h * w + p] = inside ? 40 : (y * 255) / h;
        images[(i * 3 + 2) * h * w + p] = inside ? 40 : (i * 37) % 255;
      }
    targets.push(i, i % NAMES.length, cx, cy, bw, bh);
    targets.push(i, (i + 1) % NAMES.length, 0.05, 0.9, 0.08, 0.15); // a small box at the bottom-left edge
  }
  return { images, targets };
}

test('plotImages: labels and predictions mosaics, sizes, empty batch and no boxes', async () => {
  const [bs, h, w] = [6, 160, 224];
  const { images, targets } = syntheticBatch(bs, h, w);
  const paths = Array.from({ length: bs }, (_, i) => `/data/images/train/im_${i}.jpg`);
  const boxes = labelsToBoxes(targets, bs, h, w);
  assert.equal(boxes.length, bs);
  assert.deepEqual(Array.from(boxes[0].cls), [0, 1]);
  await deterministic((p) => plotImages(images, bs, h, w, boxes, paths, NAMES, p), 'train_batch0.jpg');
  // 6 images → 3 × 2 grid, no downscale
  await expectImage(out('train_batch0.jpg'), 'jpeg', 3 * w, 2 * h);

  // predictions [x1, y1, x2, y2, conf, cls] px: one below the 0.25 threshold
  const preds = boxes.map((b, i) => {
    const x = b.boxes;
    return [x[0], x[1], x[2], x[3], 0.91, Number(b.cls[0]), x[4], x[5], x[6], x[7], 0.1 + 0.01 * i, Number(b.cls[1])];
  });
  await plotImages(images, bs, h, w, predsToBoxes(preds), paths, NAMES, out('val_batch0_pred.jpg'));
  await expectImage(out('val_batch0_pred.jpg'), 'jpeg', 3 * w, 2 * h);

  // zero predictions, and an empty batch
  await plotImages(images, bs, h, w, predsToBoxes(preds.map(() => [])), paths, NAMES, out('no-preds.jpg'));
  await expectImage(out('no-preds.jpg'), 'jpeg', 3 * w, 2 * h);
  await plotImages(new Uint8Array(0), 0, h, w, [], [], NAMES, out('empty-batch.jpg'));
  await expectImage(out('empty-batch.jpg'), 'jpeg', w, h);

  // 16 × 640²: a 4 × 4 grid scaled to maxSize 1920
  const big = syntheticBatch(16, 640, 640);
  const t0 = performance.now();
  await plotImages(big.images, 16, 640, 640, labelsToBoxes(big.targets, 16, 640, 640), [], NAMES, out('batch16.jpg'));
  console.log(`16-image 640 batch mosaic: ${(performance.now() - t0).toFixed(0)} ms`);
  await expectImage(out('batch16.jpg'), 'jpeg', 1920, 1920);
});

/** Synthetic P/R/F1-style curves over px for nc classes. */
function curves(nc: number): { px: Float64Array; pr: Float64Array[]; ap50: Float64Array; f1: Float64Array } {
  const px = Float64Array.from({ length: 1000 }, (_, i) => i / 999);
  const pr = Array.from({ length: nc }, (_, c) => px.map((x) => Math.max(0, 1 - x ** (2 + c))));
  const ap50 = Float64Array.from(pr, (y) => y.reduce((a, b) => a + b, 0) / 1000);
  const f1 = new Float64Array(nc * 1000);
  for (let c = 0; c < nc; c++)
    for (let i = 0; i < 1000; i++) f1[c * 1000 + i] = Math.sin(Math.PI * px[i]) * (0.5 + 0.4 * (c / Math.max(1, nc)));
  return { px, pr, ap50, f1 };
}

test('plotPrCurve / plotMcCurve: 900×600 PNGs, few and many classes, no classes', async () => {
  const few = curves(4);
  await deterministic((p) => plotPrCurve(few.px, few.pr, few.ap50, NAMES, p), 'PR_curve.png');
  await expectImage(out('PR_curve.png'), 'png', 900, 600);
  await deterministic((p) => plotMcCurve(few.px, few.f1, NAMES, p, 'F1'), 'F1_curve.png');
  await expectImage(out('F1_curve.png'), 'png', 900, 600);
  const many = curves(40);
  await plotPrCurve(many.px, many.pr, many.ap50, [], out('PR_curve-many.png'));
  await plotMcCurve(many.px, many.f1, [], out('P_curve-many.png'), 'Precision');
  await expectImage(out('P_curve-many.png'), 'png', 900, 600);
  await plotPrCurve(few.px, [], [], NAMES, out('PR_curve-empty.png'));
  await plotMcCurve(few.px, new Float64Array(0), NAMES, out('R_curve-empty.png'), 'Recall');
  await expectImage(out('PR_curve-empty.png'), 'png', 900, 600);
  await expectImage(out('R_curve-empty.png'), 'png', 900, 600);
});

function confusion(nc: number): Float64Array {
  const k = nc + 1;
  const r = rng(5);
  const m = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += m[i * k + j] = i === j ? 5 + r() * 20 : r() < 0.3 ? r() * 4 : 0;
    for (let i = 0; i < k; i++) m[i * k + j] /= s;
  }
  return m;
}

test('plotConfusionMatrix: 1200×900 PNG with few, many and no classes', async () => {
  await deterministic((p) => plotConfusionMatrix(confusion(5), NAMES, p), 'confusion_matrix.png');
  await expectImage(out('confusion_matrix.png'), 'png', 1200, 900);
  const names80 = Array.from({ length: 80 }, (_, i) => `class_${i}`);
  await plotConfusionMatrix(confusion(80), names80, out('confusion_matrix-80.png'));
  await expectImage(out('confusion_matrix-80.png'), 'png', 1200, 900);
  await plotConfusionMatrix(new Float64Array([0]), [], out('confusion_matrix-empty.png'));
  await expectImage(out('confusion_matrix-empty.png'), 'png', 1200, 900);
});
