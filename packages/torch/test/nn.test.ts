import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arange, manualSeed, nn, noGrad, ones, type Tensor, tensor, tidy, zeros } from '../src/index.js';

class Block extends nn.Module {
  conv = this.registerModule('conv', new nn.Conv2d(2, 4, 3, { padding: 1, bias: false }));
  bn = this.registerModule('bn', new nn.BatchNorm2d(4, { eps: 1e-3, momentum: 0.03 }));
  act = this.registerModule('act', new nn.SiLU());
  forward(x: Tensor): Tensor {
    return this.act.forward(this.bn.forward(this.conv.forward(x)));
  }
}

test('names, order and counts follow PyTorch', () => {
  const m = new nn.Sequential(new Block(), new nn.MaxPool2d(2), new Block());
  assert.deepEqual([...m.stateDict().keys()].slice(0, 6), [
    '0.conv.weight',
    '0.bn.weight',
    '0.bn.bias',
    '0.bn.running_mean',
    '0.bn.running_var',
    '0.bn.num_batches_tracked',
  ]);
  assert.deepEqual(
    m.namedParameters().map(([n]) => n),
    ['0.conv.weight', '0.bn.weight', '0.bn.bias', '2.conv.weight', '2.bn.weight', '2.bn.bias'],
  );
  assert.equal(m.numParameters(), 2 * (4 * 2 * 9 + 8));
  m.dispose();
});

test('Conv2d default init is bounded by 1/sqrt(fan_in) and seeded', () =>
  tidy(() => {
    manualSeed(3);
    const a = new nn.Conv2d(3, 8, 3);
    manualSeed(3);
    const b = new nn.Conv2d(3, 8, 3);
    const bound = 1 / Math.sqrt(27);
    assert.ok(a.weight.abs().max().item() <= bound);
    assert.ok(a.weight.abs().max().item() > bound * 0.8);
    assert.ok(a.bias!.abs().max().item() <= bound);
    assert.ok(a.weight.equal(b.weight));
    a.dispose();
    b.dispose();
  }));

test('Conv2d forward matches a hand computation', () =>
  tidy(() => {
    const c = new nn.Conv2d(1, 1, 2);
    noGrad(() => {
      c.weight.copy_(
        tensor([
          [
            [
              [1, 2],
              [3, 4],
            ],
          ],
        ]),
      );
      c.bias!.fill_(0.5);
    });
    const y = c.forward(arange(9).float().view(1, 1, 3, 3));
    // top-left window [0,1,3,4]·[1,2,3,4] + 0.5 = 0+2+9+16+0.5
    assert.deepEqual(y.tolist(), [
      [
        [
          [27.5, 37.5],
          [57.5, 67.5],
        ],
      ],
    ]);
    c.dispose();
  }));

test('BatchNorm2d: batch stats in train (running stats updated, unbiased var), running stats in eval', () =>
  tidy(() => {
    const bn = new nn.BatchNorm2d(1, { momentum: 0.5, eps: 0 });
    const x = tensor([1, 2, 3, 4]).view(4, 1, 1, 1);
    const y = bn.forward(x);
    // mean 2.5, biased var 1.25 used to normalise
    const expect = [1, 2, 3, 4].map((v) => (v - 2.5) / Math.sqrt(1.25));
    y.view(-1)
      .toArray()
      .forEach((v, i) => assert.ok(Math.abs(v - expect[i]) < 1e-6));
    // running_mean = 0.5*0 + 0.5*2.5; running_var = 0.5*1 + 0.5*(5/3)
    assert.ok(Math.abs(bn.runningMean!.item() - 1.25) < 1e-6);
    assert.ok(Math.abs(bn.runningVar!.item() - (0.5 + 0.5 * (5 / 3))) < 1e-6);
    assert.equal(bn.param('num_batches_tracked').item(), 1);
    bn.eval();
    const z = bn.forward(tensor([1.25]).view(1, 1, 1, 1));
    assert.ok(Math.abs(z.item()) < 1e-6);
    bn.dispose();
  }));

test('stateDict → loadStateDict copies values; strict mode and shape errors are clear', () =>
  tidy(() => {
    manualSeed(0);
    const a = new Block();
    manualSeed(1);
    const b = new Block();
    b.loadStateDict(a.stateDict());
    for (const [k, t] of a.stateDict()) assert.ok(t.equal(b.stateDict().get(k)!), k);
    const partial = new Map([...a.stateDict()].slice(1));
    assert.throws(() => b.loadStateDict(partial), /missing 1: conv.weight/);
    assert.deepEqual(b.loadStateDict(partial, false).missingKeys, ['conv.weight']);
    const wrong = new Map(a.stateDict());
    wrong.set('bn.weight', zeros([5]));
    assert.throws(() => b.loadStateDict(wrong), /'bn.weight' has shape \[5\], the module expects \[4\]/);
    a.dispose();
    b.dispose();
  }));

test('train/eval, half/float, Upsample, Identity', () =>
  tidy(() => {
    const m = new Block();
    m.eval();
    assert.equal(m.bn.training, false);
    m.half();
    assert.equal(m.conv.weight.dtype, 'float16');
    assert.equal(m.bn.param('num_batches_tracked').dtype, 'int64');
    m.float();
    assert.equal(m.conv.weight.dtype, 'float32');
    assert.equal(m.conv.weight.requiresGrad, true);
    const y = m.forward(ones([1, 2, 4, 4]));
    assert.deepEqual(y.shape, [1, 4, 4, 4]);
    assert.deepEqual(new nn.Upsample({ scaleFactor: 2 }).forward(y).shape, [1, 4, 8, 8]);
    assert.equal(new nn.Identity().forward(y), y);
    m.dispose();
  }));
