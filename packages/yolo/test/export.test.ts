import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadNpy, manualSeed, type Tensor, tidy } from '@tsyolo/torch';
import {
  checkOnnx,
  createSession,
  decodeModel,
  encodeModel,
  exportOnnx,
  exportOnnxDetailed,
  MAX_OPSET,
  MIN_OPSET,
  namesDictString,
  parseWts,
  pyRepr,
  readWts,
  runSession,
  sampleImages,
  verifyOnnx,
  writeWts,
  wtsTensors,
} from '../src/export/index.js';
import { matchDetections } from '../src/export/match-detections.js';
import { buildModel, type DetectionModel, loadModel } from '../src/index.js';
import { fixture, maxRelDiff } from './fixtures.js';

const TOL = 1e-4;

function built(): DetectionModel {
  manualSeed(0);
  return buildModel('yolov5n').fuse().eval();
}
function stripped(): DetectionModel {
  return loadModel(fixture('yolov5n-stripped.pt')).fuse().eval();
}

test('the sample bus.jpg shipped with the package is found', () => {
  const imgs = sampleImages();
  assert.ok(
    imgs.some((f) => f.endsWith('bus.jpg')),
    `sample images: ${imgs.join(', ')}`,
  );
});

test('built yolov5n (seeded): static and dynamic-batch ONNX at 320 match tsyolo within 1e-4, same detections', async () => {
  const m = built();
  try {
    // random weights score everything low: a low threshold gives real detections to compare
    const nms = { confThres: 1e-4, iouThres: 0.45 };
    const { bytes, check, info } = exportOnnxDetailed(m, { imgsz: 320 });
    assert.ok(check?.ok);
    assert.deepEqual(info.outputShape, [1, 6300, 85]);
    const r = await verifyOnnx(m, bytes, { ...nms, float64Reference: false });
    console.log(
      `built 320 static: max|Δ| scores ${r.maxAbsDiffScores.toExponential(2)}, boxes ${r.maxAbsDiffBoxes.toExponential(2)} px (${r.maxRelDiffBoxes.toExponential(2)} rel), dets ${r.detections.onnx}`,
    );
    assert.ok(r.maxAbsDiffScores <= TOL, `scores ${r.maxAbsDiffScores}`);
    assert.ok(r.maxRelDiffBoxes <= TOL, `boxes ${r.maxRelDiffBoxes}`);
    assert.ok(r.detections.onnx[0] > 10, `only ${r.detections.onnx[0]} detections to compare`);
    assert.ok(r.detections.identical, JSON.stringify(r.detections));
    assert.ok(r.ok, r.errors.join('; '));

    const dyn = exportOnnx(m, { imgsz: 320, dynamic: 'batch' });
    const c = checkOnnx(dyn);
    assert.deepEqual(c.inputs[0].shape, ['batch', 3, 320, 320]);
    assert.deepEqual(c.outputs[0].shape, ['batch', 6300, 85]);
    const rd = await verifyOnnx(m, dyn, { ...nms, batch: 2, float64Reference: false });
    assert.deepEqual(rd.outputShape, [2, 6300, 85]);
    assert.ok(rd.maxAbsDiffScores <= TOL && rd.maxRelDiffBoxes <= TOL, `${rd.maxAbsDiffScores} ${rd.maxRelDiffBoxes}`);
    assert.ok(rd.detections.identical && rd.detections.onnx.every((n) => n > 0), JSON.stringify(rd.detections));
  } finally {
    m.dispose();
  }
});

