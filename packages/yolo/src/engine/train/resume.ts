// --resume (yolov5's resume branch of train.py and smart_resume): the run continues from a
// training checkpoint with its own options, weights, optimizer, EMA, early-stopping state,
// counters and libtorch RNG state, so that it ends bit-identical to an uninterrupted run.
import { setRngState } from '@tsyolo/torch';
import { type LoadedTrainState, loadTrainCheckpoint } from '../state.js';
import type { Log, Run } from './context.js';
import type { TrainOptions } from './options.js';
import { latestRun } from './run-folder.js';

export interface ResumePlan {
  /** the options in force: the checkpoint's own when resuming, else the requested ones */
  opts: TrainOptions;
  /** the loaded checkpoint (disposed by the caller), or null for a new run */
  checkpoint: LoadedTrainState | null;
}

/**
 * Loads the checkpoint named by --resume (true: the newest under the project) and takes the run's
 * saved options, overriding only --epochs (to extend a run, the schedule re-planned), --workers and
 * --verbose when they were given. A run already trained to its epochs is refused.
 */
export function planResume(requested: TrainOptions, given: Partial<TrainOptions>, log: Log): ResumePlan {
  if (!requested.resume) return { opts: requested, checkpoint: null };
  const path = typeof requested.resume === 'string' ? requested.resume : latestRun(requested.project);
  const checkpoint = loadTrainCheckpoint(path);
  const saved = checkpoint.state.opt as unknown as TrainOptions;
  const epochs = given.epochs !== undefined && given.epochs !== saved.epochs ? given.epochs : saved.epochs;
  if (checkpoint.state.epoch + 1 >= epochs) {
    checkpoint.dispose();
    throw new Error(
      `${path}: training to ${saved.epochs} epochs is complete; pass --epochs N (N > ${saved.epochs}) to train further`,
    );
  }
  const opts: TrainOptions = {
    ...saved,
    epochs,
    resume: path,
    existOk: true,
    log: requested.log,
    workers: given.workers ?? saved.workers,
    verbose: given.verbose ?? saved.verbose,
  };
  log(`Resuming training from ${path} (epoch ${checkpoint.state.epoch + 1} of ${epochs})`);
  return { opts, checkpoint };
}

/** The parts of a run that a checkpoint restores. */
type Restorable = Pick<Run, 'optimizer' | 'scheduler' | 'hyp' | 'ema' | 'stopper' | 'progress'>;

/**
 * Puts the optimizer, EMA, early stopping, counters and RNG back where the checkpointed epoch left
 * them, and returns the epoch to start from. The LR schedule is re-planned over the (possibly
 * extended) epochs from the groups' initial rates.
 */
export function restoreTrainingState(checkpoint: LoadedTrainState, run: Restorable): number {
  const { optimizer, ema, stopper, progress } = run;
  optimizer.loadStateDict(checkpoint.optimizer!);
  ema.ema.loadStateDict(checkpoint.ema);
  ema.updates = checkpoint.updates;
  const startEpoch = checkpoint.state.epoch + 1;
  progress.bestFitness = checkpoint.state.bestFitness;
  stopper.bestFitness = checkpoint.state.stopper.bestFitness;
  stopper.bestEpoch = checkpoint.state.stopper.bestEpoch;
  progress.lastOptStep = checkpoint.state.lastOptStep;
  for (const group of optimizer.paramGroups) group.initial_lr ??= run.hyp.lr0;
  run.scheduler.lastEpoch = startEpoch - 1;
  if (checkpoint.rng) setRngState(checkpoint.rng);
  return startEpoch;
}
