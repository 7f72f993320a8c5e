// The ONNX Runtime backend (Detector.load('x.onnx'), tsyolo detect/val on .onnx files) against the
// libtorch path on the yolov5n fixture, and the plain-TypeScript pre/post-processing (src/portable)
// against libtorch's letterbox input, nonMaxSuppression and scaleBoxes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadNpy, manualSeed, noGrad, tidy } from '@tsyolo/torch';
import { prepare, readImage } from '../src/detect/image.js';
import { OnnxModel, onnxThreads } from '../src/detect/onnx-model.js';
import { namesDictString } from '../src/export/onnx.js';
import {
  buildModel,
  createDataset,
  DataLoader,
  type Detection,
  Detector,
  exportOnnx,
  loadDataConfig,
  loadHyp,
  loadModel,
  nonMaxSuppression,
  saveCheckpoint,
  scaleBoxes,
  synthesizeDataset,
  validate,
} from '../src/index.js';
import {
  letterboxInput,
  type NmsOptions,
  nonMaxSuppressionRows,
  parseNames,
  parseStride,
  scaleBoxRows,
  toDetections,
} from '../src/portable/index.js';
import { fixture, maxAbsDiff, repoRoot, sampleImage } from './fixtures.js';

const WEIGHTS = fixture('yolov5n-stripped.pt');
const BUS = sampleImage('bus.jpg');
const cli = join(repoRoot(), 'packages/yolo/dist/src/cli/main.js');
const env = { ...process.env, TSYOLO_NUM_THREADS: '2' };
const dir = mkdtempSync(join(tmpdir(), 'tsyolo-onnx-'));
const fixedOnnx = join(dir, 'yolov5n-320.onnx');
const dynamicOnnx = join(dir, 'yolov5n-dynamic.onnx');

function run(args: string[]): {
  last: Record<string, unknown>;
  lines: Record<string, unknown>[];
  stdout: string;
  stderr: string;
} {
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, `tsyolo ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { last: lines[lines.length - 1], lines, stdout: r.stdout, stderr: r.stderr };
}

/**
 * ONNX Runtime and libtorch agree to ~1e-5 on the raw output: the same detections, each matched to one of
 * the same class with boxes within 1 px (rounding to whole pixels) and conf within confTol. Matching, not
 * position: two detections whose confidences differ by less than the runtimes' difference may swap places.
 */
function assertSameDetections(got: Detection[], want: Detection[], what: string, confTol = 1e-4): void {
  assert.ok(want.length > 0, `${what}: the reference has no detections`);
  assert.equal(got.length, want.length, `${what}: count`);
  const used = new Set<number>();
  want.forEach((w, i) => {
    const j = got.findIndex(
      (g, k) =>
        !used.has(k) &&
        g.cls === w.cls &&
        g.name === w.name &&
        Math.abs(g.conf - w.conf) <= confTol &&
        g.box.every((v, c) => Math.abs(v - w.box[c]) <= 1),
    );
    assert.ok(j >= 0, `${what} #${i}: no match for ${JSON.stringify(w)} (at that place: ${JSON.stringify(got[i])})`);
    assert.ok(Math.abs(j - i) <= 3, `${what} #${i}: matched at #${j}`);
    used.add(j);
  });
}

test('setup: the yolov5n fixture exported to ONNX at 320 (fixed shape) and with dynamic axes', () => {
  const m = loadModel(WEIGHTS).fuse().eval();
  writeFileSync(fixedOnnx, exportOnnx(m, { imgsz: 320 }));
  writeFileSync(dynamicOnnx, exportOnnx(m, { imgsz: 320, dynamic: true }));
  m.dispose();
});

test('letterboxInput (plain TS) gives the libtorch input bit for bit, from RGB and from RGBA pixels', async () => {
  const img = await readImage(BUS);
  const rgba = new Uint8ClampedArray(img.width * img.height * 4);
  for (let p = 0; p < img.width * img.height; p++) {
    rgba.set(img.data.subarray(3 * p, 3 * p + 3), 4 * p);
    rgba[4 * p + 3] = 255;
  }
  for (const [size, auto] of [
    [320, false],
    [320, true],
    [640, true],
  ] as const) {
    const p = prepare(img, size, 32, auto);
    const want = tidy(() => p.input.toTypedArray() as Float32Array);
    p.input.dispose();
    const a = letterboxInput(img, size, { auto, stride: 32 });
    const b = letterboxInput({ data: rgba, width: img.width, height: img.height, channels: 4 }, size, {
      auto,
      stride: 32,
    });
    assert.deepEqual(a.shape, p.shape);
    assert.deepEqual([a.ratio, a.pad], [p.ratio, p.pad]);
    assert.deepEqual(a.data, want, `${size} auto=${auto}`);
    assert.deepEqual(b.data, want, `${size} auto=${auto} from RGBA`);
  }
});