test("yolov5n-stripped.pt: ONNX at 320 (static, dynamic batch) gives tsyolo's output and detections", async () => {
  const m = stripped();
  try {
    const bytes = exportOnnx(m, { imgsz: 320 });
    const r = await verifyOnnx(m, bytes);
    console.log(
      `stripped 320: max|Δ| scores ${r.maxAbsDiffScores.toExponential(2)}, boxes ${r.maxAbsDiffBoxes.toExponential(2)} px (${r.maxRelDiffBoxes.toExponential(2)} rel); ` +
        `float32 noise of the model itself ${r.float64?.nativeScores.toExponential(2) ?? '-'} / ${r.float64?.nativeBoxesRel.toExponential(2) ?? '-'} rel; dets ${r.detections.onnx} vs ${r.detections.native}`,
    );
    assert.ok(r.maxAbsDiffScores <= TOL, `scores ${r.maxAbsDiffScores}`);
    // this fixture's perturbed BatchNorms make it ill-conditioned: float32 itself is only good to ~3e-4 on boxes
    assert.ok(r.maxRelDiffBoxes <= 1e-3, `boxes ${r.maxRelDiffBoxes}`);
    assert.equal(r.detections.onnx[0], 109);
    assert.ok(r.detections.identical, JSON.stringify(r.detections));
    assert.ok(r.ok, r.errors.join('; '));

    // metadata as yolov5 writes it
    const meta = checkOnnx(bytes).metadata;
    assert.equal(meta.stride, '32');
    assert.ok(meta.names.startsWith("{0: 'person', 1: 'bicycle', 2: 'car',"), meta.names.slice(0, 40));
    assert.ok(meta.names.endsWith("79: 'toothbrush'}"));

    const dyn = exportOnnx(m, { imgsz: 320, dynamic: 'batch' });
    const rd = await verifyOnnx(m, dyn, { batch: 2, atol: TOL, rtol: 1e-3, float64Reference: false });
    assert.deepEqual(rd.detections.onnx, rd.detections.native);
    assert.ok(rd.ok && rd.detections.identical, rd.errors.join('; '));
  } finally {
    m.dispose();
  }
});

test('ONNX Runtime on the fixture input matches PyTorch yolov5 (eval_out.npy)', async () => {
  const m = stripped();
  const session = await createSession(exportOnnx(m, { imgsz: 320 }), 2);
  const x = loadNpy(fixture('input_bus320_f32.npy'));
  const ref = loadNpy(fixture('eval_out.npy'));
  const y = await runSession(session, x, false);
  try {
    const rel = maxRelDiff(y, ref);
    console.log(`ONNX Runtime vs PyTorch eval_out: ${rel.toExponential(2)} rel`);
    assert.ok(rel < 1e-3, `rel ${rel}`);
  } finally {
    for (const t of [x, ref, y] as Tensor[]) t.dispose();
    await session.release();
    m.dispose();
  }
});

test('built yolov5n at 640 (static) matches within 1e-4 with the same detections', async () => {
  const m = built();
  try {
    const r = await verifyOnnx(m, exportOnnx(m, { imgsz: 640 }), { confThres: 1e-4, float64Reference: false });
    console.log(
      `built 640 static: max|Δ| scores ${r.maxAbsDiffScores.toExponential(2)}, boxes ${r.maxAbsDiffBoxes.toExponential(2)} px (${r.maxRelDiffBoxes.toExponential(2)} rel), dets ${r.detections.onnx}`,
    );
    assert.deepEqual(r.outputShape, [1, 25200, 85]);
    assert.ok(r.maxAbsDiffScores <= TOL && r.maxRelDiffBoxes <= TOL, `${r.maxAbsDiffScores} ${r.maxRelDiffBoxes}`);
    assert.ok(r.detections.onnx[0] > 10 && r.detections.identical, JSON.stringify(r.detections));
  } finally {
    m.dispose();
  }
});

test('dynamic batch, height and width: grids computed in the graph', async () => {
  const m = built();
  try {
    const bytes = exportOnnx(m, { imgsz: 320, dynamic: true });
    const c = checkOnnx(bytes);
    assert.deepEqual(c.inputs[0].shape, ['batch', 3, 'height', 'width']);
    assert.deepEqual(c.outputs[0].shape, ['batch', 'anchors', 85]);
    assert.ok(c.ops.Range && c.ops.Shape);
    for (const [imgsz, batch] of [
      [[256, 320], 2],
      [[320, 192], 1],
    ] as [[number, number], number][]) {
      const r = await verifyOnnx(m, bytes, { imgsz, batch, confThres: 1e-4, float64Reference: false });
      const cells = [8, 16, 32].reduce((n, s) => n + 3 * (imgsz[0] / s) * (imgsz[1] / s), 0);
      assert.deepEqual(r.outputShape, [batch, cells, 85]);
      assert.ok(r.maxAbsDiffScores <= TOL && r.maxRelDiffBoxes <= TOL, `${r.maxAbsDiffScores} ${r.maxRelDiffBoxes}`);
      assert.ok(r.detections.identical && r.detections.onnx.every((n) => n > 0), JSON.stringify(r.detections));
    }
  } finally {
    m.dispose();
  }
});

