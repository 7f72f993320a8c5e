// Hyperparameter evolution: mutation bounds and determinism, evolve.csv format, parent selection,
// the file lock, evolve() with a fake trainer (resume, concurrent workers) and a real CLI run.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { loadHyp, requiredHypKeys, validateHyp } from '../src/data/hyp.js';
import { Xoshiro128 } from '../src/data/rng.js';
import { appendResults, RESULT_KEYS } from '../src/engine/results.js';
import type { TrainOptions } from '../src/engine/trainer.js';
import { emptyPopulation, formatPopulation, parsePopulation } from '../src/evolve/csv.js';
import { type EvolveTrainFn, evolve } from '../src/evolve/evolve.js';
import { withFileLock } from '../src/evolve/lock.js';
import { MUTATION_KEYS, mutationLimit, RESULT_COLUMNS } from '../src/evolve/meta.js';
import { mutate, mutationFactors, round5 } from '../src/evolve/mutate.js';
import { bestRowIndex, rowFitness, selectParent, topRows } from '../src/evolve/select.js';
import { synthesizeDataset } from '../src/index.js';
import { repoRoot } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'tsyolo-evolve-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const keys = [...MUTATION_KEYS] as string[];
const base: Record<string, number> = {
  ...(loadHyp('hyp.scratch-low.yaml') as unknown as Record<string, number>),
  anchors: 3,
};

// ---------------------------------------------------------------------------------------------
// mutation
// ---------------------------------------------------------------------------------------------

test('mutation: gain-0 keys never change; 1000 children of extreme parents stay in bounds, rounded to 5 decimals', () => {
  const gain0 = keys.filter((k) => mutationLimit(k)!.gain === 0);
  assert.deepEqual(gain0.sort(), ['fl_gamma', 'fliplr', 'iou_t', 'perspective']);
  const rng = new Xoshiro128(7, 0, 1);
  const parents = [
    Object.fromEntries(keys.map((k) => [k, mutationLimit(k)!.lower])),
    Object.fromEntries(keys.map((k) => [k, mutationLimit(k)!.upper])),
    Object.fromEntries(keys.map((k) => [k, mutationLimit(k)!.upper * 100 + 1])),
    Object.fromEntries(keys.map((k) => [k, -5])),
  ];
  let changed = 0;
  for (let i = 0; i < 1000; i++) {
    const child = mutate(parents[i % parents.length], keys, rng);
    for (const k of keys) {
      const { lower, upper } = mutationLimit(k)!;
      assert.ok(child[k] >= lower && child[k] <= upper, `${k}=${child[k]} outside [${lower}, ${upper}]`);
      assert.equal(Number(child[k].toFixed(5)), child[k], `${k}=${child[k]} not rounded to 5 decimals`);
    }
    const mid = mutate(base, keys, rng);
    for (const k of gain0) assert.equal(mid[k], base[k], `gain-0 key ${k} changed`);
    if (keys.some((k) => mid[k] !== base[k])) changed++;
    assert.equal(mid.label_smoothing, base.label_smoothing, 'keys outside `keys` are copied');
  }
  assert.ok(changed > 900, `most mutations change something (${changed}/1000)`);
  // the factors: 1 for gain-0 keys, never all 1, within [0.3, 3]
  for (let i = 0; i < 200; i++) {
    const v = mutationFactors(keys, rng);
    assert.ok(v.some((x) => x !== 1));
    keys.forEach((k, j) => {
      if (mutationLimit(k)!.gain === 0) assert.equal(v[j], 1);
      assert.ok(v[j] >= 0.3 && v[j] <= 3);
    });
  }
  assert.equal(round5(0.123456789), 0.12346);
  assert.equal(round5(2.5e-7), 0);
});

test('mutation is deterministic in (seed, rows) and differs across seeds', () => {
  const m = (seed: number, rows: number): Record<string, number> => mutate(base, keys, new Xoshiro128(seed, rows, 99));
  assert.deepEqual(m(3, 5), m(3, 5));
  assert.notDeepEqual(m(3, 5), m(4, 5));
  assert.notDeepEqual(m(3, 5), m(3, 6));
  assert.throws(() => mutate(base, ['nope'], new Xoshiro128(1)), /unknown hyperparameter 'nope'/);
});

// ---------------------------------------------------------------------------------------------
// evolve.csv and parent selection
// ---------------------------------------------------------------------------------------------

