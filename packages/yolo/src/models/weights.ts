// Loading weights: yolov5 .pt training checkpoints (ema, else model), stripped checkpoints,
// plain state_dict .pt files, safetensors, and tsyolo checkpoints; transfer by matching keys.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import {
  collectTensors,
  loadPt,
  loadSafetensors,
  noGrad,
  PyDict,
  PyObject,
  stateDictFromModule,
  type Tensor,
  tidy,
} from '@tsyolo/torch';
import { type CheckpointMeta, readCheckpointMeta, TSYOLO_META_KEY } from './checkpoint.js';
import { loadConfig, type ModelConfig, validateConfig } from './config.js';
import { DetectionModel } from './model.js';

export interface LoadModelOptions {
  /** model config (name or path) for files that do not carry one (plain state dicts, bare safetensors) */
  cfg?: string;
  /** expected class count: a file with another count is refused */
  nc?: number;
  /** prefer the EMA weights when a checkpoint has both (default true, as yolov5) */
  ema?: boolean;
}

export interface LoadedModel {
  model: DetectionModel;
  format: 'yolov5-pt' | 'state-dict-pt' | 'safetensors' | 'tsyolo';
  meta: Partial<CheckpointMeta> & { epoch?: number; bestFitness?: number | null };
}

/** Python values (PyDict, lists) to plain JSON-like JS values. */
export function toPlain(v: unknown): unknown {
  if (v instanceof PyDict) return Object.fromEntries([...v].map(([k, x]) => [String(k), toPlain(x)]));
  if (Array.isArray(v)) return v.map(toPlain);
  return v;
}

function namesFrom(v: unknown, nc: number): string[] {
  const p = toPlain(v);
  if (Array.isArray(p)) return p.map(String);
  if (p && typeof p === 'object')
    return Array.from({ length: nc }, (_, i) => String((p as Record<string, unknown>)[i] ?? `class${i}`));
  return Array.from({ length: nc }, (_, i) => `class${i}`);
}

/** True when the file starts like a zip archive (PyTorch's torch.save format). */
export function isZipFile(path: string): boolean {
  return isZip(readHead(path, 4));
}

function isZip(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x50 && b[1] === 0x4b;
}

