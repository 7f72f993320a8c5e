// tsyolo info --cfg yolov5s.yaml [--nc N] [--imgsz 640] | --weights W

import { basename } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import type { Command as CommanderCommand } from 'commander';
import { buildModel } from '../models/factory.js';
import { formatSummary } from '../models/info.js';
import { inspectWeights } from '../models/inspect.js';
import { asCommand } from './command.js';
import { emitJson } from './output.js';
import { imgSize, positiveInt } from './parse.js';

export interface InfoOptions {
  cfg?: string;
  weights?: string;
  nc?: number;
  /** image size for GFLOPs (--imgsz, --img) */
  imgsz: number;
  json?: boolean;
}

export function infoCommand(): CommanderCommand {
  const cmd = new Command('info')
    .description('model summary from a config (layers, parameters, GFLOPs), or what a weights file holds')
    .option('--cfg <yaml>', 'model config: a shipped name (yolov5s.yaml) or a path')
    .option('--weights <file>', 'weights file (.pt, .safetensors, tsyolo checkpoint)')
    .option('--nc <n>', 'number of classes (overrides the config)', positiveInt)
    .option('--img, --imgsz <px>', 'image size for GFLOPs', imgSize, 640)
    .option('--json', 'print a JSON summary as the last line')
    .action((o) => runInfo(o));
  return asCommand(cmd);
}

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

export function runInfo(o: InfoOptions): void {
  const t0 = performance.now();
  if (o.weights) {
    const w = inspectWeights(o.weights);
    const lines = [
      `${w.path}: ${w.format}, ${mb(w.bytes)}`,
      `  epoch ${w.epoch ?? '-'}, best fitness ${w.bestFitness ?? '-'}`,
      `  precision ${w.precision}, ${w.tensors} tensors, ${w.parameters.toLocaleString('en-US')} values`,
      `  optimizer state: ${w.hasOptimizer ? 'yes' : 'no'}, EMA: ${w.hasEma ? 'yes' : 'no'}${w.date ? `, date ${w.date}` : ''}`,
      `  ${w.nc ?? '?'} classes: ${w.names.slice(0, 10).join(', ')}${w.names.length > 10 ? `, … (${w.names.length - 10} more)` : ''}`,
    ];
    if (w.hasOptimizer || w.hasEma)
      lines.push(`  (training checkpoint: strip it for deployment; optimizer and EMA are not needed to run it)`);
    console.log(lines.join('\n'));
    if (o.json) emitJson({ command: 'info', ...w, seconds: (performance.now() - t0) / 1000 });
    return;
  }
  const cfg = o.cfg ?? 'yolov5s.yaml';
  const model = buildModel(cfg, { nc: o.nc });
  const s = model.info(o.imgsz);
  console.log(formatSummary(s, basename(cfg).replace(/\.ya?ml$/, '')));
  if (o.json)
    emitJson({
      command: 'info',
      cfg,
      nc: model.nc,
      imgsz: o.imgsz,
      layers: s.layers,
      parameters: s.parameters,
      gradients: s.gradients,
      gflops: +s.gflops.toFixed(3),
      stride: model.stride,
      seconds: (performance.now() - t0) / 1000,
    });
  model.dispose();
}