function row(
  p: number,
  r: number,
  m50: number,
  m: number,
  hyp: Record<string, number>,
  hk: readonly string[] = keys,
): number[] {
  return [p, r, m50, m, 0.05, 0.02, 0.01, ...hk.map((k) => hyp[k])];
}

test('evolve.csv: yolov5 layout, round trip, tolerant parsing and clear errors', () => {
  const pop = emptyPopulation(keys);
  pop.rows.push(
    row(0.5, 0.25, 0.125, 0.0625, base),
    row(1e-6, 123456, 0.333333333, NaN, { ...base, lr0: 0.012345678 }),
  );
  const text = formatPopulation(pop);
  const lines = text.split('\n');
  assert.equal(lines.length, 4);
  assert.equal(lines[0].split(',').length, 7 + keys.length);
  assert.equal(lines[0].slice(0, 41), `${'metrics/precision'.padStart(20)},${'metrics/recall'.padStart(20)}`);
  for (const l of lines.slice(0, 3)) for (const c of l.split(',')) assert.equal(c.length, 20, `cell '${c}' is 20 wide`);
  assert.equal(lines[2].split(',')[0].trim(), '1e-06');
  assert.equal(lines[2].split(',')[1].trim(), '1.2346e+05');
  assert.equal(lines[2].split(',')[2].trim(), '0.33333');
  const back = parsePopulation(text, 'x.csv');
  assert.deepEqual(back.hypKeys, keys);
  assert.deepEqual(back.rows[0], pop.rows[0]);
  assert.equal(back.rows[1][7], 0.012346);
  assert.ok(Number.isNaN(back.rows[1][3]));
  // trailing commas, CRLF, blank lines, other column order (yolov5's hyp order puts anchors last)
  const order = [...keys.filter((k) => k !== 'anchors'), 'anchors'];
  const py = `${[
    [...RESULT_COLUMNS, ...order].map((c) => `${c.padStart(20)},`).join(''),
    row(0.1, 0.2, 0.3, 0.4, base, order)
      .map((v) => `${String(v).padStart(20)},`)
      .join(''),
    '',
  ].join('\r\n')}\r\n`;
  const pp = parsePopulation(py, 'py.csv');
  assert.deepEqual(pp.hypKeys, order);
  assert.equal(pp.rows.length, 1);
  assert.equal(pp.rows[0][7 + order.length - 1], 3);
  assert.throws(() => parsePopulation('', 'e.csv'), /e\.csv: empty file/);
  assert.throws(() => parsePopulation('a,b\n', 'h.csv'), /h\.csv: header column 1 is 'a'/);
  assert.throws(
    () => parsePopulation(`${RESULT_COLUMNS.join(',')},bogus\n`, 'u.csv'),
    /u\.csv: unknown hyperparameter column 'bogus'/,
  );
  assert.throws(
    () => parsePopulation(`${RESULT_COLUMNS.join(',')},lr0\n1,2,3\n`, 'n.csv'),
    /n\.csv:2: expected 8 values, found 3/,
  );
  assert.throws(
    () => parsePopulation(`${RESULT_COLUMNS.join(',')},lr0\n1,2,3,4,5,6,7,x\n`, 'v.csv'),
    /v\.csv:2: column 'lr0' holds 'x'/,
  );
});

