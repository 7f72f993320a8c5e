// The objects the training stages hand each other: what setup builds once (Run), the counters
// that change as training goes (TrainProgress), and the loop's resources (Loop).
import type { optim } from '@tsyolo/torch';
import type { DataConfig } from '../../data/config.js';
import type { DataLoader } from '../../data/loader.js';
import type { Hyp } from '../../data/types.js';
import type { DDP } from '../../distributed/ddp.js';
import type { ComputeLoss } from '../../loss/compute-loss.js';
import type { DetectionModel } from '../../models/model.js';
import type { EarlyStopping } from '../early-stop.js';
import type { ModelEMA } from '../ema.js';
import type { SummaryWriter } from '../tensorboard.js';
import type { ValResult } from '../validator.js';
import type { SavedOptions, StopReason, TrainOptions } from './options.js';
import type { StopSignals } from './signals.js';

export type Log = (line: string) => void;

/** This process's part in the run: the only process, or rank `rank` of `worldSize`. */
export interface ProcessRole {
  ddp: DDP | null;
  worldSize: number;
  rank: number;
  /** rank 0: the one that validates, logs, plots and writes files */
  isMain: boolean;
  /** --batch-size is the total; each process takes this share */
  batchPerRank: number;
}

/** The run folder (yolov5's save_dir) and the files training writes there. */
export interface RunPaths {
  saveDir: string;
  weightsDir: string;
  /** the training checkpoint of the latest epoch; stripped to FP16 EMA weights at the end */
  last: string;
  /** FP16 EMA weights of the epoch with the best fitness */
  best: string;
  /** where the full training state moves when last.safetensors is stripped */
  resume: string;
  results: string;
}

/** Counters that change as training goes; checkpoints carry the ones exact resume needs. */
export interface TrainProgress {
  /** batches whose gradients add up before an optimizer step (warmup ramps it up) */
  accumulate: number;
  /** global iteration of the last optimizer step */
  lastOptStep: number;
  bestFitness: number;
  /** per-class mAP@0.5:0.95 of the latest validation (for --image-weights) */
  classMaps: Float64Array;
  lastVal: ValResult | null;
  /** mean box, obj and cls losses of the last completed epoch */
  lastMeanLoss: number[];
  /** the last completed epoch (startEpoch − 1 before the first) */
  lastEpoch: number;
  /** images this process has trained on */
  imagesSeen: number;
  /** milliseconds the batch loops waited for the loader, and their whole time */
  loaderWaitMs: number;
  batchLoopMs: number;
  stoppedBy: StopReason;
  /** performance.now() when the first epoch started */
  loopStartedAt: number;
}

/** What setup builds once: options, hyperparameters, the model and everything that trains it. */
export interface Run {
  /** the options in force (a resumed run's own, with the few a resume may override) */
  opts: TrainOptions;
  savedOpts: SavedOptions;
  /** hyperparameters; weight_decay is scaled to the nominal batch during setup */
  hyp: Hyp;
  log: Log;
  role: ProcessRole;
  paths: RunPaths;
  dataConfig: DataConfig;
  nc: number;
  names: string[];
  model: DetectionModel;
  /** parameter name prefixes of the --freeze layers */
  frozenLayers: string[];
  /** the largest stride, at least 32: image sizes are multiples of it (yolov5's gs) */
  gridStride: number;
  imgsz: number;
  optimizer: optim.Optimizer;
  scheduler: optim.LambdaLR;
  /** the learning-rate factor of an epoch (yolov5's lf) */
  lrFactor: (epoch: number) => number;
  ema: ModelEMA;
  stopper: EarlyStopping;
  /** whether this run continues a checkpoint */
  resumed: boolean;
  startEpoch: number;
  progress: TrainProgress;
}

/** The epoch loop's resources and constants. */
export interface Loop {
  trainLoader: DataLoader;
  /** rank 0 alone validates */
  valLoader: DataLoader | null;
  /** rank 0 alone logs to TensorBoard */
  tensorboard: SummaryWriter | null;
  signals: StopSignals;
  computeLoss: ComputeLoss;
  batchesPerEpoch: number;
  /** iterations of learning-rate, momentum and accumulation warmup */
  warmupIters: number;
  /** inverse class frequencies of the training labels (for --image-weights) */
  classWeights: Float64Array;
}
