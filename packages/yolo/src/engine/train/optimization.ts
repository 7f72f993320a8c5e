// What trains the weights (yolov5's "Optimizer", "Scheduler" and "EMA" sections of train()):
// gradient accumulation to a nominal batch of 64, weight decay scaled to it, the optimizer's
// three parameter groups, the linear or one-cycle LR schedule, the EMA and early stopping.
import { optim } from '@tsyolo/torch';
import type { Hyp } from '../../data/types.js';
import type { DetectionModel } from '../../models/model.js';
import { EarlyStopping } from '../early-stop.js';
import { ModelEMA } from '../ema.js';
import { smartOptimizer } from '../optimizer.js';
import { linearLr, oneCycleLr } from '../schedule.js';
import type { Run } from './context.js';
import type { TrainOptions } from './options.js';

/** yolov5's nbs: gradients of smaller batches add up to this many images per optimizer step. */
export const NOMINAL_BATCH_SIZE = 64;

export type Optimization = Pick<Run, 'optimizer' | 'scheduler' | 'lrFactor' | 'ema' | 'stopper'> & {
  /** batches per optimizer step after warmup: round(64 / batch size), at least 1 */
  accumulate: number;
};

/**
 * Builds the optimizer, schedule, EMA and early stopping for a model. Scales hyp.weight_decay in
 * place by (batch size × accumulate) / 64, as yolov5 does, so the checkpoints record the scaled value.
 */
export function createOptimization(model: DetectionModel, opts: TrainOptions, hyp: Hyp): Optimization {
  const accumulate = Math.max(Math.round(NOMINAL_BATCH_SIZE / opts.batchSize), 1);
  hyp.weight_decay *= (opts.batchSize * accumulate) / NOMINAL_BATCH_SIZE;
  const optimizer = smartOptimizer(model, opts.optimizer, hyp.lr0, hyp.momentum, hyp.weight_decay);
  const lrFactor = opts.cosLr ? oneCycleLr(opts.epochs, hyp.lrf) : linearLr(opts.epochs, hyp.lrf);
  const scheduler = new optim.LambdaLR(optimizer, lrFactor);
  const ema = new ModelEMA(model);
  const stopper = new EarlyStopping(opts.patience);
  return { optimizer, scheduler, lrFactor, ema, stopper, accumulate };
}