test(`every opset ${MIN_OPSET}..${MAX_OPSET} exports, checks and runs (built yolov5n, 128)`, async () => {
  const m = built();
  try {
    for (let opset = MIN_OPSET; opset <= MAX_OPSET; opset++) {
      const { bytes, info, check } = exportOnnxDetailed(m, { imgsz: 128, opset });
      assert.equal(check?.opset, opset);
      assert.equal(info.irVersion, opset <= 14 ? 7 : 8);
      const r = await verifyOnnx(m, bytes, { float64Reference: false });
      assert.ok(
        r.maxAbsDiffScores <= TOL && r.maxRelDiffBoxes <= TOL,
        `opset ${opset}: ${r.maxAbsDiffScores} ${r.maxRelDiffBoxes}`,
      );
    }
    assert.throws(() => exportOnnx(m, { opset: 11 }), /opset 11/);
    assert.throws(() => exportOnnx(m, { imgsz: 100 }), /multiple of the largest stride 32/);
  } finally {
    m.dispose();
  }
});

test('half: float16 weights and I/O run on ONNX Runtime CPU within 1e-2', async () => {
  const m = built();
  try {
    const bytes = exportOnnx(m, { imgsz: 320, half: true });
    const c = checkOnnx(bytes);
    assert.equal(c.inputs[0].type, 'FLOAT16');
    assert.equal(c.outputs[0].type, 'FLOAT16');
    const r = await verifyOnnx(m, bytes, { confThres: 1e-3 });
    console.log(
      `built 320 half: max|Δ| scores ${r.maxAbsDiffScores.toExponential(2)}, boxes ${r.maxRelDiffBoxes.toExponential(2)} rel`,
    );
    assert.ok(r.half && r.maxAbsDiffScores <= 1e-2 && r.maxRelDiffBoxes <= 1e-2, r.errors.join('; '));
  } finally {
    m.dispose();
  }
});

test('the structural checker rejects undefined inputs, unsorted graphs, unknown or too new ops, duplicate names', () => {
  const m = built();
  const bytes = exportOnnx(m, { imgsz: 64 });
  m.dispose();
  assert.ok(checkOnnx(bytes).ok);
  const broken = (edit: (g: ReturnType<typeof decodeModel>) => void): string[] => {
    const msg = decodeModel(bytes);
    edit(msg);
    return checkOnnx(encodeModel(msg)).errors;
  };
  const undef = broken((mm) => (mm.graph.node[5].input[0] = 'no_such_value'));
  assert.ok(
    undef.some((e) => /input 0 'no_such_value' is not defined/.test(e)),
    undef.join('\n'),
  );
  const unsorted = broken((mm) => {
    const [a] = mm.graph.node.splice(3, 1);
    mm.graph.node.push(a);
  });
  assert.ok(
    unsorted.some((e) => /not topologically sorted/.test(e)),
    unsorted.join('\n'),
  );
  const newOp = broken((mm) => (mm.graph.node.find((n) => n.op_type === 'Sigmoid')!.op_type = 'Gelu'));
  assert.ok(
    newOp.some((e) => /Gelu is not in the table/.test(e)),
    newOp.join('\n'),
  );
  const tooNew = broken((mm) => {
    const n = mm.graph.node.find((x) => x.op_type === 'Sigmoid')!;
    n.op_type = 'HardSwish'; // opset 14
  });
  assert.ok(
    tooNew.some((e) => /HardSwish does not exist in opset 12/.test(e)),
    tooNew.join('\n'),
  );
  const dup = broken((mm) => (mm.graph.node[1].output[0] = mm.graph.node[0].output[0]));
  assert.ok(
    dup.some((e) => /defined twice/.test(e)),
    dup.join('\n'),
  );
  const arity = broken((mm) => mm.graph.node.find((x) => x.op_type === 'Add')!.input.push('images'));
  assert.ok(
    arity.some((e) => /3 inputs, Add-7 takes 2/.test(e)),
    arity.join('\n'),
  );
  const raw = broken((mm) => (mm.graph.initializer[0].dims = [7]));
  assert.ok(
    raw.some((e) => /bytes of raw data/.test(e)),
    raw.join('\n'),
  );
  const oldIr = broken((mm) => (mm.ir_version = 6));
  assert.ok(
    oldIr.some((e) => /IR version 6 is too old for opset 12/.test(e)),
    oldIr.join('\n'),
  );
  assert.ok(!checkOnnx(new Uint8Array([1, 2, 3, 4])).ok);
});

