import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as T from '../src/index.js';

const { tensor, tidy, arange, zeros, fromTypedArray, cat, stack, where, Scope, keep } = T;

test('arithmetic broadcasts and promotes like torch', () =>
  tidy(() => {
    const a = tensor([
      [1, 2],
      [3, 4],
    ]);
    const b = tensor([10, 20]);
    assert.deepEqual(a.add(b).tolist(), [
      [11, 22],
      [13, 24],
    ]);
    assert.deepEqual(a.sub(1).mul(2).div(4).tolist(), [
      [0, 0.5],
      [1, 1.5],
    ]);
    assert.deepEqual(a.pow(2).tolist(), [
      [1, 4],
      [9, 16],
    ]);
    assert.deepEqual(a.add(b, 2).tolist(), [
      [21, 42],
      [23, 44],
    ]);
    assert.equal(arange(4).add(0.5).dtype, 'float32');
    assert.equal(arange(4).add(1).dtype, 'int64');
    assert.deepEqual(a.rsub(10).tolist(), [
      [9, 8],
      [7, 6],
    ]);
  }));

test('TypedArray round trips for every supported dtype', () =>
  tidy(() => {
    const cases: [ArrayBufferView, T.DType][] = [
      [new Float32Array([1.5, -2]), 'float32'],
      [new Float64Array([1e-300, 2]), 'float64'],
      [new Uint16Array([0x3c00, 0xc000]), 'float16'],
      [new BigInt64Array([2n ** 40n, -3n]), 'int64'],
      [new Int32Array([7, -8]), 'int32'],
      [new Uint8Array([0, 255]), 'uint8'],
      [new Uint8Array([1, 0]), 'bool'],
    ];
    for (const [data, dtype] of cases) {
      const t = fromTypedArray(data, [2], dtype);
      assert.equal(t.dtype, dtype);
      assert.deepEqual(
        Array.from(t.toTypedArray() as ArrayLike<unknown>),
        Array.from(data as unknown as ArrayLike<unknown>),
      );
    }
    assert.deepEqual(
      fromTypedArray(new Uint16Array([0x3c00, 0xc000]), [2], 'float16')
        .float()
        .tolist(),
      [1, -2],
    );
    assert.throws(() => fromTypedArray(new Float32Array(3), [2, 2]), /needs 16 bytes/);
  }));

test('indexing: select, slices, newaxis, ellipsis, masks and index tensors', () =>
  tidy(() => {
    const x = arange(24).view(2, 3, 4);
    assert.deepEqual(x.index(1, 2).tolist(), [20, 21, 22, 23]);
    assert.deepEqual(x.index(0, ':', '1:3').tolist(), [
      [1, 2],
      [5, 6],
      [9, 10],
    ]);
    assert.deepEqual(x.index('...', 0).shape, [2, 3]);
    assert.deepEqual(x.index(null, 0).shape, [1, 3, 4]);
    assert.deepEqual(x.index(0, 0, '::2').tolist(), [0, 2]);
    assert.deepEqual(x.index(0, 0, '-2:').tolist(), [2, 3]);
    assert.deepEqual(x.index(x.gt(20)).tolist(), [21, 22, 23]);
    assert.deepEqual(x.index(':', tensor([2, 0], { dtype: 'int64' }), 0).tolist(), [
      [8, 0],
      [20, 12],
    ]);
    const y = zeros([2, 3]);
    y.indexPut_([0, '1:'], 5);
    y.indexPut_([y.eq(0).logicalAnd(arange(3).eq(0).expand(2, 3))], tensor([7, 8]));
    assert.deepEqual(y.tolist(), [
      [7, 5, 5],
      [8, 0, 0],
    ]);
  }));

test('shape ops, reductions, sorting, gather/scatter, nonzero, where', () =>
  tidy(() => {
    const x = arange(6).view(2, 3).float();
    assert.deepEqual(x.permute(1, 0).contiguous().view(-1).tolist(), [0, 3, 1, 4, 2, 5]);
    assert.deepEqual(cat([x, x], 1).shape, [2, 6]);
    assert.deepEqual(stack([x, x]).shape, [2, 2, 3]);
    assert.deepEqual(
      x.split(1, 0).map((t) => t.shape),
      [
        [1, 3],
        [1, 3],
      ],
    );
    assert.deepEqual(x.chunk(3, 1).length, 3);
    assert.equal(x.sum().item(), 15);
    assert.deepEqual(x.sum(1).tolist(), [3, 12]);
    assert.deepEqual(x.mean(0, true).tolist(), [[1.5, 2.5, 3.5]]);
    const { values, indices } = x.maxDim(1);
    assert.deepEqual(values.tolist(), [2, 5]);
    assert.deepEqual(indices.tolist(), [2, 2]);
    assert.deepEqual(x.flatten().topk(2).values.tolist(), [5, 4]);
    assert.deepEqual(tensor([3, 1, 2]).sort().indices.tolist(), [1, 2, 0]);
    assert.deepEqual(x.gather(1, tensor([[0], [2]], { dtype: 'int64' })).tolist(), [[0], [5]]);
    assert.deepEqual(
      zeros([3])
        .scatter_(0, tensor([2], { dtype: 'int64' }), 1)
        .tolist(),
      [0, 0, 1],
    );
    assert.deepEqual(tensor([0, 3, 0, 4]).nonzero().tolist(), [[1], [3]]);
    assert.deepEqual(where(tensor([true, false]), tensor([1, 2]), tensor([3, 4])).tolist(), [1, 4]);
    assert.deepEqual(tensor([-2, 0.5, 3]).clamp(0, 1).tolist(), [0, 0.5, 1]);
    assert.ok(Math.abs(tensor([1, 2, 3, 4]).std().item() - 1.2909944) < 1e-6);
    assert.ok(
      x
        .flip(1)
        .index(0)
        .equal(tensor([2, 1, 0])),
    );
  }));

