// The native addon never aborts the process: bad input from JavaScript becomes a JS Error.
// Before the error guard, several of these calls killed Node (an uncaught C++ exception).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callOp, fromTypedArray, type Tensor, tensor, tidy } from '../src/index.js';
import { native } from '../src/native.js';
import { opId } from '../src/registry.js';

test('a malformed device string is a JS error, not an abort', () =>
  tidy(() => {
    const x = tensor([1, 2, 3]);
    assert.throws(() => x.to('cuda:abc'), {
      name: 'Error',
      message: /aten::to\.device: Invalid device string: 'cuda:abc'/,
    });
    assert.throws(() => callOp('to.device', [x, 'cuda:abc', 'float32']), /Invalid device string/);
    assert.throws(
      () => callOp('to.device', [x, 'nodevice', 'float32']),
      /aten::to\.device: Expected one of cpu.* device string: nodevice$/,
    );
    assert.deepEqual(x.to('cpu').tolist(), [1, 2, 3]);
  }));

test('dispatcher calls with more than 24 arguments read every argument and never past them', () =>
  tidy(() => {
    const x = tensor([1, 2, 3]);
    const neg = opId('neg');
    // 30 arguments: the op id and 29 values for an op taking 1
    const many = Array.from({ length: 29 }, () => x._h);
    assert.throws(() => native.call(neg, ...many), {
      name: 'TypeError',
      message: /aten::neg: takes 1 arguments, got 29/,
    });
    assert.throws(() => native.callVoid(neg, ...many), /aten::neg: takes 1 arguments, got 29/);
    // _cudnn_rnn_backward.out takes 26 arguments: the last ones lie past a 24-slot buffer. Every one is
    // given and valid except the last (out3, a Tensor[]): its error shows that all 26 were read.
    const args: unknown[] = [
      x,
      [x],
      1,
      x,
      x,
      null,
      x,
      null,
      null,
      null,
      0,
      1,
      0,
      1,
      false,
      0,
      true,
      false,
      [],
      null,
      x,
      [true, true, true, false],
      x,
      x,
      x,
      'not a list',
    ];
    assert.equal(args.length, 26);
    assert.throws(
      () => callOp('_cudnn_rnn_backward.out', args),
      /aten::_cudnn_rnn_backward\.out: argument 'out3' expects an array/,
    );
    args[23] = 'not a tensor'; // out1, the 25th argument
    assert.throws(() => callOp('_cudnn_rnn_backward.out', args), /argument 'out1' expects a Tensor/);
    assert.throws(() => callOp('_cudnn_rnn_backward.out', [...args, x, x, x, x]), /takes 26 arguments, got 30/);
  }));

test('an invalid dtype id is a JS error naming the value', () =>
  tidy(() => {
    const x = tensor([1.5, 2.5]);
    // the ids run from 0 to the last ScalarType, which depends on the libtorch version (17 in 1.13)
    let last = -1;
    assert.throws(
      () => callOp('to.dtype', [x, 999]),
      (e: Error) => {
        last = Number(/an integer from 0 to (\d+)\)/.exec(e.message)?.[1]);
        return true;
      },
    );
    assert.ok(last >= 17, `last dtype id ${last}`);
    for (const id of [999, -1, last + 1, 300, 3.5, Number.NaN])
      assert.throws(() => callOp('to.dtype', [x, id]), {
        name: 'TypeError',
        message: new RegExp(`aten::to\\.dtype: argument 'dtype': invalid dtype id ${id}\\b`),
      });
    assert.throws(() => callOp('to.dtype', [x, 'float99']), /unknown dtype 'float99'/);
    assert.throws(() => callOp('to.dtype', [x, {}]), /a dtype is a name/);
    // valid ids and names still work
    assert.equal((callOp('to.dtype', [x, 3]) as Tensor).dtype, 'int32');
    assert.equal((callOp('to.dtype', [x, 'float64']) as Tensor).dtype, 'float64');
  }));

test('int64 item() is exact or throws; itemBigInt() is always exact', () =>
  tidy(() => {
    const big = (v: bigint) => fromTypedArray(new BigInt64Array([v]), []);
    const p53 = 2n ** 53n;
    assert.throws(() => big(p53 + 1n).item(), {
      name: 'RangeError',
      message: /int64 value 9007199254740993 is not exactly representable/,
    });
    assert.equal(big(p53 + 1n).itemBigInt(), p53 + 1n);
    assert.throws(() => big(-p53 - 1n).item(), RangeError);
    assert.throws(() => big(2n ** 63n - 1n).item(), RangeError);
    assert.equal(big(2n ** 63n - 1n).itemBigInt(), 2n ** 63n - 1n);
    // values a double holds exactly stay numbers
    assert.equal(big(p53).item(), 2 ** 53);
    assert.equal(big(-p53).item(), -(2 ** 53));
    assert.equal(big(2n ** 60n).item(), 2 ** 60);
    assert.equal(big(-(2n ** 63n)).item(), -(2 ** 63));
    assert.equal(big(-7n).item(), -7);
    assert.equal(big(-7n).itemBigInt(), -7n);
    assert.equal(tensor([true], { dtype: 'bool' }).itemBigInt(), 1n);
    assert.equal(tensor([2.5]).item(), 2.5);
    assert.throws(() => tensor([2.5]).itemBigInt(), /needs an integer or bool tensor, got float32/);
  }));

test('dataPtr and sameStorage of a tensor without storage are JS errors', () =>
  tidy(() => {
    const sparse = callOp('to_sparse', [tensor([0, 1, 0])]) as Tensor;
    assert.throws(() => native.dataPtr(sparse._h), /^Error: dataPtr: .*storage/);
    assert.throws(() => native.sameStorage(sparse._h, sparse._h), /sameStorage: .*storage/);
  }));

test('out-of-range integers and wrong list elements are argument errors', () =>
  tidy(() => {
    const x = tensor([1, 2, 3, 4]);
    for (const bad of [Number.POSITIVE_INFINITY, Number.NaN, 1e300, 2n ** 70n])
      assert.throws(
        () => callOp('view', [x, [bad]]),
        /aten::view: argument 'size' expects an integer in the int64 range/,
      );
    assert.throws(() => callOp('linalg_vector_norm', [x.float(), 'two']), /argument 'ord' expects a number/);
    assert.throws(
      () => callOp('upsample_nearest1d.vec', [x.float().view(1, 1, 4), null, ['x']]),
      /argument 'scale_factors' expects a number/,
    );
  }));
