// Weights files → what runs them (yolov5's DetectMultiBackend choice): one .onnx file runs on ONNX
// Runtime, PyTorch/safetensors weights on libtorch (several: an ensemble). Detector.load and val share it.

import type { DetectionModel } from '../models/model.js';
import { loadModel } from '../models/weights.js';
import { isOnnxFile, OnnxModel } from './onnx-model.js';

export interface LoadPredictorOptions {
  /** model config for weights files that do not carry one (plain state dicts, bare safetensors) */
  cfg?: string;
  /** ONNX Runtime intra-op threads for .onnx weights (default: TSYOLO_ORT_THREADS, TSYOLO_NUM_THREADS or every core) */
  threads?: number;
}

/** One ONNX model run by ONNX Runtime, or the libtorch models (several: an ensemble), as loaded (not fused). */
export type Predictor = OnnxModel | DetectionModel[];

/**
 * Loads weights files (.pt, .safetensors; several: an ensemble), or one .onnx file. An .onnx file
 * cannot be part of an ensemble. When a file fails to load, the models loaded before it are released.
 */
export async function loadPredictor(weights: string | string[], opts: LoadPredictorOptions = {}): Promise<Predictor> {
  const list = Array.isArray(weights) ? weights : [weights];
  const onnx = list.filter(isOnnxFile);
  if (onnx.length) {
    if (list.length > 1)
      throw new Error(
        `${onnx.join(', ')}: an ONNX model cannot be part of an ensemble (ensembles run PyTorch/safetensors weights on libtorch); pass one .onnx file alone`,
      );
    return OnnxModel.load(list[0], { threads: opts.threads });
  }
  const models: DetectionModel[] = [];
  try {
    for (const w of list) models.push(loadModel(w, { cfg: opts.cfg }));
  } catch (e) {
    for (const m of models) m.dispose();
    throw e;
  }
  return models;
}
