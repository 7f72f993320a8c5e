// Run folders and final weights under concurrency and crashes: folders are claimed atomically, and
// the final strip step never leaves weights/ without a loadable last and a resumable checkpoint.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { incrementPath } from '../src/engine/paths.js';
import { replaceWithStripped } from '../src/engine/state.js';
import { repoRoot } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'tsyolo-runfiles-'));

test('incrementPath: exp, exp2, exp3 … as yolov5; --exist-ok reuses; nested names', () => {
  const project = join(dir, 'seq');
  assert.equal(incrementPath(project, 'exp'), join(project, 'exp'));
  assert.equal(incrementPath(project, 'exp'), join(project, 'exp2'));
  assert.equal(incrementPath(project, 'exp'), join(project, 'exp3'));
  assert.equal(incrementPath(project, 'exp', true), join(project, 'exp'));
  writeFileSync(join(project, 'exp4'), 'a file, not a folder');
  assert.equal(incrementPath(project, 'exp'), join(project, 'exp5'));
  assert.equal(incrementPath(project, 'a/b'), join(project, 'a/b'));
});

test('incrementPath: 4 processes claiming 25 run folders each at once get 100 distinct folders', async () => {
  const project = join(dir, 'race');
  const mod = pathToFileURL(join(repoRoot(), 'packages/yolo/dist/src/engine/paths.js')).href;
  // every process starts claiming at the same moment, so the claims interleave
  const start = Date.now() + 2000;
  const script = `const { incrementPath } = await import(${JSON.stringify(mod)}); while (Date.now() < ${start}); const out = []; for (let i = 0; i < 25; i++) out.push(incrementPath(${JSON.stringify(project)}, 'exp')); console.log(JSON.stringify(out));`;
  const runs = Array.from(
    { length: 4 },
    () =>
      new Promise<string[]>((resolve, reject) => {
        const p = spawn(process.execPath, ['--input-type=module', '-e', script], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        p.stdout.on('data', (b: Buffer) => (out += b.toString()));
        p.on('error', reject);
        p.on('close', (code) =>
          code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`exit ${code}`)),
        );
      }),
  );
  const claimed = (await Promise.all(runs)).flat();
  assert.equal(claimed.length, 100);
  assert.equal(new Set(claimed).size, 100, 'two processes were handed the same folder');
  assert.equal(readdirSync(project).length, 100);
});

test('replaceWithStripped: last stays loadable while the stripped file is written; a failed write loses nothing', () => {
  const w = join(dir, 'weights');
  incrementPath(w, '', true);
  const last = join(w, 'last.safetensors');
  const resume = join(w, 'resume.safetensors');
  writeFileSync(last, 'full training state');
  writeFileSync(resume, 'an older resume file');
  // the write fails (disk full, killed): last.safetensors is untouched
  assert.throws(
    () =>
      replaceWithStripped(last, resume, () => {
        throw new Error('ENOSPC: no space left on device');
      }),
    /ENOSPC/,
  );
  assert.equal(readFileSync(last, 'utf8'), 'full training state');
  // while the stripped file is being written, last still holds the full state
  const bytes = replaceWithStripped(last, resume, (tmp) => {
    assert.equal(readFileSync(last, 'utf8'), 'full training state');
    writeFileSync(tmp, 'stripped');
    return 8;
  });
  assert.equal(bytes, 8);
  assert.equal(readFileSync(last, 'utf8'), 'stripped');
  assert.equal(readFileSync(resume, 'utf8'), 'full training state');
  assert.deepEqual(readdirSync(w).sort(), ['last.safetensors', 'resume.safetensors']);
  assert.ok(existsSync(last));
});

test('train() through the API: when the val set cannot be built, the loader workers stop and the process exits', async () => {
  const { synthesizeDataset } = await import('../src/index.js');
  const synth = await synthesizeDataset({ out: join(dir, 'synth'), train: 8, val: 4, img: 64, classes: 2, seed: 1 });
  const yaml = join(dir, 'synth', 'bad-val.yaml');
  // the val folder exists but holds no images: building the val set fails after the train loader started
  const empty = join(dir, 'empty-val');
  incrementPath(empty, '', true);
  writeFileSync(yaml, readFileSync(synth.yaml, 'utf8').replace(/^val:.*$/m, `val: ${empty}`));
  const mod = pathToFileURL(join(repoRoot(), 'packages/yolo/dist/src/index.js')).href;
  // no process.exit: a worker thread left running would keep the process alive
  const script = `const { train } = await import(${JSON.stringify(mod)});
    train({ cfg: 'yolov5n.yaml', data: ${JSON.stringify(yaml)}, imgsz: 64, batchSize: 4, epochs: 1, workers: 2, project: ${JSON.stringify(join(dir, 'runs'))}, name: 'badval', quiet: true, noautoanchor: true, noplots: true })
      .then(() => console.log('trained'), (e) => { console.error('failed: ' + e.message); process.exitCode = 3; });`;
  const r = await new Promise<{ code: number | null; signal: string | null; err: string }>((resolve) => {
    // a script file, not -e: worker threads started from an -e script do not keep the process alive
    const file = join(dir, 'train-bad-val.mjs');
    writeFileSync(file, script);
    const p = spawn(process.execPath, [file], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, TSYOLO_NUM_THREADS: '1' },
    });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, err });
    });
  });
  assert.equal(r.signal, null, `the process did not exit by itself (killed after 60 s):\n${r.err}`);
  assert.equal(r.code, 3, r.err);
  assert.match(r.err, /no images found in .*empty-val/);
});

test('npx tsyolo: the workspace links the tsyolo command, and it runs the built CLI', () => {
  const bin = join(repoRoot(), 'node_modules', '.bin', 'tsyolo');
  assert.ok(existsSync(bin), `${bin} is missing: npm ci links it from packages/yolo/bin/tsyolo.js`);
  const r = spawnSync(bin, ['info', '--cfg', 'yolov5n.yaml', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout.trim().split('\n').pop()!) as { parameters: number }).parameters, 1872157);
});