test('nonMaxSuppressionRows (plain TS) = libtorch nonMaxSuppression on the fixture output, bit for bit', () => {
  tidy(() => {
    const out = loadNpy(fixture('eval_out.npy'));
    const data = out.toTypedArray() as Float32Array;
    const cases: NmsOptions[] = [
      {},
      { confThres: 0.25, iouThres: 0.45, maxDet: 1000 },
      { confThres: 0.001, iouThres: 0.6, maxDet: 300 },
      { confThres: 0.001, iouThres: 0.6, maxDet: 300, multiLabel: true },
      { confThres: 0.01, iouThres: 0.5, agnostic: true },
      { confThres: 0.001, classes: [0, 2, 5], maxDet: 50 },
      { confThres: 0.999 },
    ];
    for (const opts of cases) {
      const [want] = nonMaxSuppression(out, opts);
      const t0 = performance.now();
      const [got] = nonMaxSuppressionRows(data, out.shape, opts);
      const ms = performance.now() - t0;
      assert.equal(got.n, want.shape[0], JSON.stringify(opts));
      assert.deepEqual(got.rows, want.toTypedArray() as Float32Array, JSON.stringify(opts));
      console.log(`# ${JSON.stringify(opts)}: ${got.n} detections in ${ms.toFixed(1)} ms`);
    }
    // and yolov5's own result (written by yolov5 v7.0)
    const ref = loadNpy(fixture('nms_dets.npy')).toTypedArray() as Float32Array;
    const [mine] = nonMaxSuppressionRows(data, out.shape, { confThres: 0.001, iouThres: 0.6, maxDet: 300 });
    assert.equal(mine.n * 6, ref.length);
    mine.rows.forEach((v, i) => assert.ok(Math.abs(v - ref[i]) <= 1e-3, `row ${Math.floor(i / 6)}`));
  });
});

test('scaleBoxRows / toDetections (plain TS) = scaleBoxes(...).round() and detect.py', () => {
  tidy(() => {
    const dets = loadNpy(fixture('nms_dets.npy'));
    const n = dets.shape[0];
    const want = scaleBoxes([320, 320], dets.index(':', ':4'), [1080, 810]).round().toTypedArray() as Float32Array;
    const got = scaleBoxRows(dets.toTypedArray() as Float32Array, n, [320, 320], [1080, 810]);
    for (let i = 0; i < n; i++)
      assert.deepEqual(
        Array.from(got.subarray(6 * i, 6 * i + 4)),
        Array.from(want.subarray(4 * i, 4 * i + 4)),
        `row ${i}`,
      );
    const ref = loadNpy(fixture('nms_dets_scaled_to_orig.npy')).toTypedArray() as Float32Array;
    const d = toDetections({ rows: dets.toTypedArray() as Float32Array, n }, [320, 320], [1080, 810], ['person']);
    d.forEach((x, i) => {
      x.box.forEach((v, k) => assert.ok(Math.abs(v - ref[6 * i + k]) <= 1e-3));
      assert.equal(x.cls, ref[6 * i + 5]);
      assert.equal(x.name, x.cls === 0 ? 'person' : String(x.cls));
    });
  });
});

