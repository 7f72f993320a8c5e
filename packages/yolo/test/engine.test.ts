import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadPt, manualSeed, type PyDict, rand, type Tensor, tensor, tidy } from '@tsyolo/torch';
import { EarlyStopping } from '../src/engine/early-stop.js';
import { cloneModel, ModelEMA } from '../src/engine/ema.js';
import { smartOptimizer, splitParams } from '../src/engine/optimizer.js';
import { interp, linearLr, oneCycleLr, warmupAt, warmupIterations } from '../src/engine/schedule.js';
import { buildModel, loadHyp, loadModel } from '../src/index.js';
import { ComputeLoss } from '../src/loss/index.js';
import { fixture, fullFixture, needsFullFixture } from './fixtures.js';

// yolov5n's param_groups in the fixture's training checkpoint (yolov5n.pt): biases, decayed weights, BN weights.
const GROUP_SIZES = [60, 60, 57];

test('optimizer groups equal yolov5 (biases, decayed weights, BN weights)', () => {
  const model = buildModel('yolov5n');
  const g = splitParams(model);
  const sizes = GROUP_SIZES;
  assert.deepEqual([g.biases.length, g.weights.length, g.norms.length], sizes);
  const opt = smartOptimizer(model, 'SGD', 0.01, 0.937, 0.0005);
  assert.deepEqual(
    opt.paramGroups.map((x) => x.params.length),
    sizes,
  );
  assert.deepEqual(
    opt.paramGroups.map((x) => (x as unknown as { weight_decay: number }).weight_decay),
    [0, 0.0005, 0],
  );
  assert.equal((opt.paramGroups[0] as unknown as { nesterov: boolean }).nesterov, true);
  opt.dispose();
  model.dispose();
});

test('optimizer group sizes and weight decay as in the fixture training checkpoint', {
  skip: needsFullFixture('yolov5n.pt'),
}, () => {
  const ck = loadPt(fullFixture('yolov5n.pt')!) as PyDict;
  const groups = (ck.get('optimizer') as PyDict).get('param_groups') as PyDict[];
  assert.deepEqual(
    groups.map((x) => (x.get('params') as number[]).length),
    GROUP_SIZES,
  );
  assert.deepEqual(
    groups.map((x) => x.get('weight_decay')),
    [0, 0.0005, 0],
  );
});

test('LR schedules: linear and one-cycle from 1 to lrf', () => {
  const lin = linearLr(100, 0.01);
  assert.equal(lin(0), 1);
  assert.ok(Math.abs(lin(100) - 0.01) < 1e-12);
  // the fixture checkpoint (100 epochs, lr0 0.01) holds lr 0.009901 after one scheduler step
  assert.ok(Math.abs(0.01 * lin(1) - 0.009901) < 1e-12);
  assert.ok(Number.isFinite(linearLr(1, 0.01)(0)));
  const cos = oneCycleLr(100, 0.01);
  assert.equal(cos(0), 1);
  assert.ok(Math.abs(cos(100) - 0.01) < 1e-12);
  assert.ok(Math.abs(cos(50) - 0.505) < 1e-12);
});

test('warmup: bias lr falls, others rise, momentum rises, accumulation ramps (hand-computed)', () => {
  assert.equal(warmupIterations(3, 10), 100);
  assert.equal(warmupIterations(3, 50), 150);
  const cfg = { nw: 100, warmupBiasLr: 0.1, warmupMomentum: 0.8, momentum: 0.937, nbs: 64, batchSize: 16 };
  const target = [0.01, 0.01, 0.01];
  const at0 = warmupAt(0, cfg, target);
  assert.deepEqual(at0.lr, [0.1, 0, 0]);
  assert.equal(at0.momentum, 0.8);
  assert.equal(at0.accumulate, 1);
  const at25 = warmupAt(25, cfg, target);
  assert.ok(Math.abs(at25.lr[0] - (0.1 + (0.01 - 0.1) * 0.25)) < 1e-15);
  assert.ok(Math.abs(at25.lr[1] - 0.0025) < 1e-15);
  assert.ok(Math.abs(at25.momentum - (0.8 + 0.137 * 0.25)) < 1e-15);
  assert.equal(at25.accumulate, Math.round(1 + 3 * 0.25)); // interp(25, [0,100], [1, 4]) = 1.75 → 2
  assert.equal(warmupAt(100, cfg, target).accumulate, 4);
  assert.equal(interp(5, [0, 10], [0, 1]), 0.5);
  // the fixture's step-0 momentum is np.interp(0, ..., [0.8, 0.937]) = 0.8
  assert.equal(warmupAt(0, { ...cfg, batchSize: 2 }, target).accumulate, 1);
});