test('parent selection: top 5 by fitness; single draws ∝ fitness − min + 1e-6, weighted averages', () => {
  const hk = ['lr0'];
  // fitness = 0.1·mAP50 + 0.9·mAP: rows 0..6 with mAP = 0, 0.1, ..., 0.6 (P, R ignored)
  const rows = [0, 1, 2, 3, 4, 5, 6].map((i) => row(9, 9, 0, i / 10, { lr0: i + 1 }, hk));
  assert.equal(bestRowIndex(rows), 6);
  assert.equal(
    bestRowIndex([row(0, 0, 1, 0.5, { lr0: 1 }, hk), row(0, 0, 1, 0.5, { lr0: 2 }, hk)]),
    0,
    'first on ties',
  );
  assert.ok(Math.abs(rowFitness(rows[3]) - 0.27) < 1e-12);
  assert.deepEqual(
    topRows(rows).map((r) => r[7]),
    [7, 6, 5, 4, 3],
  );
  // top 5 have mAP 0.6..0.2 → fitness 0.54..0.18; weights 0.36, 0.27, 0.18, 0.09, 0 (+1e-6)
  const w = [0.36, 0.27, 0.18, 0.09, 0].map((x) => x + 1e-6);
  const wsum = w.reduce((a, b) => a + b, 0);
  const weighted = selectParent(rows, 'weighted', new Xoshiro128(1));
  const expect = [7, 6, 5, 4, 3].reduce((s, v, i) => s + v * w[i], 0) / wsum;
  assert.ok(Math.abs(weighted[7] - expect) < 1e-12, `${weighted[7]} vs ${expect}`);
  const counts = new Map<number, number>();
  const rng = new Xoshiro128(2, 3, 4);
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const p = selectParent(rows, 'single', rng)[7];
    counts.set(p, (counts.get(p) ?? 0) + 1);
  }
  assert.equal(counts.get(3) ?? 0, 0, 'the worst of the top 5 has weight 1e-6');
  assert.ok(!counts.has(1) && !counts.has(2), 'rows outside the top 5 are never drawn');
  [7, 6, 5, 4].forEach((v, i) => {
    const f = (counts.get(v) ?? 0) / n;
    assert.ok(Math.abs(f - w[i] / wsum) < 0.02, `lr0=${v}: frequency ${f} vs ${w[i] / wsum}`);
  });
  // one row: it is the parent in both modes
  assert.deepEqual(selectParent(rows.slice(0, 1), 'single', rng), rows[0]);
  assert.deepEqual(selectParent(rows.slice(0, 1), 'weighted', rng), rows[0]);
});

// ---------------------------------------------------------------------------------------------
// lock
// ---------------------------------------------------------------------------------------------

test('lock: a lock of a dead process on this host or an old one is broken; a live one waits', async () => {
  const f = join(tmp, 'locked.txt');
  // a pid that exited
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const { hostname } = await import('node:os');
  writeFileSync(`${f}.lock`, JSON.stringify({ host: hostname(), pid: Number(dead.stdout), token: 'x' }));
  assert.equal(await withFileLock(f, () => 42), 42);
  assert.ok(!existsSync(`${f}.lock`), 'released');
  // another host's lock, not yet stale: times out with a clear message; stale by age: broken
  writeFileSync(`${f}.lock`, JSON.stringify({ host: 'elsewhere', pid: 1, token: 'y' }));
  await assert.rejects(
    withFileLock(f, () => 1, { timeoutMs: 100, retryMs: 10 }),
    /locked\.txt\.lock: still held by process 1 on elsewhere/,
  );
  assert.equal(await withFileLock(f, () => 2, { staleMs: 0 }), 2);
  assert.ok(!existsSync(`${f}.lock`));
});

// ---------------------------------------------------------------------------------------------
// evolve() with a fake trainer
// ---------------------------------------------------------------------------------------------

/** A fast stand-in for train(): metrics from the hyp, a results.csv with val losses. */
const fakeTrain: EvolveTrainFn = async (o: Partial<TrainOptions>) => {
  const h = o.hyp as unknown as Record<string, number>;
  assert.equal(o.noval, true);
  assert.equal(o.nosave, true);
  assert.equal(o.noplots, true);
  const saveDir = join(o.project!, o.name!);
  const map = 1 / (1 + Math.abs(h.lr0 - 0.02) * 40 + Math.abs(h.mosaic - 0.7));
  appendResults(
    join(saveDir, 'results.csv'),
    0,
    RESULT_KEYS.map((k) => (k === 'val/box_loss' ? 0.25 : k === 'val/cls_loss' ? 0.125 : 0)),
  );
  return {
    saveDir,
    metrics: { precision: 0.5, recall: 0.25, mAP50: Math.min(1, map * 1.5), mAP50_95: map, box: 1, obj: 1, cls: 1 },
    stoppedBy: 'completed',
  };
};