test("names and stride metadata: yolov5's Python reprs, round trip with the exporter's", () => {
  assert.deepEqual(parseNames("{0: 'person', 1: 'bicycle'}"), ['person', 'bicycle']);
  const odd = ["it's", 'say "hi"', 'back\\slash', 'tab\there', 'new\nline', 'café', '日本', '\x01ctl', 'both \' and "'];
  assert.deepEqual(parseNames(namesDictString(odd)), odd);
  assert.deepEqual(parseNames("['a', 'b']"), ['a', 'b']);
  assert.deepEqual(parseNames('["a", "b"]'), ['a', 'b']);
  assert.deepEqual(parseNames("{0: 'a', 2: 'c'}"), ['a', 'class1', 'c']);
  assert.deepEqual(parseNames("{'0': 'a', '1': 'b'}"), ['a', 'b']);
  assert.throws(
    () => parseNames('{0: person}'),
    /names: not a Python dict or list literal \(unexpected 'p' at character 4/,
  );
  assert.throws(() => parseNames("{0: 'a'"), /names: .*',' or '}' expected at character 7/);
  assert.throws(() => parseNames("{-1: 'a'}"), /names: key -1 is not a class index/);
  assert.throws(() => parseNames("{0: 'a'} x"), /unexpected text after the value/);
  assert.equal(parseStride('32'), 32);
  assert.equal(parseStride('[8, 16, 32]'), 32);
  assert.equal(parseStride('64.0'), 64);
  assert.throws(() => parseStride('x'), /stride: not a number or list/);
  assert.throws(() => parseStride('0'), /stride: "0" is not a positive integer/);
});

test('OnnxModel reads the shape, stride and names of the file; threads from the environment', async () => {
  const m = loadModel(WEIGHTS);
  const fixed = await OnnxModel.load(fixedOnnx, { threads: 1 });
  const dyn = await OnnxModel.load(dynamicOnnx);
  try {
    assert.deepEqual(
      [fixed.batch, fixed.shape, fixed.stride, fixed.nc, fixed.half, fixed.threads],
      [1, [320, 320], 32, 80, false, 1],
    );
    assert.deepEqual(fixed.names, m.names);
    assert.deepEqual([dyn.batch, dyn.shape, dyn.threads], [null, null, onnxThreads()]);
    const saved = { ...process.env };
    process.env.TSYOLO_ORT_THREADS = '3';
    assert.equal(onnxThreads(), 3);
    delete process.env.TSYOLO_ORT_THREADS;
    process.env.TSYOLO_NUM_THREADS = '5';
    assert.equal(onnxThreads(), 5);
    process.env.TSYOLO_NUM_THREADS = 'x';
    assert.throws(() => onnxThreads(), /TSYOLO_NUM_THREADS=x: expected a positive integer/);
    process.env.TSYOLO_NUM_THREADS = saved.TSYOLO_NUM_THREADS;
    if (saved.TSYOLO_NUM_THREADS === undefined) delete process.env.TSYOLO_NUM_THREADS;
    await assert.rejects(
      fixed.run(new Float32Array(3 * 256 * 256), [1, 3, 256, 256]),
      /takes 320x320 images, got 256x256/,
    );
    // a fixed batch of 1 runs a batch of 2 in two steps
    const x = letterboxInput(await readImage(BUS), 320, { auto: false });
    const two = new Float32Array(2 * x.data.length);
    two.set(x.data);
    two.set(x.data, x.data.length);
    const y2 = await fixed.run(two, [2, 3, 320, 320]);
    const y1 = await fixed.run(x.data, [1, 3, 320, 320]);
    assert.deepEqual(y2.dims, [2, 6300, 85]);
    assert.deepEqual(y2.data.subarray(y1.data.length), y1.data);
  } finally {
    fixed.dispose();
    dyn.dispose();
    m.dispose();
  }
});

test('Detector on a fixed-shape .onnx = the libtorch Detector (bus.jpg, 320)', async () => {
  const native = await Detector.load(WEIGHTS, { imgsz: 320, auto: false });
  const onnx = await Detector.load(fixedOnnx, { imgsz: 320 });
  try {
    assert.equal(onnx.onnx?.path, fixedOnnx);
    assert.deepEqual([onnx.stride, onnx.names], [native.stride, native.names]);
    assert.throws(() => onnx.ensemble, /runs on ONNX Runtime and has no libtorch models/);
    const classes = [...new Set((await native.detect(BUS)).detections.map((d) => d.cls))].slice(0, 3);
    for (const o of [
      {},
      { confThres: 0.001, iouThres: 0.6, maxDet: 300 },
      { classes, agnostic: true, confThres: 0.1 },
    ]) {
      const a = await native.detect(BUS, o);
      const b = await onnx.detect(BUS, o);
      assert.deepEqual([b.width, b.height], [810, 1080]);
      assertSameDetections(b.detections, a.detections, JSON.stringify(o));
      console.log(
        `# fixed 320 ${JSON.stringify(o)}: ${b.detections.length} detections, ${b.speed.inference.toFixed(1)} ms ONNX Runtime vs ${a.speed.inference.toFixed(1)} ms libtorch`,
      );
    }
    // the fixed size wins over imgsz
    const big = await onnx.detect(BUS, { imgsz: 640 });
    const ref = await native.detect(BUS);
    assertSameDetections(big.detections, ref.detections, 'imgsz 640 on a 320 model');
    await assert.rejects(
      onnx.detect(BUS, { augment: true }),
      /test-time augmentation \(--augment\) needs PyTorch weights/,
    );
  } finally {
    native.dispose();
    onnx.dispose();
  }
});

test('Detector on a dynamic .onnx letterboxes like the libtorch path (auto rectangles, any size)', async () => {
  const native = await Detector.load(WEIGHTS);
  const onnx = await Detector.load(dynamicOnnx, { threads: 2 });
  try {
    for (const o of [{ imgsz: 320 }, { imgsz: 320, auto: false }, { imgsz: 416 }]) {
      const a = await native.detect(BUS, o);
      const b = await onnx.detect(BUS, o);
      // at 416 this random model's scores differ by up to ~1.1e-4 between the runtimes
      assertSameDetections(b.detections, a.detections, JSON.stringify(o), o.imgsz === 320 ? 1e-4 : 3e-4);
    }
  } finally {
    native.dispose();
    onnx.dispose();
  }
});

test('tsyolo detect --weights x.onnx; an ensemble with an .onnx file is refused', async () => {
  const r = run([
    'detect',
    '--weights',
    fixedOnnx,
    '--source',
    BUS,
    '--img',
    '320',
    '--project',
    join(dir, 'detect'),
    '--name',
    'exp',
    '--json',
  ]);
  const img = r.lines.find((l) => l.image === BUS) as { detections: Detection[] } | undefined;
  assert.ok(img, r.stdout);
  const det = await Detector.load(WEIGHTS, { imgsz: 320, auto: false });
  try {
    assertSameDetections(img.detections, (await det.detect(BUS)).detections, 'tsyolo detect');
  } finally {
    det.dispose();
  }
  await assert.rejects(Detector.load([WEIGHTS, fixedOnnx]), /an ONNX model cannot be part of an ensemble/);
  const bad = join(dir, 'bad.onnx');
  writeFileSync(bad, 'not a model');
  await assert.rejects(
    Detector.load(bad),
    new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not an ONNX model`),
  );
  await assert.rejects(Detector.load(join(dir, 'missing.onnx')), /missing\.onnx: file not found/);
});

test('tsyolo val --weights x.onnx gives the metrics of the PyTorch weights (fixed and dynamic shapes)', async () => {
  // as test/val.test.ts: 8 synthetic 128×128 images and a seeded random 3-class yolov5n whose objectness is
  // raised so that it predicts something at conf 0.001. Its scores hardly depend on the image (near-ties
  // everywhere), so which boxes survive NMS, and the small metrics, move with 1e-7 differences between the
  // runtimes: the metrics are compared to 1e-3 as the issue asks, and the raw outputs on every validation
  // batch (the val loader's rectangular and square batches) to 1e-4.
  const root = join(dir, 'synth');
  const synth = await synthesizeDataset({ out: root, train: 2, val: 8, img: 128, classes: 3, seed: 3 });
  manualSeed(0);
  const model = buildModel('yolov5n', { nc: 3 });
  noGrad(() => {
    const d = model.detect;
    for (let i = 0; i < d.nl; i++) d.m.at(i).bias!.view(d.na, -1).index(':', 4).add_(4);
  });
  const weights = join(dir, 'random.safetensors');
  saveCheckpoint(weights, model);
  model.dispose();
  const saved = loadModel(weights).fuse().eval(); // the weights as stored
  const fixed = join(dir, 'random-128.onnx');
  const dynamic = join(dir, 'random-dynamic.onnx');
  writeFileSync(fixed, exportOnnx(saved, { imgsz: 128 }));
  writeFileSync(dynamic, exportOnnx(saved, { imgsz: 128, dynamic: true }));
  const common = [
    '--data',
    synth.yaml,
    '--img',
    '128',
    '--batch-size',
    '4',
    '--workers',
    '1',
    '--project',
    join(dir, 'val'),
    '--noplots',
    '--json',
  ];
  const native = run(['val', '--weights', weights, ...common, '--name', 'native']).last;
  assert.ok((native.mAP50 as number) > 0, 'the random model should find something');
  // a dynamic model runs val's rectangular batches (128×128 images → 160×160 inputs), as the libtorch model
  const dyn = run(['val', '--weights', dynamic, ...common, '--name', 'dynamic']);
  assert.match(
    dyn.stdout,
    /ONNX Runtime: .*random-dynamic\.onnx \(input \[batch,3,height,width\], 3 classes, stride 32, \d+ threads?\)/,
  );
  // a fixed 1×3×128×128 model forces batch 1 and square 128 letterboxing (yolov5's val.py for exported
  // models): compared with the libtorch model validated on the same square batches
  const fix = run([
    'val',
    '--weights',
    fixed,
    ...common.map((v) => (v === '128' ? '256' : v)),
    '--name',
    'fixed',
    '--threads',
    '1',
  ]);
  assert.match(
    fix.stdout,
    /ONNX Runtime: .*random-128\.onnx \(input \[1,3,128,128\], 3 classes, stride 32, 1 thread\)/,
  );
  assert.match(fix.stdout, /Forcing --imgsz 128/);
  assert.match(fix.stdout, /Forcing --batch-size 1 square inference \(1,3,128,128\) for a fixed-shape ONNX model/);
  const cfg = loadDataConfig(synth.yaml);
  const loaderFor = async (rect: boolean, batchSize: number): Promise<DataLoader> => {
    const ds = await createDataset(cfg.val, {
      imgsz: 128,
      augment: false,
      hyp: loadHyp('hyp.scratch-low.yaml'),
      seed: 0,
      stride: 32,
      batchSize,
      nc: 3,
      rect,
      pad: 0.5,
    });
    return new DataLoader(ds.spec, { batchSize, workers: 1, shuffle: false, seed: 0 });
  };
  let loader = await loaderFor(false, 1);
  const square = await validate(saved, loader);
  await loader.close();
  const ort = await OnnxModel.load(dynamic, { threads: 2 });
  try {
    for (const [rect, bs] of [
      [true, 4],
      [false, 1],
    ] as const) {
      loader = await loaderFor(rect, bs);
      for await (const batch of loader.epoch(0)) {
        const y = await ort.predict(batch.images);
        tidy(() => {
          const x = saved.predict(batch.images.float().div(255));
          assert.deepEqual(y.shape, x.shape);
          const scores = maxAbsDiff(y.index('...', '4:'), x.index('...', '4:'));
          const boxes = maxAbsDiff(y.index('...', ':4'), x.index('...', ':4'));
          assert.ok(scores <= 1e-4 && boxes <= 1e-3, `rect=${rect}: scores Δ ${scores}, boxes Δ ${boxes} px`);
        });
        y.dispose();
        batch.images.dispose();
        batch.targets.dispose();
      }
      await loader.close();
    }
  } finally {
    ort.dispose();
    saved.dispose();
  }
  const squareRef = { precision: square.mp, recall: square.mr, mAP50: square.map50, mAP50_95: square.map };
  for (const [name, r, ref] of [
    ['dynamic', dyn.last, native],
    ['fixed', fix.last, squareRef],
  ] as const) {
    assert.equal(r.images, 8);
    console.log(
      `# val ${name}: P R mAP50 mAP50-95 ${JSON.stringify([r.precision, r.recall, r.mAP50, r.mAP50_95])}, libtorch ${JSON.stringify([ref.precision, ref.recall, ref.mAP50, ref.mAP50_95])}`,
    );
    // mAP within 1e-3 (P and R, read at the best-F1 confidence, jump with the near-ties: not compared)
    for (const k of ['mAP50', 'mAP50_95'] as const)
      assert.ok(
        Math.abs((r[k] as number) - (ref[k] as number)) <= 1e-3,
        `${name} ${k}: ${r[k] as number} vs ${ref[k] as number}`,
      );
  }
  const e = spawnSync(process.execPath, [cli, 'val', '--weights', dynamic, ...common, '--name', 'tta', '--augment'], {
    env,
    encoding: 'utf8',
  });
  assert.notEqual(e.status, 0);
  assert.match(e.stderr, /test-time augmentation needs PyTorch weights/);
  const f = spawnSync(process.execPath, [cli, 'val', '--weights', weights, dynamic, ...common, '--name', 'ens'], {
    env,
    encoding: 'utf8',
  });
  assert.notEqual(f.status, 0);
  assert.match(f.stderr, /random-dynamic\.onnx: an ONNX model cannot be part of an ensemble/);
});
