import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadNpy, manualSeed, noGrad, randn, saveSafetensors, type Tensor, tidy } from '@tsyolo/torch';
import {
  buildModel,
  DetectionModel,
  loadConfig,
  loadModel,
  loadModelFile,
  saveCheckpoint,
  transferWeights,
  validateConfig,
} from '../src/index.js';
import { fixture, fullFixture, maxAbsDiff, maxRelDiff, needsFullFixture } from './fixtures.js';

// Reference outputs were computed by PyTorch on another machine; float32 convolutions from a
// different kernel path (ISA, thread count) differ by ~1e-5 of the value. On this machine our
// convolutions are bit-identical to Python torch's for the same libtorch (see the issue note).
const RAW_TOL = 1e-3; // logits up to ~19
const REL_TOL = 1e-3; // decoded boxes in pixels up to ~500: relative

test('parameter counts equal yolov5 v7.0 (nc=80, unfused)', () => {
  const expected: Record<string, number> = {
    yolov5n: 1872157,
    yolov5s: 7235389,
    yolov5m: 21190557,
    yolov5l: 46563709,
    yolov5x: 86749405,
    yolov5n6: 3246940,
    yolov5s6: 12626620,
  };
  for (const [name, n] of Object.entries(expected)) {
    const m = new DetectionModel(loadConfig(name));
    assert.equal(m.numParameters(), n, name);
    m.dispose();
  }
});

test('GFLOPs at 640 (fused) within 1% of the published 4.5 / 16.5 / 49.0 / 109.1 / 205.7', () => {
  const published: Record<string, number> = {
    yolov5n: 4.5,
    yolov5s: 16.5,
    yolov5m: 49.0,
    yolov5l: 109.1,
    yolov5x: 205.7,
  };
  for (const [name, g] of Object.entries(published)) {
    const m = new DetectionModel(loadConfig(name)).fuse();
    const s = m.info(640);
    assert.ok(Math.abs(s.gflops - g) / g < 0.01, `${name}: ${s.gflops.toFixed(2)} GFLOPs vs ${g}`);
    m.dispose();
  }
  const s = new DetectionModel(loadConfig('yolov5s'));
  const info = s.info();
  assert.equal(info.layers, 214);
  assert.equal(info.gflops.toFixed(1), '16.6');
  s.dispose();
});

test('P6, yolov3 variants and class-count override build and run', () =>
  tidy(() => {
    for (const [name, levels] of [
      ['yolov5n6', 4],
      ['yolov3-tiny', 2],
    ] as const) {
      const m = new DetectionModel(loadConfig(name), { nc: 3 }).eval();
      const y = noGrad(() => m.forward(randn([1, 3, 128, 128]))) as Tensor;
      const cells = m.stride.reduce((n, s) => n + 3 * (128 / s) ** 2, 0);
      assert.equal(m.stride.length, levels, name);
      assert.deepEqual(y.shape, [1, cells, 8], name);
      m.dispose();
    }
    for (const [name, n] of [
      ['yolov3', 61949149],
      ['yolov3-spp', 62998749],
    ] as const) {
      const m = new DetectionModel(loadConfig(name));
      assert.equal(m.numParameters(), n, name);
      m.dispose();
    }
  }));

test('state_dict names and order equal yolov5 (safetensors fixture)', () => {
  const m = buildModel('yolov5n');
  const { model } = loadModelFile(fixture('yolov5n.safetensors'));
  assert.deepEqual([...m.stateDict().keys()], [...model.stateDict().keys()]);
  assert.ok(m.stateDict().has('model.24.anchors'));
  assert.ok(m.stateDict().has('model.0.conv.weight'));
  assert.deepEqual(model.stride, [8, 16, 32]);
  m.dispose();
  model.dispose();
});

for (const file of ['yolov5n.pt', 'yolov5n-stripped.pt', 'yolov5n.safetensors']) {
  const full = file === 'yolov5n.pt';
  const path = (): string => (full ? fullFixture(file)! : fixture(file));
  test(
    `parity with PyTorch from ${file}: eval (fused) and train outputs`,
    { skip: full && needsFullFixture(file) },
    () =>
      tidy(() => {
        const x = loadNpy(fixture('input_bus320_f32.npy'));
        const model = loadModel(path()).fuse().eval();
        const { pred, raw } = noGrad(() => model.forwardBoth(x));
        const ref = loadNpy(fixture('eval_out.npy'));
        assert.deepEqual(pred.shape, [1, 6300, 85]);
        assert.ok(maxRelDiff(pred, ref) < REL_TOL, `eval_out rel diff ${maxRelDiff(pred, ref)}`);
        assert.ok(maxAbsDiff(pred.index('...', '4:'), ref.index('...', '4:')) < 1e-3, 'obj/cls scores');
        raw.forEach((r, i) =>
          assert.ok(maxAbsDiff(r, loadNpy(fixture(`eval_raw_p${i}.npy`))) < RAW_TOL, `eval_raw_p${i}`),
        );
        model.dispose();
        const train = loadModel(path()).train();
        const outs = noGrad(() => train.forward(x)) as Tensor[];
        outs.forEach((o, i) => {
          const r = loadNpy(fixture(`train_out_p${i}.npy`));
          assert.deepEqual(o.shape, r.shape);
          assert.ok(maxAbsDiff(o, r) < RAW_TOL, `train_out_p${i}: ${maxAbsDiff(o, r)}`);
        });
        train.dispose();
      }),
  );
}