test('evolve() with a fake trainer: default folder, resume adds rows, yaml, plot, determinism', async () => {
  const lines: string[] = [];
  const opts: Partial<TrainOptions> = { project: join(tmp, 'proj'), name: 'e', seed: 5, log: (s) => lines.push(s) };
  const a = await evolve(opts, { generations: 6, train: fakeTrain });
  assert.equal(a.dir, join(tmp, 'proj', 'e'));
  assert.equal(a.generations, 6);
  assert.equal(a.rows, 6);
  const pop = parsePopulation(readFileSync(a.csv, 'utf8'), a.csv);
  assert.deepEqual(pop.hypKeys, keys, 'anchors is a column when the base hyp lacks it (set to 3)');
  assert.deepEqual(
    pop.rows[0].slice(7),
    keys.map((k) => base[k]),
    'the first generation trains the base hyp',
  );
  assert.equal(pop.rows[0][4], 0.25, "val losses come from the run's results.csv");
  assert.equal(pop.rows[0][6], 0.125);
  assert.ok(
    pop.rows.slice(1).every((r) => r.slice(7).some((v, i) => v !== pop.rows[0][7 + i])),
    'later generations are mutated',
  );
  assert.ok(lines.some((l) => l.includes('Hyperparameter evolution finished 6 generations')));
  assert.ok(lines.some((l) => l.includes(`Usage example: tsyolo train --hyp ${a.yaml}`)));
  const y = readFileSync(a.yaml, 'utf8');
  assert.match(y, new RegExp(`^# Best generation: ${a.best.generation} `, 'm'));
  assert.match(y, /^# Last generation: 5 \(6 generations\)/m);
  const hyp = validateHyp(parse(y), a.yaml) as unknown as Record<string, number>;
  assert.deepEqual(hyp, a.best.hyp);
  assert.equal(hyp.label_smoothing, undefined);
  assert.equal(a.best.fitness, Math.max(...pop.rows.map(rowFitness)));
  assert.deepEqual(a.best.metrics.mAP50_95, pop.rows[a.best.generation][3]);
  assert.ok(existsSync(a.plot!) && readFileSync(a.plot!).subarray(1, 4).toString() === 'PNG');
  assert.ok(!readFileSync(a.csv, 'utf8').includes('.train-') && !existsSync(`${a.csv}.lock`));
  // a second call without dir and exist-ok: a new folder e2; with the folder: adds generations
  const b = await evolve(opts, { generations: 1, train: fakeTrain, plot: false });
  assert.equal(b.dir, join(tmp, 'proj', 'e2'));
  const c = await evolve({ ...opts, existOk: true }, { generations: 2, train: fakeTrain, parent: 'weighted' });
  assert.equal(c.dir, a.dir);
  assert.equal(c.rows, 8);
  assert.equal(c.generations, 2);
  // same seed, same rows → same hyps: replay the population in another folder
  const d = await evolve(
    { ...opts, log: () => {} },
    { generations: 6, train: fakeTrain, dir: join(tmp, 'replay'), plot: false },
  );
  assert.deepEqual(parsePopulation(readFileSync(d.csv, 'utf8'), d.csv).rows, pop.rows);
  // noautoanchor drops anchors (yolov5); bad input fails clearly
  const n = await evolve(
    { ...opts, noautoanchor: true, log: () => {} },
    { generations: 1, train: fakeTrain, dir: join(tmp, 'noaa'), plot: false },
  );
  assert.ok(!parsePopulation(readFileSync(n.csv, 'utf8'), n.csv).hypKeys.includes('anchors'));
  await assert.rejects(
    evolve(opts, { generations: 0, train: fakeTrain }),
    /--evolve 0: the number of generations must be a positive integer/,
  );
  const env = { ...process.env };
  process.env.WORLD_SIZE = '2';
  process.env.RANK = '0';
  try {
    await assert.rejects(
      evolve(opts, { generations: 1, train: fakeTrain }),
      /--evolve does not work in multi-process training/,
    );
  } finally {
    process.env.WORLD_SIZE = env.WORLD_SIZE;
    process.env.RANK = env.RANK;
    if (env.WORLD_SIZE === undefined) delete process.env.WORLD_SIZE;
    if (env.RANK === undefined) delete process.env.RANK;
  }
  const bad = join(tmp, 'bad');
  mkdirSync(bad);
  writeFileSync(join(bad, 'evolve.csv'), 'metrics/precision,oops\n');
  await assert.rejects(
    evolve(opts, { generations: 1, train: fakeTrain, dir: bad }),
    /bad\/evolve\.csv: header column 2 is 'oops'/,
  );
});

test('two worker processes evolving one folder: exactly 40 well-formed rows', async () => {
  const dir = join(tmp, 'shared-pop');
  const mod = (p: string): string => pathToFileURL(join(repoRoot(), 'packages/yolo/dist', p)).href;
  // each child: 20 generations with a fake trainer that yields, so the workers interleave
  const script = `
    import { evolve } from ${JSON.stringify(mod('src/evolve/evolve.js'))};
    import { setTimeout as sleep } from 'node:timers/promises';
    const seed = Number(process.argv[1]);
    const fake = async (o) => {
      await sleep(1 + (seed % 3));
      const h = o.hyp;
      const map = 1 / (1 + Math.abs(h.lr0 - 0.02) * 40);
      return { saveDir: '', metrics: { precision: seed, recall: 0, mAP50: map, mAP50_95: map, box: 0, obj: 0, cls: 0 }, stoppedBy: 'completed' };
    };
    await evolve({ seed, log: () => {} }, { generations: 20, dir: ${JSON.stringify(dir)}, train: fake, lock: { retryMs: 1 }, plot: seed === 1 });`;
  const runChild = (seed: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const c = spawn(process.execPath, ['--input-type=module', '-e', script, String(seed)], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.on('error', reject);
      c.on('exit', (code) => (code === 0 ? resolve(err) : reject(new Error(`worker ${seed} exited ${code}:\n${err}`))));
    });
  await Promise.all([runChild(1), runChild(2)]);
  const text = readFileSync(join(dir, 'evolve.csv'), 'utf8');
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.equal(lines.length, 41);
  for (const l of lines) assert.equal(l.split(',').length, 7 + keys.length, `torn line: ${l}`);
  const pop = parsePopulation(text, 'shared evolve.csv');
  assert.equal(pop.rows.length, 40);
  assert.ok(pop.rows.every((r) => r.every((v) => Number.isFinite(v))));
  assert.equal(pop.rows.filter((r) => r[0] === 1).length, 20, 'worker 1 recorded 20 rows');
  assert.equal(pop.rows.filter((r) => r[0] === 2).length, 20, 'worker 2 recorded 20 rows');
  assert.ok(!existsSync(join(dir, 'evolve.csv.lock')));
  validateHyp(parse(readFileSync(join(dir, 'hyp_evolved.yaml'), 'utf8')), 'hyp_evolved.yaml');
});

// ---------------------------------------------------------------------------------------------
// the CLI, real training
// ---------------------------------------------------------------------------------------------

test('tsyolo train --evolve 2, then --evolve 1 on the same population: 3 rows, hyp_evolved.yaml, evolve.png', async () => {
  const data = (await synthesizeDataset({ out: join(tmp, 'synth'), train: 8, val: 4, img: 64, classes: 2, seed: 3 }))
    .yaml;
  const pop = join(tmp, 'cli-pop');
  const cli = join(repoRoot(), 'packages/yolo/dist/src/cli/main.js');
  const env = { ...process.env, TSYOLO_NUM_THREADS: '2' };
  const run = (n: number): Record<string, unknown> => {
    const args = [
      'train',
      '--cfg',
      'yolov5n.yaml',
      '--data',
      data,
      '--imgsz',
      '64',
      '--batch-size',
      '4',
      '--epochs',
      '1',
      '--workers',
      '0',
      '--noautoanchor',
      '--quiet',
      '--json',
      '--evolve',
      String(n),
      '--evolve-population',
      pop,
    ];
    const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', cwd: tmp });
    assert.equal(r.status, 0, `tsyolo ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Hyperparameter evolution finished/);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  };
  const first = run(2).evolve as {
    rows: number;
    generations: number;
    csv: string;
    yaml: string;
    plot: string;
    best: { hyp: Record<string, number> };
  };
  assert.equal(first.generations, 2);
  assert.equal(first.rows, 2);
  const csv = parsePopulation(readFileSync(join(pop, 'evolve.csv'), 'utf8'), 'evolve.csv');
  assert.equal(csv.rows.length, 2);
  assert.deepEqual(
    csv.hypKeys,
    keys.filter((k) => k !== 'anchors'),
    '--noautoanchor drops anchors, as yolov5',
  );
  const y = parse(readFileSync(join(pop, 'hyp_evolved.yaml'), 'utf8')) as Record<string, number>;
  validateHyp(y, 'hyp_evolved.yaml');
  for (const k of [...requiredHypKeys, ...csv.hypKeys]) assert.equal(typeof y[k], 'number', k);
  assert.ok(existsSync(join(pop, 'evolve.png')));
  const second = run(1).evolve as { rows: number; generations: number };
  assert.equal(second.generations, 1);
  assert.equal(second.rows, 3);
  assert.equal(parsePopulation(readFileSync(join(pop, 'evolve.csv'), 'utf8'), 'evolve.csv').rows.length, 3);
  assert.ok(!existsSync(join(tmp, 'runs')), 'nothing written to the default folders');
});
