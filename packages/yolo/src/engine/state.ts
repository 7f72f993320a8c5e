// Training checkpoints: everything needed to continue exactly (model, EMA and its update count,
// optimizer state, epoch, best fitness, early-stopping state, options, hyperparameters, the
// libtorch RNG state), and stripping to deployable FP16 weights (EMA only).
import { closeSync, copyFileSync, fsyncSync, linkSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import {
  getRngState,
  loadSafetensors,
  noGrad,
  type optim,
  readSafetensorsMetadata,
  type Tensor,
  tidy,
} from '@tsyolo/torch';
import { type CheckpointMeta, readCheckpointMeta, saveCheckpoint, TSYOLO_META_KEY } from '../models/checkpoint.js';
import type { DetectionModel } from '../models/model.js';
import type { ModelEMA } from './ema.js';

export interface TrainState {
  epoch: number;
  bestFitness: number;
  stopper: { bestFitness: number; bestEpoch: number };
  lastOptStep: number;
  opt: Record<string, unknown>;
  hyp: Record<string, number>;
  date: string;
}

interface SavedOptimizer {
  paramGroups: Record<string, unknown>[];
  scalars: Record<string, Record<string, number>>;
}

export function saveTrainCheckpoint(
  path: string,
  model: DetectionModel,
  ema: ModelEMA,
  optimizer: optim.Optimizer,
  st: TrainState,
): void {
  const sd = optimizer.stateDict();
  const tensors = new Map<string, Tensor>();
  const scalars: Record<string, Record<string, number>> = {};
  for (const [i, s] of sd.state) {
    for (const [k, v] of Object.entries(s)) {
      if (typeof v === 'number') (scalars[i] ??= {})[k] = v;
      else tensors.set(`optimizer.state.${i}.${k}`, v);
    }
  }
  const rng = getRngState();
  tensors.set('rng.torch', rng);
  const saved: SavedOptimizer = { paramGroups: sd.paramGroups as unknown as Record<string, unknown>[], scalars };
  saveCheckpoint(path, model, {
    ema: ema.ema,
    epoch: st.epoch,
    bestFitness: st.bestFitness,
    tensors,
    extra: { ...st, updates: ema.updates, optimizer: saved, kind: 'training' },
  });
  rng.dispose();
}

export interface LoadedTrainState {
  meta: CheckpointMeta;
  state: TrainState;
  updates: number;
  model: Map<string, Tensor>;
  ema: Map<string, Tensor>;
  optimizer: optim.OptimizerStateDict | null;
  rng: Tensor | null;
  /** all loaded tensors, to dispose after use */
  dispose(): void;
}

export function loadTrainCheckpoint(path: string): LoadedTrainState {
  const st = loadSafetensors(path);
  const json = st.metadata[TSYOLO_META_KEY];
  if (!json) throw new Error(`${path}: not a tsyolo checkpoint (no '${TSYOLO_META_KEY}' metadata)`);
  const meta = readCheckpointMeta(json, path);
  const extra = meta.extra as unknown as TrainState & { updates: number; optimizer?: SavedOptimizer; kind?: string };
  if (extra.kind !== 'training' || !extra.optimizer) {
    for (const t of st.tensors.values()) t.dispose();
    throw new Error(
      `${path}: holds final (stripped) weights without optimizer state: nothing to resume (train from it with --weights instead)`,
    );
  }
  const pick = (prefix: string): Map<string, Tensor> =>
    new Map([...st.tensors].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
  const state = new Map<number, Record<string, Tensor | number>>();
  for (const [k, t] of pick('optimizer.state.')) {
    const dot = k.indexOf('.');
    const i = Number(k.slice(0, dot));
    (state.get(i) ?? state.set(i, {}).get(i)!)[k.slice(dot + 1)] = t;
  }
  for (const [i, s] of Object.entries(extra.optimizer.scalars))
    Object.assign(state.get(Number(i)) ?? state.set(Number(i), {}).get(Number(i))!, s);
  return {
    meta,
    state: extra,
    updates: extra.updates,
    model: pick('model.'),
    ema: pick('ema.'),
    optimizer: {
      state,
      paramGroups: extra.optimizer.paramGroups as unknown as optim.OptimizerStateDict['paramGroups'],
    },
    rng: st.tensors.get('rng.torch') ?? null,
    dispose: () => {
      for (const t of st.tensors.values()) t.dispose();
    },
  };
}

/**
 * Final weights: the EMA (or the model) in FP16, no optimizer, epoch −1, as yolov5's
 * strip_optimizer. Returns the file size in bytes.
 */
export function writeStripped(
  path: string,
  weights: DetectionModel,
  meta: { bestFitness: number | null; extra?: Record<string, unknown> },
): number {
  tidy(() => {
    const half = new Map<string, Tensor>();
    noGrad(() => {
      for (const [k, t] of weights.stateDict()) half.set(k, t.dtype === 'float32' ? t.half() : t);
    });
    // a view of the weights as a model-like state for saveCheckpoint
    const shim = {
      stateDict: () => half,
      cfg: weights.cfg,
      names: weights.names,
      stride: weights.stride,
      nc: weights.nc,
    } as unknown as DetectionModel;
    saveCheckpoint(path, shim, {
      epoch: -1,
      bestFitness: meta.bestFitness,
      extra: { ...(meta.extra ?? {}), kind: 'final' },
    });
  });
  return statSync(path).size;
}

/**
 * The end of training: the full training checkpoint at lastPath moves to resumePath, and lastPath gets
 * the stripped weights that write(tmp) saves. Each step leaves a loadable lastPath and a resumable
 * checkpoint, whenever the process dies: the stripped file is written under a temporary name first,
 * the full state is hard-linked (or copied) to resumePath, and one rename puts the stripped file in place.
 */
export function replaceWithStripped(lastPath: string, resumePath: string, write: (tmp: string) => number): number {
  const tmp = lastPath.replace(/(\.safetensors)?$/, '.stripped.safetensors');
  const bytes = write(tmp);
  rmSync(resumePath, { force: true });
  try {
    linkSync(lastPath, resumePath);
  } catch {
    copyFileSync(lastPath, `${resumePath}.tmp`);
    const fd = openSync(`${resumePath}.tmp`, 'r+');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(`${resumePath}.tmp`, resumePath);
  }
  renameSync(tmp, lastPath);
  return bytes;
}

/** True when the file is a tsyolo training checkpoint (reads the header only). */
export function isTrainingCheckpoint(path: string): boolean {
  try {
    const meta = readSafetensorsMetadata(path)[TSYOLO_META_KEY];
    return !!meta && (readCheckpointMeta(meta, path).extra as { kind?: string }).kind === 'training';
  } catch {
    return false;
  }
}
