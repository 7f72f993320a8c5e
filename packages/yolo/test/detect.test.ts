// Detector and tsyolo detect against the yolov5n fixture (bus.jpg at 320, detect.py's pipeline),
// test-time augmentation, ensembles and pruning.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { full, loadNpy, nn, noGrad, type Tensor, tensor, tidy, zeros } from '@tsyolo/torch';
import sharp from 'sharp';
import { prepare, readImage } from '../src/detect/image.js';
import {
  boxIou,
  clipAugmented,
  type Detection,
  Detector,
  descalePred,
  Ensemble,
  forwardAugment,
  loadModel,
  nonMaxSuppression,
  prune,
  roundHalfEven,
  scaleBoxes,
  scaleImg,
} from '../src/index.js';
import { fixture, repoRoot, sampleImage } from './fixtures.js';

const WEIGHTS = fixture('yolov5n-stripped.pt');
const BUS = sampleImage('bus.jpg');
const cli = join(repoRoot(), 'packages/yolo/dist/src/cli/main.js');
const env = { ...process.env, TSYOLO_NUM_THREADS: '2' };
const dir = mkdtempSync(join(tmpdir(), 'tsyolo-detect-'));
// the fixture's settings: imgsz 320, square letterbox, val-style thresholds
const FIX_OPTS = { imgsz: 320, auto: false, confThres: 0.001, iouThres: 0.6, maxDet: 300 };

