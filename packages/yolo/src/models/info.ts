// Model summary as yolov5 prints it: a layer table and totals (layers, parameters,
// gradients, GFLOPs). GFLOPs follow yolov5's convention: multiply-accumulates of the
// convolutions and BatchNorms (thop's counting) on a stride-sized input, ×2, scaled to the image size.
import { nn, noGrad, type Tensor, tidy, zeros } from '@tsyolo/torch';
import { Conv } from './layers/conv.js';
import type { DetectionModel } from './model.js';

export interface ModelSummary {
  layers: number;
  parameters: number;
  gradients: number;
  gflops: number;
  imgsz: number;
  table: { from: string; n: number; params: number; module: string; arguments: string }[];
}

/** Multiply-accumulates of one forward pass at size×size, counted per conv / BN output. */
export function countMacs(model: DetectionModel, size: number): number {
  let macs = 0;
  const conv = nn.Conv2d.prototype.forward;
  const bn = nn.BatchNorm2d.prototype.forward;
  nn.Conv2d.prototype.forward = function (this: nn.Conv2d, x: Tensor): Tensor {
    const y = conv.call(this, x);
    macs += y.numel * (this.inChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1];
    return y;
  };
  nn.BatchNorm2d.prototype.forward = function (this: nn.BatchNorm2d, x: Tensor): Tensor {
    macs += 2 * x.numel * (this.weight ? 2 : 1);
    return bn.call(this, x);
  };
  const training = model.training;
  try {
    model.eval();
    tidy(() => noGrad(() => model.forward(zeros([1, model.ch, size, size]))));
  } finally {
    nn.Conv2d.prototype.forward = conv;
    nn.BatchNorm2d.prototype.forward = bn;
    model.train(training);
  }
  return macs;
}

/**
 * Modules as yolov5 counts them: its Conv layers share one SiLU instance, so every
 * Conv activation counts once in total.
 */
function countLayers(model: DetectionModel): number {
  let n = 0;
  let sharedAct = false;
  const byName = new Map(model.namedModules());
  for (const [name, m] of byName) {
    const parent = byName.get(name.slice(0, name.lastIndexOf('.')));
    if (m instanceof nn.SiLU && name.endsWith('.act') && parent instanceof Conv) sharedAct = true;
    else n++;
  }
  return n + (sharedAct ? 1 : 0);
}

export function summarize(model: DetectionModel, imgsz = 640): ModelSummary {
  const stride = Math.max(Math.max(...model.stride), 32);
  const gflops = ((countMacs(model, stride) * 2) / 1e9) * (imgsz / stride) ** 2;
  const params = model.parameters();
  return {
    layers: countLayers(model),
    parameters: params.reduce((n, p) => n + p.numel, 0),
    gradients: params.filter((p) => p.requiresGrad).reduce((n, p) => n + p.numel, 0),
    gflops,
    imgsz,
    table: model.infos.map((l, i) => ({
      from: JSON.stringify(l.f),
      n: l.n,
      params: model.layers.at(i).numParameters(),
      module: l.type,
      arguments: JSON.stringify(
        l.args.map((a) => (Array.isArray(a) && l.type === 'Detect' ? (a.length > 3 ? `[${a.length} levels]` : a) : a)),
      ),
    })),
  };
}

/** The summary as text (yolov5's layout). */
export function formatSummary(s: ModelSummary, name = 'Model'): string {
  const lines = [
    `${''.padStart(3)}${'from'.padStart(18)}${'n'.padStart(3)}${'params'.padStart(10)}  ${'module'.padEnd(40)}arguments`,
  ];
  s.table.forEach((r, i) =>
    lines.push(
      `${String(i).padStart(3)}${r.from.padStart(18)}${String(r.n).padStart(3)}${r.params.toLocaleString('en-US').padStart(10)}  ${r.module.padEnd(40)}${r.arguments}`,
    ),
  );
  lines.push(
    `${name} summary: ${s.layers} layers, ${s.parameters.toLocaleString('en-US')} parameters, ${s.gradients.toLocaleString('en-US')} gradients, ${s.gflops.toFixed(1)} GFLOPs`,
  );
  return lines.join('\n');
}
