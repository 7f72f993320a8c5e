// Bad input (issue #13): numeric flags out of range, too many workers, corrupt images and bad .txt
// lists for detect, files that are not weights, missing names in data.yaml, system errors. Each case
// once hung, crashed or went through silently; now it is refused or warned about, naming the flag or file.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { saveSafetensors } from '@tsyolo/torch';
import { type Command, CommanderError } from 'commander';
import { dataCommand } from '../src/cli/data.js';
import { detectCommand } from '../src/cli/detect.js';
import { describeError } from '../src/cli/errors.js';
import { exportCommand } from '../src/cli/export.js';
import { pruneCommand } from '../src/cli/prune.js';
import { trainCommand } from '../src/cli/train.js';
import { valCommand } from '../src/cli/val.js';
import { dataloaderWorkers } from '../src/data/loader.js';
import {
  buildModel,
  collate,
  createDataset,
  DataLoader,
  Detector,
  loadDataConfig,
  loadHyp,
  type Sample,
  saveCheckpoint,
  synthesizeDataset,
} from '../src/index.js';
import { withPath } from '../src/models/checkpoint.js';
import { repoRoot } from './fixtures.js';

const cli = join(repoRoot(), 'packages/yolo/dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'tsyolo-hostile-'));
const env = { ...process.env, TSYOLO_NUM_THREADS: '1' };
const IMG = 64;
let data = '';
let weights = '';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI in a child process, killed after 60 s: a hang fails the test instead of stalling it. */
function run(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [cli, ...args], { env, cwd: dir, timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function lastJson(r: Run): Record<string, unknown> {
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

/** Parses args with a fresh command in this process; the parse must fail. Returns what commander printed. */
async function parseError(cmd: Command, args: string[]): Promise<string> {
  let err = '';
  cmd.exitOverride().configureOutput({ writeErr: (s) => void (err += s), writeOut: () => undefined });
  await assert.rejects(
    cmd.parseAsync(args, { from: 'user' }),
    CommanderError,
    `${cmd.name()} ${args.join(' ')} should be refused`,
  );
  return err;
}

test('setup: 4 + 4 synthetic 64 px images (2 classes), a random 2-class yolov5n checkpoint', async () => {
  data = (await synthesizeDataset({ out: join(dir, 'synth'), train: 4, val: 4, img: IMG, classes: 2, seed: 1 })).yaml;
  const model = buildModel('yolov5n', { nc: 2 });
  weights = join(dir, 'random.safetensors');
  saveCheckpoint(weights, model);
  model.dispose();
});

test('numeric flags out of range are refused by the CLI, naming the flag and the allowed range (no hang, no NaN)', async () => {
  // end to end: these hung (val --batch-size 0), ran out of memory (-4), failed on a NaN weight decay
  // (train --batch-size 0), crashed inside resize (--imgsz 0, 100000) or were accepted (--epochs -1)
  const cases: [string[], RegExp][] = [
    [
      ['val', '--data', data, '--weights', weights, '--batch-size', '0'],
      /'--batch-size <n>' argument '0' is invalid\. must be a positive integer \(got 0\)/,
    ],
    [
      ['val', '--data', data, '--weights', weights, '--batch-size', '-4'],
      /'--batch-size <n>' argument '-4' is invalid\. must be a positive integer \(got -4\)/,
    ],
    [
      ['train', '--data', data, '--batch-size', '0'],
      /'--batch-size <n>' argument '0' is invalid\. must be a positive integer, or -1 for AutoBatch \(got 0\)/,
    ],
    [
      ['detect', '--weights', weights, '--source', dir, '--imgsz', '100000'],
      /'--imgsz, --img <px>' argument '100000' is invalid\. must be an integer from 1 to 8192/,
    ],
    [
      ['train', '--data', data, '--epochs', '-1'],
      /'--epochs <n>' argument '-1' is invalid\. must be a positive integer/,
    ],
  ];
  const results = await Promise.all(cases.map(([args]) => run(args)));
  results.forEach((r, i) => {
    assert.equal(r.status, 1, `tsyolo ${cases[i][0].join(' ')}: exit status`);
    assert.match(r.stderr, cases[i][1]);
  });
});

test('every command checks its numeric flags from one declaration each', async () => {
  const v = ['--data', 'd.yaml', '--weights', 'w.pt'];
  const d = ['--weights', 'w.pt', '--source', 'x.jpg'];
  const cases: [() => Command, string[], RegExp][] = [
    [
      valCommand,
      [...v, '--imgsz', '0'],
      /'--imgsz, --img <px>' argument '0' is invalid\. must be an integer from 1 to 8192/,
    ],
    [valCommand, [...v, '--img', '-1'], /argument '-1' is invalid\. must be an integer from 1 to 8192/],
    [
      valCommand,
      [...v, '--workers', '-1'],
      /'--workers <n>' argument '-1' is invalid\. must be a non-negative integer/,
    ],
    [
      valCommand,
      [...v, '--conf-thres', '1.5'],
      /'--conf-thres <t>' argument '1\.5' is invalid\. must be a number from 0 to 1/,
    ],
    [valCommand, [...v, '--max-det', '0'], /'--max-det <n>' .* must be a positive integer/],
    [valCommand, [...v, '--batch-size', '2.5'], /'2\.5' is not an integer/],
    [detectCommand, [...d, '--imgsz', '0'], /must be an integer from 1 to 8192 \(got 0\)/],
    [detectCommand, [...d, '--iou-thres', '-0.1'], /'--iou-thres <t>' .* must be a number from 0 to 1/],
    [
      detectCommand,
      [...d, '--classes', '0', '-1'],
      /'--classes <ids\.\.\.>' argument '-1' is invalid\. must be a non-negative integer/,
    ],
    [detectCommand, [...d, '--vid-stride', '0'], /'--vid-stride <n>' .* must be a positive integer/],
    [detectCommand, [...d, '--line-thickness', '0'], /'--line-thickness <px>' .* must be a positive integer/],
    [trainCommand, ['--batch-size', '-4'], /must be a positive integer, or -1 for AutoBatch \(got -4\)/],
    [trainCommand, ['--imgsz', '0'], /'--imgsz, --img <px>' argument '0' is invalid/],
    [trainCommand, ['--img-size', '99999'], /'--img-size <px>' argument '99999' is invalid/],
    [trainCommand, ['--workers', '-2'], /'--workers <n>' .* must be a non-negative integer/],
    [trainCommand, ['--patience', '-1'], /'--patience <n>' .* must be a non-negative integer/],
    [trainCommand, ['--label-smoothing', '2'], /'--label-smoothing <eps>' .* must be a number from 0 to 1/],
    [trainCommand, ['--save-period', '-2'], /'--save-period <n>' .* must be an integer >= -1/],
    [trainCommand, ['--seed', '-1'], /'--seed <n>' .* must be an integer from 0 to 4294967295/],
    [trainCommand, ['--freeze', '-3'], /'--freeze <layers\.\.\.>' .* must be a non-negative integer/],
    [trainCommand, ['--nproc', '0'], /'--nproc, --nproc-per-node <n>' .* must be a positive integer/],
    [trainCommand, ['--master-port', '70000'], /'--master-port <port>' .* must be an integer from 1 to 65535/],
    [trainCommand, ['--evolve', '0'], /'--evolve \[generations\]' .* must be a positive integer/],
    [
      exportCommand,
      ['--weights', 'w.pt', '--imgsz', '640', '0'],
      /'--imgsz, --img <px\.\.\.>' argument '0' is invalid/,
    ],
    [exportCommand, ['--weights', 'w.pt', '--batch-size', '0'], /'--batch-size <n>' .* must be a positive integer/],
    [
      exportCommand,
      ['--weights', 'w.pt', '--opset', '99'],
      /'--opset <n>' argument '99' is invalid\. must be an integer from 12 to 17/,
    ],
    [pruneCommand, ['--weights', 'w.pt', '--amount', '1.5'], /'--amount <fraction>' .* must be a number from 0 to 1/],
    [
      () => dataCommand().commands.find((c) => c.name() === 'synth')!,
      ['--out', 'x', '--img', '16'],
      /'--img <px>' argument '16' is invalid\. must be an integer from 32 to 8192/,
    ],
    [
      () => dataCommand().commands.find((c) => c.name() === 'synth')!,
      ['--out', 'x', '--classes', '0'],
      /'--classes <k>' .* must be an integer from 1 to/,
    ],
  ];
  for (const [make, args, want] of cases) assert.match(await parseError(make(), args), want, args.join(' '));
});

test('the DataLoader refuses batchSize < 1 (it looped forever) and caps workers as yolov5 does', async () => {
  const cfg = loadDataConfig(data);
  const ds = await createDataset(cfg.val, {
    imgsz: IMG,
    augment: false,
    hyp: loadHyp('hyp.scratch-low.yaml'),
    seed: 0,
    stride: 32,
    batchSize: 2,
    nc: 2,
    rect: false,
    log: () => undefined,
  });
  for (const batchSize of [0, -4, 1.5]) {
    assert.throws(
      () => new DataLoader(ds.spec, { batchSize, workers: 0, shuffle: false, seed: 0 }),
      new RegExp(`DataLoader: batchSize must be a positive integer \\(got ${batchSize}\\); --batch-size`),
    );
  }
  assert.throws(
    () => new DataLoader(ds.spec, { batchSize: 2, workers: -1, shuffle: false, seed: 0 }),
    /DataLoader: workers must be a non-negative integer \(got -1\)/,
  );
  // nw = min(CPUs / processes, batch size if > 1 else 0, workers)
  const cpus = availableParallelism();
  assert.equal(dataloaderWorkers(1000, 64, 1), Math.min(cpus, 64));
  assert.equal(dataloaderWorkers(1000, 1, 1), 0);
  assert.equal(dataloaderWorkers(1, 64, 1), 1);
  assert.equal(dataloaderWorkers(1000, 64, cpus * 2), 1);
  const dl = new DataLoader(ds.spec, { batchSize: 2, workers: 1000, shuffle: false, seed: 0 });
  try {
    assert.equal(dl.numWorkers, Math.min(cpus, 2));
    let images = 0;
    for await (const b of dl.epoch(0)) images += b.images.shape[0];
    assert.equal(images, 4);
  } finally {
    await dl.close();
  }
});

test('the Detector refuses imgsz < 1 (it failed inside resize)', async () => {
  const det = await Detector.load(weights);
  try {
    const img = join(dir, 'synth', 'images', 'val', readdirSync(join(dir, 'synth', 'images', 'val')).sort()[0]);
    for (const imgsz of [0, -1])
      await assert.rejects(
        det.detect(img, { imgsz }),
        new RegExp(`Detector: imgsz must be a positive integer \\(got ${imgsz}\\); --imgsz`),
      );
  } finally {
    det.dispose();
  }
});

test('a batch larger than one buffer is refused naming --batch-size and --imgsz (was "Invalid typed array length")', () => {
  const s: Sample = {
    chw: new Uint8Array(0),
    height: 8192,
    width: 8192,
    labels: new Float32Array(0),
    path: 'x.jpg',
    shapes: [
      [1, 1],
      [
        [1, 1],
        [0, 0],
      ],
    ],
  };
  assert.throws(
    () =>
      collate(
        Array.from({ length: 32 }, () => s),
        [],
      ),
    /a batch of 32 images of 3×8192×8192 needs 6\.0 GB, more than one buffer can hold \(4\.0 GB\): lower --batch-size or --imgsz/,
  );
});

test('train --batch-size -1 is AutoBatch (the CPU default, 16, as yolov5) and --workers 1000 is capped', async () => {
  const r = await run([
    'train',
    '--cfg',
    'yolov5n.yaml',
    '--data',
    data,
    '--imgsz',
    String(IMG),
    '--epochs',
    '1',
    '--batch-size',
    '-1',
    '--workers',
    '1000',
    '--noautoanchor',
    '--noplots',
    '--quiet',
    '--project',
    join(dir, 'runs'),
    '--name',
    'auto',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /AutoBatch: CUDA not detected, using default CPU batch-size 16/);
  const used = Number(/using (\d+) dataloader workers/.exec(r.stdout)?.[1]);
  assert.equal(used, Math.min(availableParallelism(), 16));
  const opt = readFileSync(join(dir, 'runs', 'auto', 'opt.yaml'), 'utf8');
  assert.match(opt, /batchSize: 16/);
});

test('detect skips a corrupt image with a warning naming it and detects on the rest', async () => {
  const src = join(dir, 'corrupt-src');
  mkdirSync(src);
  const val = join(dir, 'synth', 'images', 'val');
  const imgs = readdirSync(val).sort();
  for (const f of imgs) copyFileSync(join(val, f), join(src, f));
  writeFileSync(join(src, '000000a.jpg'), readFileSync(join(val, imgs[0])).subarray(0, 200)); // truncated: sorts second
  const r = await run([
    'detect',
    '--weights',
    weights,
    '--source',
    src,
    '--imgsz',
    String(IMG),
    '--save-txt',
    '--project',
    join(dir, 'runs'),
    '--name',
    'corrupt',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /WARNING ⚠️ .*000000a\.jpg: cannot decode image: .*; skipping it/);
  assert.match(r.stderr, /1 of 5 images could not be read and were skipped: .*000000a\.jpg/);
  const s = lastJson(r);
  assert.equal(s.images, 4);
  assert.deepEqual(
    (s.skipped as string[]).map((p) => p.endsWith('000000a.jpg')),
    [true],
  );
  assert.equal(
    readdirSync(join(s.saveDir as string, 'labels')).length,
    4,
    'the images after the corrupt one were processed',
  );
});

test('detect --source list.txt warns about each line that is not an image, naming the line and the list', async () => {
  const val = join(dir, 'synth', 'images', 'val');
  const list = join(dir, 'list.txt');
  writeFileSync(
    list,
    `synth/images/val/${readdirSync(val).sort()[1]}\nnope.jpg\n\nsynth/data.yaml\nsynth/images/train\n`,
  );
  const r = await run([
    'detect',
    '--weights',
    weights,
    '--source',
    list,
    '--imgsz',
    String(IMG),
    '--nosave',
    '--project',
    join(dir, 'runs'),
    '--name',
    'list',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr,
    /WARNING ⚠️ .*list\.txt line 2: 'nope\.jpg' does not exist \(.*nope\.jpg; relative paths start at the list's folder\); skipped/,
  );
  assert.match(
    r.stderr,
    /list\.txt line 4: 'synth\/data\.yaml' is not an image or video \(by its extension\); skipped/,
  );
  assert.equal(lastJson(r).images, 5, 'one image and the 4 of the folder on line 5');
});

test('a weights file that is not one says what it is (random bytes, JSON, empty, Git LFS pointer, folder, missing)', async () => {
  const files: [string, string | Buffer, RegExp][] = [
    [
      'random.pt',
      Buffer.from([0x3f, 0x8a, 0x01, 0x02, 0x99, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80]),
      /random\.pt is not a PyTorch checkpoint \(zip\) nor a safetensors file: it starts with the bytes 3f 8a 01 02/,
    ],
    [
      'json.pt',
      '{"model": "yolov5s"}\n',
      /json\.pt is not a PyTorch checkpoint \(zip\) nor a safetensors file: it is JSON text \(starts with .*model/,
    ],
    ['empty.pt', '', /empty\.pt is not a PyTorch checkpoint \(zip\) nor a safetensors file: it is empty \(0 bytes\)/],
    [
      'lfs.pt',
      'version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 3\n',
      /lfs\.pt .*it is a Git LFS pointer, not the file itself: fetch it with `git lfs pull`/,
    ],
  ];
  for (const [name, body] of files) writeFileSync(join(dir, name), body);
  mkdirSync(join(dir, 'folder.pt'));
  const runs = await Promise.all([
    ...files.map(([name]) => run(['info', '--weights', name])),
    run(['val', '--data', data, '--weights', 'json.pt']),
    run(['detect', '--weights', 'folder.pt', '--source', data]),
    run(['detect', '--weights', 'missing.pt', '--source', data]),
  ]);
  const want = [
    ...files.map((f) => f[2]),
    /json\.pt is not a PyTorch checkpoint .*Give a yolov5 \.pt checkpoint/,
    /folder\.pt is a folder: give a weights file/,
    /missing\.pt: no such weights file/,
  ];
  runs.forEach((r, i) => {
    assert.equal(r.status, 1);
    assert.match(r.stderr, want[i]);
    assert.doesNotMatch(
      r.stderr,
      /not a valid safetensors file|\n\s+at /,
      'no stack trace, no misleading safetensors error',
    );
  });
});

test('a safetensors state dict without a config: the error says --cfg, and detect and val take --cfg', async () => {
  const model = buildModel('yolov5n', { nc: 2 });
  const bare = join(dir, 'bare.safetensors');
  saveSafetensors(bare, model.stateDict());
  model.dispose();
  const cfg = join(dir, 'yolov5n-2.yaml');
  writeFileSync(
    cfg,
    readFileSync(join(repoRoot(), 'packages/yolo/configs/models/yolov5n.yaml'), 'utf8').replace(/^nc: \d+/m, 'nc: 2'),
  );
  const img = join(dir, 'synth', 'images', 'val', readdirSync(join(dir, 'synth', 'images', 'val')).sort()[0]);
  const common = ['--imgsz', String(IMG), '--project', join(dir, 'runs'), '--json'];
  const [noCfg, det, val] = await Promise.all([
    run(['detect', '--weights', bare, '--source', img, '--nosave', ...common, '--name', 'bare0']),
    run(['detect', '--weights', bare, '--cfg', cfg, '--source', img, '--nosave', ...common, '--name', 'bare1']),
    run([
      'val',
      '--data',
      data,
      '--weights',
      bare,
      '--cfg',
      cfg,
      '--workers',
      '0',
      '--noplots',
      ...common,
      '--name',
      'bare2',
    ]),
  ]);
  assert.equal(noCfg.status, 1);
  assert.match(
    noCfg.stderr,
    /bare\.safetensors: this safetensors file carries no model config; pass cfg, .*--cfg yolov5s\.yaml for tsyolo val, detect, export and prune/,
  );
  assert.equal(det.status, 0, det.stderr);
  assert.equal(lastJson(det).images, 1);
  assert.equal(val.status, 0, val.stderr);
  assert.equal(lastJson(val).images, 4);
});

test('system errors say what happened and what to do: ENOSPC, EACCES (with the file), a folder or a file in the way', async () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), {
    code: 'ENOSPC',
    syscall: 'write',
  });
  const named = withPath(enospc, 'runs/train/exp/weights/last.safetensors');
  assert.match(
    describeError(named),
    /^runs\/train\/exp\/weights\/last\.safetensors: ENOSPC: no space left on device, write: the disk is full: free some space, or write the results to another disk \(--project, --out\)$/,
  );
  assert.equal((named as NodeJS.ErrnoException).code, 'ENOSPC');
  const eacces = Object.assign(new Error("EACCES: permission denied, open 'runs/val'"), {
    code: 'EACCES',
    syscall: 'open',
    path: 'runs/val',
  });
  assert.match(
    describeError(eacces),
    /permission denied, open 'runs\/val': permission denied: check the permissions of the file and its folder, or use another path/,
  );
  const eaccesNoPath = Object.assign(new Error('EACCES: permission denied, mkdir'), {
    code: 'EACCES',
    path: '/root/x',
  });
  assert.match(describeError(eaccesNoPath), /mkdir \(\/root\/x\): permission denied/);
  assert.equal(describeError(new Error('plain')), 'plain');
  // end to end: a checkpoint written where a folder or a file is in the way (as root, permissions cannot be tested)
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  mkdirSync(join(dir, 'a-folder.safetensors'));
  const [intoFile, ontoFolder] = await Promise.all([
    run(['prune', '--weights', weights, '--out', join(file, 'p.safetensors')]),
    run(['prune', '--weights', weights, '--out', join(dir, 'a-folder.safetensors')]),
  ]);
  assert.equal(intoFile.status, 1);
  assert.match(
    intoFile.stderr,
    /tsyolo: .*a-file\/p\.safetensors: ENOTDIR: .*: a part of the path is a file, not a folder/,
  );
  assert.equal(ontoFolder.status, 1);
  assert.match(
    ontoFolder.stderr,
    /tsyolo: EISDIR: .*a-folder\.safetensors': a folder was given where a file is expected/,
  );
});

test('data.yaml without names warns as yolov5 does (and still gives class0, class1, ...)', () => {
  const yaml = join(dir, 'synth', 'nonames.yaml');
  writeFileSync(yaml, 'path: .\ntrain: images/train\nval: images/val\nnc: 2\n');
  const warnings: string[] = [];
  const cfg = loadDataConfig(yaml, { warn: (s) => warnings.push(s) });
  assert.deepEqual(cfg.names, ['class0', 'class1']);
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0],
    /WARNING ⚠️ .*nonames\.yaml: 'names:' field missing, assigning default names 'class0', 'class1', etc\./,
  );
  const quiet: string[] = [];
  loadDataConfig(data, { warn: (s) => quiet.push(s) });
  assert.deepEqual(quiet, []);
});

test('val --single-cls scores every prediction as class 0 (it failed: in-place update of an inference tensor)', async () => {
  const r = await run([
    'val',
    '--data',
    data,
    '--weights',
    weights,
    '--single-cls',
    '--imgsz',
    String(IMG),
    '--workers',
    '0',
    '--noplots',
    '--project',
    join(dir, 'runs'),
    '--name',
    'single',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(lastJson(r).images, 4);
});

test('info --img 320 (and --imgsz 320) set the GFLOPs image size (--img was ignored)', async () => {
  const [img, imgsz, dflt] = await Promise.all([
    run(['info', '--cfg', 'yolov5n.yaml', '--img', '320', '--json']),
    run(['info', '--cfg', 'yolov5n.yaml', '--imgsz', '320', '--json']),
    run(['info', '--cfg', 'yolov5n.yaml', '--json']),
  ]);
  const [a, b, c] = [img, imgsz, dflt].map((r) => {
    assert.equal(r.status, 0, r.stderr);
    return lastJson(r);
  });
  assert.equal(a.imgsz, 320);
  assert.equal(b.imgsz, 320);
  assert.equal(c.imgsz, 640);
  assert.ok(
    Math.abs((a.gflops as number) * 4 - (c.gflops as number)) < 0.01,
    `${String(a.gflops)} × 4 ≈ ${String(c.gflops)}`,
  );
});
