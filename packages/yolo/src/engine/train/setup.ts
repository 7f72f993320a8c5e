// Setting up a run (the first half of yolov5's train(), up to the dataloaders): resume, run
// folder, hyperparameters, model, freezing, image size, optimizer, schedule, EMA.
import { manualSeed } from '@tsyolo/torch';
import { loadDataConfig } from '../../data/config.js';
import { loadHyp, validateHyp } from '../../data/hyp.js';
import type { Hyp } from '../../data/types.js';
import type { DDP } from '../../distributed/ddp.js';
import { checkImgSize } from '../paths.js';
import type { LoadedTrainState } from '../state.js';
import type { Cleanup } from './cleanup.js';
import type { Log, ProcessRole, Run, TrainProgress } from './context.js';
import { freezePrefixes, setFrozen } from './freeze.js';
import { buildModel } from './model.js';
import { createOptimization } from './optimization.js';
import type { TrainOptions } from './options.js';
import { planResume, restoreTrainingState } from './resume.js';
import { claimRunFolder, optionsToSave, saveRunSettings } from './run-folder.js';

/**
 * Builds everything the loop needs, in yolov5's order: a new model is initialised right after
 * manualSeed(seed + 1), and a resumed run then takes back the RNG state its checkpoint saved.
 * What holds tensors is handed to `cleanup` as soon as it exists.
 */
export function setUpRun(
  requested: TrainOptions,
  given: Partial<TrainOptions>,
  ddp: DDP | null,
  cleanup: Cleanup,
): Run {
  const isMain = (ddp?.rank ?? 0) === 0;
  const log: Log = !isMain ? (): void => {} : (requested.log ?? ((line: string) => console.log(line)));
  const { opts, checkpoint } = planResume(requested, given, log);
  if (checkpoint) cleanup.defer(() => checkpoint.dispose());
  const role = splitBatch(opts, ddp, log);
  const paths = claimRunFolder(opts, !!checkpoint, role);

  const hyp = runHyp(opts, checkpoint);
  const savedOpts = optionsToSave(opts);
  if (isMain) saveRunSettings(paths.saveDir, hyp, savedOpts);
  log(
    `hyperparameters: ${Object.entries(hyp)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
  );

  manualSeed(opts.seed + 1);
  const dataConfig = loadDataConfig(opts.data);
  const nc = opts.singleCls ? 1 : dataConfig.nc;
  const names = opts.singleCls && dataConfig.names.length !== 1 ? ['item'] : dataConfig.names;
  const model = buildModel(opts, hyp, nc, checkpoint, log);
  cleanup.defer(() => model.dispose());
  model.names = names;
  const frozenLayers = freezePrefixes(opts.freeze);
  setFrozen(model, frozenLayers, true, log);
  if (opts.channelsLast) model.channelsLast(); // before the EMA copy and the optimizer state follow it
  const gridStride = Math.max(Math.max(...model.stride), 32);
  const imgsz = checkImgSize(opts.imgsz, gridStride, gridStride * 2, log);

  const { accumulate, ...optimization } = createOptimization(model, opts, hyp);
  cleanup.defer(() => optimization.optimizer.dispose());
  cleanup.defer(() => optimization.ema.dispose());
  const progress = freshProgress(accumulate, nc);
  const run: Run = {
    opts,
    savedOpts,
    hyp,
    log,
    role,
    paths,
    dataConfig,
    nc,
    names,
    model,
    frozenLayers,
    gridStride,
    imgsz,
    ...optimization,
    resumed: !!checkpoint,
    startEpoch: 0,
    progress,
  };
  if (checkpoint) run.startEpoch = restoreTrainingState(checkpoint, run);
  progress.lastEpoch = run.startEpoch - 1;
  return run;
}

/** The counters of a run that has not trained yet (a resume then restores its own). */
function freshProgress(accumulate: number, nc: number): TrainProgress {
  return {
    accumulate,
    lastOptStep: -1,
    bestFitness: 0,
    classMaps: new Float64Array(nc),
    lastVal: null,
    lastMeanLoss: [0, 0, 0],
    lastEpoch: -1,
    imagesSeen: 0,
    loaderWaitMs: 0,
    batchLoopMs: 0,
    stoppedBy: 'completed',
    loopStartedAt: 0,
  };
}

/** This process's rank and its share of the batch: --batch-size is the total across the processes. */
function splitBatch(opts: TrainOptions, ddp: DDP | null, log: Log): ProcessRole {
  const worldSize = ddp?.worldSize ?? 1;
  const rank = ddp?.rank ?? 0;
  if (opts.batchSize % worldSize !== 0)
    throw new Error(
      `--batch-size ${opts.batchSize} must be a multiple of the number of processes (${worldSize}): it is the total batch, split across them`,
    );
  const batchPerRank = opts.batchSize / worldSize;
  if (ddp)
    log(
      `distributed training: ${worldSize} processes (gloo), batch ${opts.batchSize} = ${worldSize} × ${batchPerRank}${opts.syncBn ? ', SyncBatchNorm' : ''}`,
    );
  return { ddp, worldSize, rank, isMain: rank === 0, batchPerRank };
}

/** The run's hyperparameters: the checkpoint's on resume, else --hyp's file or values (a copy each time). */
function runHyp(opts: TrainOptions, checkpoint: LoadedTrainState | null): Hyp {
  if (checkpoint) return { ...(checkpoint.state.hyp as unknown as Hyp) };
  return typeof opts.hyp === 'string' ? { ...loadHyp(opts.hyp) } : validateHyp(opts.hyp, 'hyp');
}
