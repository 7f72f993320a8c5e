// tsyolo val: val.py's flags — P, R, mAP50, mAP50-95 (per class with --verbose) and the speed line;
// --save-txt/--save-conf labels, --save-json COCO results (evaluated with cocoEval when the dataset has
// COCO ground truth), --augment (TTA), several --weights (an ensemble), --task speed. An .onnx file runs on
// ONNX Runtime; a fixed-shape one sets the image size and batch (square letterbox, as yolov5's val.py
// does for exported models), a dynamic one runs like the PyTorch model (rectangular batches).
import { ConfusionMatrix } from '../metrics/ap.js';
import { labelsToBoxes, plotConfusionMatrix, plotImages, plotMcCurve, plotPrCurve, predsToBoxes } from '../plots/index.js';
import { Command } from 'commander';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { fromTypedArray, tidy, writeFileAtomic } from '@tsyolo/torch';
import { loadDataConfig, type DataConfig } from '../data/config.js';
import { loadHyp } from '../data/hyp.js';
import { createDataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import { loadModel } from '../models/weights.js';
import type { DetectionModel } from '../models/model.js';
import { validate, type ValBatch, type ValModel, type ValResult } from '../engine/validator.js';
import { isOnnxFile, OnnxModel } from '../detect/onnx-model.js';
import { checkImgSize, incrementPath } from '../engine/paths.js';
import { scaleBoxes, xyxy2xywh } from '../boxes/convert.js';
import { cocoEval, type CocoDetection } from '../metrics/coco.js';
import { Ensemble } from '../detect/ensemble.js';
import { emitJson } from './output.js';
import { formatG, pyRound } from '../util/python.js';

export { formatG, pyRound };
import { requireCpu } from '../distributed/devices.js';
import { imgSize, nonNegativeInt, positiveInt, unitFloat } from './parse.js';

/** yolov5 COCO image ids: int(stem) when the stem is numeric, else the stem. */
export function cocoImageId(path: string): number | string {
  const stem = basename(path, extname(path));
  return /^\d+$/.test(stem) ? Number(stem) : stem;
}

/** The dataset's COCO ground-truth json: data.yaml `coco_json` (relative to the dataset root), else annotations/instances_val.json. */
export function findCocoJson(data: DataConfig): string | null {
  let doc: unknown = null;
  try {
    doc = parseYaml(readFileSync(data.file, 'utf8'));
  } catch {
    doc = null;
  }
  const key = doc && typeof doc === 'object' ? (doc as Record<string, unknown>).coco_json : undefined;
  if (typeof key === 'string' && key) {
    const p = isAbsolute(key) ? key : resolve(data.root, key);
    if (!existsSync(p)) throw new Error(`${data.file}: coco_json ${p} not found`);
    return p;
  }
  const p = join(data.root, 'annotations', 'instances_val.json');
  return existsSync(p) ? p : null;
}

function formatRow(name: string, seen: number, instances: number, vals: number[]): string {
  return `${name.padStart(22)}${String(seen).padStart(11)}${String(instances).padStart(11)}${vals.map((x) => x.toFixed(3).padStart(11)).join('')}`;
}

export function valCommand(): Command {
  return new Command('val')
    .description('validate a model on a dataset (yolov5 val.py)')
    .requiredOption('--data <yaml>', 'dataset data.yaml')
    .requiredOption('--weights <files...>', 'model weights (several: an ensemble)')
    .option('--batch-size <n>', 'batch size', positiveInt, 32)
    .option('--imgsz, --img <px>', 'inference size', imgSize, 640)
    .option('--conf-thres <t>', 'confidence threshold', unitFloat, 0.001)
    .option('--iou-thres <t>', 'NMS IoU threshold', unitFloat, 0.6)
    .option('--max-det <n>', 'maximum detections per image', positiveInt, 300)
    .option('--cfg <yaml>', 'model config, for weights files that do not carry one (plain state dicts, bare safetensors)')
    .option('--task <task>', 'train, val, test or speed', 'val')
    .option('--device <d>', 'cpu, or cuda device ids (0 or 0,1)', '')
    .option('--workers <n>', 'max dataloader workers', nonNegativeInt, 2)
    .option('--single-cls', 'treat as single-class dataset')
    .option('--augment', 'augmented inference (TTA)')
    .option('--half', 'FP16 half-precision inference (CUDA only: ignored on the CPU)')
    .option('--verbose', 'report mAP by class')
    .option('--save-txt', 'save results to labels/*.txt')
    .option('--save-conf', 'save confidences in --save-txt labels')
    .option('--save-json', 'save a COCO-JSON results file (and evaluate it when the dataset has COCO ground truth)')
    .option('--noplots', 'save no plots (curves, confusion matrix, batch images)')
    .option('--project <dir>', 'save to project/name', 'runs/val')
    .option('--name <name>', 'save to project/name', 'exp')
    .option('--exist-ok', 'existing project/name ok, do not increment')
    .option('--threads <n>', 'ONNX Runtime threads for .onnx weights (default: TSYOLO_ORT_THREADS, TSYOLO_NUM_THREADS or every core)', positiveInt)
    .option('--json', 'print a JSON summary as the last line')
    .action(async (o: Record<string, unknown>) => {
      const t0 = performance.now();
      if (o.half) console.error('--half is ignored on the CPU (FP16 inference needs a CUDA device)'); // val.py: half &= device.type != 'cpu'
      requireCpu(o.device as string, 'val');
      let task = o.task as string;
      if (!['train', 'val', 'test', 'speed'].includes(task)) throw new Error(`--task ${task}: expected train, val, test or speed`);
      let confThres = o.confThres as number;
      let iouThres = o.iouThres as number;
      let saveJson = !!o.saveJson;
      if (task === 'speed') {
        // val.py --task speed: a timing run on the val split at detect.py's thresholds, no JSON
        [confThres, iouThres, saveJson] = [0.25, 0.45, false];
        task = 'val';
      }
      const data = loadDataConfig(o.data as string);
      const weights = o.weights as string[];
      const onnxFiles = weights.filter(isOnnxFile);
      if (onnxFiles.length && weights.length > 1) throw new Error(`${onnxFiles.join(', ')}: an ONNX model cannot be part of an ensemble (ensembles run PyTorch/safetensors weights); pass one .onnx file alone`);
      const onnx = onnxFiles.length ? await OnnxModel.load(weights[0], { threads: o.threads as number | undefined }) : null;
      const models: DetectionModel[] = [];
      try {
        if (!onnx) for (const w of weights) models.push(loadModel(w, { cfg: o.cfg as string | undefined }).fuse().eval().channelsLast());
      } catch (e) {
        for (const m of models) m.dispose();
        throw e;
      }
      const model: ValModel = onnx ?? (models.length === 1 ? models[0] : new Ensemble(models));
      if (models.length > 1) console.log(`Ensemble created with ${weights.join(', ')}`);
      const names = onnx ? onnx.names : models[0].names;
      try {
        const gs = onnx ? Math.max(onnx.stride, 32) : Math.max(Math.max(...models.flatMap((m) => m.stride)), 32);
        let imgsz = checkImgSize(o.img as number, gs, 0, console.log);
        let batchSize = o.batchSize as number;
        let rect = true;
        if (onnx) {
          const dims = [onnx.batch ?? 'batch', 3, ...(onnx.shape ?? ['height', 'width'])].join(',');
          console.log(`ONNX Runtime: ${weights[0]} (input [${dims}]${onnx.half ? ' float16' : ''}, ${onnx.nc} classes, stride ${onnx.stride}, ${onnx.threads} thread${onnx.threads > 1 ? 's' : ''})`);
          if (o.augment) throw new Error(`--augment: test-time augmentation needs PyTorch weights; ${weights[0]} is an ONNX model`);
          if (onnx.shape) {
            if (onnx.shape[0] !== onnx.shape[1]) throw new Error(`${weights[0]}: the fixed input ${onnx.shape.join('x')} is not square; val letterboxes to squares (export a square --imgsz, or with --dynamic)`);
            if (imgsz !== onnx.shape[0]) console.log(`Forcing --imgsz ${onnx.shape[0]}: ${weights[0]} has a fixed input size`);
            imgsz = onnx.shape[0];
            rect = false;
          }
          if (onnx.batch !== null && onnx.batch !== batchSize) {
            console.log(`Forcing --batch-size ${onnx.batch} square inference (${onnx.batch},3,${imgsz},${imgsz}) for a fixed-shape ONNX model`);
            batchSize = onnx.batch;
          }
        }
        const sources = task === 'test' ? data.test : task === 'train' ? data.train : data.val;
        if (!sources?.length) throw new Error(`${o.data as string}: no '${task}' split`);
        if (!o.singleCls && model.nc !== data.nc) throw new Error(`${weights.join(', ')} has ${model.nc} classes, ${o.data as string} has ${data.nc}`);
        const saveDir = incrementPath(o.project as string, o.name as string, !!o.existOk);
        const labelsDir = join(saveDir, 'labels');
        if (o.saveTxt) mkdirSync(labelsDir, { recursive: true });

        const jdict: (CocoDetection | (Omit<CocoDetection, 'image_id'> & { image_id: string }))[] = [];
        const imageIds: (number | string)[] = [];
        const plots = !o.noplots;
        const cm = new ConfusionMatrix(model.nc);
        const pending: Promise<void>[] = [];
        const onBatch = (b: ValBatch): void => {
          const [bs, , h, w] = b.images.shape;
          if (plots) plotValBatch(b, bs, h, w, names, saveDir, cm, pending);
          b.preds.forEach((p, si) => {
            const path = b.paths[si];
            imageIds.push(cocoImageId(path));
            if (!p.shape[0] || (!o.saveTxt && !saveJson)) return;
            const [h0, w0] = b.shapes[si];
            tidy(() => {
              const boxes = scaleBoxes([h, w], p.index(':', ':4'), [h0, w0], b.ratioPads[si]); // original-image xyxy
              const xywh = xyxy2xywh(boxes);
              const conf = p.index(':', 4).toArray();
              const cls = p.index(':', 5).toArray();
              if (o.saveTxt) {
                const n = xywh.clone();
                [w0, h0, w0, h0].forEach((v, i) => n.index(':', i).div_(v));
                const v = n.toArray();
                const lines = conf.map((c, i) => {
                  const row = [cls[i], v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3], ...(o.saveConf ? [c] : [])];
                  return row.map(formatG).join(' ');
                });
                writeFileAtomic(join(labelsDir, `${basename(path, extname(path))}.txt`), Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
              }
              if (saveJson) {
                const bb = xywh.clone();
                bb.index(':', ':2').sub_(xywh.index(':', '2:4').div(2)); // xy centre → top-left
                const v = bb.toArray();
                const id = cocoImageId(path);
                conf.forEach((c, i) => {
                  jdict.push({ image_id: id as number, category_id: cls[i], bbox: [0, 1, 2, 3].map((k) => pyRound(v[4 * i + k], 3)), score: pyRound(c, 5) });
                });
              }
            });
          });
        };

        const ds = await createDataset(sources, { imgsz, augment: false, hyp: loadHyp('hyp.scratch-low.yaml'), seed: 0, stride: gs, batchSize, nc: data.nc, rect, pad: 0.5, singleCls: !!o.singleCls, log: console.log, prefix: `${task}: ` });
        const loader = new DataLoader(ds.spec, { batchSize, workers: o.workers as number, shuffle: false, seed: 0 });
        let r: ValResult;
        try {
          r = await validate(model, loader, { confThres, iouThres, maxDet: o.maxDet as number, singleCls: !!o.singleCls, augment: !!o.augment, onBatch });
        } finally {
          await loader.close();
        }
        await Promise.all(pending);
        if (plots) await plotValCurves(r, cm, names, saveDir);
        const instances = r.nt.reduce((a, b) => a + b, 0);
        console.log(`${'Class'.padStart(22)}${'Images'.padStart(11)}${'Instances'.padStart(11)}${'P'.padStart(11)}${'R'.padStart(11)}${'mAP50'.padStart(11)}${'mAP50-95'.padStart(11)}`);
        console.log(formatRow('all', r.seen, instances, [r.mp, r.mr, r.map50, r.map]));
        if (!instances) console.log(`WARNING: no labels found in ${task} set, can not compute metrics without labels`);
        const perClass: Record<string, { p: number; r: number; map50: number; map: number; instances: number }> = {};
        if (r.ap) {
          r.ap.apClass.forEach((c, i) => {
            const name = names[c] ?? String(c);
            perClass[name] = { p: r.ap!.p[i], r: r.ap!.r[i], map50: r.ap!.ap50[i], map: r.ap!.apMean[i], instances: r.nt[c] };
            if (o.verbose) console.log(formatRow(name, r.seen, r.nt[c], [r.ap!.p[i], r.ap!.r[i], r.ap!.ap50[i], r.ap!.apMean[i]]));
          });
        }
        console.log(`Speed: ${r.speed.pre.toFixed(1)}ms pre-process, ${r.speed.inference.toFixed(1)}ms inference, ${r.speed.nms.toFixed(1)}ms NMS per image at shape (${batchSize}, 3, ${imgsz}, ${imgsz})`);

        let predictionsJson: string | null = null;
        let coco: { annotations: string; stats: number[] } | null = null;
        let cocoError: string | null = null;
        if (saveJson) {
          const stem = basename(weights[0], extname(weights[0]));
          predictionsJson = join(saveDir, `${stem}_predictions.json`);
          writeFileAtomic(predictionsJson, Buffer.from(JSON.stringify(jdict), 'utf8'));
          const anno = findCocoJson(data);
          if (anno) {
            console.log(`\nEvaluating COCO mAP... saving ${predictionsJson}...`);
            try {
              const bad = imageIds.filter((id) => typeof id !== 'number');
              if (bad.length) throw new Error(`image file names must be numeric COCO image ids (e.g. ${String(bad[0])})`);
              const res = cocoEval(anno, predictionsJson, { imgIds: imageIds as number[] });
              console.log(res.summary);
              coco = { annotations: anno, stats: res.stats };
            } catch (e) {
              cocoError = (e as Error).message;
              console.log(`cocoEval unable to run: ${cocoError}`);
            }
          }
        }
        const nLabels = o.saveTxt ? readdirSync(labelsDir).filter((f) => f.endsWith('.txt')).length : 0;
        console.log(`Results saved to ${saveDir}${o.saveTxt ? `\n${nLabels} labels saved to ${labelsDir}` : ''}`);
        if (o.json) {
          emitJson({
            command: 'val',
            task: o.task,
            weights,
            saveDir,
            images: r.seen,
            instances,
            precision: r.mp,
            recall: r.mr,
            mAP50: r.map50,
            mAP50_95: r.map,
            perClass,
            speedMs: r.speed,
            labels: o.saveTxt ? labelsDir : null,
            predictionsJson,
            coco,
            cocoError,
            seconds: (performance.now() - t0) / 1000,
          });
        }
      } finally {
        model.dispose();
      }
    });
}

/** Confusion-matrix counts and the first three batches' label/prediction mosaics (yolov5's val plots). */
function plotValBatch(b: ValBatch, bs: number, h: number, w: number, names: string[], saveDir: string, cm: ConfusionMatrix, pending: Promise<void>[]): void {
  const t = b.targets.toArray();
  tidy(() => {
    b.preds.forEach((p, si) => {
      const rows: number[] = [];
      for (let r = 0; r < t.length / 6; r++) {
        if (t[r * 6] !== si) continue;
        const [, c, x, y, bw, bh] = t.slice(r * 6, r * 6 + 6);
        rows.push(c, x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2);
      }
      const labels = fromTypedArray(Float32Array.from(rows), [rows.length / 5, 5]);
      cm.processBatch(p.shape[0] ? p : null, p.shape[0] ? labels : labels.index(':', 0));
    });
  });
  if (b.batchIndex >= 3) return;
  const images = b.images.toTypedArray() as Uint8Array;
  const norm = Float32Array.from(t, (v, i) => (i % 6 === 2 || i % 6 === 4 ? v / w : i % 6 === 3 || i % 6 === 5 ? v / h : v));
  const preds = b.preds.map((p) => p.toArray());
  const paths = [...b.paths];
  pending.push(plotImages(images, bs, h, w, labelsToBoxes(norm, bs, h, w), paths, names, join(saveDir, `val_batch${b.batchIndex}_labels.jpg`)));
  pending.push(plotImages(images, bs, h, w, predsToBoxes(preds), paths, names, join(saveDir, `val_batch${b.batchIndex}_pred.jpg`)));
}

async function plotValCurves(r: ValResult, cm: ConfusionMatrix, names: string[], saveDir: string): Promise<void> {
  await plotConfusionMatrix(cm.normalized(), names, join(saveDir, 'confusion_matrix.png'));
  const ap = r.ap;
  if (!ap) return;
  const cls = Array.from(ap.apClass, (c) => names[c] ?? String(c));
  await plotPrCurve(ap.px, ap.py, ap.ap50, cls, join(saveDir, 'PR_curve.png'));
  await plotMcCurve(ap.px, ap.f1Curve, cls, join(saveDir, 'F1_curve.png'), 'F1');
  await plotMcCurve(ap.px, ap.pCurve, cls, join(saveDir, 'P_curve.png'), 'Precision');
  await plotMcCurve(ap.px, ap.rCurve, cls, join(saveDir, 'R_curve.png'), 'Recall');
}
