// tsyolo val: val.py's flags — P, R, mAP50, mAP50-95 (per class with --verbose) and the speed line;
// --save-txt/--save-conf labels, --save-json COCO results (evaluated with cocoEval when the dataset has
// COCO ground truth), --augment (TTA), several --weights (an ensemble), --task speed. The run itself is
// runVal (engine/val/run.ts); an .onnx file runs on ONNX Runtime.
import { Command } from '@commander-js/extra-typings';
import type { Command as CommanderCommand } from 'commander';
import { requireCpu } from '../distributed/devices.js';
import { checkValTask, type RunValResult, runVal, type ValMetrics } from '../engine/val/run.js';
import { asCommand } from './command.js';
import { emitJson } from './output.js';
import { imgSize, nonNegativeInt, positiveInt, unitFloat } from './parse.js';

export { cocoImageId, findCocoJson } from '../engine/val/coco.js';
export { formatG, pyRound } from '../util/python.js';

/** val's flags; the action receives them typed (ValFlags). */
function declareVal() {
  return new Command('val')
    .description('validate a model on a dataset (yolov5 val.py)')
    .requiredOption('--data <yaml>', 'dataset data.yaml')
    .requiredOption('--weights <files...>', 'model weights (several: an ensemble)')
    .option('--batch-size <n>', 'batch size', positiveInt, 32)
    .option('--imgsz, --img <px>', 'inference size', imgSize, 640)
    .option('--conf-thres <t>', 'confidence threshold', unitFloat, 0.001)
    .option('--iou-thres <t>', 'NMS IoU threshold', unitFloat, 0.6)
    .option('--max-det <n>', 'maximum detections per image', positiveInt, 300)
    .option(
      '--cfg <yaml>',
      'model config, for weights files that do not carry one (plain state dicts, bare safetensors)',
    )
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
    .option(
      '--threads <n>',
      'ONNX Runtime threads for .onnx weights (default: TSYOLO_ORT_THREADS, TSYOLO_NUM_THREADS or every core)',
      positiveInt,
    )
    .option('--json', 'print a JSON summary as the last line');
}

type ValFlags = ReturnType<ReturnType<typeof declareVal>['opts']>;

export function valCommand(): CommanderCommand {
  return asCommand(declareVal().action(valAction));
}

async function valAction(o: ValFlags): Promise<void> {
  const t0 = performance.now();
  if (o.half) console.error('--half is ignored on the CPU (FP16 inference needs a CUDA device)'); // val.py: half &= device.type != 'cpu'
  requireCpu(o.device, 'val');
  const r = await runVal({
    data: o.data,
    weights: o.weights,
    batchSize: o.batchSize,
    imgsz: o.img,
    confThres: o.confThres,
    iouThres: o.iouThres,
    maxDet: o.maxDet,
    cfg: o.cfg,
    task: checkValTask(o.task),
    device: o.device,
    workers: o.workers,
    singleCls: o.singleCls,
    augment: o.augment,
    saveTxt: o.saveTxt,
    saveConf: o.saveConf,
    saveJson: o.saveJson,
    plots: !o.noplots,
    project: o.project,
    name: o.name,
    existOk: o.existOk,
    threads: o.threads,
    onMetrics: (m) => printMetrics(m, !!o.verbose),
  });
  console.log(`Results saved to ${r.saveDir}${r.labelsDir ? `\n${r.labels} labels saved to ${r.labelsDir}` : ''}`);
  if (o.json) emitJson(valSummary(r, (performance.now() - t0) / 1000));
}

function formatRow(name: string, seen: number, instances: number, vals: number[]): string {
  return `${name.padStart(22)}${String(seen).padStart(11)}${String(instances).padStart(11)}${vals.map((x) => x.toFixed(3).padStart(11)).join('')}`;
}

/** val.py's table (all classes, each class with --verbose) and speed line. */
function printMetrics(m: ValMetrics, verbose: boolean): void {
  const r = m.result;
  console.log(
    `${'Class'.padStart(22)}${'Images'.padStart(11)}${'Instances'.padStart(11)}${'P'.padStart(11)}${'R'.padStart(11)}${'mAP50'.padStart(11)}${'mAP50-95'.padStart(11)}`,
  );
  console.log(formatRow('all', r.seen, m.instances, [r.mp, r.mr, r.map50, r.map]));
  if (!m.instances) console.log(`WARNING: no labels found in ${m.split} set, can not compute metrics without labels`);
  if (verbose)
    for (const c of m.classes) console.log(formatRow(c.name, r.seen, c.instances, [c.p, c.r, c.map50, c.map]));
  console.log(
    `Speed: ${r.speed.pre.toFixed(1)}ms pre-process, ${r.speed.inference.toFixed(1)}ms inference, ${r.speed.nms.toFixed(1)}ms NMS per image at shape (${m.batchSize}, 3, ${m.imgsz}, ${m.imgsz})`,
  );
}

/** The --json summary line. */
function valSummary(r: RunValResult, seconds: number): object {
  const perClass: Record<string, { p: number; r: number; map50: number; map: number; instances: number }> = {};
  for (const c of r.classes) perClass[c.name] = { p: c.p, r: c.r, map50: c.map50, map: c.map, instances: c.instances };
  const m = r.result;
  return {
    command: 'val',
    task: r.task,
    weights: r.weights,
    saveDir: r.saveDir,
    images: m.seen,
    instances: r.instances,
    precision: m.mp,
    recall: m.mr,
    mAP50: m.map50,
    mAP50_95: m.map,
    perClass,
    speedMs: m.speed,
    labels: r.labelsDir,
    predictionsJson: r.predictionsJson,
    coco: r.coco && { annotations: r.coco.annotations, stats: r.coco.stats },
    cocoError: r.cocoError,
    seconds,
  };
}
