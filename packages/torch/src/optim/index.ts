// Optimizers, learning-rate schedulers and gradient clipping.
export { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState, type Hyper, type GroupState, type OptimizerStateDict } from './optimizer.js';
export { SGD, type SGDGroup, type SGDOptions } from './sgd.js';
export { Adam, type AdamGroup, type AdamOptions } from './adam.js';
export { AdamW } from './adamw.js';
export { RMSprop, type RMSpropGroup, type RMSpropOptions } from './rmsprop.js';
export { LRScheduler, LambdaLR, type LRSchedulerState } from './lr_scheduler.js';
export { clipGradNorm_ } from './clip.js';
