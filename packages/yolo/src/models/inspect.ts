// What a weights file holds, without building the model: format, epoch, best fitness,
// precision, optimizer/EMA state, size and class names (what users dig out with torch.load).
import { statSync } from 'node:fs';
import {
  collectTensors,
  loadPt,
  loadSafetensors,
  PyDict,
  PyObject,
  type Safetensors,
  stateDictFromModule,
  type Tensor,
  tidy,
} from '@tsyolo/torch';
import { readCheckpointMeta, TSYOLO_META_KEY } from './checkpoint.js';
import { toPlain, weightsKind } from './weights.js';

export interface WeightsInfo {
  path: string;
  format: 'yolov5-pt' | 'state-dict-pt' | 'safetensors' | 'tsyolo';
  bytes: number;
  epoch: number | null;
  bestFitness: number | null;
  precision: string;
  hasOptimizer: boolean;
  hasEma: boolean;
  nc: number | null;
  names: string[];
  tensors: number;
  parameters: number;
  date: string | null;
}

function precisionOf(ts: Tensor[]): string {
  const floats = new Set(ts.map((t) => t.dtype).filter((d) => d.startsWith('float') || d === 'bfloat16'));
  return [...floats].join('+') || 'none';
}

function countValues(ts: Tensor[]): number {
  return ts.reduce((n, t) => n + t.numel, 0);
}

function firstNumber(v: unknown): number | null {
  const p = toPlain(v);
  if (typeof p === 'number') return p;
  if (p && typeof p === 'object' && 'data' in p) return Number((p as { data: ArrayLike<number> }).data[0]);
  return null;
}

/** Class names from a yolov5 `names` value: a list, or a dict of index → name; anything else gives none. */
function namesList(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.map(String);
  return raw && typeof raw === 'object' ? Object.values(raw as Record<string, unknown>).map(String) : [];
}

/** The report for plain weights: no training state, just the tensors and what the file says of classes. */
function plainInfo(
  path: string,
  format: WeightsInfo['format'],
  bytes: number,
  ts: Tensor[],
  nc: number | null,
  names: string[],
): WeightsInfo {
  return {
    path,
    format,
    bytes,
    epoch: null,
    bestFitness: null,
    precision: precisionOf(ts),
    hasOptimizer: false,
    hasEma: false,
    nc,
    names,
    tensors: ts.length,
    parameters: countValues(ts),
    date: null,
  };
}

/** A yolov5 training checkpoint: the pickled model plus epoch, fitness, optimizer, EMA and date. */
function yolov5Info(path: string, bytes: number, ck: PyDict, model: PyObject): WeightsInfo {
  const sd = [...stateDictFromModule(model).values()];
  const names = namesList(toPlain(model.attr('names')));
  return {
    path,
    format: 'yolov5-pt',
    bytes,
    epoch: typeof ck.get('epoch') === 'number' ? (ck.get('epoch') as number) : null,
    bestFitness: firstNumber(ck.get('best_fitness')),
    precision: precisionOf(sd),
    hasOptimizer: ck.get('optimizer') instanceof PyDict,
    hasEma: ck.get('ema') instanceof PyObject,
    nc: typeof model.attr('nc') === 'number' ? (model.attr('nc') as number) : names.length || null,
    names,
    tensors: sd.length,
    parameters: countValues(sd),
    date: typeof ck.get('date') === 'string' ? (ck.get('date') as string) : null,
  };
}

/** A torch.save file: a yolov5 checkpoint when it holds a `model` object, else a bare state dict. */
function inspectPt(path: string, bytes: number): WeightsInfo {
  const ck = loadPt(path);
  if (!(ck instanceof PyDict)) throw new Error(`${path}: not a checkpoint (top level is not a dict)`);
  const model = ck.get('model');
  if (model instanceof PyObject) return yolov5Info(path, bytes, ck, model);
  return plainInfo(path, 'state-dict-pt', bytes, collectTensors(ck), null, []);
}

/** A tsyolo checkpoint: the model's tensors (prefix `model.`) and the metadata saved with them. */
function tsyoloInfo(path: string, bytes: number, st: Safetensors, metaJson: string): WeightsInfo {
  const meta = readCheckpointMeta(metaJson, path);
  const model = [...st.tensors].filter(([k]) => k.startsWith('model.')).map(([, t]) => t);
  return {
    path,
    format: 'tsyolo',
    bytes,
    epoch: meta.epoch,
    bestFitness: meta.bestFitness,
    precision: precisionOf(model),
    hasOptimizer: [...st.tensors.keys()].some((k) => k.startsWith('optimizer.')),
    hasEma: [...st.tensors.keys()].some((k) => k.startsWith('ema.')),
    nc: meta.nc,
    names: meta.names,
    tensors: model.length,
    parameters: countValues(model),
    date: typeof meta.extra.date === 'string' ? meta.extra.date : null,
  };
}

/** A safetensors file: tsyolo's own checkpoint, or plain weights with optional `names`/`nc` metadata. */
function inspectSafetensors(path: string, bytes: number): WeightsInfo {
  const st = loadSafetensors(path);
  const tsy = st.metadata[TSYOLO_META_KEY];
  if (tsy) return tsyoloInfo(path, bytes, st, tsy);
  const names = namesList(st.metadata.names ? toPlain(JSON.parse(st.metadata.names)) : []);
  const nc = st.metadata.nc ? Number(st.metadata.nc) : names.length || null;
  return plainInfo(path, 'safetensors', bytes, [...st.tensors.values()], nc, names);
}

/** Describes a weights file (.pt or .safetensors) without building its model. */
export function inspectWeights(path: string): WeightsInfo {
  const kind = weightsKind(path); // refuses what is neither a zip nor safetensors, saying what it is
  const bytes = statSync(path).size;
  return tidy(() => (kind === 'zip' ? inspectPt(path, bytes) : inspectSafetensors(path, bytes)));
}
