// The tsyolo checkpoint: one safetensors file. Tensors are stored under "model.*" (and "ema.*",
// "optimizer.*" when training adds them); the metadata key "tsyolo" holds JSON with the model
// config, class names, strides and the training state that is not a tensor (epoch, best fitness,
// options, hyperparameters, date). Written to a temporary name, fsynced and renamed.
import { saveSafetensors, type Tensor } from '@tsyolo/torch';
import type { ModelConfig } from './config.js';
import type { DetectionModel } from './model.js';

export const TSYOLO_META_KEY = 'tsyolo';
export const CHECKPOINT_FORMAT = 'tsyolo-checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  cfg: ModelConfig;
  names: string[];
  stride: number[];
  nc: number;
  epoch: number;
  bestFitness: number | null;
  /** anything the trainer adds: options, hyperparameters, EMA updates, optimizer groups, RNG states, date */
  extra: Record<string, unknown>;
}

export interface SaveCheckpointOptions {
  ema?: DetectionModel | null;
  epoch?: number;
  bestFitness?: number | null;
  /** more tensors, stored under their own names (e.g. "optimizer.state.0.momentum_buffer") */
  tensors?: Map<string, Tensor>;
  extra?: Record<string, unknown>;
}

export function checkpointMeta(model: DetectionModel, o: SaveCheckpointOptions = {}): CheckpointMeta {
  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    cfg: model.cfg,
    names: model.names,
    stride: model.stride,
    nc: model.nc,
    epoch: o.epoch ?? -1,
    bestFitness: o.bestFitness ?? null,
    extra: o.extra ?? {},
  };
}

/** Writes a tsyolo checkpoint (model weights as they are: fp32, or fp16 after half()). */
export function saveCheckpoint(path: string, model: DetectionModel, o: SaveCheckpointOptions = {}): void {
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of model.stateDict()) tensors.set(`model.${k}`, t);
  if (o.ema) for (const [k, t] of o.ema.stateDict()) tensors.set(`ema.${k}`, t);
  for (const [k, t] of o.tensors ?? []) tensors.set(k, t);
  try {
    saveSafetensors(path, tensors, { [TSYOLO_META_KEY]: JSON.stringify(checkpointMeta(model, o)) });
  } catch (e) {
    throw withPath(e, path);
  }
}

/**
 * A file-system error with the file it was about: writes through a file descriptor (ENOSPC on write)
 * do not name it. The code, syscall and path stay, so callers can still tell the errors apart.
 */
export function withPath(e: unknown, path: string): unknown {
  if (!(e instanceof Error) || typeof (e as NodeJS.ErrnoException).code !== 'string' || e.message.includes(path))
    return e;
  const err = e as NodeJS.ErrnoException;
  return Object.assign(new Error(`${path}: ${err.message}`, { cause: e }), {
    code: err.code,
    syscall: err.syscall,
    path: err.path ?? path,
    errno: err.errno,
  });
}

export function readCheckpointMeta(json: string, path: string): CheckpointMeta {
  let m: CheckpointMeta;
  try {
    m = JSON.parse(json) as CheckpointMeta;
  } catch (e) {
    throw new Error(`${path}: corrupt tsyolo metadata: ${(e as Error).message}`);
  }
  if (m.format !== CHECKPOINT_FORMAT)
    throw new Error(`${path}: metadata format '${m.format}' is not ${CHECKPOINT_FORMAT}`);
  if (m.version > CHECKPOINT_VERSION)
    throw new Error(`${path}: checkpoint version ${m.version} is newer than this tsyolo reads (${CHECKPOINT_VERSION})`);
  return m;
}
