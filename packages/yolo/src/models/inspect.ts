// What a weights file holds, without building the model: format, epoch, best fitness,
// precision, optimizer/EMA state, size and class names (what users dig out with torch.load).
import { statSync } from 'node:fs';
import {
  collectTensors,
  loadPt,
  loadSafetensors,
  PyDict,
  PyObject,
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

export function inspectWeights(path: string): WeightsInfo {
  const kind = weightsKind(path); // refuses what is neither a zip nor safetensors, saying what it is
  const bytes = statSync(path).size;
  return tidy(() => {
    if (kind === 'zip') {
      const ck = loadPt(path);
      if (!(ck instanceof PyDict)) throw new Error(`${path}: not a checkpoint (top level is not a dict)`);
      const model = ck.get('model');
      if (!(model instanceof PyObject)) {
        const ts = collectTensors(ck);
        return {
          path,
          format: 'state-dict-pt',
          bytes,
          epoch: null,
          bestFitness: null,
          precision: precisionOf(ts),
          hasOptimizer: false,
          hasEma: false,
          nc: null,
          names: [],
          tensors: ts.length,
          parameters: countValues(ts),
          date: null,
        };
      }
      const sd = [...stateDictFromModule(model).values()];
      const namesRaw = toPlain(model.attr('names'));
      const names = Array.isArray(namesRaw)
        ? namesRaw.map(String)
        : namesRaw && typeof namesRaw === 'object'
          ? Object.values(namesRaw as Record<string, unknown>).map(String)
          : [];
      const info: WeightsInfo = {
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
      return info;
    }
    const st = loadSafetensors(path);
    const all = [...st.tensors.values()];
    const tsy = st.metadata[TSYOLO_META_KEY];
    if (tsy) {
      const meta = readCheckpointMeta(tsy, path);
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
    const names = st.metadata.names ? (toPlain(JSON.parse(st.metadata.names)) as unknown) : [];
    const nameList = Array.isArray(names)
      ? names.map(String)
      : names && typeof names === 'object'
        ? Object.values(names).map(String)
        : [];
    return {
      path,
      format: 'safetensors',
      bytes,
      epoch: null,
      bestFitness: null,
      precision: precisionOf(all),
      hasOptimizer: false,
      hasEma: false,
      nc: st.metadata.nc ? Number(st.metadata.nc) : nameList.length || null,
      names: nameList,
      tensors: all.length,
      parameters: countValues(all),
      date: null,
    };
  });
}
