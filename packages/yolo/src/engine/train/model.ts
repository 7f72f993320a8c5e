// The model to train (yolov5's "Model" section of train()): the resumed checkpoint's, or a
// config's with weights transferred from a file, or a config's from scratch.
import type { Hyp } from '../../data/types.js';
import { loadConfig, type ModelConfig } from '../../models/config.js';
import { DetectionModel } from '../../models/model.js';
import { loadModelFile, transferWeights } from '../../models/weights.js';
import type { LoadedTrainState } from '../state.js';
import type { Log } from './context.js';
import type { TrainOptions } from './options.js';

/**
 * A resumed run rebuilds its checkpoint's model and weights. --weights builds the file's config (or
 * --cfg's) with `nc` classes and transfers every weight whose name and shape match, the anchors
 * left out when --cfg or hyp `anchors` give new ones (yolov5's intersect_dicts with exclude).
 * Otherwise --cfg alone, randomly initialised.
 */
export function buildModel(
  opts: TrainOptions,
  hyp: Hyp,
  nc: number,
  checkpoint: LoadedTrainState | null,
  log: Log,
): DetectionModel {
  if (checkpoint) {
    const model = new DetectionModel(checkpoint.meta.cfg);
    model.loadStateDict(checkpoint.model);
    return model;
  }
  if (opts.weights) {
    const source = loadModelFile(opts.weights, { cfg: opts.cfg || undefined });
    const cfg = opts.cfg ? loadConfig(opts.cfg) : source.model.cfg;
    const model = new DetectionModel(withAnchorCount(cfg, hyp), { nc });
    const exclude = opts.cfg || hyp.anchors ? ['anchor'] : [];
    const transfer = transferWeights(model, source.model.stateDict(), exclude);
    log(`Transferred ${transfer.transferred}/${transfer.total} items from ${opts.weights}`);
    source.model.dispose();
    return model;
  }
  if (!opts.cfg) throw new Error('give --cfg (a model config) or --weights to train from');
  return new DetectionModel(withAnchorCount(loadConfig(opts.cfg), hyp), { nc });
}

/** hyp `anchors: k` (set by --evolve) builds the model with k anchors per level, left to AutoAnchor (yolov5's Model(anchors=…)). */
function withAnchorCount(cfg: ModelConfig, hyp: Hyp): ModelConfig {
  return hyp.anchors ? { ...cfg, anchors: Math.round(hyp.anchors) } : cfg;
}