/** The first bytes of a file (fewer when it is shorter). */
function readHead(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(n);
    return b.subarray(0, readSync(fd, b, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/** safetensors: an 8-byte little-endian header length (at most 100 MB) and then the JSON header's '{'. */
function isSafetensors(b: Buffer): boolean {
  return b.length >= 9 && b[8] === 0x7b && b.readBigUInt64LE(0) <= 100_000_000n;
}

/** What a file that is neither a zip nor safetensors looks like, for the error message. */
export function describeHead(b: Buffer, size: number): string {
  if (size === 0) return 'it is empty (0 bytes): the download or the save did not complete';
  const text = b.toString('latin1');
  if (text.startsWith('version https://git-lfs'))
    return 'it is a Git LFS pointer, not the file itself: fetch it with `git lfs pull` (or download the weights directly)';
  if (/^\s*<(!doctype|html|\?xml)/i.test(text))
    return 'it is an HTML/XML page: the download probably failed (an error or login page was saved instead)';
  if (/^\s*[[{]/.test(text)) return `it is JSON text (starts with ${JSON.stringify(text.slice(0, 24))})`;
  if (b[0] === 0x80 && b[1] >= 2 && b[1] <= 5)
    return 'it is a legacy (pre-zip) PyTorch pickle: re-save it with torch.save(ckpt, path) in PyTorch 1.6 or newer';
  if (/^[\x20-\x7e\t\r\n]+$/.test(text)) return `it starts with the text ${JSON.stringify(text.slice(0, 24))}`;
  return `it starts with the bytes ${[...b.subarray(0, 12)].map((x) => x.toString(16).padStart(2, '0')).join(' ')}`;
}

/** How to open a weights file: 'zip' (torch.save) or 'safetensors'; anything else is refused, saying what it is. */
export function weightsKind(path: string): 'zip' | 'safetensors' {
  let size: number;
  let head: Buffer;
  try {
    const st = statSync(path);
    if (st.isDirectory())
      throw new Error(`${path} is a folder: give a weights file (e.g. runs/train/exp/weights/best.safetensors)`);
    size = st.size;
    head = readHead(path, 64);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new Error(
        `${path}: no such weights file (a .pt, .safetensors or tsyolo checkpoint; trained weights are in runs/train/exp*/weights/)`,
      );
    if (code) throw Object.assign(new Error(`${path}: cannot read weights: ${(e as Error).message}`), { code, path });
    throw e;
  }
  if (isZip(head)) return 'zip';
  if (isSafetensors(head)) return 'safetensors';
  throw new Error(
    `${path} is not a PyTorch checkpoint (zip) nor a safetensors file: ${describeHead(head, size)}. Give a yolov5 .pt checkpoint, a tsyolo checkpoint (.safetensors) or a safetensors/.pt state dict with --cfg`,
  );
}

function freeAll(value: unknown): void {
  for (const t of collectTensors(value)) t.dispose();
}

function build(
  cfg: ModelConfig,
  sd: Map<string, Tensor>,
  path: string,
  names: string[] | undefined,
  opts: LoadModelOptions,
): DetectionModel {
  if (opts.nc !== undefined && opts.nc !== cfg.nc) {
    throw new Error(
      `${path}: the weights are for nc=${cfg.nc} classes, but nc=${opts.nc} was asked for (use transfer learning to change the class count)`,
    );
  }
  const model = new DetectionModel(cfg);
  try {
    const own = model.stateDict();
    const missing = [...own.keys()].filter((k) => !sd.has(k));
    const unexpected = [...sd.keys()].filter((k) => !own.has(k));
    if (missing.length || unexpected.length) {
      throw new Error(
        `${path}: the weights do not fit the ${cfg.yaml_file ?? 'model'} architecture (${missing.length} missing, e.g. ${missing.slice(0, 3).join(', ') || '-'}; ${unexpected.length} unexpected, e.g. ${unexpected.slice(0, 3).join(', ') || '-'})`,
      );
    }
    for (const [k, t] of own) {
      const s = sd.get(k)!;
      if (s.shape.join() !== t.shape.join())
        throw new Error(
          `${path}: '${k}' has shape [${s.shape}], the ${cfg.yaml_file ?? 'model'} architecture with nc=${cfg.nc} expects [${t.shape}]`,
        );
    }
    model.loadStateDict(sd);
  } catch (e) {
    model.dispose();
    throw e;
  }
  model.detect.resetGrids();
  if (names) model.names = names;
  return model;
}

function fromYolov5Pt(path: string, opts: LoadModelOptions): LoadedModel {
  const ck = loadPt(path);
  try {
    if (
      ck instanceof PyDict &&
      !(ck.get('model') instanceof PyObject) &&
      [...ck.values()].every((v) => typeof v === 'object' && v !== null && 'shape' in v)
    ) {
      if (!opts.cfg)
        throw new Error(
          `${path}: a plain state_dict holds no model config; pass cfg, the config it was trained with (--cfg yolov5s.yaml for tsyolo val, detect, export and prune; cfg in the API)`,
        );
      const cfg = loadConfig(opts.cfg);
      const sd = new Map([...ck].map(([k, v]) => [String(k), v as Tensor]));
      return { model: build(cfg, floatSd(sd), path, undefined, opts), format: 'state-dict-pt', meta: {} };
    }
    if (!(ck instanceof PyDict)) throw new Error(`${path}: not a yolov5 checkpoint (top level is not a dict)`);
    const useEma = opts.ema ?? true;
    const ema = ck.get('ema');
    const obj = useEma && ema instanceof PyObject ? ema : ck.get('model');
    if (!(obj instanceof PyObject)) throw new Error(`${path}: no 'model' (or 'ema') module in the checkpoint`);
    const yaml = toPlain(obj.attr('yaml'));
    if (!yaml) throw new Error(`${path}: the model object has no 'yaml' config attribute`);
    const cfg = validateConfig(yaml, `${path} (model.yaml)`);
    const sd = floatSd(stateDictFromModule(obj));
    const bf = toPlain(ck.get('best_fitness'));
    const bestFitness =
      typeof bf === 'number'
        ? bf
        : bf && typeof bf === 'object' && 'data' in bf
          ? Number((bf as { data: ArrayLike<number> }).data[0])
          : null;
    const model = build(cfg, sd, path, namesFrom(obj.attr('names'), cfg.nc), opts);
    return { model, format: 'yolov5-pt', meta: { epoch: Number(ck.get('epoch') ?? -1), bestFitness } };
  } finally {
    freeAll(ck);
  }
}

/** fp16 (or any float) → fp32; integer buffers stay. Frees the inputs it replaces. */
function floatSd(sd: Map<string, Tensor>): Map<string, Tensor> {
  return noGrad(() => {
    const out = new Map<string, Tensor>();
    for (const [k, t] of sd) {
      if (t.dtype === 'float16' || t.dtype === 'bfloat16' || t.dtype === 'float64') {
        out.set(k, t.float());
        t.dispose();
      } else out.set(k, t);
    }
    return out;
  });
}

function fromSafetensors(path: string, opts: LoadModelOptions): LoadedModel {
  const st = loadSafetensors(path);
  try {
    const tsy = st.metadata[TSYOLO_META_KEY];
    if (tsy) {
      const meta = readCheckpointMeta(tsy, path);
      const prefix = (opts.ema ?? true) && [...st.tensors.keys()].some((k) => k.startsWith('ema.')) ? 'ema.' : 'model.';
      const sd = new Map(
        [...st.tensors].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]),
      );
      const cfg = validateConfig(meta.cfg, `${path} (metadata cfg)`);
      return { model: build(cfg, floatSd(sd), path, meta.names, opts), format: 'tsyolo', meta };
    }
    let cfg: ModelConfig;
    if (st.metadata.yaml) cfg = validateConfig(JSON.parse(st.metadata.yaml), `${path} (metadata yaml)`);
    else if (opts.cfg) cfg = loadConfig(opts.cfg);
    else
      throw new Error(
        `${path}: this safetensors file carries no model config; pass cfg, the config it was trained with (--cfg yolov5s.yaml for tsyolo val, detect, export and prune; cfg in the API)`,
      );
    const names = st.metadata.names ? namesFrom(JSON.parse(st.metadata.names), cfg.nc) : undefined;
    return { model: build(cfg, floatSd(st.tensors), path, names, opts), format: 'safetensors', meta: {} };
  } finally {
    for (const t of st.tensors.values()) t.dispose();
  }
}

/** Loads a model from any supported weights file, ready for eval() and fuse(). */
export function loadModelFile(path: string, opts: LoadModelOptions = {}): LoadedModel {
  const zip = weightsKind(path) === 'zip';
  // every temporary (loaded tensors, fp32 copies) is freed here; the model's own tensors are kept
  return tidy(() => (zip ? fromYolov5Pt(path, opts) : fromSafetensors(path, opts)));
}

/** yolov5's loadModel(path) returning the model alone. */
export function loadModel(path: string, opts: LoadModelOptions = {}): DetectionModel {
  return loadModelFile(path, opts).model;
}

/**
 * Transfer learning: copies every tensor whose name and shape match (e.g. all but the
 * Detect convolutions when the class count changes). Returns how many of how many were transferred.
 */
export function transferWeights(
  model: DetectionModel,
  sd: ReadonlyMap<string, Tensor>,
  exclude: string[] = [],
): { transferred: number; total: number } {
  const own = model.stateDict();
  const fit = new Map<string, Tensor>();
  for (const [k, t] of sd) {
    const o = own.get(k);
    if (o && !exclude.some((e) => k.includes(e)) && o.shape.join() === t.shape.join()) fit.set(k, t);
  }
  model.loadStateDict(fit, false);
  return { transferred: fit.size, total: own.size };
}
