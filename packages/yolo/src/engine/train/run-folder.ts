// The run folder, as yolov5's save_dir: runs/train/exp, exp2, … (or the resumed run's own), its
// weights/ subfolder, and the hyp.yaml and opt.yaml that record how the run was started.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@tsyolo/torch';
import { stringify } from 'yaml';
import type { Hyp } from '../../data/types.js';
import { incrementPath } from '../paths.js';
import { isTrainingCheckpoint } from '../state.js';
import type { ProcessRole, RunPaths } from './context.js';
import type { SavedOptions, TrainOptions } from './options.js';

/** The newest resumable checkpoint under runs/train (yolov5's get_latest_run). */
export function latestRun(project = 'runs/train'): string {
  let newest: [number, string] | null = null;
  if (existsSync(project)) {
    for (const run of readdirSync(project)) {
      for (const file of ['resume.safetensors', 'last.safetensors']) {
        const path = join(project, run, 'weights', file);
        if (existsSync(path) && isTrainingCheckpoint(path)) {
          const modified = statSync(path).mtimeMs;
          if (!newest || modified > newest[0]) newest = [modified, path];
          break;
        }
      }
    }
  }
  if (!newest) throw new Error(`--resume: no resumable checkpoint under ${project}/*/weights/`);
  return newest[1];
}

/**
 * The run's folder: a resumed run keeps its checkpoint's (…/exp/weights/last → …/exp); a new one
 * takes the next free project/name (yolov5's increment_path). Only rank 0 creates folders; the
 * other ranks of a new run get paths under '' that they never write to.
 */
export function claimRunFolder(opts: TrainOptions, resumed: boolean, role: ProcessRole): RunPaths {
  const saveDir = resumed
    ? resolve(typeof opts.resume === 'string' ? opts.resume : '', '..', '..')
    : role.isMain
      ? incrementPath(opts.project, opts.name, opts.existOk)
      : '';
  const weightsDir = join(saveDir, 'weights');
  if (role.isMain) incrementPath(weightsDir, '', true);
  return {
    saveDir,
    weightsDir,
    last: join(weightsDir, 'last.safetensors'),
    best: join(weightsDir, 'best.safetensors'),
    resume: join(weightsDir, 'resume.safetensors'),
    results: join(saveDir, 'results.csv'),
  };
}

/** The options without the callbacks, as opt.yaml and the checkpoints keep them. */
export function optionsToSave(opts: TrainOptions): SavedOptions {
  const { log: _log, ddp: _ddp, ...saved } = opts;
  return saved;
}

/** hyp.yaml and opt.yaml in the run folder, as yolov5 writes them at the start of a run. */
export function saveRunSettings(saveDir: string, hyp: Hyp, saved: SavedOptions): void {
  writeFileAtomic(join(saveDir, 'hyp.yaml'), new TextEncoder().encode(stringify(hyp)));
  writeFileAtomic(join(saveDir, 'opt.yaml'), new TextEncoder().encode(stringify(saved)));
}
