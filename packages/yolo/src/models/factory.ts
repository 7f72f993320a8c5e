// buildModel('yolov5s' | 'path/to/cfg.yaml' | ModelConfig, { nc })
import { loadConfig, type ModelConfig } from './config.js';
import { type BuildOptions, DetectionModel } from './model.js';

export function buildModel(cfg: string | ModelConfig, opts: BuildOptions = {}): DetectionModel {
  return new DetectionModel(typeof cfg === 'string' ? loadConfig(cfg) : cfg, opts);
}
