export { bboxIou, type BboxIouOptions } from './bbox-iou.js';
export { BCEWithLogitsLoss, FocalLoss, type LossFunction, type Reduction as LossReduction } from './focal.js';
export { ComputeLoss, smoothBce, type ComputeLossOptions, type LossModel, type LossOutput, type BuiltTargets } from './compute-loss.js';