test('EMA: decay ramp and update rule', () =>
  tidy(() => {
    const model = loadModel(fixture('yolov5n.safetensors'));
    const ema = new ModelEMA(model);
    const k = 'model.0.conv.weight';
    assert.ok(ema.ema.stateDict().get(k)!.equal(model.stateDict().get(k)!));
    const before = ema.ema.stateDict().get(k)!.clone();
    model.stateDict().get(k)!.requiresGrad_(false).add_(1).requiresGrad_(true);
    ema.update(model);
    const d = 0.9999 * (1 - Math.exp(-1 / 2000));
    assert.ok(Math.abs(ema.d() - d) < 1e-15);
    const expected = before.mul(d).add(before.add(1).mul(1 - d));
    assert.ok(ema.ema.stateDict().get(k)!.allclose(expected, 1e-6, 1e-7));
    assert.equal(ema.ema.stateDict().get(k)!.requiresGrad, false);
    ema.dispose();
    model.dispose();
  }));

test('early stopping after `patience` epochs without improvement', () => {
  const es = new EarlyStopping(3);
  const fits = [0.1, 0.2, 0.15, 0.19, 0.2, 0.18];
  const stops = fits.map((f, e) => es.step(e, f));
  // 0.2 at epoch 4 ties the best (>=), so the best epoch moves to 4; no stop by epoch 5
  assert.deepEqual(stops, [false, false, false, false, false, false]);
  assert.equal(es.bestEpoch, 4);
  assert.equal(es.step(7, 0.1), true);
});

test('channels-last training: the same loss and gradients as NCHW within float rounding, channels-last grads', () =>
  tidy(() => {
    manualSeed(5);
    const nchw = buildModel('yolov5n', { nc: 3 });
    nchw.hyp = loadHyp('hyp.scratch-low.yaml') as unknown as Record<string, number>;
    const nhwc = cloneModel(nchw).channelsLast();
    const x = rand([2, 3, 64, 64]);
    const targets = tensor([
      [0, 1, 0.5, 0.5, 0.3, 0.4],
      [1, 2, 0.3, 0.6, 0.2, 0.2],
    ]);
    const step = (m: typeof nchw, input: Tensor) => {
      const { loss } = new ComputeLoss(m).call(m.forward(input) as Tensor[], targets);
      loss.backward();
      return loss.item();
    };
    const a = step(nchw, x);
    const b = step(nhwc, x.contiguous('channels_last'));
    assert.ok(Math.abs(a - b) <= 1e-5 * Math.abs(a), `loss ${a} vs ${b}`);
    const ga = new Map(nchw.namedParameters());
    let fourD = 0;
    for (const [k, p] of nhwc.namedParameters()) {
      const g = p.grad!;
      const ref = ga.get(k)!.grad!;
      // summation order differs: compare against the gradient's own scale
      const err = g.sub(ref).abs().max().item() / ref.abs().max().item();
      assert.ok(err < 1e-3, `grad of ${k}: ${err} of its largest element`);
      if (p.dim() === 4 && p.shape[2] > 1) {
        assert.equal(g.strides()[1], 1, `grad of ${k} is channels-last`);
        fourD++;
      }
    }
    assert.ok(fourD > 10);
    nchw.dispose();
    nhwc.dispose();
  }));
