// tsyolo train: yolov5's train.py procedure — model from a config or weights, freezing,
// optimizer groups, warmup, LR schedule, EMA, validation on the EMA each epoch, best/last
// checkpoints, early stopping, exact resume, and FP16 stripped weights at the end.
//
// This file is the whole story; each stage lives in train/ under the name of what it does.
import { DDP, distEnv } from '../distributed/ddp.js';
import { requireCpu } from '../distributed/devices.js';
import type { ComputeLoss } from '../loss/compute-loss.js';
import { Cleanup } from './train/cleanup.js';
import type { Run } from './train/context.js';
import { loadDatasets, type TrainData } from './train/data.js';
import { endEpoch } from './train/end-of-epoch.js';
import { trainEpoch } from './train/epoch.js';
import { finish } from './train/finish.js';
import { openLoop } from './train/loop.js';
import { type TrainOptions, type TrainResult, trainDefaults } from './train/options.js';
import { prepareModel } from './train/prepare-model.js';
import { setUpRun } from './train/setup.js';

export { formatVal } from './train/end-of-epoch.js';
export { classWeights, imageWeights } from './train/image-weights.js';
export { DEFAULT_HYP, type TrainOptions, type TrainResult, trainDefaults } from './train/options.js';
export { latestRun } from './train/run-folder.js';

/**
 * Trains a detector. Whatever happens (completion, early stop, a signal, a diverged loss, or an
 * exception anywhere, setup included), the tensors it built and the process group it joined are
 * released; the loop's threads, files and signal handlers already are when the loop ends.
 */
export async function train(options: Partial<TrainOptions>): Promise<TrainResult> {
  const requested: TrainOptions = { ...trainDefaults, ...options };
  requireCpu(requested.device, 'train');
  const cleanup = new Cleanup();
  try {
    const ddp = joinProcessGroup(options, cleanup);
    const startedAt = performance.now();
    const run = setUpRun(requested, options, ddp, cleanup); // resume, run folder, hyp, model, optimizer, EMA
    const data = await loadDatasets(run); // train and val sets, labels checked against nc
    const computeLoss = await prepareModel(run, data); // labels.jpg, AutoAnchor, FP16 rounding, rank 0's weights, loss gains
    await trainEpochs(run, data, computeLoss);
    return await finish(run, startedAt); // stripped weights, plots, summary
  } finally {
    await cleanup.release();
  }
}

/** yolov5's `for epoch in range(start_epoch, epochs)`: train, then validate, log and checkpoint. */
async function trainEpochs(run: Run, data: TrainData, computeLoss: ComputeLoss): Promise<void> {
  const cleanup = new Cleanup();
  try {
    const loop = openLoop(run, data, computeLoss, cleanup); // TensorBoard, loader threads, signal handlers
    const { progress } = run;
    progress.loopStartedAt = performance.now();
    for (let epoch = run.startEpoch; epoch < run.opts.epochs; epoch++) {
      const { meanLoss, stoppedBy } = await trainEpoch(run, loop, epoch);
      if (stoppedBy) {
        progress.stoppedBy = stoppedBy;
        break;
      }
      if (await endEpoch(run, loop, epoch, meanLoss)) {
        progress.stoppedBy = 'early-stop';
        break;
      }
    }
  } finally {
    await cleanup.release();
  }
}

/** The caller's process group, or one joined from torchrun's variables (RANK, WORLD_SIZE, …) and left at the end. */
function joinProcessGroup(options: Partial<TrainOptions>, cleanup: Cleanup): DDP | null {
  if (options.ddp !== undefined) return options.ddp;
  const env = distEnv();
  if (!env) return null;
  const ddp = DDP.fromEnv(env);
  cleanup.defer(() => ddp.destroy());
  return ddp;
}
