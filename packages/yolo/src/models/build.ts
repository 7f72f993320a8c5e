// From config rows to layers: yolov5's parse_model rules (depth/width scaling,
// channel bookkeeping, argument evaluation), with row-numbered errors.
import { nn, type Tensor } from '@tsyolo/torch';
import type { LayerRow, ModelConfig } from './config.js';
import { Conv, DWConv } from './layers/conv.js';
import { Bottleneck, BottleneckCSP, C3 } from './layers/csp.js';
import { Detect } from './layers/detect.js';
import { Concat, Focus, SPP, SPPF, ZeroPad2d } from './layers/pooling.js';

/** A layer of the model, as yolov5 annotates it: index, inputs, type name, parameter count. */
export interface LayerInfo {
  i: number;
  f: number | number[];
  type: string;
  n: number;
  args: unknown[];
  np: number;
}

export type Layer = nn.Module & { forward(x: never): unknown };

export function makeDivisible(x: number, divisor: number): number {
  return Math.ceil(x / divisor) * divisor;
}

/** yolov5 evaluates string args: 'None', 'nc', 'anchors', 'True'/'False'; other strings stay strings. */
function evalArg(a: unknown, cfg: ModelConfig, anchors: number[][]): unknown {
  if (typeof a !== 'string') return a;
  switch (a) {
    case 'None':
      return null;
    case 'True':
      return true;
    case 'False':
      return false;
    case 'nc':
      return cfg.nc;
    case 'anchors':
      return anchors;
    default:
      return /^-?\d+(\.\d+)?$/.test(a) ? Number(a) : a;
  }
}

const channelModules = new Set(['Conv', 'Bottleneck', 'SPP', 'SPPF', 'DWConv', 'Focus', 'BottleneckCSP', 'C3']);

type Maker = (args: unknown[]) => Layer;
const num = (v: unknown, d?: number): number => (v === undefined || v === null ? (d as number) : (v as number));
const bool = (v: unknown, d: boolean): boolean => (v === undefined ? d : Boolean(v));

const makers: Record<string, Maker> = {
  Conv: (a) =>
    new Conv(
      num(a[0]),
      num(a[1]),
      num(a[2], 1),
      num(a[3], 1),
      (a[4] as number | null | undefined) ?? null,
      num(a[5], 1),
      num(a[6], 1),
      bool(a[7], true),
    ),
  DWConv: (a) => new DWConv(num(a[0]), num(a[1]), num(a[2], 1), num(a[3], 1), num(a[4], 1), bool(a[5], true)),
  Bottleneck: (a) => new Bottleneck(num(a[0]), num(a[1]), bool(a[2], true), num(a[3], 1), num(a[4], 0.5)),
  BottleneckCSP: (a) =>
    new BottleneckCSP(num(a[0]), num(a[1]), num(a[2], 1), bool(a[3], true), num(a[4], 1), num(a[5], 0.5)),
  C3: (a) => new C3(num(a[0]), num(a[1]), num(a[2], 1), bool(a[3], true), num(a[4], 1), num(a[5], 0.5)),
  SPP: (a) => new SPP(num(a[0]), num(a[1]), (a[2] as number[] | undefined) ?? [5, 9, 13]),
  SPPF: (a) => new SPPF(num(a[0]), num(a[1]), num(a[2], 5)),
  Focus: (a) =>
    new Focus(
      num(a[0]),
      num(a[1]),
      num(a[2], 1),
      num(a[3], 1),
      (a[4] as number | null | undefined) ?? null,
      num(a[5], 1),
      bool(a[6], true),
    ),
  Concat: (a) => new Concat(num(a[0], 1)),
  Detect: (a) => new Detect(num(a[0]), a[1] as number[][], a[2] as number[]),
  'nn.Upsample': (a) => {
    const size = a[0] as [number, number] | null | undefined;
    return new nn.Upsample({
      size: size ?? undefined,
      scaleFactor: size ? undefined : num(a[1]),
      mode: ((a[2] as string | undefined) ?? 'nearest') as 'nearest' | 'bilinear',
    });
  },
  'nn.MaxPool2d': (a) => new nn.MaxPool2d(num(a[0]), num(a[1], num(a[0])), num(a[2], 0)),
  'nn.ZeroPad2d': (a) => new ZeroPad2d(a[0] as number | number[]),
  'nn.BatchNorm2d': (a) => new nn.BatchNorm2d(num(a[0])),
  'nn.Identity': () => new nn.Identity(),
};

