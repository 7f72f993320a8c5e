// The epoch loop's resources, opened right before the first epoch (yolov5's "Start training"
// section): the TensorBoard writer, the loaders' worker threads and the stop-signal handlers.
import { getNumThreads } from '@tsyolo/torch';
import type { ComputeLoss } from '../../loss/compute-loss.js';
import { warmupIterations } from '../schedule.js';
import { SummaryWriter } from '../tensorboard.js';
import type { Cleanup } from './cleanup.js';
import type { Loop, Run } from './context.js';
import { openLoaders, type TrainData } from './data.js';
import { classWeights } from './image-weights.js';
import { StopSignals } from './signals.js';

/** Opens the loop's resources, each handed to `cleanup` as soon as it exists. */
export function openLoop(run: Run, data: TrainData, computeLoss: ComputeLoss, cleanup: Cleanup): Loop {
  const { role, log, imgsz } = run;
  // TensorBoard: `tensorboard --logdir runs/train` shows losses, metrics and learning rates
  const tensorboard = role.isMain ? new SummaryWriter(run.paths.saveDir) : null;
  if (tensorboard) cleanup.defer(() => tensorboard.close());
  const { trainLoader, valLoader } = openLoaders(run, data, cleanup);
  const batchesPerEpoch = trainLoader.length;
  const warmupIters = warmupIterations(run.hyp.warmup_epochs, batchesPerEpoch);
  log(
    `Image sizes ${imgsz} train, ${imgsz} val; using ${trainLoader.numWorkers} dataloader workers and ${getNumThreads()} libtorch threads`,
  );
  log(`Logging results to ${run.paths.saveDir}; starting training for ${run.opts.epochs} epochs...`);
  const signals = new StopSignals();
  cleanup.defer(() => signals.dispose());
  return {
    trainLoader,
    valLoader,
    tensorboard,
    signals,
    computeLoss,
    batchesPerEpoch,
    warmupIters,
    classWeights: classWeights(data.train.spec.labels, run.nc),
  };
}
