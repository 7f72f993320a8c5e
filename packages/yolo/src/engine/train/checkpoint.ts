// Checkpoints (yolov5's "Save model" block and strip_optimizer): every epoch last.safetensors holds
// the full training state, best.safetensors the FP16 EMA of the best epoch; at the end, last is
// stripped to FP16 EMA weights and the full state moves to resume.safetensors.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  isTrainingCheckpoint,
  replaceWithStripped,
  saveTrainCheckpoint,
  type TrainState,
  writeStripped,
} from '../state.js';
import type { Run } from './context.js';

/**
 * last.safetensors (model, EMA, optimizer, counters, options, hyperparameters, RNG state), best when
 * this epoch's fitness is the best so far, and epoch<N>.safetensors every --save-period epochs.
 */
export function saveEpochCheckpoints(run: Run, epoch: number, fit: number): void {
  const { model, ema, optimizer, stopper, progress, paths } = run;
  const { bestFitness } = progress;
  const state: TrainState = {
    epoch,
    bestFitness,
    stopper: { bestFitness: stopper.bestFitness, bestEpoch: stopper.bestEpoch },
    lastOptStep: progress.lastOptStep,
    opt: { ...run.savedOpts, resume: false } as unknown as Record<string, unknown>,
    hyp: run.hyp as unknown as Record<string, number>,
    date: new Date().toISOString(),
  };
  saveTrainCheckpoint(paths.last, model, ema, optimizer, state);
  if (bestFitness === fit) writeStripped(paths.best, ema.ema, { bestFitness, extra: { epoch } });
  const period = run.opts.savePeriod;
  if (period > 0 && epoch % period === 0)
    saveTrainCheckpoint(join(paths.weightsDir, `epoch${epoch}.safetensors`), model, ema, optimizer, state);
}

export interface FinalWeights {
  lastBytes: number;
  bestBytes: number;
  /** resume.safetensors when a training checkpoint was stripped, else null */
  resumeFile: string | null;
}

/** Rank 0, at the end of training (completed, stopped or interrupted): strips last, keeps the full state as resume. */
export function stripFinalWeights(run: Run): FinalWeights {
  const { paths, progress } = run;
  const final: FinalWeights = { lastBytes: 0, bestBytes: 0, resumeFile: null };
  if (!run.role.isMain) return final;
  if (existsSync(paths.last) && isTrainingCheckpoint(paths.last)) {
    final.lastBytes = replaceWithStripped(paths.last, paths.resume, (tmp) =>
      writeStripped(tmp, run.ema.ema, { bestFitness: progress.bestFitness, extra: { epoch: progress.lastEpoch } }),
    );
    final.resumeFile = paths.resume;
  }
  if (existsSync(paths.best)) final.bestBytes = statSync(paths.best).size;
  return final;
}
