export { type BboxIouOptions, bboxIou } from './bbox-iou.js';
export {
  type BuiltTargets,
  ComputeLoss,
  type ComputeLossOptions,
  type LossModel,
  type LossOutput,
  smoothBce,
} from './compute-loss.js';
export { BCEWithLogitsLoss, FocalLoss, type LossFunction, type Reduction as LossReduction } from './focal.js';
