// One training batch (the body of yolov5's batch loop): warmup, multi-scale, forward, loss,
// backward, and an optimizer step once enough batches have accumulated.
import { clipGradNorm_, type Tensor, tidy } from '@tsyolo/torch';
import type { Batch } from '../../data/loader.js';
import type { Xoshiro128 } from '../../data/rng.js';
import type { EpochProgress } from '../progress.js';
import type { Loop, Run } from './context.js';
import { randomRescale } from './multi-scale.js';
import { applyWarmup } from './warmup.js';

/** What the batches of one epoch share. */
export interface StepContext {
  run: Run;
  loop: Loop;
  epoch: number;
  /** running means of the box, obj and cls losses over the epoch's batches */
  meanLoss: number[];
  bar: EpochProgress;
  scaleRng: Xoshiro128;
}

export interface StepOutcome {
  /** the batch loss; NaN or infinite when training diverged (on any rank) */
  loss: number;
  /** a rank of a multi-process run got SIGINT/SIGTERM: every rank stops after this batch */
  anyRankSignalled: boolean;
}

/**
 * Trains on one batch (uint8 images scaled to 0..1). A diverged loss skips the backward pass. In a
 * multi-process run the ranks first share the loss and their signal flags, so all decide alike.
 */
export function trainStep(ctx: StepContext, batch: Batch, batchIndex: number): StepOutcome {
  const { run, loop } = ctx;
  const { ddp } = run.role;
  const iteration = batchIndex + loop.batchesPerEpoch * ctx.epoch;
  const outcome: StepOutcome = { loss: 0, anyRankSignalled: false };
  tidy(() => {
    // uint8 to the model's layout first: the float copy then keeps it
    const raw = run.model.layout === 'channels_last' ? batch.images.contiguous('channels_last') : batch.images;
    let images = raw.float().div(255);
    if (iteration <= loop.warmupIters) applyWarmup(run, iteration, loop.warmupIters, ctx.epoch);
    if (run.opts.multiScale) images = randomRescale(images, ctx.scaleRng, run.imgsz, run.gridStride);
    const pred = run.model.forward(images) as Tensor[];
    const { loss, items } = loop.computeLoss.call(pred, batch.targets);
    outcome.loss = loss.item();
    if (ddp) {
      const [lossSum, signalled] = ddp.sum([outcome.loss, loop.signals.requested ? 1 : 0]);
      if (!Number.isFinite(lossSum)) outcome.loss = lossSum;
      outcome.anyRankSignalled = signalled > 0;
    }
    if (!Number.isFinite(outcome.loss)) return;
    backwardAndStep(run, loss, iteration);
    const batchLosses = items.toArray();
    for (let k = 0; k < 3; k++) ctx.meanLoss[k] = (ctx.meanLoss[k] * batchIndex + batchLosses[k]) / (batchIndex + 1);
    ctx.bar.update(batchIndex, ctx.meanLoss, batch.targets.shape[0], images.shape[3]);
  });
  return outcome;
}

/**
 * Backward, then, once `accumulate` iterations have passed since the last step (yolov5's
 * accumulation to the nominal batch): gradients averaged across ranks, clipped to norm 10, an
 * optimizer step and an EMA update. A multi-process loss is scaled by the number of processes
 * so that the averaged gradients are those of the total batch (yolov5's loss *= WORLD_SIZE).
 */
function backwardAndStep(run: Run, loss: Tensor, iteration: number): void {
  const { ddp, worldSize } = run.role;
  const { model, optimizer, progress } = run;
  (ddp ? loss.mul(worldSize) : loss).backward();
  if (iteration - progress.lastOptStep < progress.accumulate) return;
  if (ddp) ddp.averageGradients(model.parameters());
  clipGradNorm_(model.parameters(), 10.0);
  optimizer.step();
  optimizer.zeroGrad();
  run.ema.update(model);
  progress.lastOptStep = iteration;
}