test('tsyolo checkpoint: save → load gives bit-identical outputs; wrong nc or architecture is a clear error', () =>
  tidy(() => {
    const dir = mkdtempSync(join(tmpdir(), 'tsyolo-ckpt-'));
    manualSeed(0);
    const m = buildModel('yolov5n', { nc: 4 });
    m.names = ['a', 'b', 'c', 'd'];
    const path = join(dir, 'best.safetensors');
    saveCheckpoint(path, m, { epoch: 3, bestFitness: 0.5 });
    const loaded = loadModelFile(path);
    assert.equal(loaded.format, 'tsyolo');
    assert.equal(loaded.meta.epoch, 3);
    assert.deepEqual(loaded.model.names, ['a', 'b', 'c', 'd']);
    const x = randn([1, 3, 64, 64]);
    m.eval();
    loaded.model.eval();
    const a = noGrad(() => m.forward(x)) as Tensor;
    const b = noGrad(() => loaded.model.forward(x)) as Tensor;
    assert.ok(a.equal(b), 'bit-identical');
    assert.throws(() => loadModel(path, { nc: 80 }), /weights are for nc=4 classes, but nc=80/);
    // yolov5s weights (a bare state dict) given the yolov5n config do not fit
    const plain = join(dir, 'plain.safetensors');
    const s = buildModel('yolov5s', { nc: 4 });
    saveSafetensors(plain, s.stateDict());
    s.dispose();
    assert.throws(
      () => loadModel(plain, { cfg: 'yolov5n' }),
      /plain.safetensors: 'model.0.conv.weight' has shape \[32,3,6,6\], the yolov5n.yaml architecture with nc=80 expects \[16,3,6,6\]/,
    );
    assert.throws(() => loadModel(plain), /carries no model config; pass cfg/);
    writeFileSync(
      join(dir, 'bad.yaml'),
      'nc: 4\ndepth_multiple: 0.33\nwidth_multiple: 0.25\nanchors: 3\nbackbone: [[-1, 1, Conv, [16, 3, 2]]]\nhead: [[-1, 1, Nope, [1]]]\n',
    );
    assert.throws(
      () => buildModel(join(dir, 'bad.yaml')),
      /bad.yaml: layer 1 \(head row 0, Nope\): unknown module 'Nope'/,
    );
    m.dispose();
    loaded.model.dispose();
  }));

test('config errors name the row and the reason', () => {
  const base = { nc: 2, depth_multiple: 1, width_multiple: 1, anchors: [[10, 13, 16, 30]] };
  assert.throws(
    () =>
      new DetectionModel(
        validateConfig({ ...base, backbone: [[-1, 1, 'Conv', [8, 3]]], head: [[5, 1, 'Conv', [8, 1]]] }, 'x.yaml'),
      ),
    /x.yaml: layer 1 \(head row 0, Conv\): 'from' index 5 does not name an earlier layer/,
  );
  assert.throws(
    () => validateConfig({ ...base, backbone: [[-1, 1, 'Conv']], head: [] }, 'x.yaml'),
    /layer 0 \(backbone row 0\): expected \[from, number, module, args\]/,
  );
  assert.throws(
    () => validateConfig({ ...base, nc: 0, backbone: [], head: [] }, 'x.yaml'),
    /'nc' must be a positive integer/,
  );
  assert.throws(
    () => new DetectionModel(validateConfig({ ...base, backbone: [[-1, 1, 'Conv', ['wide']]], head: [] }, 'x.yaml')),
    /first argument must be the output channel count/,
  );
});

test('transfer learning keeps every tensor with a matching name and shape', () => {
  const src = loadModel(fixture('yolov5n.safetensors'));
  const dst = buildModel('yolov5n', { nc: 3 });
  const r = transferWeights(dst, src.stateDict());
  // everything but the three Detect convolutions' weight and bias
  assert.equal(r.total, 349);
  assert.equal(r.transferred, 343);
  assert.ok(dst.stateDict().get('model.0.conv.weight')!.equal(src.stateDict().get('model.0.conv.weight')!));
  src.dispose();
  dst.dispose();
});