export function knownModules(): string[] {
  return Object.keys(makers);
}

/**
 * Anchors as per-level pixel pairs. An anchor count k becomes yolov5's placeholders 0, 1, …, 2k−1 on
 * every level: degenerate on purpose, so that AutoAnchor always recomputes them.
 */
export function anchorLevels(cfg: ModelConfig): number[][] {
  if (typeof cfg.anchors !== 'number') return cfg.anchors;
  const nl = cfg.head[cfg.head.length - 1][0];
  const levels = Array.isArray(nl) ? nl.length : 1;
  return Array.from({ length: levels }, () => Array.from({ length: 2 * (cfg.anchors as number) }, (_, i) => i));
}

export interface Built {
  layers: Layer[];
  infos: LayerInfo[];
  save: number[];
  channels: number[];
}

export function buildLayers(cfg: ModelConfig, ch = 3): Built {
  const anchors = anchorLevels(cfg);
  const na = anchors[0].length / 2;
  const no = na * (cfg.nc + 5);
  const gd = cfg.depth_multiple;
  const gw = cfg.width_multiple;
  const rows: LayerRow[] = [...cfg.backbone, ...cfg.head];
  const chs: number[] = [];
  const layers: Layer[] = [];
  const infos: LayerInfo[] = [];
  const save: number[] = [];
  let c2 = ch;
  rows.forEach(([f, n0, mName, rawArgs], i) => {
    const where = `${cfg.yaml_file ?? 'model config'}: layer ${i} (${i < cfg.backbone.length ? 'backbone' : 'head'} row ${i < cfg.backbone.length ? i : i - cfg.backbone.length}, ${mName})`;
    const make = makers[mName];
    if (!make) throw new Error(`${where}: unknown module '${mName}' (known: ${knownModules().join(', ')})`);
    const froms = Array.isArray(f) ? f : [f];
    for (const x of froms) {
      const j = x < 0 ? i + x : x;
      if (x === -1 && i === 0) continue;
      if (j < 0 || j >= i) throw new Error(`${where}: 'from' index ${x} does not name an earlier layer`);
    }
    const chIn = (x: number): number => (x === -1 ? (i === 0 ? ch : chs[i - 1]) : x < 0 ? chs[i + x] : chs[x]);
    let args = rawArgs.map((a) => evalArg(a, cfg, anchors));
    const n = n0 > 1 ? Math.max(Math.round(n0 * gd), 1) : n0;
    let reps = n;
    if (channelModules.has(mName)) {
      const c1 = chIn(froms[0]);
      c2 = args[0] as number;
      if (typeof c2 !== 'number')
        throw new Error(`${where}: first argument must be the output channel count, got ${JSON.stringify(rawArgs[0])}`);
      if (c2 !== no) c2 = makeDivisible(c2 * gw, 8);
      args = [c1, c2, ...args.slice(1)];
      if (mName === 'BottleneckCSP' || mName === 'C3') {
        args.splice(2, 0, n);
        reps = 1;
      }
    } else if (mName === 'nn.BatchNorm2d') {
      c2 = chIn(froms[0]);
      args = [c2];
    } else if (mName === 'Concat') {
      c2 = froms.reduce((s, x) => s + chIn(x), 0);
    } else if (mName === 'Detect') {
      if (args.length < 2 || !Array.isArray(args[1])) throw new Error(`${where}: Detect needs [nc, anchors]`);
      args = [args[0], args[1], froms.map(chIn)];
    } else {
      c2 = chIn(froms[0]);
    }
    let layer: Layer;
    try {
      layer =
        reps > 1
          ? new nn.Sequential(
              ...Array.from({ length: reps }, () => make(args) as Layer & { forward(x: Tensor): Tensor }),
            )
          : make(args);
    } catch (e) {
      throw new Error(`${where}: cannot build with args ${JSON.stringify(args)}: ${(e as Error).message}`);
    }
    const np = layer.numParameters();
    infos.push({ i, f, type: mName, n, args: args.map((a) => (Array.isArray(a) && mName === 'Detect' ? a : a)), np });
    for (const x of froms) if (x !== -1) save.push(((x % i) + i) % i);
    layers.push(layer);
    if (i === 0) chs.length = 0;
    chs.push(c2);
  });
  return { layers, infos, save: [...new Set(save)].sort((a, b) => a - b), channels: chs };
}
