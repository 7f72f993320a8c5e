// Autograd through the dispatcher against central finite differences, in float64.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cat, F, manualSeed, rand, randn, stack, type Tensor, tensor, tidy, where } from '../src/index.js';
import { gradcheck } from './helpers.js';

const TOL = 1e-6;
const d = (shape: number[]): Tensor => randn(shape, { dtype: 'float64' });
const pos = (shape: number[]): Tensor => rand(shape, { dtype: 'float64' }).add(0.5);

const cases: [string, (...x: Tensor[]) => Tensor, () => Tensor[]][] = [
  ['add/sub/mul/div (broadcast)', (a, b) => a.add(b).mul(a).sub(b.mul(2)).div(b.add(3)), () => [d([2, 3]), pos([3])]],
  ['pow/exp/log/sqrt', (a) => a.pow(3).add(a.exp()).add(a.log()).add(a.sqrt()), () => [pos([5])]],
  ['sigmoid/silu/tanh/atan', (a) => a.sigmoid().add(a.silu()).add(a.tanh()).add(a.atan()), () => [d([6])]],
  [
    'relu/leakyRelu/hardswish (away from kinks)',
    (a) => a.relu().add(a.leakyRelu(0.1)).add(a.hardswish()),
    () => [tensor([-2.5, -1.2, 0.7, 1.3, 3.5], { dtype: 'float64' })],
  ],
  [
    'clamp/abs/maximum',
    (a, b) => a.clamp(-0.5, 0.5).add(a.abs()).add(a.maximum(b)),
    () => [tensor([-1.1, -0.3, 0.2, 0.9], { dtype: 'float64' }), tensor([0, 0, 1, 0], { dtype: 'float64' })],
  ],
  ['softmax/logSoftmax', (a) => a.softmax(1).add(a.logSoftmax(0)), () => [d([2, 4])]],
  [
    'sum/mean/amax/norm/std',
    (a) => a.sum(0).add(a.mean(1).sum()).add(a.amax(0)).add(a.norm()).add(a.std()),
    () => [d([3, 4])],
  ],
  [
    'view/permute/index/cat/stack/gather',
    (a) =>
      cat([a.permute(1, 0).reshape(2, 6), stack([a.index(0), a.index(1)]).view(2, 4)], 1).gather(
        1,
        tensor(
          [
            [0, 3],
            [9, 1],
          ],
          { dtype: 'int64' },
        ),
      ),
    () => [d([3, 4])],
  ],
  [
    'where/maskedFill/expand',
    (a, b) => where(a.gt(0), a, b.expand(2, 3)).maskedFill(tensor([true, false, false]), 0),
    () => [d([2, 3]), d([1, 3])],
  ],
  ['matmul', (a, b) => a.matmul(b), () => [d([2, 3]), d([3, 2])]],
  [
    'conv2d stride/padding/groups',
    (x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1, groups: 2 }),
    () => [d([1, 4, 5, 5]), d([4, 2, 3, 3]), d([4])],
  ],
  [
    'batchNorm (training statistics)',
    (x, g, b) => F.batchNorm(x, null, null, { weight: g, bias: b, training: true, eps: 1e-3 }),
    () => [d([3, 2, 2, 2]), pos([2]), d([2])],
  ],
  ['maxPool2d', (x) => F.maxPool2d(x, 3, { stride: 1, padding: 1 }), () => [d([1, 1, 4, 4])]],
  [
    'interpolate nearest/bilinear',
    (x) =>
      F.interpolate(x, { scaleFactor: 2 })
        .sum(1)
        .add(
          F.interpolate(x, { size: [5, 5], mode: 'bilinear' })
            .sum(1)
            .mean(),
        ),
    () => [d([1, 2, 3, 3])],
  ],
  ['pad', (x) => F.pad(x, [1, 2, 0, 1], 'constant', 0.5), () => [d([1, 1, 2, 2])]],
  [
    'binaryCrossEntropyWithLogits (posWeight)',
    (x, y) => F.binaryCrossEntropyWithLogits(x, y, { posWeight: tensor([1.5, 1, 0.5], { dtype: 'float64' }) }),
    () => [d([2, 3]), rand([2, 3], { dtype: 'float64' })],
  ],
  ['topk/sort values', (a) => a.topk(2, 1).values.add(a.sort(1).values.index(':', '1:3')), () => [d([2, 4])]],
];

for (const [name, f, make] of cases) {
  test(`gradcheck: ${name}`, () =>
    tidy(() => {
      manualSeed(1);
      const err = gradcheck(f, make());
      assert.ok(err < TOL, `max |analytic - numeric| = ${err}`);
    }));
}

test('gradcheck detects a wrong gradient (the check can fail)', () =>
  tidy(() => {
    // detach() hides part of the function from autograd, so the gradients disagree
    const err = gradcheck((a) => a.mul(a.detach()), [d([3])]);
    assert.ok(err > 1e-3);
  }));
