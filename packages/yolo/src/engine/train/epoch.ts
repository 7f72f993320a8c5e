// One epoch of training (yolov5's epoch loop up to "end batch"): the epoch's set-up, its
// batches, and the two ways an epoch ends early: a diverged loss or a stop signal.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch } from '../../data/loader.js';
import { labelsToBoxes, plotImages } from '../../plots/index.js';
import { EpochProgress } from '../progress.js';
import type { Loop, Run } from './context.js';
import { unfreezeIfDue } from './freeze.js';
import { epochImageWeights } from './image-weights.js';
import { multiScaleRng } from './multi-scale.js';
import type { StopReason } from './options.js';
import { type StepContext, trainStep } from './step.js';

export interface EpochOutcome {
  /** mean box, obj and cls losses over the epoch's batches */
  meanLoss: number[];
  /** set when the epoch ended early: the run stops */
  stoppedBy: Extract<StopReason, 'nan' | 'signal'> | null;
}

/**
 * Trains one epoch. It ends early after the batch in which a stop signal arrived (on any rank), or
 * at a batch whose loss is not finite, leaving the previous epoch's checkpoint as the last good one.
 */
export async function trainEpoch(run: Run, loop: Loop, epoch: number): Promise<EpochOutcome> {
  const { opts, role, log } = run;
  beginEpoch(run, loop, epoch);
  const meanLoss = [0, 0, 0];
  run.optimizer.zeroGrad();
  const bar = new EpochProgress(epoch, opts.epochs, loop.batchesPerEpoch, opts.verbose, !role.isMain);
  const ctx: StepContext = { run, loop, epoch, meanLoss, bar, scaleRng: multiScaleRng(opts.seed, epoch) };
  let diverged = false;
  let interrupted = false;
  let batchIndex = 0;
  const loopStart = performance.now();
  let waitStart = loopStart;
  for await (const batch of loop.trainLoader.epoch(epoch)) {
    run.progress.loaderWaitMs += performance.now() - waitStart;
    const step = trainStep(ctx, batch, batchIndex);
    if (step.anyRankSignalled) interrupted = true;
    if (role.isMain && !opts.noplots && epoch === run.startEpoch && batchIndex < 3)
      await plotTrainBatch(run, batch, batchIndex);
    run.progress.imagesSeen += batch.images.shape[0];
    batch.images.dispose();
    batch.targets.dispose();
    if (!Number.isFinite(step.loss)) {
      diverged = true;
      const last = run.paths.last;
      log(
        `\nloss is ${step.loss} at epoch ${epoch}, batch ${batchIndex}: stopping; ${existsSync(last) ? `${last} keeps the last good epoch (${epoch - 1})` : 'no checkpoint was written yet'}`,
      );
      break;
    }
    batchIndex++;
    if (!role.ddp && loop.signals.requested) interrupted = true;
    if (interrupted) break;
    waitStart = performance.now();
  }
  run.progress.batchLoopMs += performance.now() - loopStart;
  bar.done();
  return { meanLoss, stoppedBy: interrupted ? 'signal' : diverged ? 'nan' : null };
}

/**
 * The start of an epoch: --unfreeze-at, training mode, and with --image-weights this epoch's
 * sampling weights from the latest per-class mAPs.
 */
function beginEpoch(run: Run, loop: Loop, epoch: number): void {
  unfreezeIfDue(run, epoch);
  run.model.train();
  if (run.opts.imageWeights) {
    const labels = loop.trainLoader.spec.labels;
    loop.trainLoader.setImageWeights(epochImageWeights(labels, loop.classWeights, run.progress.classMaps, run.nc));
  }
}

/** train_batch0..2.jpg: the first batches of the run's first epoch, as the model sees them. */
async function plotTrainBatch(run: Run, batch: Batch, batchIndex: number): Promise<void> {
  const [size, , height, width] = batch.images.shape;
  const boxes = labelsToBoxes(batch.targets.toArray(), size, height, width);
  await plotImages(
    batch.images.toTypedArray() as Uint8Array,
    size,
    height,
    width,
    boxes,
    batch.paths,
    run.names,
    join(run.paths.saveDir, `train_batch${batchIndex}.jpg`),
  );
}
