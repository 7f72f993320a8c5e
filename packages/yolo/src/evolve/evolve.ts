// Hyperparameter evolution (yolov5 v7.0 train.py --evolve): each generation picks parents among
// the fittest rows of evolve.csv, mutates their hyperparameters, trains once (validating only the
// final epoch, saving no checkpoints or plots) and appends its results to evolve.csv. The folder
// is the population: running again on it adds generations, and several workers (processes or
// machines sharing the folder, each with its own --seed) can evolve it at the same time.
//
// Folders: `dir` when given (--evolve-population), else yolov5's runs/evolve/exp (incremented; the
// newest reused with --exist-ok or --resume), where runs/evolve replaces only the default project
// runs/train, and name is opts.name. Each generation trains into its own temporary subfolder
// `<dir>/.train-XXXXXX` that is removed afterwards, so concurrent workers never share a run folder.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadHyp, validateHyp } from '../data/hyp.js';
import { Xoshiro128 } from '../data/rng.js';
import type { Hyp } from '../data/types.js';
import { distEnv } from '../distributed/ddp.js';
import { incrementPath } from '../engine/paths.js';
import { readResults } from '../engine/results.js';
import { type TrainOptions, type TrainResult, train, trainDefaults } from '../engine/trainer.js';
import { fitness } from '../metrics/ap.js';
import { rowHyp } from './csv.js';
import type { LockOptions } from './lock.js';
import { MUTATION_KEYS } from './meta.js';
import { mutate } from './mutate.js';
import { plotEvolve } from './plot.js';
import { bestOf, type EvolveBest } from './report.js';
import { type ParentSelection, selectParent } from './select.js';
import { addGeneration, EVOLVE_CSV, EVOLVED_YAML, readPopulation } from './store.js';

/** What evolve() needs of a training run (the real `train` by default; tests inject a fake). */
export type EvolveTrainFn = (
  options: Partial<TrainOptions>,
) => Promise<Pick<TrainResult, 'saveDir' | 'metrics' | 'stoppedBy'>>;

export interface EvolveOptions {
  /** generations to train now (added to those already in the folder) */
  generations: number;
  /** the population folder (evolve.csv, hyp_evolved.yaml, evolve.png) */
  dir?: string;
  /** 'single' (default): one parent drawn ∝ fitness; 'weighted': the fitness-weighted mean of the top 5 */
  parent?: ParentSelection;
  /** the training function (default `train`) */
  train?: EvolveTrainFn;
  /** lock timing for evolve.csv */
  lock?: LockOptions;
  /** render evolve.png at the end (default true) */
  plot?: boolean;
}

export interface EvolveResult {
  dir: string;
  /** generations trained by this call */
  generations: number;
  /** rows of evolve.csv now (all workers, all calls) */
  rows: number;
  best: EvolveBest;
  csv: string;
  yaml: string;
  /** evolve.png, or null when not drawn */
  plot: string | null;
  /** a training run was interrupted (Ctrl-C / SIGTERM): that generation was not recorded */
  interrupted: boolean;
}

/** Salt of the mutation stream: Xoshiro128(seed, rows already in evolve.csv, SALT). */
export const EVOLVE_SALT = 0x65766f6c;

/** The base hyp of an evolution: opts.hyp, with anchors = 3 when absent; no anchors with noautoanchor (as yolov5). */
export function evolveBaseHyp(opts: Partial<TrainOptions>): Record<string, number> {
  const h = opts.hyp ?? trainDefaults.hyp;
  const base = { ...(typeof h === 'string' ? loadHyp(h) : validateHyp(h, 'hyp')) } as unknown as Record<string, number>;
  if (!('anchors' in base)) base.anchors = 3;
  if (opts.noautoanchor) delete base.anchors;
  return base;
}

/** The population folder: `dir`, or runs/evolve/<name> incremented (see the header). */
export function evolveDir(opts: Partial<TrainOptions>, dir?: string): string {
  if (dir) {
    mkdirSync(dir, { recursive: true });
    return dir;
  }
  const project = opts.project !== undefined && opts.project !== trainDefaults.project ? opts.project : 'runs/evolve';
  return incrementPath(project, opts.name ?? trainDefaults.name, !!opts.existOk || !!opts.resume);
}

/** The 7 results of a finished run: P, R, mAP@0.5, mAP@0.5:0.95 and the last val losses of its results.csv (0 when absent). */
export function generationResults(r: Pick<TrainResult, 'saveDir' | 'metrics'>): number[] {
  const losses = [0, 0, 0];
  const file = join(r.saveDir, 'results.csv');
  if (r.saveDir && existsSync(file)) {
    const { header, rows } = readResults(file);
    const last = rows[rows.length - 1];
    ['val/box_loss', 'val/obj_loss', 'val/cls_loss'].forEach((k, i) => {
      const j = header.indexOf(k);
      if (last && j >= 0 && Number.isFinite(last[j])) losses[i] = last[j];
    });
  }
  const m = r.metrics;
  return [m.precision, m.recall, m.mAP50, m.mAP50_95, ...losses];
}

