// File formats: pickle, torch.save (.pt), safetensors and .npy, against the yolov5n fixtures.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fixture, fullFixture, needsFullFixture } from '@tsyolo/fixtures';
import {
  collectTensors,
  encodeSafetensors,
  loadNpy,
  loadPt,
  loadSafetensors,
  NdArray,
  PyClass,
  PyDict,
  PyObject,
  parseSafetensors,
  saveNpy,
  saveSafetensors,
  stateDictFromModule,
  type Tensor,
  tensor,
  tidy,
  unpickle,
  zeros,
} from '../src/index.js';
import { bytearray5, newobjEx, persistent0, persistent2, sample } from './pickle-fixtures.js';

// The yolov5n reference fixtures (fixtures/yolov5n); the 15 MB training checkpoint only from the full set.
const FIX = (name: string): string => fixture(name, 'yolov5n');
const noFullCheckpoint = needsFullFixture('yolov5n.pt');
const tmp = mkdtempSync(join(tmpdir(), 'tsyolo-io-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const disposeAll = (v: unknown): void => collectTensors(v).forEach((t) => t.dispose());

/** Both maps hold the same names in the same order, with identical tensors once float16 is made float32. */
function assertSameStateDict(got: Map<string, Tensor>, want: Map<string, Tensor>, what: string): void {
  assert.deepEqual([...got.keys()], [...want.keys()], `${what}: key order`);
  tidy(() => {
    for (const [k, w] of want) {
      const g = got.get(k)!;
      const f = g.dtype === 'float16' ? g.to('float32') : g;
      assert.equal(f.dtype, w.dtype, `${what}: ${k} dtype`);
      assert.ok(f.equal(w), `${what}: ${k} differs`);
    }
  });
}

// ---- pickle ----

test('unpickle: protocols 0-5 give the same JS values', () => {
  for (const [p, h] of sample.entries()) {
    const v = unpickle(hex(h), { name: `p${p}` });
    assert.ok(v instanceof PyDict, `protocol ${p}`);
    const d = v as PyDict;
    assert.equal(d.get('a'), 1);
    assert.deepEqual(d.get(2), [1.5, null, true, false, -3, 300, 70000, -70000]);
    assert.equal(d.get('big'), 2n ** 70n);
    assert.equal(d.get('neg'), -(2n ** 63n));
    assert.equal(d.get('safe'), Number.MAX_SAFE_INTEGER);
    assert.deepEqual(d.get('s'), new Set([1, 2]));
    assert.deepEqual(d.get('b'), Uint8Array.from([0, 1, 255]));
    assert.deepEqual(d.get('t'), [1, 2, 3]);
    const od = d.get('od') as PyDict;
    assert.ok(od instanceof PyDict);
    assert.deepEqual(
      [...od],
      [
        ['x', 1],
        ['y', 2],
      ],
    );
    assert.equal(d.get('u'), 'h\u00e9llo \u4e16 \u{1F600}');
    assert.deepEqual(d.get('fs'), new Set([3]));
    const sh = d.get('sh') as unknown[][];
    assert.equal(sh[0], sh[1], `protocol ${p}: memo keeps identity`);
    assert.deepEqual(sh[0], [7]);
    const foo = d.get('foo') as PyObject;
    assert.ok(foo instanceof PyObject);
    assert.equal(foo.qualifiedName, 'mymod.Foo');
    assert.deepEqual(
      [...(foo.state as PyDict)],
      [
        ['x', 1],
        ['y', [1, 2]],
      ],
    );
    assert.deepEqual(d.get('e'), []);
    assert.equal(d.get('f'), Infinity);
  }
});

test('unpickle: NEWOBJ_EX, persistent ids, bytearray, findClass', () => {
  const kw = unpickle(hex(newobjEx)) as PyObject;
  assert.equal(kw.qualifiedName, 'mymod.Kw');
  assert.deepEqual(kw.args, [5]);
  assert.deepEqual([...kw.kwargs!], [['b', 6]]);
  assert.deepEqual(
    [...(kw.state as PyDict)],
    [
      ['a', 5],
      ['b', 6],
    ],
  );

  const seen: unknown[] = [];
  const p2 = unpickle(hex(persistent2), {
    persistentLoad: (pid) => (seen.push(pid), `<${(pid as string[])[1]}>`),
  }) as PyDict;
  assert.deepEqual(
    [...p2],
    [
      ['w', '<k0>'],
      ['v', '<k0>'],
    ],
  );
  assert.deepEqual(seen, [
    ['storage', 'k0'],
    ['storage', 'k0'],
  ]);
  const p0 = unpickle(hex(persistent0), { persistentLoad: (pid) => `<${String(pid)}>` });
  assert.deepEqual(p0, ['x', "<('storage', 'k1')>"]);
  assert.throws(() => unpickle(hex(persistent2), { name: 'pid.pkl' }), /^Error: pid\.pkl: .*persistentLoad/);

  assert.deepEqual(unpickle(hex(bytearray5)), Uint8Array.from([97, 98]));

  // findClass: a resolved class gets called; its result takes BUILD through __setstate__.
  class Foo {
    state: unknown;
    __setstate__(s: unknown): void {
      this.state = s;
    }
  }
  const d = unpickle(hex(sample[2]), {
    findClass: (m, n) => (m === 'mymod' && n === 'Foo' ? () => new Foo() : undefined),
  }) as PyDict;
  const foo = d.get('foo') as Foo;
  assert.ok(foo instanceof Foo);
  assert.equal((foo.state as PyDict).get('x'), 1);
  // Unresolved globals used as values are PyClass references.
  const cls = unpickle(hex('8002636d796d6f640a466f6f0a2e'));
  assert.ok(cls instanceof PyClass && cls.qualifiedName === 'mymod.Foo');
});

test('unpickle: malformed input names the source and byte offset', () => {
  assert.throws(
    () => unpickle(Uint8Array.from([0x80, 0x02, 0xff]), { name: 'x.pkl' }),
    /^Error: x\.pkl: corrupt pickle at byte 2: unknown opcode 0xff/,
  );
  const full = hex(sample[4]);
  assert.throws(
    () => unpickle(full.subarray(0, 100), { name: 'y.pkl' }),
    /^Error: y\.pkl: corrupt pickle at byte \d+: truncated/,
  );
  assert.throws(
    () => unpickle(Uint8Array.from([0x80, 0x02, 0x68, 0x05, 0x2e]), { name: 'z.pkl' }),
    /z\.pkl: corrupt pickle at byte 2: memo key 5 not found/,
  );
  assert.throws(
    () => unpickle(Uint8Array.from([0x80, 0x02, 0x2e]), { name: 'e.pkl' }),
    /e\.pkl: corrupt pickle at byte 2: STOP with an empty stack/,
  );
});

// ---- torch.save ----

test('loadPt: training checkpoint values', { skip: noFullCheckpoint }, () => {
  const ck = loadPt(fullFixture('yolov5n.pt')!) as PyDict;
  try {
    assert.deepEqual(
      [...ck.keys()],
      ['epoch', 'best_fitness', 'model', 'ema', 'updates', 'optimizer', 'opt', 'git', 'date'],
    );
    assert.equal(ck.get('epoch'), 0);
    assert.equal(ck.get('updates'), 1);
    assert.equal(ck.get('date'), '2024-01-01T00:00:00.000000');
    assert.equal((ck.get('git') as PyDict).get('commit'), '915bbf294bb74c859f0b41f1c23bc395014ea679');

    // fitness = 0.1 * mAP@.5 + 0.9 * mAP@.5:.95 of [[.11, .07, .05, .02, ...]]
    const bf = ck.get('best_fitness') as NdArray;
    assert.ok(bf instanceof NdArray);
    assert.equal(bf.dtype, 'float64');
    assert.deepEqual(bf.shape, [1]);
    assert.ok(Math.abs(bf.toArray()[0] - (0.1 * 0.05 + 0.9 * 0.02)) < 1e-12);

    const opt = ck.get('opt') as PyDict;
    assert.equal(opt.get('imgsz'), 320);
    assert.equal(opt.get('batch_size'), 2);
    assert.equal(opt.get('epochs'), 100);

    const optim = ck.get('optimizer') as PyDict;
    const groups = optim.get('param_groups') as PyDict[];
    assert.equal(groups.length, 3);
    assert.deepEqual(
      groups.map((g) => g.get('weight_decay')),
      [0, 0.0005, 0],
    );
    let nParams = 0;
    for (const g of groups) {
      assert.ok(Math.abs((g.get('lr') as number) - 0.01 * 0.9901) < 1e-12);
      assert.equal(g.get('initial_lr'), 0.01);
      assert.equal(typeof g.get('momentum'), 'number'); // a numpy.float64 scalar
      assert.equal(g.get('nesterov'), true);
      nParams += (g.get('params') as number[]).length;
    }
    const state = optim.get('state') as PyDict;
    assert.equal(state.size, nParams);
    for (const s of state.values()) assert.equal(((s as PyDict).get('momentum_buffer') as Tensor).dtype, 'float32');

    const model = ck.get('model') as PyObject;
    assert.equal(model.qualifiedName, 'models.yolo.DetectionModel');
    assert.equal(model.attr('nc'), 80);
    const first = (model.attr('_modules') as PyDict).get('model') as PyObject;
    assert.equal(first.qualifiedName, 'torch.nn.modules.container.Sequential');
  } finally {
    disposeAll(ck);
  }
});

test('loadPt: the stripped model state dict equals the safetensors state dict', () => {
  const ref = loadSafetensors(FIX('yolov5n.safetensors')).tensors;
  const stripped = loadPt(FIX('yolov5n-stripped.pt')) as PyDict;
  try {
    const model = stateDictFromModule(stripped.get('model') as PyObject);
    assert.equal(model.get('model.0.conv.weight')!.dtype, 'float16');
    assert.deepEqual(model.get('model.0.bn.num_batches_tracked')!.shape, []);
    assertSameStateDict(model, ref, 'stripped.model');
    assert.equal(stripped.get('epoch'), -1);
    for (const k of ['optimizer', 'best_fitness', 'ema', 'updates']) assert.equal(stripped.get(k), null, k);
  } finally {
    disposeAll([stripped, ref]);
  }
});

test('loadPt: model and ema of the training checkpoint equal the safetensors state dict', {
  skip: noFullCheckpoint,
}, () => {
  const ref = loadSafetensors(FIX('yolov5n.safetensors')).tensors;
  const ck = loadPt(fullFixture('yolov5n.pt')!) as PyDict;
  try {
    const model = stateDictFromModule(ck.get('model') as PyObject);
    assert.equal(model.get('model.0.conv.weight')!.dtype, 'float16');
    assertSameStateDict(model, ref, 'ckpt.model');
    assertSameStateDict(stateDictFromModule(ck.get('ema') as PyObject), ref, 'ckpt.ema');
  } finally {
    disposeAll([ck, ref]);
  }
});

test('loadPt: truncated, corrupt and legacy files give errors naming the file', () => {
  const src = readFileSync(FIX('yolov5n-stripped.pt'));
  const cut = join(tmp, 'cut.pt');
  writeFileSync(cut, src.subarray(0, src.length >> 1));
  assert.throws(
    () => loadPt(cut),
    (e: Error) => e.message.startsWith(`${cut}: corrupt or truncated zip archive`),
  );

  // data.pkl is stored uncompressed: break its third byte (the first opcode after PROTO 2).
  const bad = Buffer.from(src);
  const pkl = bad.indexOf('data.pkl') + 'data.pkl'.length;
  const start = bad.indexOf(Buffer.from([0x80, 0x02]), pkl);
  bad[start + 2] = 0xff;
  const corrupt = join(tmp, 'corrupt.pt');
  writeFileSync(corrupt, bad);
  assert.throws(
    () => loadPt(corrupt),
    (e: Error) =>
      e.message.startsWith(`${corrupt}: `) &&
      /data\.pkl: corrupt pickle at byte 2: unknown opcode 0xff/.test(e.message),
  );

  // Legacy files start with a protocol-2 pickle of a magic number.
  const legacy = join(tmp, 'legacy.pt');
  writeFileSync(legacy, hex('80028a0a6cfc9c46f9206aa850197a'));
  assert.throws(
    () => loadPt(legacy),
    (e: Error) => e.message.startsWith(`${legacy}: legacy`) && /not supported/.test(e.message),
  );
  assert.throws(() => loadPt(join(tmp, 'missing.pt')), /missing\.pt: cannot read/);
});

// ---- safetensors ----

test('safetensors: fixture header, metadata and dtypes', () => {
  const { tensors, metadata } = loadSafetensors(FIX('yolov5n.safetensors'));
  try {
    assert.equal(tensors.size, 349);
    assert.equal(metadata.nc, '80');
    assert.deepEqual(JSON.parse(metadata.stride), [8, 16, 32]);
    const nbt = tensors.get('model.0.bn.num_batches_tracked')!;
    assert.equal(nbt.dtype, 'int64');
    assert.deepEqual(nbt.shape, []);
    assert.equal(nbt.item(), 1);
    assert.deepEqual(tensors.get('model.0.conv.weight')!.shape, [16, 3, 6, 6]);
  } finally {
    disposeAll(tensors);
  }
});

test('safetensors: save then load gives equal tensors and metadata', () => {
  tidy(() => {
    const src: Record<string, Tensor> = {
      'w.f32': tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]).t(), // non-contiguous: saved in C order
      f64: tensor([1.5, -2.25], { dtype: 'float64' }),
      f16: tensor([0.5, 65504, -1]).to('float16'),
      bf16: tensor([1.5, -3]).to('bfloat16'),
      i64: tensor([1, -2, 2 ** 40], { dtype: 'int64' }),
      i32: tensor([7, -8], { dtype: 'int32' }),
      i16: tensor([300, -300]).to('int16'),
      i8: tensor([-5, 5]).to('int8'),
      u8: tensor([0, 255], { dtype: 'uint8' }),
      bool: tensor([true, false, true]),
      scalar: tensor(3),
      empty: zeros([0, 4]),
    };
    const meta = { format: 'pt', note: 'héllo' };
    const path = join(tmp, 'rt.safetensors');
    saveSafetensors(path, src, meta);
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal(n % 8, 0, 'header padded to 8 bytes');
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<
      string,
      { dtype: string; data_offsets: number[] }
    >;
    // Laid out as the reference writer does: by dtype (largest first), then by name.
    assert.deepEqual(Object.keys(header), [
      '__metadata__',
      'i64',
      'f64',
      'empty',
      'scalar',
      'w.f32',
      'i32',
      'bf16',
      'f16',
      'i16',
      'i8',
      'u8',
      'bool',
    ]);
    assert.deepEqual(bytes, Buffer.from(encodeSafetensors(new Map(Object.entries(src)), meta)));

    const back = loadSafetensors(path);
    assert.deepEqual(back.metadata, meta);
    assert.deepEqual([...back.tensors.keys()].sort(), Object.keys(src).sort());
    for (const [k, t] of Object.entries(src)) {
      const b = back.tensors.get(k)!;
      assert.equal(b.dtype, t.dtype, k);
      assert.deepEqual(b.shape, t.shape, k);
      assert.ok(b.equal(t), k);
    }
    const again = parseSafetensors(encodeSafetensors(back.tensors));
    assert.deepEqual(again.metadata, {});
    assert.equal(again.tensors.size, back.tensors.size);
  });
});

