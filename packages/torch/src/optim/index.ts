// Optimizers, learning-rate schedulers and gradient clipping.

export { Adam, type AdamGroup, type AdamOptions } from './adam.js';
export { AdamW } from './adamw.js';
export { clipGradNorm_ } from './clip.js';
export { LambdaLR, LRScheduler, type LRSchedulerState } from './lr_scheduler.js';
export {
  type GroupState,
  type Hyper,
  Optimizer,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamGroupInput,
  type ParamState,
} from './optimizer.js';
export { RMSprop, type RMSpropGroup, type RMSpropOptions } from './rmsprop.js';
export { SGD, type SGDGroup, type SGDOptions } from './sgd.js';
