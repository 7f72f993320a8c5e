// tsyolo val end to end on a tiny synthetic dataset with a random model: metrics, --save-txt,
// --save-json with COCO evaluation, --augment, --task speed, ensembles.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { noGrad, type Tensor } from '@tsyolo/torch';
import { formatG, pyRound } from '../src/cli/val.js';
import { createDataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';
import {
  buildModel,
  Ensemble,
  loadDataConfig,
  loadHyp,
  loadModel,
  saveCheckpoint,
  synthesizeDataset,
  type ValResult,
  validate,
} from '../src/index.js';
import { repoRoot } from './fixtures.js';

const cli = join(repoRoot(), 'packages/yolo/dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'tsyolo-val-'));
const env = { ...process.env, TSYOLO_NUM_THREADS: '2' };
const IMG = 128;
let data = '';
let weights = '';

function run(args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, `tsyolo ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return { ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>), stdout: r.stdout };
}

test('setup: 8 synthetic val images, COCO ground truth, a random 3-class yolov5n', async () => {
  const r = await synthesizeDataset({ out: join(dir, 'synth'), train: 2, val: 8, img: IMG, classes: 3, seed: 3 });
  data = r.yaml;
  // COCO ground truth from the YOLO labels (image id = numeric stem, category id = class index)
  const root = join(dir, 'synth');
  const images: { id: number; width: number; height: number; file_name: string }[] = [];
  const annotations: {
    id: number;
    image_id: number;
    category_id: number;
    bbox: number[];
    area: number;
    iscrowd: number;
  }[] = [];
  for (const f of readdirSync(join(root, 'labels', 'val')).sort()) {
    const id = Number(basename(f, '.txt'));
    images.push({ id, width: IMG, height: IMG, file_name: `${basename(f, '.txt')}.jpg` });
    for (const line of readFileSync(join(root, 'labels', 'val', f), 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)) {
      const [c, x, y, w, h] = line.split(/\s+/).map(Number);
      const bbox = [(x - w / 2) * IMG, (y - h / 2) * IMG, w * IMG, h * IMG];
      annotations.push({
        id: annotations.length + 1,
        image_id: id,
        category_id: c,
        bbox,
        area: bbox[2] * bbox[3],
        iscrowd: 0,
      });
    }
  }
  mkdirSync(join(root, 'annotations'), { recursive: true });
  writeFileSync(
    join(root, 'annotations', 'instances_val.json'),
    JSON.stringify({ images, annotations, categories: [0, 1, 2].map((id) => ({ id, name: `c${id}` })) }),
  );
  // a random model whose objectness is raised so that it predicts something at conf 0.001
  const model = buildModel('yolov5n', { nc: 3 });
  noGrad(() => {
    const det = model.detect;
    for (let i = 0; i < det.nl; i++) det.m.at(i).bias!.view(det.na, -1).index(':', 4).add_(4);
  });
  weights = join(dir, 'random.safetensors');
  saveCheckpoint(weights, model);
  model.dispose();
  assert.ok(existsSync(weights));
});

test('tsyolo val --save-txt --save-conf --save-json --json: metrics, labels, COCO results and their evaluation', () => {
  const r = run([
    'val',
    '--data',
    data,
    '--weights',
    weights,
    '--img',
    String(IMG),
    '--batch-size',
    '4',
    '--workers',
    '1',
    '--project',
    join(dir, 'runs'),
    '--name',
    'exp',
    '--save-txt',
    '--save-conf',
    '--save-json',
    '--json',
  ]);
  assert.equal(r.images, 8);
  assert.ok((r.instances as number) > 0);
  for (const k of ['precision', 'recall', 'mAP50', 'mAP50_95'])
    assert.ok(Number.isFinite(r[k] as number) && (r[k] as number) >= 0 && (r[k] as number) <= 1, k);
  const save = r.saveDir as string;
  assert.equal(save, join(dir, 'runs', 'exp'));
  // labels: class, normalised xywh, conf
  const labels = readdirSync(join(save, 'labels'));
  assert.ok(labels.length > 0 && labels.every((f) => /^\d{6}\.txt$/.test(f)));
  for (const f of labels) {
    for (const line of readFileSync(join(save, 'labels', f), 'utf8')
      .trim()
      .split('\n')) {
      const v = line.split(' ').map(Number);
      assert.equal(v.length, 6, line);
      assert.ok(
        [0, 1, 2].includes(v[0]) && v.slice(1, 5).every((x) => x >= 0 && x <= 1) && v[5] > 0.001 && v[5] <= 1,
        line,
      );
    }
  }
  // COCO results: image_id = int(stem), category_id = class index, bbox [x, y, w, h] in pixels (3 decimals), score (5)
  const pj = r.predictionsJson as string;
  assert.equal(pj, join(save, 'random_predictions.json'));
  const preds = JSON.parse(readFileSync(pj, 'utf8')) as {
    image_id: number;
    category_id: number;
    bbox: number[];
    score: number;
  }[];
  assert.ok(preds.length > 0);
  const nTxt = labels.reduce(
    (n, f) =>
      n +
      readFileSync(join(save, 'labels', f), 'utf8')
        .trim()
        .split('\n').length,
    0,
  );
  assert.equal(preds.length, nTxt);
  for (const p of preds.slice(0, 200)) {
    assert.ok(Number.isInteger(p.image_id) && p.image_id >= 0 && p.image_id < 8);
    assert.ok([0, 1, 2].includes(p.category_id));
    assert.equal(p.bbox.length, 4);
    assert.ok(
      p.bbox.every((v) => Math.abs(v * 1000 - Math.round(v * 1000)) < 1e-6) &&
        p.bbox[0] >= 0 &&
        p.bbox[0] + p.bbox[2] <= IMG + 1e-3,
    );
    assert.ok(Math.abs(p.score * 1e5 - Math.round(p.score * 1e5)) < 1e-6);
  }
  // the txt labels and the JSON describe the same boxes: first image, first line
  const first = labels[0];
  const [, x, _y, w, h, conf] = readFileSync(join(save, 'labels', first), 'utf8')
    .split('\n')[0]
    .split(' ')
    .map(Number);
  const j = preds.find((p) => p.image_id === Number(basename(first, '.txt')))!;
  assert.ok(
    Math.abs(j.bbox[0] - (x - w / 2) * IMG) < 0.01 &&
      Math.abs(j.bbox[3] - h * IMG) < 0.01 &&
      Math.abs(j.score - conf) < 1e-5,
  );
  // cocoEval on annotations/instances_val.json
  const coco = r.coco as { annotations: string; stats: number[] };
  assert.ok(coco, `COCO evaluation did not run: ${String(r.cocoError)}`);
  assert.equal(coco.stats.length, 12);
  assert.match(
    r.stdout as string,
    /Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95 \| area= {3}all \| maxDets=100 \] = /,
  );
});

test('tsyolo val --augment, --task speed, and an ensemble of two weights', () => {
  const a = run([
    'val',
    '--data',
    data,
    '--weights',
    weights,
    '--img',
    String(IMG),
    '--batch-size',
    '8',
    '--workers',
    '1',
    '--project',
    join(dir, 'runs'),
    '--name',
    'tta',
    '--augment',
    '--json',
  ]);
  assert.equal(a.images, 8);
  const s = run([
    'val',
    '--data',
    data,
    '--weights',
    weights,
    '--img',
    String(IMG),
    '--batch-size',
    '8',
    '--workers',
    '1',
    '--project',
    join(dir, 'runs'),
    '--name',
    'speed',
    '--task',
    'speed',
    '--save-json',
    '--json',
  ]);
  assert.equal(s.predictionsJson, null);
  assert.match(s.stdout as string, /Speed: .*ms inference/);
  const e = run([
    'val',
    '--data',
    data,
    '--weights',
    weights,
    weights,
    '--img',
    String(IMG),
    '--batch-size',
    '8',
    '--workers',
    '1',
    '--project',
    join(dir, 'runs'),
    '--name',
    'ens',
    '--json',
  ]);
  assert.match(e.stdout as string, /Ensemble created/);
  assert.equal(e.images, 8);
});

test('validate: an ensemble of one model gives bit-identical predictions and metrics', async () => {
  const m = loadModel(weights).fuse().eval();
  const collect = async (model: Parameters<typeof validate>[0]): Promise<{ r: ValResult; preds: number[][] }> => {
    const cfg = loadDataConfig(data);
    const ds = await createDataset(cfg.val, {
      imgsz: IMG,
      augment: false,
      hyp: loadHyp('hyp.scratch-low.yaml'),
      seed: 0,
      stride: 32,
      batchSize: 4,
      nc: cfg.nc,
      rect: true,
      pad: 0.5,
    });
    const loader = new DataLoader(ds.spec, { batchSize: 4, workers: 1, shuffle: false, seed: 0 });
    const preds: number[][] = [];
    try {
      const r = await validate(model, loader, {
        onBatch: (b) => b.preds.forEach((p: Tensor) => preds.push(Array.from(p.toTypedArray() as Float32Array))),
      });
      return { r, preds };
    } finally {
      await loader.close();
    }
  };
  try {
    const a = await collect(m);
    const b = await collect(new Ensemble([m]));
    assert.equal(a.preds.length, 8);
    assert.deepEqual(b.preds, a.preds);
    assert.deepEqual([b.r.mp, b.r.mr, b.r.map50, b.r.map], [a.r.mp, a.r.mr, a.r.map50, a.r.map]);
  } finally {
    m.dispose();
  }
});

test("Python's %g and round() as val.py writes them", () => {
  assert.deepEqual([0.5, 2, 0.123456789, 1e-5, 123456789, 0, 0.000123456, 99.99996].map(formatG), [
    '0.5',
    '2',
    '0.123457',
    '1e-05',
    '1.23457e+08',
    '0',
    '0.000123456',
    '100',
  ]);
  assert.deepEqual(
    [
      pyRound(1.0625, 3),
      pyRound(1.0635, 3),
      pyRound(2.675, 2),
      pyRound(-1.0625, 3),
      pyRound(0.123456789, 5),
      pyRound(0.5, 0),
      pyRound(1.5, 0),
      pyRound(2.5, 0),
      pyRound(1.0645, 3),
      pyRound(0.1875, 3),
      pyRound(-0.1875, 3),
      pyRound(123.0625, 3),
    ],
    [1.062, 1.063, 2.67, -1.062, 0.12346, 0, 2, 2, 1.065, 0.188, -0.188, 123.062],
  );
});