test('safetensors: truncated or corrupt files give errors naming the file', () => {
  const src = readFileSync(FIX('yolov5n.safetensors'));
  const cases: [string, Uint8Array, RegExp][] = [
    [
      'cut-data',
      src.subarray(0, src.length - 100),
      /truncated: tensor '.*' ends at data byte \d+ but the data section has \d+ bytes/,
    ],
    ['cut-header', src.subarray(0, 1000), /truncated: header length 34784 but only 992 bytes follow/],
    ['tiny', src.subarray(0, 5), /truncated/],
    ['extra', Buffer.concat([src, Buffer.alloc(8)]), /8 bytes after the last tensor's data/],
  ];
  const badJson = Buffer.from(src);
  badJson[8] = 0x5b; // '[' instead of '{'
  cases.push(['bad-json', badJson, /header is not UTF-8 JSON/]);
  const badOff = Buffer.from(src);
  const at = badOff.indexOf('"data_offsets":[0,6912]');
  badOff.write('"data_offsets":[0,6916]', at);
  cases.push(['bad-offsets', badOff, /needs 6912 bytes but data_offsets span 6916/]);
  for (const [name, bytes, re] of cases) {
    const path = join(tmp, `${name}.safetensors`);
    writeFileSync(path, bytes);
    assert.throws(
      () => loadSafetensors(path),
      (e: Error) => e.message.startsWith(`${path}: not a valid safetensors file: `) && re.test(e.message),
      name,
    );
  }
});

// ---- npy ----

test('npy: save then load gives equal tensors; fixtures load', () => {
  tidy(() => {
    for (const t of [
      tensor([
        [1.5, 2],
        [3, 4],
      ]),
      tensor([1, -2, 3], { dtype: 'int64' }),
      tensor([true, false]),
      tensor([0.5, 2]).to('float16'),
    ]) {
      const path = join(tmp, `rt-${t.dtype}.npy`);
      saveNpy(path, t);
      const b = loadNpy(path);
      assert.equal(b.dtype, t.dtype);
      assert.deepEqual(b.shape, t.shape);
      assert.ok(b.equal(t), t.dtype);
    }
    const items = loadNpy(FIX('loss_items.npy'));
    assert.deepEqual(items.shape, [3]);
    assert.equal(items.dtype, 'float32');
  });
});
