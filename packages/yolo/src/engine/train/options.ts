// What train() accepts and returns: yolov5's train.py flags under camelCase names, their
// defaults, and the summary a finished (or stopped) run reports.
import type { Hyp } from '../../data/types.js';
import type { DDP } from '../../distributed/ddp.js';
import type { OptimizerName } from '../optimizer.js';

export interface TrainOptions {
  weights: string;
  cfg: string;
  data: string;
  /** a hyp YAML (shipped name or path), or the values themselves (hyperparameter evolution) */
  hyp: string | Hyp;
  epochs: number;
  batchSize: number;
  imgsz: number;
  rect: boolean;
  /** true: newest runs/train/*\/weights/resume or last; a string: that checkpoint */
  resume: boolean | string;
  nosave: boolean;
  noval: boolean;
  noautoanchor: boolean;
  noplots: boolean;
  cache: 'ram' | null;
  imageWeights: boolean;
  device: string;
  multiScale: boolean;
  singleCls: boolean;
  optimizer: OptimizerName;
  workers: number;
  project: string;
  name: string;
  existOk: boolean;
  cosLr: boolean;
  labelSmoothing: number;
  patience: number;
  freeze: number[];
  /** train the frozen layers again from this epoch (-1: never) */
  unfreezeAt: number;
  savePeriod: number;
  seed: number;
  /** SyncBatchNorm across the ranks of a multi-process run */
  syncBn: boolean;
  /**
   * train with channels-last (NHWC) weights and inputs, oneDNN's preferred layout (yolov5n step at 320:
   * ~15 % faster here); the values differ from NCHW only by float rounding. Absent from older checkpoints: NCHW.
   */
  channelsLast: boolean;
  /** print per-batch progress */
  verbose: boolean;
  /** where lines go (default console.log) */
  log?: (line: string) => void;
  /** the process group of a multi-process run (default: joined from RANK/WORLD_SIZE when set) */
  ddp?: DDP | null;
}

/** The options as the run folder keeps them (opt.yaml, checkpoints): everything but the callbacks. */
export type SavedOptions = Omit<TrainOptions, 'log' | 'ddp'>;

/** yolov5's default hyperparameters (training from scratch, small models). */
export const DEFAULT_HYP = 'hyp.scratch-low.yaml';

export const trainDefaults: TrainOptions = {
  weights: '',
  cfg: '',
  data: '',
  hyp: DEFAULT_HYP,
  epochs: 100,
  batchSize: 16,
  imgsz: 640,
  rect: false,
  resume: false,
  nosave: false,
  noval: false,
  noautoanchor: false,
  noplots: false,
  cache: null,
  imageWeights: false,
  device: '',
  multiScale: false,
  singleCls: false,
  optimizer: 'SGD',
  workers: 8,
  project: 'runs/train',
  name: 'exp',
  existOk: false,
  cosLr: false,
  labelSmoothing: 0,
  patience: 100,
  freeze: [0],
  unfreezeAt: -1,
  savePeriod: -1,
  seed: 0,
  syncBn: false,
  channelsLast: true,
  verbose: true,
};

/** Why the epoch loop ended. */
export type StopReason = 'completed' | 'early-stop' | 'signal' | 'nan';

export interface TrainResult {
  saveDir: string;
  epochs: number;
  /** epoch of the last completed epoch */
  lastEpoch: number;
  bestFitness: number;
  metrics: {
    precision: number;
    recall: number;
    mAP50: number;
    mAP50_95: number;
    box: number;
    obj: number;
    cls: number;
  };
  weights: { last: string; best: string; resume: string | null; lastBytes: number; bestBytes: number };
  stoppedBy: StopReason;
  seconds: number;
  imagesPerSecond: number;
  /** the share of the batch loops' time spent waiting for the loader (0: it always had a batch ready) */
  loaderWaitShare: number;
}