test('generic dispatcher calls: kwargs, defaults, tuple results, errors name the op', () =>
  tidy(() => {
    const x = tensor([
      [1, 5],
      [3, 2],
    ]);
    const r = T.callOp('max.dim', [x], { dim: 1, keepdim: true }) as T.Tensor[];
    assert.deepEqual(r[0].tolist(), [[5], [3]]);
    assert.deepEqual(T.callTensor('add.Tensor', [x, x], { alpha: 3 }).tolist(), [
      [4, 20],
      [12, 8],
    ]);
    assert.throws(() => x.view(3), /aten::view: shape '\[3\]' is invalid/);
    assert.throws(() => T.callOp('add.Tensor', [x, 'no']), /aten::add.Tensor: .*'other'/);
    assert.throws(() => T.callOp('no_such_op'), /unknown op aten::no_such_op/);
    assert.throws(() => T.callOp('add.Tensor', [x], { nope: 1 }), /no argument named 'nope'/);
  }));

test('foreign objects are refused as tensor handles', () => {
  const fake = Object.create(T.Tensor.prototype) as T.Tensor & { _h: unknown };
  (fake as { _h: unknown })._h = {};
  assert.throws(() => tensor([1]).add(fake), /argument 'other' expects a Tensor/);
  assert.throws(() => tensor([1]).copy_(fake), /expects a Tensor/);
  // an External of the addon's own that is not a tensor (a c10d FileStore) is refused too
  const dir = mkdtempSync(join(tmpdir(), 'tsyolo-store-'));
  const store = T.dist.Store.file(join(dir, 'store'), 1);
  (fake as { _h: unknown })._h = store._h;
  assert.throws(() => tensor([1]).add(fake), /argument 'other' expects a Tensor/);
  assert.throws(() => T.cat([tensor([1]), fake]), /expects an array of Tensors/);
  assert.throws(() => fake.dispose(), /expected a tensor handle/);
  // and a tensor handle where a store is expected (napi's type tags cannot read a 'v8' handle)
  const fakeStore = Object.create(T.dist.Store.prototype) as T.dist.Store;
  (fakeStore as unknown as { _h: unknown })._h = tensor([1])._h;
  assert.throws(() => fakeStore.set('k', 'v'), /expected a store handle/);
  const gone = tensor([2]);
  gone.dispose();
  assert.throws(() => tensor([1]).add(gone), /tensor was disposed/);
  assert.throws(() => tensor([1]).mul(gone), /tensor was disposed/);
  rmSync(dir, { recursive: true, force: true });
});

test('scopes dispose what they do not return; keep() survives; Scope works with using', () => {
  const kept = tidy(() => keep(tensor([1])));
  let inner: T.Tensor | undefined;
  const out = tidy(() => {
    inner = tensor([2]);
    return { a: [inner.add(1)] };
  });
  assert.equal(inner!.isDisposed, true);
  assert.equal(out.a[0].isDisposed, false);
  assert.equal(kept.isDisposed, false);
  let t: T.Tensor;
  {
    using scope = new Scope();
    t = tensor([3]);
    scope.keep(t.add(1));
  }
  assert.equal(t.isDisposed, true);
  assert.throws(() => t.add(1), /disposed/);
  assert.throws(
    () =>
      tidy(() => {
        tensor([1]);
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(T.scopeDepth(), 0);
  kept.dispose();
  out.a[0].dispose();
});

test('autograd: backward, grad accumulation, noGrad, inference mode', () =>
  tidy(() => {
    const w = tensor([1, 2, 3]).requiresGrad_();
    w.mul(w).sum().backward();
    assert.deepEqual(w.grad!.tolist(), [2, 4, 6]);
    w.mul(2).sum().backward();
    assert.deepEqual(w.grad!.tolist(), [4, 6, 8]);
    w.grad = null;
    assert.equal(w.grad, null);
    assert.equal(T.noGrad(() => w.mul(2)).requiresGrad, false);
    assert.equal(T.inferenceMode(() => w.mul(2)).requiresGrad, false);
    const y = w.mul(3).sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    assert.deepEqual(w.grad!.tolist(), [6, 6, 6]);
  }));

test('runtime: threads, seeds, cuda on a CPU build', () =>
  tidy(() => {
    const n = T.getNumThreads();
    T.setNumThreads(1);
    assert.equal(T.getNumThreads(), 1);
    T.setNumThreads(n);
    T.manualSeed(7);
    const a = T.rand([4]).tolist();
    const state = T.getRngState();
    const b = T.rand([4]).tolist();
    T.manualSeed(7);
    assert.deepEqual(T.rand([4]).tolist(), a);
    T.setRngState(state);
    assert.deepEqual(T.rand([4]).tolist(), b);
    assert.equal(typeof T.cuda.isAvailable(), 'boolean');
    if (!T.cuda.isAvailable()) assert.equal(T.cuda.deviceCount(), 0);
  }));