function run(args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, `tsyolo ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

/** Greedy matching of the reference rows (x1, y1, x2, y2, conf, cls) to detections: same class, score within scoreTol, IoU > 0.9 (or every coordinate within 2 px, for the zero-width boxes a random model produces). */
function matchRate(ref: number[][], dets: Detection[], scoreTol: number): number {
  const used = new Set<number>();
  let matched = 0;
  for (const r of ref) {
    let best = -1;
    let bestIou = -1;
    dets.forEach((d, j) => {
      if (used.has(j) || d.cls !== r[5] || Math.abs(d.conf - r[4]) > scoreTol) return;
      const iou = tidy(() => boxIou(tensor([d.box]), tensor([r.slice(0, 4)])).item());
      const near = d.box.every((v, k) => Math.abs(v - r[k]) <= 2);
      const score = near ? Math.max(iou, 1) : iou;
      if (score > 0.9 && score > bestIou) [best, bestIou] = [j, score];
    });
    if (best >= 0) {
      used.add(best);
      matched++;
    }
  }
  return matched / ref.length;
}

test('readImage + square letterbox reproduce the fixture input bit for bit (ICC profile ignored, as cv2)', async () => {
  const img = await readImage(BUS);
  assert.deepEqual([img.height, img.width], [1080, 810]);
  const p = prepare(img, 320, 32, false);
  assert.deepEqual(p.shape, [320, 320]);
  assert.deepEqual(p.pad, [40, 0]);
  tidy(() => {
    const u8 = loadNpy(fixture('input_bus320_u8_hwc_bgr.npy'));
    const want = u8.flip(2).permute(2, 0, 1).unsqueeze(0).float().div(255);
    assert.equal(p.input.sub(want).abs().max().item(), 0);
    assert.equal(loadNpy(fixture('input_bus320_f32.npy')).sub(p.input).abs().max().item(), 0);
  });
  p.input.dispose();
});

test('Detector on bus.jpg reproduces detect.py (nms_dets_scaled_to_orig)', async (t) => {
  const det = await Detector.load(WEIGHTS, FIX_OPTS);
  try {
    const r = await det.detect(BUS);
    assert.deepEqual([r.height, r.width], [1080, 810]);
    const ref = tidy(() => loadNpy(fixture('nms_dets_scaled_to_orig.npy')).tolist() as number[][]);
    assert.equal(r.detections.length, ref.length);
    const top100 = matchRate(ref.slice(0, 100), r.detections, 0.02);
    const all = matchRate(ref, r.detections, 0.02);
    // rank by rank: same class, score within 1e-3, boxes within 1 px (pixel rounding of scaleBoxes)
    let sameRank = 0;
    let identical = 0;
    ref.forEach((w, i) => {
      const d = r.detections[i];
      const dmax = Math.max(...d.box.map((v, k) => Math.abs(v - w[k])));
      if (d.cls === w[5] && Math.abs(d.conf - w[4]) < 1e-3 && dmax <= 1) sameRank++;
      if (d.cls === w[5] && dmax === 0) identical++;
    });
    t.diagnostic(
      `top-100 matched ${(top100 * 100).toFixed(1)}%, all 300 matched ${(all * 100).toFixed(1)}%, same rank within 1 px / 1e-3: ${sameRank}/300, identical boxes: ${identical}/300`,
    );
    assert.ok(top100 >= 0.95, `top-100 match rate ${top100}`);
    assert.ok(all >= 0.95, `match rate ${all}`);
    assert.ok(sameRank >= 0.95 * ref.length, `same rank ${sameRank}`);
  } finally {
    det.dispose();
  }
});

test("the fixture's own letterboxed input through the model + NMS + scaleBoxes reproduces the fixture", async () => {
  const det = await Detector.load(WEIGHTS, FIX_OPTS);
  try {
    tidy(() => {
      const x = loadNpy(fixture('input_bus320_f32.npy'));
      const [d] = nonMaxSuppression(det.predict(x), { confThres: 0.001, iouThres: 0.6, maxDet: 300 });
      const d320 = loadNpy(fixture('nms_dets.npy'));
      assert.deepEqual(d.shape, d320.shape);
      // letterboxed space: classes identical, scores within 1e-3, boxes within 0.1 px (this random-weight
      // fixture model amplifies float32 rounding: its eval_out itself differs by up to ~0.1 px)
      assert.equal(d.index(':', 5).sub(d320.index(':', 5)).abs().max().item(), 0);
      assert.ok(d.index(':', 4).sub(d320.index(':', 4)).abs().max().item() < 1e-3);
      const db = d.index(':', ':4').sub(d320.index(':', ':4')).abs().max().item();
      assert.ok(db < 0.1, `boxes differ by ${db} px`);
      // original image: detect.py's scale_boxes(...).round(): unrounded within 0.5 + 1e-3 of the rounded reference
      const want = loadNpy(fixture('nms_dets_scaled_to_orig.npy'));
      const b = scaleBoxes([320, 320], d.index(':', ':4'), [1080, 810]);
      const ref = scaleBoxes([320, 320], d320.index(':', ':4'), [1080, 810]); // unrounded, rounds to `want` (nms.test)
      assert.ok(b.sub(ref).abs().max().item() < 0.25);
      const exact = b.round().eq(want.index(':', ':4')).float().sum(1).eq(4).float().mean().item();
      assert.ok(exact >= 0.98, `rounded boxes identical for ${exact}`);
    });
  } finally {
    det.dispose();
  }
});

test('tsyolo detect writes an annotated JPEG and labels', async () => {
  const r = run([
    'detect',
    '--weights',
    WEIGHTS,
    '--source',
    BUS,
    '--imgsz',
    '320',
    '--project',
    join(dir, 'runs'),
    '--name',
    'exp',
    '--save-txt',
    '--save-conf',
    '--json',
  ]);
  const save = r.saveDir as string;
  const meta = await sharp(join(save, 'bus.jpg')).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 810, 1080]);
  const lines = readFileSync(join(save, 'labels', 'bus.txt'), 'utf8')
    .trim()
    .split('\n');
  assert.equal(lines.length, r.detections as number);
  assert.ok(lines.length > 0);
  for (const l of lines) {
    const v = l.split(' ').map(Number);
    assert.equal(v.length, 6);
    assert.ok(Number.isInteger(v[0]) && v.slice(1, 5).every((x) => x >= 0 && x <= 1) && v[5] >= 0.25);
  }
  // --augment runs TTA
  const a = run([
    'detect',
    '--weights',
    WEIGHTS,
    '--source',
    BUS,
    '--imgsz',
    '320',
    '--project',
    join(dir, 'runs'),
    '--name',
    'tta',
    '--nosave',
    '--augment',
    '--json',
  ]);
  assert.equal(a.images, 1);
});

test('TTA: scaleImg, descalePred and clipAugmented on hand values', () => {
  tidy(() => {
    const img = full([1, 3, 64, 64], 1);
    assert.equal(scaleImg(img, 1), img);
    const s = scaleImg(img, 0.83, false, 32); // int(64·0.83) = 53, padded to ceil(53.12/32)·32 = 64
    assert.deepEqual(s.shape, [1, 3, 64, 64]);
    // bilinear interpolation of ones: exactly 1 on libtorch 1.13, 1 − 2⁻²⁴ (one float32 step) on 2.6
    assert.ok(s.index(0, 0, ':53', ':53').sub(1).abs().max().item() <= 2 ** -24);
    assert.ok(
      Math.abs(s.index(0, 0, 53, 0).item() - 0.447) < 1e-6 && Math.abs(s.index(0, 0, 0, 60).item() - 0.447) < 1e-6,
    );
    assert.deepEqual(scaleImg(img, 0.5, false, 32).shape, [1, 3, 32, 32]);
    assert.deepEqual(scaleImg(full([1, 3, 64, 96], 1), 0.67, true).shape, [1, 3, 64, 96]); // same_shape: padded back to the input size

    // one row: xywh (83, 41.5, 16.6, 8.3) predicted on an image scaled by 0.83, mirrored left-right, of a 100×200 (h×w) input
    const p = tensor([[[83, 41.5, 16.6, 8.3, 0.9, 0.5]]]);
    const lr = descalePred(p, 3, 0.83, [100, 200]).toArray();
    const want = [200 - 83 / 0.83, 41.5 / 0.83, 16.6 / 0.83, 8.3 / 0.83, 0.9, 0.5];
    lr.forEach((v, k) => assert.ok(Math.abs(v - want[k]) < 1e-4, `lr[${k}] ${v} vs ${want[k]}`));
    const ud = descalePred(p, 2, 0.83, [100, 200]).toArray();
    assert.ok(Math.abs(ud[0] - 100) < 1e-4 && Math.abs(ud[1] - (100 - 50)) < 1e-4);
    assert.deepEqual(
      p.toArray().map((v) => Math.round(v * 10) / 10),
      [83, 41.5, 16.6, 8.3, 0.9, 0.5],
    ); // input untouched

    // 3 levels, g = 1 + 4 + 16 = 21: the first branch loses its last N/21 rows, the last its first 16·N/21
    const y = [zeros([1, 6300, 6]), zeros([1, 5103, 6]), zeros([1, 3087, 6])];
    const c = clipAugmented(y, 3);
    assert.deepEqual(
      c.map((t) => t.shape[1]),
      [6000, 5103, 735],
    );
  });
});

test('TTA: de-scaled, de-flipped branches agree on where an off-centre object is', () => {
  // a stand-in model that "detects" the bright rectangle of its input at every output row
  const strides = [8, 16, 32];
  const model = {
    stride: strides,
    detect: { nl: 3 },
    predict(x: Tensor): Tensor {
      return tidy(() => {
        const [, , h, w] = x.shape;
        const m = x.index(0).mean(0).gt(0.5);
        const cols = m.float().toArray() as number[];
        let [x1, y1, x2, y2] = [w, h, 0, 0];
        for (let i = 0; i < h; i++)
          for (let j = 0; j < w; j++)
            if (cols[i * w + j])
              [x1, y1, x2, y2] = [Math.min(x1, j), Math.min(y1, i), Math.max(x2, j + 1), Math.max(y2, i + 1)];
        const n = 3 * strides.reduce((a, s) => a + (h / s) * (w / s), 0);
        return tensor([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, 1, 1])
          .view(1, 1, 6)
          .expand(1, n, 6)
          .contiguous();
      });
    },
  };
  tidy(() => {
    const x = zeros([1, 3, 128, 160]);
    x.index(':', ':', '30:70', '20:60').fill_(1); // box x 20..60, y 30..70 (left of centre 80)
    const y = forwardAugment(model, x);
    // rows: 3·(16·20+8·10+4·5)=1260 minus 60; scale .83 → 106×132 padded to 128×160: 1260; scale .67 → 85×107 padded to 96×128: 756 minus 576
    assert.deepEqual(y.shape, [1, 1200 + 1260 + 180, 6]);
    const box = y.index(0, ':', ':4');
    const want = tensor([40, 50, 40, 40]);
    const err = box.sub(want).abs().max().item();
    assert.ok(err < 2.5, `max deviation ${err} px`);
  });
});

test('TTA on yolov5n: output size, and the Detector runs with augment', async () => {
  const det = await Detector.load(WEIGHTS, { ...FIX_OPTS, augment: true });
  try {
    tidy(() => {
      const x = loadNpy(fixture('input_bus320_f32.npy'));
      const y = noGrad(() => forwardAugment(det.models[0], x));
      // 6300 − 300 (P5 of scale 1) + 5103 (0.83 → 288²) + 3087 − 2352 (P3 of 0.67 → 224²)
      assert.deepEqual(y.shape, [1, 11838, 85]);
      assert.equal(det.predict(x).sub(y).abs().max().item(), 0);
      // the unflipped full-scale branch is the plain prediction minus its last level
      const plain = det.predict(x, false);
      assert.equal(
        y
          .narrow(1, 0, 6000)
          .sub(plain.narrow(1, 0, 6000))
          .abs()
          .max()
          .item(),
        0,
      );
    });
    const r = await det.detect(BUS);
    assert.ok(r.detections.length > 0 && r.detections.length <= 300);
  } finally {
    det.dispose();
  }
});

test('an ensemble of one model predicts exactly what the model does; of two, both concatenated', () => {
  const m = loadModel(WEIGHTS).fuse().eval();
  const m2 = loadModel(WEIGHTS).fuse().eval();
  try {
    tidy(() => {
      const x = loadNpy(fixture('input_bus320_f32.npy'));
      const a = m.predict(x);
      const e = new Ensemble([m]).predict(x);
      assert.ok(a.equal(e), 'bit-identical');
      const e2 = new Ensemble([m, m2]).predict(x);
      assert.deepEqual(e2.shape, [1, 12600, 85]);
      assert.ok(e2.narrow(1, 6300, 6300).equal(a));
    });
  } finally {
    m.dispose();
    m2.dispose();
  }
});

test('prune: the smallest weights of each convolution are zeroed, sparsity ≈ amount; tsyolo prune saves a loadable checkpoint', async () => {
  const model = loadModel(fixture('yolov5n.safetensors'), { cfg: 'yolov5n.yaml' });
  const before = new Map<string, Float32Array>();
  for (const [name, mod] of model.namedModules())
    if (mod instanceof nn.Conv2d) before.set(name, Float32Array.from(mod.weight.toTypedArray() as Float32Array));
  const r = prune(model, 0.3);
  assert.equal(r.layers.length, before.size);
  assert.ok(Math.abs(r.sparsity - 0.3) < 0.005, `sparsity ${r.sparsity}`);
  assert.ok(r.paramSparsity > 0.25 && r.paramSparsity < r.sparsity);
  const mods = new Map(model.namedModules());
  for (const l of r.layers) {
    const w0 = before.get(l.name)!;
    const w1 = (mods.get(l.name) as nn.Conv2d).weight.toTypedArray() as Float32Array;
    assert.equal(l.pruned, roundHalfEven(0.3 * l.numel)); // k = Python's round(0.3·n)
    const z0 = w0.filter((v) => v === 0).length;
    const zeroed: number[] = [];
    const kept: number[] = [];
    for (let i = 0; i < w0.length; i++) {
      if (w1[i] === 0 && w0[i] !== 0) zeroed.push(Math.abs(w0[i]));
      else {
        assert.ok(w1[i] === w0[i], `${l.name}[${i}] changed`); // (−0 may become +0)
        if (w0[i] !== 0) kept.push(Math.abs(w0[i]));
      }
    }
    assert.equal(l.zeros, Math.max(l.pruned, z0), `${l.name}: zeros`);
    assert.equal(zeroed.length, l.zeros - z0);
    const maxZeroed = zeroed.reduce((a, v) => (v > a ? v : a), 0);
    const minKept = kept.reduce((a, v) => (v < a ? v : a), Infinity);
    assert.ok(maxZeroed <= minKept, `${l.name}: a larger weight (${maxZeroed}) was pruned before ${minKept}`);
  }
  model.dispose();

  const out = join(dir, 'pruned.safetensors');
  const j = run(['prune', '--weights', WEIGHTS, '--amount', '0.3', '--out', out, '--json']);
  assert.equal(j.out, out);
  assert.ok(Math.abs((j.sparsity as number) - 0.3) < 0.005);
  const reloaded = loadModel(out);
  let [nz, nw] = [0, 0];
  for (const mod of reloaded.modules()) {
    if (mod instanceof nn.Conv2d) {
      nw += mod.weight.numel;
      nz += tidy(() => mod.weight.eq(0).sum().item());
    }
  }
  reloaded.dispose();
  assert.equal(nz / nw, j.sparsity);
  const det = await Detector.load(out, FIX_OPTS);
  try {
    const res = await det.detect(BUS);
    assert.equal(res.detections.length, 300);
  } finally {
    det.dispose();
  }
});
