// Warmup (yolov5's warmup block in the batch loop): over the first iterations the bias learning
// rate falls from warmup_bias_lr and the others rise from 0 towards this epoch's scheduled rate,
// momentum rises from warmup_momentum, and gradient accumulation ramps up to the nominal batch.
import { warmupAt } from '../schedule.js';
import type { Run } from './context.js';
import { NOMINAL_BATCH_SIZE } from './optimization.js';

/** Sets every group's lr and momentum, and the accumulation, for a warmup iteration. */
export function applyWarmup(run: Run, iteration: number, warmupIters: number, epoch: number): void {
  const { hyp, optimizer } = run;
  const config = {
    nw: warmupIters,
    warmupBiasLr: hyp.warmup_bias_lr,
    warmupMomentum: hyp.warmup_momentum,
    momentum: hyp.momentum,
    nbs: NOMINAL_BATCH_SIZE,
    batchSize: run.opts.batchSize,
  };
  const warm = warmupAt(
    iteration,
    config,
    optimizer.paramGroups.map((g) => g.initial_lr! * run.lrFactor(epoch)),
  );
  run.progress.accumulate = warm.accumulate;
  optimizer.paramGroups.forEach((group, j) => {
    group.lr = warm.lr[j];
    if ('momentum' in group) (group as unknown as { momentum: number }).momentum = warm.momentum;
  });
}