test("names metadata is Python's str(dict)", () => {
  assert.equal(namesDictString(['person', 'bicycle']), "{0: 'person', 1: 'bicycle'}");
  assert.equal(pyRepr("it's"), `"it's"`);
  assert.equal(pyRepr(`a'b"c`), `'a\\'b"c'`);
  assert.equal(pyRepr('back\\slash'), "'back\\\\slash'");
});

test('.wts round trip gives the unfused state_dict back exactly, plus anchor_grid and strides', () => {
  manualSeed(0);
  const m = buildModel('yolov5n');
  const dir = mkdtempSync(join(tmpdir(), 'tsyolo-wts-'));
  const path = join(dir, 'm.wts');
  try {
    const w = writeWts(m, path);
    const text = readFileSync(path, 'latin1');
    const lines = text.split('\n');
    assert.equal(Number(lines[0]), w.tensors);
    assert.match(lines[1], /^model\.0\.conv\.weight 1728 [0-9a-f]{8} /);
    const back = readWts(path);
    const sd = m.stateDict();
    assert.equal(back.size, sd.size + 2);
    for (const [k, t] of sd) {
      const want = tidy(() => t.to('float32').contiguous().view(-1).toTypedArray() as Float32Array);
      const got = back.get(k);
      assert.ok(got, `${k} missing`);
      assert.deepEqual(
        new Uint32Array(got.buffer, got.byteOffset, got.length),
        new Uint32Array(want.buffer, want.byteOffset, want.length),
        k,
      );
    }
    // gen_wts.py's extras: anchors in pixels and the strides
    assert.deepEqual(
      [...back.get('model.24.anchor_grid')!],
      [10, 13, 16, 30, 33, 23, 30, 61, 62, 45, 59, 119, 116, 90, 156, 198, 373, 326],
    );
    assert.deepEqual([...back.get('model.24.strides')!], [8, 16, 32]);
    const keys = [...back.keys()];
    assert.deepEqual(keys.slice(keys.indexOf('model.24.anchors'), keys.indexOf('model.24.anchors') + 4), [
      'model.24.anchors',
      'model.24.anchor_grid',
      'model.24.strides',
      'model.24.m.0.weight',
    ]);
    // struct.pack('>f', v).hex(): 1.0 → 3f800000, -2.5 → c0200000
    const one = parseWts(new TextEncoder().encode('2\na 2 3f800000 c0200000\nb 0\n'));
    assert.deepEqual([...one.get('a')!], [1, -2.5]);
    assert.equal(one.get('b')!.length, 0);
    assert.throws(() => parseWts(new TextEncoder().encode('1\na 2 3f800000\n')), /8 hex digits|expected/);
    assert.throws(() => parseWts(new TextEncoder().encode('1\na 1 3f80000g\n')), /not a hex digit/);
    assert.equal(wtsTensors(m, { tensorrtx: false }).size, sd.size);
    m.fuse();
    assert.throws(() => writeWts(m, path), /unfused/);
  } finally {
    m.dispose();
  }
});

test('tsyolo export --include onnx wts writes verified files next to the weights', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsyolo-export-'));
  const weights = join(dir, 'best.pt');
  copyFileSync(fixture('yolov5n-stripped.pt'), weights);
  const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const out = execFileSync(
    process.execPath,
    [
      cli,
      'export',
      '--weights',
      weights,
      '--include',
      'onnx',
      'wts',
      '--imgsz',
      '256',
      '320',
      '--dynamic',
      'batch',
      '--json',
    ],
    { encoding: 'utf8' },
  );
  const summary = JSON.parse(out.trim().split('\n').pop()!);
  assert.equal(summary.onnx.path, join(dir, 'best.onnx'));
  assert.equal(summary.wts.path, join(dir, 'best.wts'));
  assert.ok(existsSync(summary.onnx.path) && existsSync(summary.wts.path));
  assert.deepEqual(summary.onnx.input.shape, ['batch', 3, 256, 320]);
  assert.ok(summary.onnx.check.ok && summary.onnx.verify.ok && summary.onnx.verify.detections.identical);
  assert.match(out, /ONNX check: passed/);
  assert.match(out, /ONNX Runtime check: passed/);
  assert.equal(readWts(summary.wts.path).size, summary.wts.tensors);
  // a bad flag is refused before anything is written
  assert.throws(
    () =>
      execFileSync(process.execPath, [cli, 'export', '--weights', weights, '--opset', '9'], {
        encoding: 'utf8',
        stdio: 'pipe',
      }),
    /opset 9/,
  );
});