/** Refuses what evolution cannot do: several processes, a process group, or a bad generation count. */
function checkEvolveOptions(opts: Partial<TrainOptions>, o: EvolveOptions): void {
  const de = distEnv();
  if (de)
    throw new Error(
      `--evolve does not work in multi-process training (WORLD_SIZE=${de.worldSize}); run one process per worker instead, each with its own --seed and the same --evolve-population folder`,
    );
  if (opts.ddp) throw new Error('--evolve does not work with a process group (ddp); evolve in single processes');
  if (!Number.isInteger(o.generations) || o.generations < 1)
    throw new Error(`--evolve ${o.generations}: the number of generations must be a positive integer`);
}

/** What every generation of one evolve() call shares. */
interface EvolveRun {
  opts: Partial<TrainOptions>;
  o: EvolveOptions;
  log: (s: string) => void;
  trainFn: EvolveTrainFn;
  mode: ParentSelection;
  seed: number;
  base: Record<string, number>;
  dir: string;
  csv: string;
  /** the hyp columns of a new evolve.csv */
  newKeys: string[];
}

/**
 * The hyp of the next generation: the base hyp for an empty population, else a mutated parent drawn
 * from the rows now in the file (its size seeds the draws); also returns that row count.
 */
function nextHyp(run: EvolveRun): { hyp: Record<string, number>; rowsBefore: number } {
  const { base, seed, mode } = run;
  const pop = readPopulation(run.csv);
  let hyp: Record<string, number> = { ...base };
  if (pop?.rows.length) {
    const rng = new Xoshiro128(seed, pop.rows.length, EVOLVE_SALT);
    const parent = rowHyp(pop, selectParent(pop.rows, mode, rng));
    hyp = { ...base, ...mutate(parent, pop.hypKeys, rng) };
  }
  return { hyp, rowsBefore: pop?.rows.length ?? 0 };
}

/**
 * Trains generation g (0-based) in a temporary run folder, removed afterwards, and appends its
 * results to evolve.csv. Returns false, recording nothing, when training was interrupted.
 */
async function runGeneration(run: EvolveRun, g: number): Promise<boolean> {
  const { opts, o, log, dir } = run;
  const { hyp, rowsBefore } = nextHyp(run);
  log(`evolve: generation ${g + 1}/${o.generations} (row ${rowsBefore} of the population)`);
  const runDir = mkdtempSync(join(dir, '.train-'));
  let results: number[];
  try {
    const r = await run.trainFn({
      ...opts,
      hyp: hyp as unknown as Hyp,
      resume: false,
      noval: true,
      nosave: true,
      noplots: true,
      project: dir,
      name: basename(runDir),
      existOk: true,
    });
    if (r.stoppedBy === 'signal') {
      log('evolve: training interrupted; this generation is not recorded');
      return false;
    }
    results = generationResults(r);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
  const p = await addGeneration(run.csv, results, hyp, { hypKeys: run.newKeys, base: run.base, lock: o.lock });
  const fit = fitness(results[0], results[1], results[2], results[3]);
  log(
    `evolve: row ${p.rows.length - 1}: P ${results[0].toFixed(4)}, R ${results[1].toFixed(4)}, mAP@0.5 ${results[2].toFixed(4)}, mAP@0.5:0.95 ${results[3].toFixed(4)}, fitness ${fit.toFixed(5)}`,
  );
  return true;
}

/** Trains `o.generations` generations into the population folder and reports its best row. */
export async function evolve(opts: Partial<TrainOptions>, o: EvolveOptions): Promise<EvolveResult> {
  checkEvolveOptions(opts, o);
  const log = opts.log ?? ((s: string) => console.log(s));
  const mode = o.parent ?? 'single';
  const seed = opts.seed ?? trainDefaults.seed;
  const base = evolveBaseHyp(opts);
  const dir = evolveDir(opts, o.dir);
  const csv = join(dir, EVOLVE_CSV);
  const yaml = join(dir, EVOLVED_YAML);
  const newKeys = MUTATION_KEYS.filter((k) => k in base);
  log(
    `evolve: population ${resolve(csv)}; ${o.generations} generation${o.generations > 1 ? 's' : ''}, parent selection '${mode}', seed ${seed}`,
  );
  const run: EvolveRun = { opts, o, log, trainFn: o.train ?? train, mode, seed, base, dir, csv, newKeys };

  let done = 0;
  let interrupted = false;
  for (let g = 0; g < o.generations && !interrupted; g++) {
    if (await runGeneration(run, g)) done++;
    else interrupted = true;
  }

  const pop = readPopulation(csv);
  const best = pop ? bestOf(pop, base) : null;
  if (!pop || !best) throw new Error(`--evolve: no generation completed; ${csv} holds no rows`);
  let plot: string | null = null;
  if (o.plot ?? true) {
    plot = join(dir, 'evolve.png');
    await plotEvolve(csv, plot);
  }
  log(
    `Hyperparameter evolution finished ${done} generation${done === 1 ? '' : 's'} (${pop.rows.length} in the population); best: row ${best.generation}, fitness ${best.fitness.toFixed(5)}\n` +
      `Results saved to ${dir}\n` +
      `Usage example: tsyolo train --hyp ${yaml}`,
  );
  return { dir, generations: done, rows: pop.rows.length, best, csv, yaml, plot, interrupted };
}
