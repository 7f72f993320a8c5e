// A whole val.py run: weights (one .onnx file on ONNX Runtime, or PyTorch weights, several forming an
// ensemble) validated on a dataset split, with yolov5's outputs: plots, --save-txt labels, --save-json
// COCO results evaluated with cocoEval when the dataset has COCO ground truth. A fixed-shape ONNX model
// sets the image size and batch (square letterbox, as val.py does for exported models); a dynamic one
// runs like the PyTorch model (rectangular batches).

import { mkdirSync, readdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { writeFileAtomic } from '@tsyolo/torch';
import { type DataConfig, loadDataConfig } from '../../data/config.js';
import { createDataset } from '../../data/dataset.js';
import { loadHyp } from '../../data/hyp.js';
import { DataLoader } from '../../data/loader.js';
import { Ensemble } from '../../detect/ensemble.js';
import { OnnxModel } from '../../detect/onnx-model.js';
import { loadPredictor } from '../../detect/predictor.js';
import { requireCpu } from '../../distributed/devices.js';
import { ConfusionMatrix } from '../../metrics/ap.js';
import { cocoEval } from '../../metrics/coco.js';
import { checkImgSize, incrementPath } from '../paths.js';
import { type ValModel, type ValResult, validate } from '../validator.js';
import { findCocoJson } from './coco.js';
import { SavedPredictions } from './outputs.js';
import { plotValBatch, plotValCurves } from './plots.js';

/** val.py's tasks: a dataset split, or `speed` (a timing run on the val split at detect.py's thresholds, no JSON). */
export type ValTask = 'train' | 'val' | 'test' | 'speed';
export const VAL_TASKS: readonly ValTask[] = ['train', 'val', 'test', 'speed'];

export function isValTask(task: string): task is ValTask {
  return VAL_TASKS.some((t) => t === task);
}

/** The task, checked: an unknown one is an error naming the choices. */
export function checkValTask(task: string): ValTask {
  if (!isValTask(task)) throw new Error(`--task ${task}: expected train, val, test or speed`);
  return task;
}

export interface RunValOptions {
  /** the dataset's data.yaml */
  data: string;
  /** weights files (several: an ensemble), or one .onnx file */
  weights: string | string[];
  /** default 32 */
  batchSize?: number;
  /** inference size, rounded up to a multiple of the stride (default 640) */
  imgsz?: number;
  /** default 0.001 */
  confThres?: number;
  /** default 0.6 */
  iouThres?: number;
  /** default 300 */
  maxDet?: number;
  /** model config for weights files that do not carry one */
  cfg?: string;
  /** default 'val' */
  task?: ValTask;
  /** cpu (the default '') only for now */
  device?: string;
  /** dataloader workers (default 2) */
  workers?: number;
  singleCls?: boolean;
  /** test-time augmentation (PyTorch weights only) */
  augment?: boolean;
  /** labels/*.txt per image */
  saveTxt?: boolean;
  /** confidences in the --save-txt labels */
  saveConf?: boolean;
  /** <weights>_predictions.json (COCO results), evaluated when the dataset has COCO ground truth */
  saveJson?: boolean;
  /** curves, confusion matrix, batch mosaics (default true) */
  plots?: boolean;
  /** results go to project/name (default runs/val, exp; incremented unless existOk) */
  project?: string;
  name?: string;
  existOk?: boolean;
  /** ONNX Runtime threads for .onnx weights */
  threads?: number;
  /** progress lines (default console.log): dataset scan, ensemble and ONNX notes, the COCO evaluation */
  log?: (line: string) => void;
  /** called with the metrics once validation is done, before the COCO evaluation (the CLI prints its table there) */
  onMetrics?: (m: ValMetrics) => void;
}

/** One class's metrics (classes with labels or predictions, in AP order). */
export interface ValClassMetrics {
  cls: number;
  name: string;
  p: number;
  r: number;
  map50: number;
  map: number;
  instances: number;
}

export interface ValMetrics {
  /** the split validated ('speed' runs on 'val') */
  split: 'train' | 'val' | 'test';
  /** the batch shape the speed is measured at: (batchSize, 3, imgsz, imgsz) */
  batchSize: number;
  imgsz: number;
  /** the validator's result: P, R, mAP50, mAP50-95, per class AP, speed per image */
  result: ValResult;
  /** labels in the split */
  instances: number;
  classes: ValClassMetrics[];
}

export interface RunValResult extends ValMetrics {
  /** the task asked for */
  task: ValTask;
  weights: string[];
  saveDir: string;
  /** the --save-txt folder, or null */
  labelsDir: string | null;
  /** label files in labelsDir */
  labels: number;
  /** the COCO results file (saveJson), or null */
  predictionsJson: string | null;
  /** cocoEval's stats and summary, when it ran */
  coco: { annotations: string; stats: number[]; summary: string } | null;
  /** why cocoEval could not run (e.g. non-numeric image names) */
  cocoError: string | null;
}

/** Validates weights on a dataset split (yolov5's val.py run()). */
export async function runVal(o: RunValOptions): Promise<RunValResult> {
  const log = o.log ?? ((s: string) => console.log(s));
  requireCpu(o.device ?? '', 'val');
  const task = checkValTask(o.task ?? 'val');
  const speed = task === 'speed'; // val.py --task speed: detect.py's thresholds, no JSON
  const split = task === 'speed' ? 'val' : task;
  const saveJson = !speed && !!o.saveJson;
  const data = loadDataConfig(o.data);
  const weights = Array.isArray(o.weights) ? o.weights : [o.weights];
  if (!weights.length) throw new Error('val: no weights');
  const m = await loadValModel(weights, o, log);
  try {
    const shape = inputShape(
      m,
      weights[0],
      checkImgSize(o.imgsz ?? 640, m.gs, 0, log),
      o.batchSize ?? 32,
      !!o.augment,
      log,
    );
    const sources = split === 'test' ? data.test : split === 'train' ? data.train : data.val;
    if (!sources?.length) throw new Error(`${o.data}: no '${split}' split`);
    if (!o.singleCls && m.model.nc !== data.nc)
      throw new Error(`${weights.join(', ')} has ${m.model.nc} classes, ${o.data} has ${data.nc}`);
    const saveDir = incrementPath(o.project ?? 'runs/val', o.name ?? 'exp', !!o.existOk);
    const labelsDir = o.saveTxt ? join(saveDir, 'labels') : null;
    if (labelsDir) mkdirSync(labelsDir, { recursive: true });
    const saved = new SavedPredictions({ labelsDir, saveConf: !!o.saveConf, saveJson });
    const valOpts = {
      confThres: speed ? 0.25 : (o.confThres ?? 0.001),
      iouThres: speed ? 0.45 : (o.iouThres ?? 0.6),
      maxDet: o.maxDet ?? 300,
      singleCls: !!o.singleCls,
      augment: !!o.augment,
    };
    const run = { sources, data, split, workers: o.workers ?? 2, plots: o.plots ?? true, saveDir, log, ...shape };
    const result = await validateSplit(m, run, valOpts, saved);
    const metrics: ValMetrics = {
      split,
      batchSize: shape.batchSize,
      imgsz: shape.imgsz,
      result,
      instances: result.nt.reduce((a, b) => a + b, 0),
      classes: classMetrics(result, m.names),
    };
    o.onMetrics?.(metrics);
    const coco = saveJson
      ? evaluateCoco(saved, data, join(saveDir, `${basename(weights[0], extname(weights[0]))}_predictions.json`), log)
      : null;
    const labels = labelsDir ? readdirSync(labelsDir).filter((f) => f.endsWith('.txt')).length : 0;
    return {
      ...metrics,
      task,
      weights,
      saveDir,
      labelsDir,
      labels,
      predictionsJson: coco?.predictionsJson ?? null,
      coco: coco?.coco ?? null,
      cocoError: coco?.cocoError ?? null,
    };
  } finally {
    m.model.dispose();
  }
}

interface ValModelInfo {
  model: ValModel;
  onnx: OnnxModel | null;
  names: string[];
  /** the grid size: the largest stride, at least 32 */
  gs: number;
}

/** The model val runs: the ONNX model, the one PyTorch model, or an ensemble of them (fused, channels-last). */
async function loadValModel(weights: string[], o: RunValOptions, log: (s: string) => void): Promise<ValModelInfo> {
  const p = await loadPredictor(weights, { cfg: o.cfg, threads: o.threads });
  if (p instanceof OnnxModel) return { model: p, onnx: p, names: p.names, gs: Math.max(p.stride, 32) };
  try {
    for (const m of p) m.fuse().eval().channelsLast();
  } catch (e) {
    for (const m of p) m.dispose();
    throw e;
  }
  if (p.length > 1) log(`Ensemble created with ${weights.join(', ')}`);
  return {
    model: p.length === 1 ? p[0] : new Ensemble(p),
    onnx: null,
    names: p[0].names,
    gs: Math.max(Math.max(...p.flatMap((m) => m.stride)), 32),
  };
}

/** The image size, batch and rectangular batching: a fixed-shape ONNX model forces its own (square) input. */
function inputShape(
  m: ValModelInfo,
  file: string,
  imgsz: number,
  batchSize: number,
  augment: boolean,
  log: (s: string) => void,
): { imgsz: number; batchSize: number; rect: boolean } {
  const onnx = m.onnx;
  if (!onnx) return { imgsz, batchSize, rect: true };
  const dims = [onnx.batch ?? 'batch', 3, ...(onnx.shape ?? ['height', 'width'])].join(',');
  log(
    `ONNX Runtime: ${file} (input [${dims}]${onnx.half ? ' float16' : ''}, ${onnx.nc} classes, stride ${onnx.stride}, ${onnx.threads} thread${onnx.threads > 1 ? 's' : ''})`,
  );
  if (augment) throw new Error(`--augment: test-time augmentation needs PyTorch weights; ${file} is an ONNX model`);
  let rect = true;
  if (onnx.shape) {
    if (onnx.shape[0] !== onnx.shape[1])
      throw new Error(
        `${file}: the fixed input ${onnx.shape.join('x')} is not square; val letterboxes to squares (export a square --imgsz, or with --dynamic)`,
      );
    if (imgsz !== onnx.shape[0]) log(`Forcing --imgsz ${onnx.shape[0]}: ${file} has a fixed input size`);
    imgsz = onnx.shape[0];
    rect = false;
  }
  if (onnx.batch !== null && onnx.batch !== batchSize) {
    log(
      `Forcing --batch-size ${onnx.batch} square inference (${onnx.batch},3,${imgsz},${imgsz}) for a fixed-shape ONNX model`,
    );
    batchSize = onnx.batch;
  }
  return { imgsz, batchSize, rect };
}

interface SplitRun {
  sources: string[];
  data: DataConfig;
  split: string;
  imgsz: number;
  batchSize: number;
  rect: boolean;
  workers: number;
  plots: boolean;
  saveDir: string;
  log: (s: string) => void;
}

/** One validation pass over the split, saving predictions and (with plots) the batch mosaics, then the curves. */
async function validateSplit(
  m: ValModelInfo,
  s: SplitRun,
  valOpts: { confThres: number; iouThres: number; maxDet: number; singleCls: boolean; augment: boolean },
  saved: SavedPredictions,
): Promise<ValResult> {
  const cm = new ConfusionMatrix(m.model.nc);
  const pending: Promise<void>[] = [];
  const ds = await createDataset(s.sources, {
    imgsz: s.imgsz,
    augment: false,
    hyp: loadHyp('hyp.scratch-low.yaml'),
    seed: 0,
    stride: m.gs,
    batchSize: s.batchSize,
    nc: s.data.nc,
    rect: s.rect,
    pad: 0.5,
    singleCls: valOpts.singleCls,
    log: s.log,
    prefix: `${s.split}: `,
  });
  const loader = new DataLoader(ds.spec, { batchSize: s.batchSize, workers: s.workers, shuffle: false, seed: 0 });
  let r: ValResult;
  try {
    r = await validate(m.model, loader, {
      ...valOpts,
      onBatch: (b) => {
        if (s.plots) plotValBatch(b, m.names, s.saveDir, cm, pending);
        saved.add(b);
      },
    });
  } finally {
    await loader.close();
  }
  await Promise.all(pending);
  if (s.plots) await plotValCurves(r, cm, m.names, s.saveDir);
  return r;
}

/** Per class metrics in AP order (a class without a name is named by its index). */
function classMetrics(r: ValResult, names: string[]): ValClassMetrics[] {
  const ap = r.ap;
  if (!ap) return [];
  return Array.from(ap.apClass, (c, i) => ({
    cls: c,
    name: names[c] ?? String(c),
    p: ap.p[i],
    r: ap.r[i],
    map50: ap.ap50[i],
    map: ap.apMean[i],
    instances: r.nt[c],
  }));
}

/** Writes the COCO results file and, when the dataset has COCO ground truth, evaluates it (val.py's pycocotools step). */
function evaluateCoco(
  saved: SavedPredictions,
  data: DataConfig,
  predictionsJson: string,
  log: (s: string) => void,
): Pick<RunValResult, 'predictionsJson' | 'coco' | 'cocoError'> {
  writeFileAtomic(predictionsJson, Buffer.from(JSON.stringify(saved.detections), 'utf8'));
  const anno = findCocoJson(data);
  if (!anno) return { predictionsJson, coco: null, cocoError: null };
  log(`\nEvaluating COCO mAP... saving ${predictionsJson}...`);
  try {
    const ids = saved.imageIds.filter((id): id is number => typeof id === 'number');
    const bad = saved.imageIds.find((id) => typeof id !== 'number');
    if (bad !== undefined) throw new Error(`image file names must be numeric COCO image ids (e.g. ${String(bad)})`);
    const res = cocoEval(anno, predictionsJson, { imgIds: ids });
    log(res.summary);
    return { predictionsJson, coco: { annotations: anno, stats: res.stats, summary: res.summary }, cocoError: null };
  } catch (e) {
    const cocoError = e instanceof Error ? e.message : String(e);
    log(`cocoEval unable to run: ${cocoError}`);
    return { predictionsJson, coco: null, cocoError };
  }
}
