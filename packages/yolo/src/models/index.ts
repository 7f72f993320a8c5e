export { buildLayers, knownModules, type LayerInfo, makeDivisible } from './build.js';
export {
  type CheckpointMeta,
  checkpointMeta,
  readCheckpointMeta,
  type SaveCheckpointOptions,
  saveCheckpoint,
  TSYOLO_META_KEY,
} from './checkpoint.js';
export {
  type LayerRow,
  loadConfig,
  type ModelConfig,
  resolveConfigPath,
  shippedConfigs,
  validateConfig,
} from './config.js';
export { buildModel } from './factory.js';
export { countMacs, formatSummary, type ModelSummary, summarize } from './info.js';
export { inspectWeights, type WeightsInfo } from './inspect.js';
export { autopad, Conv, DWConv, fuseConvBn } from './layers/conv.js';
export { Bottleneck, BottleneckCSP, C3 } from './layers/csp.js';
export { Detect } from './layers/detect.js';
export { Concat, Focus, SPP, SPPF, ZeroPad2d } from './layers/pooling.js';
export { type BuildOptions, checkAnchorOrder, DetectionModel } from './model.js';
export {
  type LoadedModel,
  type LoadModelOptions,
  loadModel,
  loadModelFile,
  toPlain,
  transferWeights,
} from './weights.js';