test('web export: the folder for a dynamic model, the bundle is a browser script, float16 and bad flags refused', async () => {
  const { exportWeb, bundlePage } = await import('../src/export/web.js');
  const m = built();
  const dir = mkdtempSync(join(tmpdir(), 'tsyolo-web-export-'));
  try {
    const bytes = exportOnnx(m, { imgsz: 128, dynamic: true });
    const r = await exportWeb(bytes, 'm.onnx', join(dir, 'm_web'), { imgsz: [256, 256], confThres: 0.3 });
    const meta = JSON.parse(readFileSync(join(dir, 'm_web', 'model.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(
      [meta.model, meta.batch, meta.shape, meta.imgsz, meta.stride, meta.confThres, (meta.names as string[]).length],
      ['m.onnx', null, null, [256, 256], 32, 0.3, 80],
    );
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'm_web', 'names.json'), 'utf8')), m.names);
    assert.ok(r.files.some((f) => f.name === 'ort-wasm-simd-threaded.wasm' && f.bytes > 1e6));
    assert.deepEqual(readFileSync(join(dir, 'm_web', 'm.onnx')), Buffer.from(bytes));
    assert.match(
      readFileSync(join(dir, 'm_web', 'index.html'), 'utf8'),
      /<script src="ort\.wasm\.min\.js"><\/script>\s*<script src="tsyolo-web\.js">/,
    );
    const js = new TextDecoder().decode(await bundlePage());
    assert.match(js, /tsyoloDetect/);
    assert.doesNotMatch(js, /\brequire\(|node:/);
    await assert.rejects(
      exportWeb(exportOnnx(m, { imgsz: 128, half: true }), 'h.onnx', join(dir, 'h_web')),
      /h\.onnx: the web page runs float32 models/,
    );
    await assert.rejects(
      exportWeb(new Uint8Array([1, 2, 3]), 'bad.onnx', join(dir, 'b_web')),
      /bad\.onnx: not an ONNX model/,
    );
    const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
    assert.throws(
      () =>
        execFileSync(
          process.execPath,
          [cli, 'export', '--weights', fixture('yolov5n-stripped.pt'), '--include', 'web', '--half'],
          { encoding: 'utf8', stdio: 'pipe' },
        ),
      /runs float32 models; drop --half/,
    );
    assert.throws(
      () =>
        execFileSync(
          process.execPath,
          [cli, 'export', '--weights', fixture('yolov5n-stripped.pt'), '--include', 'tfjs'],
          { encoding: 'utf8', stdio: 'pipe' },
        ),
      /'tfjs' is not an export format \(onnx, wts, web\)/,
    );
  } finally {
    m.dispose();
  }
});

test('detections after NMS are compared as sets: near-equal scores in swapped order still match', () => {
  // two boxes whose scores differ by float32 noise come out of NMS in the opposite order
  const tsyolo = [
    [10, 10, 50, 60, 0.5, 3],
    [100, 40, 180, 90, 0.4999999, 7],
    [5, 5, 20, 20, 0.3, 0],
  ];
  const onnx = [
    [100, 40.00001, 180, 90, 0.50000006, 7],
    [10, 10, 50.00002, 60, 0.49999994, 3],
    [5, 5, 20, 20, 0.3, 0],
  ];
  const m = matchDetections(onnx, tsyolo, 1e-4, 1e-4);
  assert.deepEqual(
    { matched: m.matched, onlyA: m.onlyA, onlyB: m.onlyB, exact: m.exact },
    { matched: 3, onlyA: 0, onlyB: 0, exact: false },
  );
  assert.ok(m.maxConfDiff < 1e-6 && m.maxBoxDiff < 1e-6);
  // another class, a moved box or a detection kept by one side only are not matched
  const other = matchDetections(
    [
      [10, 10, 50, 60, 0.5, 4],
      [100, 40, 190, 90, 0.5, 7],
    ],
    tsyolo.slice(0, 2),
    1e-4,
    1e-4,
  );
  assert.deepEqual([other.matched, other.onlyA, other.onlyB], [0, 2, 2]);
  const edge = matchDetections(tsyolo.slice(0, 2), tsyolo, 1e-4, 1e-4);
  assert.deepEqual([edge.matched, edge.onlyA, edge.onlyB, edge.exact], [2, 0, 1, false]);
  assert.ok(matchDetections(tsyolo, tsyolo, 0, 0).exact);
});
