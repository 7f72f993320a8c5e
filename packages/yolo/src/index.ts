// tsyolo: YOLOv5 on libtorch for TypeScript.
export const version = '0.1.0';
export * from './boxes/convert.js';
export { maxNms, maxWh, type NmsOptions, nms, nonMaxSuppression } from './boxes/nms.js';
export { boxCandidates, type CandidateOptions } from './data/augment/candidates.js';
export { fliplr, flipud, randomFlip } from './data/augment/flip.js';
export { applyHsvGains, augmentHsv, hsvLuts, hsvToRgb, rgbToHsv } from './data/augment/hsv.js';
export { clipBoxRows, concatRows, xywhn2xyxyRows, xyxy2xywhnRows } from './data/augment/labels.js';
export { blendImages, mixup, randomBeta, randomGamma, randomNormal } from './data/augment/mixup.js';
export {
  buildMosaic,
  loadMosaic,
  type MosaicOptions,
  type MosaicResult,
  type MosaicSource,
} from './data/augment/mosaic.js';
export {
  applyPerspective,
  drawPerspectiveParams,
  invert3,
  type PerspectiveOptions,
  type PerspectiveParams,
  type PerspectiveResult,
  perspectiveMatrix,
  randomPerspective,
  transformBoxes,
  warpAffine,
  warpPerspective,
} from './data/augment/perspective.js';
export {
  CACHE_VERSION,
  defaultCachePath,
  formatScanSummary,
  type LabelEntry,
  type LabelSummary,
  type LoadLabelsOptions,
  type LoadLabelsResult,
  loadLabels,
} from './data/cache.js';
export { type DataConfig, DataConfigError, loadDataConfig } from './data/config.js';
export { createDataset, type Dataset, type DatasetOptions, rectBatchShapes } from './data/dataset.js';
export {
  IMG_FORMATS,
  imageExt,
  img2labelPath,
  isSupportedImage,
  type ListImagesOptions,
  listImages,
  UNSUPPORTED_IMG_FORMATS,
} from './data/files.js';
export { loadHyp, requiredHypKeys, resolveHypPath, shippedHyps, validateHyp } from './data/hyp.js';
export { type Batch, collate, DataLoader, type LoaderOptions } from './data/loader.js';
export type { DatasetSpec, Sample } from './data/sample.js';
export {
  formatLabels,
  renderSynthImage,
  SYNTH_CLASSES,
  type SynthImage,
  type SynthOptions,
  type SynthResult,
  synthesizeDataset,
} from './data/synth.js';
export {
  MAX_IMAGE_BYTES,
  MAX_LABEL_BYTES,
  parseLabels,
  type VerifyOptions,
  type VerifyResult,
  verifyImageLabel,
} from './data/verify.js';
export { type AnnotateOptions, annotate, annotateRaw, classColor } from './detect/annotate.js';
export { type CropOptions, cropBox, saveOneBox } from './detect/crop.js';
export { type Detection, type DetectOptions, Detector, type DetectResult } from './detect/detector.js';
export { Ensemble } from './detect/ensemble.js';
export { readImage } from './detect/image.js';
export { isOnnxFile, OnnxModel, type OnnxModelOptions, onnxThreads } from './detect/onnx-model.js';
export { type LoadPredictorOptions, loadPredictor, type Predictor } from './detect/predictor.js';
export { type DetectedItem, type RunDetectOptions, type RunDetectResult, runDetect } from './detect/run.js';
export {
  type AugmentableModel,
  clipAugmented,
  descalePred,
  forwardAugment,
  scaleImg,
  TTA_FLIPS,
  TTA_SCALES,
} from './detect/tta.js';
export { isVideo, probeVideo, readFrames, VID_FORMATS, type VideoFrame, type VideoInfo } from './detect/video.js';
export { DDP, type DistEnv, DistributedError, distEnv } from './distributed/ddp.js';
export { type DeviceSpec, describeDevice, parseDevice, rankDevice } from './distributed/devices.js';
export { freePort, type LaunchOptions, type LaunchResult, launch } from './distributed/launch.js';
export {
  anchorMetric,
  type CheckAnchorsOptions,
  type CheckAnchorsResult,
  checkAnchors,
  type KmeanAnchorsOptions,
  kmeanAnchors,
  labelSizes,
} from './engine/autoanchor.js';
export { cloneModel, ModelEMA } from './engine/ema.js';
export { type OptimizerName, smartOptimizer, splitParams } from './engine/optimizer.js';
export {
  crc32c,
  decodeEvent,
  EVENT_FILE_VERSION,
  encodeEvent,
  encodeTFRecord,
  eventFileName,
  iterTFRecords,
  maskedCrc32c,
  parseEvents,
  readEvents,
  type ScalarValue,
  SummaryWriter,
  type SummaryWriterOptions,
  type TensorBoardEvent,
  type TFRecord,
  TFRecordError,
} from './engine/tensorboard.js';
export { type TrainOptions, type TrainResult, train, trainDefaults } from './engine/trainer.js';
export {
  checkValTask,
  isValTask,
  type RunValOptions,
  type RunValResult,
  runVal,
  VAL_TASKS,
  type ValClassMetrics,
  type ValMetrics,
  type ValTask,
} from './engine/val/run.js';
export { type ValBatch, type ValModel, type ValOptions, type ValResult, validate } from './engine/validator.js';
export {
  constrainHyp,
  type EvolveOptions,
  type EvolveResult,
  type EvolveTrainFn,
  evolve,
  evolveBaseHyp,
  evolveDir,
  formatPopulation,
  MUTATION_META,
  mutate,
  type ParentSelection,
  type Population,
  parsePopulation,
  selectParent,
  withFileLock,
} from './evolve/index.js';
export { plotEvolve } from './evolve/plot.js';
export {
  checkOnnx,
  encodeWts,
  exportOnnx,
  exportOnnxDetailed,
  formatCheck,
  formatVerify,
  type OnnxCheckReport,
  type OnnxExportInfo,
  type OnnxExportOptions,
  OP_TABLE as ONNX_OP_TABLE,
  parseWts,
  readWts,
  type VerifyOptions as OnnxVerifyOptions,
  type VerifyReport as OnnxVerifyReport,
  verifyOnnx,
  type WtsOptions,
  writeWts,
  wtsTensors,
} from './export/index.js';
export {
  EXPORT_FORMATS,
  type ExportFormat,
  isExportFormat,
  type OnnxExportSummary,
  type RunExportOptions,
  type RunExportResult,
  runExport,
  type WtsExportSummary,
} from './export/run.js';
export { bundlePage, exportWeb, ortWebFiles, type WebExportOptions, type WebExportResult } from './export/web.js';
export * from './loss/index.js';
export {
  type ApPerClassResult,
  apPerClass,
  type ComputeApResult,
  ConfusionMatrix,
  computeAp,
  fitness,
  iouVector,
  matchPredictions,
  processBatch,
  smooth,
} from './metrics/ap.js';
export {
  COCO_STATS_NAMES,
  type CocoAnnotation,
  type CocoDetection,
  type CocoEvalOptions,
  type CocoEvalResult,
  type CocoGroundTruth,
  cocoEval,
  cocoEvalData,
  cocoPerCategoryAp,
} from './metrics/coco.js';
export * from './models/index.js';
export { type PruneLayer, type PruneResult, prune } from './models/prune.js';
export { type OnnxInfo, type OnnxIo, onnxInfo } from './onnx/info.js';
export { type EvolutionPlotData, plotEvolution } from './plots/evolve.js';
export {
  type ImageBoxes,
  labelsToBoxes,
  type PlotImagesOptions,
  plotConfusionMatrix,
  plotImages,
  plotLabels,
  plotMcCurve,
  plotPrCurve,
  plotResults,
  predsToBoxes,
} from './plots/index.js';
export {
  type DetectionRows,
  greedyNms,
  type LetterboxedInput,
  type LetterboxInputOptions,
  letterboxInput,
  MAX_NMS,
  MAX_WH,
  type NmsOptions as PortableNmsOptions,
  nonMaxSuppressionRows,
  type Pixels,
  parseNames,
  parsePythonLiteral,
  parseStride,
  scaleBoxRows,
  toDetections,
  toRgb,
} from './portable/index.js';
export {
  fullImage,
  type Interpolation,
  type LetterboxOptions,
  type LetterboxResult,
  letterbox,
  padImage,
  resizeImage,
  resizeLinear,
  resizeLongSide,
  resizeNearest,
} from './portable/resize.js';
export {
  type DetectResponse,
  type LogOptions as ServeLogOptions,
  type ModelInfo,
  onShutdownSignals,
  type ServeHandle,
  type ServeOptions,
  type ServeSummary,
  type ShutdownOptions,
  serve,
} from './serve/index.js';
export { formatG, pyRound, roundHalfEven } from './util/python.js';
