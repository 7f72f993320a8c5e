// End-to-end training on a tiny synthetic dataset: CLI, exact resume after SIGKILL,
// freezing, extending a finished run.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadSafetensors, tidy } from '@tsyolo/torch';
import { synthesizeDataset } from '../src/index.js';
import { repoRoot } from './fixtures.js';

const cli = join(repoRoot(), 'packages/yolo/dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'tsyolo-train-'));
const env = { ...process.env, TSYOLO_NUM_THREADS: '2' };
let data = '';

const base = (name: string): string[] => [
  'train',
  '--cfg',
  'yolov5n.yaml',
  '--data',
  data,
  '--imgsz',
  '128',
  '--batch-size',
  '8',
  '--workers',
  '1',
  '--project',
  join(dir, 'runs'),
  '--name',
  name,
  '--quiet',
  '--noautoanchor',
  '--json',
];

function run(args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, `tsyolo ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

/** sha256 over the named tensors of a checkpoint (metadata such as dates left out). */
function tensorsHash(path: string, prefix: string): string {
  return tidy(() => {
    const st = loadSafetensors(path);
    const h = createHash('sha256');
    for (const [k, t] of [...st.tensors].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => a.localeCompare(b))) {
      h.update(k);
      const a = t.toTypedArray();
      h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    }
    return h.digest('hex');
  });
}

test('setup: a tiny synthetic dataset', async () => {
  const r = await synthesizeDataset({ out: join(dir, 'synth'), train: 16, val: 8, img: 128, classes: 3, seed: 1 });
  data = r.yaml;
  assert.ok(existsSync(data));
});

test('tsyolo train writes yolov5 outputs and a JSON summary; final weights are stripped FP16', () => {
  const r = run([...base('a'), '--epochs', '2']);
  const save = r.saveDir as string;
  for (const f of [
    'opt.yaml',
    'hyp.yaml',
    'results.csv',
    'weights/last.safetensors',
    'weights/best.safetensors',
    'weights/resume.safetensors',
  ])
    assert.ok(existsSync(join(save, f)), f);
  const csv = readFileSync(join(save, 'results.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 3);
  assert.deepEqual(
    csv[0]
      .split(',')
      .map((s) => s.trim())
      .slice(0, 4),
    ['epoch', 'train/box_loss', 'train/obj_loss', 'train/cls_loss'],
  );
  const w = r.weights as { lastBytes: number; resume: string };
  assert.ok(
    w.lastBytes < 0.3 * readFileSync(w.resume).length,
    'stripped weights are much smaller than the training state',
  );
  const st = loadSafetensors(join(save, 'weights/last.safetensors'));
  assert.equal(st.tensors.get('model.model.0.conv.weight')!.dtype, 'float16');
  assert.ok(![...st.tensors.keys()].some((k) => k.startsWith('optimizer.')));
  for (const t of st.tensors.values()) t.dispose();
  const share = r.loaderWaitShare as number;
  assert.ok(share > 0 && share < 1, `loaderWaitShare ${share}: the first batch is always waited for`);
});

test('exact resume: N epochs straight equal N/2 + SIGKILL + --resume (bit-identical weights)', async () => {
  const straight = run([...base('straight'), '--epochs', '4']);
  const save = join(dir, 'runs', 'killed');
  // start the same run and SIGKILL it once epoch 1 has been checkpointed, during epoch 2
  const child = spawn(process.execPath, [cli, ...base('killed'), '--epochs', '4'], { env, stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      const csv = join(save, 'results.csv');
      if (existsSync(csv) && readFileSync(csv, 'utf8').trim().split('\n').length >= 3) {
        clearInterval(timer);
        setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, 300);
      }
    }, 50);
    child.on('exit', () => {
      clearInterval(timer);
      reject(new Error('the run ended before it could be killed'));
    });
  }).catch((e: Error) => assert.fail(e.message));
  await new Promise((r) => child.once('exit', r));
  assert.ok(existsSync(join(save, 'weights/last.safetensors')), 'a checkpoint survived the kill');
  const resumed = run(['train', '--resume', join(save, 'weights/last.safetensors'), '--json', '--quiet']);
  assert.equal(resumed.lastEpoch, 3);
  const a = (straight.weights as { resume: string }).resume;
  const b = (resumed.weights as { resume: string }).resume;
  assert.equal(tensorsHash(b, 'model.'), tensorsHash(a, 'model.'), 'model weights');
  assert.equal(tensorsHash(b, 'ema.'), tensorsHash(a, 'ema.'), 'EMA weights');
  assert.equal(tensorsHash(b, 'optimizer.'), tensorsHash(a, 'optimizer.'), 'optimizer state');
});

test('a finished run can be extended with --resume path --epochs N', () => {
  const first = run([...base('extend'), '--epochs', '2']);
  const resumeFile = (first.weights as { resume: string }).resume;
  const r = spawnSync(process.execPath, [cli, 'train', '--resume', resumeFile, '--quiet'], { env, encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /complete; pass --epochs N/);
  const more = run(['train', '--resume', resumeFile, '--epochs', '3', '--json', '--quiet']);
  assert.equal(more.lastEpoch, 2);
  const csv = readFileSync(join(first.saveDir as string, 'results.csv'), 'utf8')
    .trim()
    .split('\n');
  assert.equal(csv.length, 4);
});

test('--freeze keeps the frozen parameters bit-identical; --unfreeze-at trains them later', () => {
  const ref = run([...base('fz0'), '--epochs', '1', '--no-channels-last']);
  assert.match(readFileSync(join(ref.saveDir as string, 'opt.yaml'), 'utf8'), /^channelsLast: false$/m);
  const init = (ref.weights as { last: string }).last; // FP16 weights: exact in FP32
  const frozen = run([...base('fz'), '--weights', init, '--cfg', '', '--freeze', '10', '--epochs', '2']);
  const unfrozen = run([
    ...base('ufz'),
    '--weights',
    init,
    '--cfg',
    '',
    '--freeze',
    '10',
    '--unfreeze-at',
    '1',
    '--epochs',
    '2',
  ]);
  tidy(() => {
    const a = loadSafetensors(init).tensors;
    const f = loadSafetensors((frozen.weights as { resume: string }).resume).tensors;
    const u = loadSafetensors((unfrozen.weights as { resume: string }).resume).tensors;
    const isParam = (k: string): boolean => /\.(weight|bias)$/.test(k);
    let checked = 0;
    for (const [k, t] of a) {
      if (!isParam(k)) continue;
      const layer = Number(k.split('.')[2]); // model.model.<layer>....
      const after = f.get(k)!;
      if (layer < 10) {
        assert.ok(after.equal(t.float()), `frozen ${k} changed`);
        checked++;
      }
    }
    assert.ok(checked > 20);
    assert.ok(
      !u.get('model.model.0.conv.weight')!.equal(a.get('model.model.0.conv.weight')!.float()),
      'unfrozen layer 0 trained',
    );
    assert.ok(
      !f.get('model.model.24.m.0.weight')!.equal(a.get('model.model.24.m.0.weight')!.float()),
      'unfrozen head trained',
    );
  });
});

test('SIGTERM: the run stops after the current batch, strips last/best to FP16 and keeps the resumable state', async () => {
  const save = join(dir, 'runs', 'term');
  const child = spawn(process.execPath, [cli, ...base('term'), '--epochs', '50'], { env, stdio: 'ignore' });
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (existsSync(join(save, 'weights/last.safetensors'))) {
        clearInterval(timer);
        child.kill('SIGTERM');
        resolve();
      }
    }, 50);
  });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  assert.equal(code, 130);
  tidy(() => {
    const last = loadSafetensors(join(save, 'weights/last.safetensors'));
    assert.equal(last.tensors.get('model.model.0.conv.weight')!.dtype, 'float16');
    assert.ok(![...last.tensors.keys()].some((k) => k.startsWith('optimizer.')));
    assert.ok(existsSync(join(save, 'weights/resume.safetensors')));
  });
  // TensorBoard events were written
  assert.ok(readdirSync(save).some((f) => f.startsWith('events.out.tfevents.')));
});
