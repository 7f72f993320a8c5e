// ONNX export: the model's layers are walked in yolov5 order (each layer reads the previous output or
// the saved ones named by 'from', as DetectionModel.forwardOnce) and every module is written as ONNX
// nodes with its weights as initializers. Conv+BatchNorm pairs are folded exactly as Conv.fuse() folds
// them (the model itself is not changed), SiLU is Sigmoid·x, and the Detect decode is written out with
// grids baked for the export size (or, with dynamic height/width, computed in the graph).
import { nn, noGrad, type Tensor, tidy } from '@tsyolo/torch';
import { Conv } from '../models/layers/conv.js';
import { Bottleneck, BottleneckCSP, C3 } from '../models/layers/csp.js';
import { Detect } from '../models/layers/detect.js';
import { Concat, Focus, SPP, SPPF, ZeroPad2d } from '../models/layers/pooling.js';
import type { DetectionModel } from '../models/model.js';
import { type DimMsg, encodeModel, type ModelMsg } from '../onnx/proto.js';
import { checkOnnx, irVersionFor, MAX_OPSET, MIN_OPSET, type OnnxCheckReport } from './check.js';
import { type AttrValue, GraphBuilder, INT64_MAX } from './graph.js';

export interface OnnxExportOptions {
  /** input size [h, w] (or one side for a square); multiples of the model's largest stride. Default 640. */
  imgsz?: number | [number, number];
  /** batch size of the input (the nominal one when the batch is dynamic). Default 1. */
  batch?: number;
  /** ONNX opset, 12..17. Default 12 (yolov5's). */
  opset?: number;
  /**
   * Dynamic axes. true: batch, height and width (grids computed in the graph from the feature map
   * shapes); 'batch': the batch only (grids baked for imgsz). Default false: every dimension fixed.
   */
  dynamic?: boolean | 'batch';
  /** float16 initializers, input and output (for GPU runtimes). Default false. */
  half?: boolean;
  /** skip the structural check of the result (checkOnnx); default false */
  noCheck?: boolean;
}

/** Resolved options, as written into the file. */
export interface OnnxExportInfo {
  imgsz: [number, number];
  batch: number;
  opset: number;
  irVersion: number;
  dynamic: false | 'batch' | 'all';
  half: boolean;
  /** output shape at the nominal batch and size: [batch, anchors, 5 + nc] */
  outputShape: [number, number, number];
  inputName: string;
  outputName: string;
  metadata: Record<string, string>;
}

/** A symbolic activation: its ONNX value name and its NCHW shape at the nominal export size. */
interface Val {
  name: string;
  c: number;
  h: number;
  w: number;
}

type AnyLayer = nn.Module & { forward(x: never): unknown };

/** Python's repr() of a str (yolov5 writes names as str(dict)). */
export function pyRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === q) out += `\\${q}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return q + out + q;
}

/** {0: 'person', 1: 'bicycle'}: the names metadata as yolov5 writes it. */
export function namesDictString(names: readonly string[]): string {
  return `{${names.map((n, i) => `${i}: ${pyRepr(n)}`).join(', ')}}`;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);
const outSize = (n: number, k: number, s: number, p: number, d = 1): number =>
  Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;

class Tracer {
  constructor(
    readonly g: GraphBuilder,
    readonly opset: number,
    readonly dynamicHW: boolean,
  ) {}

  /** Conv2d node; weight and bias given (fused) or taken from the module. */
  conv2d(x: Val, conv: nn.Conv2d, path: string, wb?: { w: Tensor; b: Tensor | null }): Val {
    const [kh, kw] = conv.kernelSize;
    const [sh, sw] = pair(conv.stride);
    const [ph, pw] = pair(conv.padding);
    const [dh, dw] = pair(conv.dilation);
    if (x.c !== conv.inChannels)
      throw new Error(`${path}: conv expects ${conv.inChannels} channels, the traced input has ${x.c}`);
    const w = this.g.tensorInit(`${path}.weight`, wb?.w ?? conv.weight);
    const bias = wb ? wb.b : conv.bias;
    const inputs = [x.name, w];
    if (bias) inputs.push(this.g.tensorInit(`${path}.bias`, bias));
    const y = this.g.op(
      'Conv',
      inputs,
      { dilations: [dh, dw], group: conv.groups, kernel_shape: [kh, kw], pads: [ph, pw, ph, pw], strides: [sh, sw] },
      `/${path.replace(/\./g, '/')}`,
    );
    return { name: y, c: conv.outChannels, h: outSize(x.h, kh, sh, ph, dh), w: outSize(x.w, kw, sw, pw, dw) };
  }

  activation(x: Val, act: nn.Module, path: string): Val {
    const scope = `/${path.replace(/\./g, '/')}`;
    const g = this.g;
    if (act instanceof nn.Identity) return x;
    if (act instanceof nn.SiLU)
      return { ...x, name: g.op('Mul', [x.name, g.op('Sigmoid', [x.name], {}, scope)], {}, scope) };
    if (act instanceof nn.Sigmoid) return { ...x, name: g.op('Sigmoid', [x.name], {}, scope) };
    if (act instanceof nn.ReLU) return { ...x, name: g.op('Relu', [x.name], {}, scope) };
    if (act instanceof nn.LeakyReLU)
      return { ...x, name: g.op('LeakyRelu', [x.name], { alpha: { float: act.negativeSlope } }, scope) };
    if (act instanceof nn.Hardswish) {
      if (this.opset >= 14) return { ...x, name: g.op('HardSwish', [x.name], {}, scope) };
      return {
        ...x,
        name: g.op(
          'Mul',
          [x.name, g.op('HardSigmoid', [x.name], { alpha: { float: 1 / 6 }, beta: { float: 0.5 } }, scope)],
          {},
          scope,
        ),
      };
    }
    throw new Error(`${path}: activation ${act.constructor.name} cannot be exported`);
  }

  /** yolov5 Conv: convolution (BatchNorm folded in, as Conv.fuse()) and activation. */
  convBlock(x: Val, m: Conv, path: string): Val {
    let y: Val;
    if (m.bn) {
      const bn = m.bn;
      // the same tensor operations as fuseConvBn, so the weights equal a fused model's bit for bit
      const wb = noGrad(() =>
        tidy(() => {
          const gamma = bn.weight!;
          const scale = gamma.div(bn.runningVar!.add(bn.eps).sqrt());
          const w = m.conv.weight.mul(scale.view(-1, 1, 1, 1));
          let b = bn.bias!.sub(gamma.mul(bn.runningMean!).div(bn.runningVar!.add(bn.eps).sqrt()));
          if (m.conv.bias) b = b.add(m.conv.bias.mul(scale));
          return { w, b };
        }),
      );
      try {
        y = this.conv2d(x, m.conv, `${path}.conv`, wb);
      } finally {
        wb.w.dispose();
        wb.b.dispose();
      }
    } else y = this.conv2d(x, m.conv, `${path}.conv`);
    return this.activation(y, m.act, `${path}.act`);
  }

  batchNorm(x: Val, bn: nn.BatchNorm2d, path: string): Val {
    const g = this.g;
    if (!bn.runningMean || !bn.runningVar)
      throw new Error(`${path}: BatchNorm2d without running statistics cannot be exported`);
    const n = bn.numFeatures;
    const scale = bn.weight
      ? g.tensorInit(`${path}.weight`, bn.weight)
      : g.floatInit(`${path}.weight`, new Float32Array(n).fill(1), [n]);
    const bias = bn.bias
      ? g.tensorInit(`${path}.bias`, bn.bias)
      : g.floatInit(`${path}.bias`, new Float32Array(n), [n]);
    const mean = g.tensorInit(`${path}.running_mean`, bn.runningMean);
    const vr = g.tensorInit(`${path}.running_var`, bn.runningVar);
    return {
      ...x,
      name: g.op(
        'BatchNormalization',
        [x.name, scale, bias, mean, vr],
        { epsilon: { float: bn.eps } },
        `/${path.replace(/\./g, '/')}`,
      ),
    };
  }

  concat(xs: Val[], dim: number, path: string): Val {
    const ax = dim < 0 ? dim + 4 : dim;
    const first = xs[0];
    for (const v of xs) {
      for (const d of [0, 1, 2, 3]) {
        if (d === ax) continue;
        const a = [0, first.c, first.h, first.w][d];
        const b = [0, v.c, v.h, v.w][d];
        if (d && a !== b)
          throw new Error(
            `${path}: cannot concatenate ${first.c}x${first.h}x${first.w} with ${v.c}x${v.h}x${v.w} on dim ${dim} (is the image size a multiple of the largest stride?)`,
          );
      }
    }
    const name = this.g.op(
      'Concat',
      xs.map((v) => v.name),
      { axis: dim },
      `/${path.replace(/\./g, '/')}`,
    );
    if (ax === 1) return { name, c: xs.reduce((s, v) => s + v.c, 0), h: first.h, w: first.w };
    if (ax === 2) return { name, c: first.c, h: xs.reduce((s, v) => s + v.h, 0), w: first.w };
    if (ax === 3) return { name, c: first.c, h: first.h, w: xs.reduce((s, v) => s + v.w, 0) };
    return { name, c: first.c, h: first.h, w: first.w };
  }

  maxPool(x: Val, m: nn.MaxPool2d, path: string): Val {
    const k = m.kernelSize;
    const s = m.stride;
    const p = m.padding;
    const name = this.g.op(
      'MaxPool',
      [x.name],
      { kernel_shape: [k, k], pads: [p, p, p, p], strides: [s, s] },
      `/${path.replace(/\./g, '/')}`,
    );
    return { name, c: x.c, h: outSize(x.h, k, s, p), w: outSize(x.w, k, s, p) };
  }

  upsample(x: Val, m: nn.Upsample, path: string): Val {
    const g = this.g;
    const scope = `/${path.replace(/\./g, '/')}`;
    const mode = m.cfg.mode ?? 'nearest';
    const attrs: Record<string, AttrValue> =
      mode === 'nearest'
        ? { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }
        : {
            mode: 'linear',
            coordinate_transformation_mode: m.cfg.alignCorners ? 'align_corners' : 'pytorch_half_pixel',
          };
    const roi = g.emptyFloat32();
    if (m.cfg.size) {
      if (this.dynamicHW)
        throw new Error(`${path}: an Upsample to a fixed size cannot be exported with dynamic height/width`);
      const [h, w] = m.cfg.size;
      const emptyScales = this.opset >= 13 ? '' : g.float32Init(g.unique(`${scope}/scales`, false), [], [0]);
      // sizes needs the batch: take N, C from the input's shape
      const nc = g.op(
        'Slice',
        [g.op('Shape', [x.name], {}, scope), g.constInt64([0]), g.constInt64([2]), g.constInt64([0])],
        {},
        scope,
      );
      const sizes = g.op('Concat', [nc, g.constInt64([h, w])], { axis: 0 }, scope);
      return { name: g.op('Resize', [x.name, roi, emptyScales, sizes], attrs, scope), c: x.c, h, w };
    }
    const sf = m.cfg.scaleFactor ?? 1;
    const scales = g.float32Init(g.unique(`${scope}/scales`, false), [1, 1, sf, sf], [4]);
    return {
      name: g.op('Resize', [x.name, roi, scales], attrs, scope),
      c: x.c,
      h: Math.floor(x.h * sf),
      w: Math.floor(x.w * sf),
    };
  }

  pad(x: Val, m: ZeroPad2d, path: string): Val {
    const [l, r, t, b] = m.padding.length === 2 ? [m.padding[0], m.padding[0], m.padding[1], m.padding[1]] : m.padding;
    const pads = this.g.constInt64([0, 0, t, l, 0, 0, b, r]);
    const name = this.g.op('Pad', [x.name, pads], { mode: 'constant' }, `/${path.replace(/\./g, '/')}`);
    return { name, c: x.c, h: x.h + t + b, w: x.w + l + r };
  }

  focus(x: Val, m: Focus, path: string): Val {
    const g = this.g;
    const scope = `/${path.replace(/\./g, '/')}`;
    if (!this.dynamicHW && (x.h % 2 || x.w % 2))
      throw new Error(`${path}: Focus needs an even input size, got ${x.h}x${x.w}`);
    const ends = g.constInt64([INT64_MAX, INT64_MAX]);
    const axes = g.constInt64([2, 3]);
    const steps = g.constInt64([2, 2]);
    // x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]
    const parts = [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ].map(([r, c]) => ({
      name: g.op('Slice', [x.name, g.constInt64([r, c]), ends, axes, steps], {}, scope),
      c: x.c,
      h: x.h / 2,
      w: x.w / 2,
    }));
    return this.convBlock(this.concat(parts, 1, `${path}.cat`), m.conv, `${path}.conv`);
  }

  /** Any supported module applied to x. */
  module(x: Val | Val[], m: AnyLayer, path: string): Val {
    if (m instanceof Detect) throw new Error(`${path}: Detect must be the last layer`);
    if (m instanceof Concat) return this.concat(x as Val[], m.dim, path);
    const v = x as Val;
    if (Array.isArray(x)) throw new Error(`${path}: ${m.constructor.name} takes one input, got ${x.length}`);
    if (m instanceof Conv) return this.convBlock(v, m, path);
    if (m instanceof Bottleneck) {
      const y = this.convBlock(this.convBlock(v, m.cv1, `${path}.cv1`), m.cv2, `${path}.cv2`);
      return m.add ? { ...y, name: this.g.op('Add', [v.name, y.name], {}, `/${path.replace(/\./g, '/')}`) } : y;
    }
    if (m instanceof C3) {
      const a = this.sequential(this.convBlock(v, m.cv1, `${path}.cv1`), m.m, `${path}.m`);
      const b = this.convBlock(v, m.cv2, `${path}.cv2`);
      return this.convBlock(this.concat([a, b], 1, path), m.cv3, `${path}.cv3`);
    }
    if (m instanceof BottleneckCSP) {
      const y1 = this.conv2d(
        this.sequential(this.convBlock(v, m.cv1, `${path}.cv1`), m.m, `${path}.m`),
        m.cv3,
        `${path}.cv3`,
      );
      const y2 = this.conv2d(v, m.cv2, `${path}.cv2`);
      const z = this.activation(
        this.batchNorm(this.concat([y1, y2], 1, path), m.bn, `${path}.bn`),
        m.act,
        `${path}.act`,
      );
      return this.convBlock(z, m.cv4, `${path}.cv4`);
    }
    if (m instanceof SPP) {
      const y = this.convBlock(v, m.cv1, `${path}.cv1`);
      const pools = [...m.m].map((p, k) => this.maxPool(y, p, `${path}.m.${k}`));
      return this.convBlock(this.concat([y, ...pools], 1, path), m.cv2, `${path}.cv2`);
    }
    if (m instanceof SPPF) {
      const a = this.convBlock(v, m.cv1, `${path}.cv1`);
      const b = this.maxPool(a, m.m, `${path}.m`);
      const c = this.maxPool(b, m.m, `${path}.m`);
      const d = this.maxPool(c, m.m, `${path}.m`);
      return this.convBlock(this.concat([a, b, c, d], 1, path), m.cv2, `${path}.cv2`);
    }
    if (m instanceof Focus) return this.focus(v, m, path);
    if (m instanceof ZeroPad2d) return this.pad(v, m, path);
    if (m instanceof nn.Sequential) return this.sequential(v, m, path);
    if (m instanceof nn.Upsample) return this.upsample(v, m, path);
    if (m instanceof nn.MaxPool2d) return this.maxPool(v, m, path);
    if (m instanceof nn.BatchNorm2d) return this.batchNorm(v, m, path);
    if (m instanceof nn.Conv2d) return this.conv2d(v, m, path);
    if (
      m instanceof nn.Identity ||
      m instanceof nn.SiLU ||
      m instanceof nn.ReLU ||
      m instanceof nn.LeakyReLU ||
      m instanceof nn.Sigmoid ||
      m instanceof nn.Hardswish
    ) {
      return this.activation(v, m, path);
    }
    throw new Error(`${path}: ${m.constructor.name} cannot be exported to ONNX`);
  }

  sequential(x: Val, s: nn.Sequential, path: string): Val {
    let y = x;
    [...s].forEach((m, k) => (y = this.module(y, m as AnyLayer, `${path}.${k}`)));
    return y;
  }

  /** The grid (1, 1, ny·nx, 2) of cell offsets x − 0.5, y − 0.5, computed from the feature map's shape. */
  dynamicGrid(feat: string, scope: string): string {
    const g = this.g;
    const shape = g.op('Shape', [feat], {}, scope);
    const ny = g.op('Slice', [shape, g.constInt64([2]), g.constInt64([3]), g.constInt64([0])], {}, scope);
    const nx = g.op('Slice', [shape, g.constInt64([3]), g.constInt64([4]), g.constInt64([0])], {}, scope);
    const scalarShape = g.constInt64([]);
    const n = g.op('Reshape', [g.op('Mul', [ny, nx], {}, scope), scalarShape], {}, scope);
    const nxs = g.op('Reshape', [nx, scalarShape], {}, scope);
    const k = g.op('Range', [g.constInt64([0], true), n, g.constInt64([1], true)], {}, scope);
    const col = g.constInt64([-1, 1]);
    const gx = g.op('Reshape', [g.op('Mod', [k, nxs], {}, scope), col], {}, scope);
    const gy = g.op('Reshape', [g.op('Div', [k, nxs], {}, scope), col], {}, scope);
    const xy = g.op('Cast', [g.op('Concat', [gx, gy], { axis: 1 }, scope)], { to: g.floatType }, scope);
    return g.op('Reshape', [g.op('Sub', [xy, g.constFloat(0.5)], {}, scope), g.constInt64([1, 1, -1, 2])], {}, scope);
  }

  /** Detect: per level conv → (bs, na, ny·nx, no) → sigmoid → xy, wh decode → (bs, na·ny·nx, no); levels concatenated. */
  detect(xs: Val[], d: Detect, path: string, output: string): Val {
    const g = this.g;
    if (xs.length !== d.nl) throw new Error(`${path}: Detect has ${d.nl} levels but gets ${xs.length} inputs`);
    const { na, no } = d;
    const levels = xs.map((x, i) => {
      const lp = `${path}.m.${i}`;
      const scope = `/${lp.replace(/\./g, '/')}`;
      const y = this.conv2d(x, d.m.at(i), lp);
      const r = g.op('Reshape', [y.name, g.constInt64([0, na, no, -1])], {}, scope); // (bs, na, no, ny·nx)
      const t = g.op('Transpose', [r], { perm: [0, 1, 3, 2] }, scope); // (bs, na, ny·nx, no)
      const s = g.op('Sigmoid', [t], {}, scope);
      const ax = g.constInt64([3]);
      const xy = g.op('Slice', [s, g.constInt64([0]), g.constInt64([2]), ax], {}, scope);
      const wh = g.op('Slice', [s, g.constInt64([2]), g.constInt64([4]), ax], {}, scope);
      const conf = g.op('Slice', [s, g.constInt64([4]), g.constInt64([INT64_MAX]), ax], {}, scope);
      let grid: string;
      if (this.dynamicHW) grid = this.dynamicGrid(y.name, scope);
      else {
        const data = new Float32Array(y.h * y.w * 2);
        for (let yy = 0, k = 0; yy < y.h; yy++) {
          for (let xx = 0; xx < y.w; xx++, k += 2) {
            data[k] = xx - 0.5;
            data[k + 1] = yy - 0.5;
          }
        }
        grid = g.floatInit(`${path}.grid.${i}`, data, [1, 1, y.h * y.w, 2]);
      }
      // anchor_grid = anchors[i] · stride[i] in pixels, as Detect computes it
      const ag = noGrad(() =>
        tidy(() => d.anchors.index(i).mul(d.stride[i]).contiguous().toTypedArray() as Float32Array),
      );
      const anchorGrid = g.floatInit(`${path}.anchor_grid.${i}`, ag, [1, na, 1, 2]);
      const two = g.constFloat(2);
      // xy = (2σ + grid) · stride   (the grid holds x − 0.5, y − 0.5)
      const xyd = g.op(
        'Mul',
        [g.op('Add', [g.op('Mul', [xy, two], {}, scope), grid], {}, scope), g.constFloat(d.stride[i])],
        {},
        scope,
      );
      // wh = (2σ)² · anchor_grid
      const wh2 = g.op('Mul', [wh, two], {}, scope);
      const whd = g.op('Mul', [g.op('Mul', [wh2, wh2], {}, scope), anchorGrid], {}, scope);
      const cat = g.op('Concat', [xyd, whd, conf], { axis: 3 }, scope);
      return { name: g.op('Reshape', [cat, g.constInt64([0, -1, no])], {}, scope), c: no, h: na * y.h * y.w, w: 1 };
    });
    const name = g.op(
      'Concat',
      levels.map((l) => l.name),
      { axis: 1 },
      `/${path.replace(/\./g, '/')}`,
      output,
    );
    return { name, c: no, h: levels.reduce((s, l) => s + l.h, 0), w: 1 };
  }
}

function resolveImgsz(imgsz: number | [number, number] | undefined): [number, number] {
  if (imgsz === undefined) return [640, 640];
  return typeof imgsz === 'number' ? [imgsz, imgsz] : [imgsz[0], imgsz[1] ?? imgsz[0]];
}

/** The export options resolved and checked (the opset first, then the batch, then the image size). */
interface ResolvedExport {
  opset: number;
  h: number;
  w: number;
  batch: number;
  /** the largest stride: the image size must be a multiple of it */
  gs: number;
  dynamic: OnnxExportInfo['dynamic'];
  half: boolean;
}

function resolveExport(model: DetectionModel, opts: OnnxExportOptions): ResolvedExport {
  const opset = opts.opset ?? 12;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET)
    throw new Error(`ONNX export: opset ${opset} is not supported (${MIN_OPSET}..${MAX_OPSET})`);
  const [h, w] = resolveImgsz(opts.imgsz);
  const batch = opts.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1)
    throw new Error(`ONNX export: batch must be a positive integer, got ${batch}`);
  const gs = Math.max(...model.stride.map((s) => Math.trunc(s)));
  if (!(h > 0 && w > 0) || h % gs || w % gs)
    throw new Error(`ONNX export: image size ${h}x${w} must be a multiple of the largest stride ${gs}`);
  const dynamic = opts.dynamic === true ? 'all' : opts.dynamic === 'batch' ? 'batch' : false;
  return { opset, h, w, batch, gs, dynamic, half: opts.half ?? false };
}

/**
 * Writes every layer into the graph in forward order, each reading the previous output or the saved
 * ones its 'from' names; returns the Detect output (named `outputName`), which must come last.
 */
function traceLayers(model: DetectionModel, tracer: Tracer, input: Val, outputName: string): Val {
  const outs: (Val | Val[] | null)[] = [];
  let y: Val | Val[] = input;
  let result: Val | null = null;
  const n = model.infos.length;
  model.infos.forEach((info, i) => {
    const f = info.f;
    if (f !== -1) {
      const prev = y;
      const pick = (j: number): Val => {
        const v = j === -1 ? prev : outs[j < 0 ? i + j : j];
        if (!v || Array.isArray(v)) throw new Error(`layer ${i}: input ${j} was not saved`);
        return v;
      };
      y = typeof f === 'number' ? pick(f) : f.map(pick);
    }
    const layer = model.layers.at(i) as AnyLayer;
    if (layer instanceof Detect) {
      if (i !== n - 1) throw new Error(`layer ${i}: Detect must be the last layer`);
      result = tracer.detect(Array.isArray(y) ? y : [y], layer, `model.${i}`, outputName);
      y = result;
    } else y = tracer.module(y, layer, `model.${i}`);
    outs.push(model.save.has(i) ? y : null);
  });
  if (!result) throw new Error('ONNX export: the model has no Detect layer');
  return result;
}

/** Input and output shapes as ONNX dims: named where dynamic, fixed numbers elsewhere. */
function ioDims(r: ResolvedExport, ch: number, out: Val): { inDims: DimMsg[]; outDims: DimMsg[] } {
  const { dynamic, batch, h, w } = r;
  const dim = (v: number | string): DimMsg => (typeof v === 'string' ? { dim_param: v } : { dim_value: v });
  const inDims =
    dynamic === 'all'
      ? [dim('batch'), dim(ch), dim('height'), dim('width')]
      : [dim(dynamic ? 'batch' : batch), dim(ch), dim(h), dim(w)];
  const outDims =
    dynamic === 'all'
      ? [dim('batch'), dim('anchors'), dim(out.c)]
      : [dim(dynamic ? 'batch' : batch), dim(out.h), dim(out.c)];
  return { inDims, outDims };
}

/** Traces the model into an ONNX ModelProto message (see exportOnnx). */
export function buildOnnxModel(
  model: DetectionModel,
  opts: OnnxExportOptions = {},
): { message: ModelMsg; info: OnnxExportInfo } {
  const r = resolveExport(model, opts);
  const { opset, h, w, batch, dynamic, half } = r;
  const g = new GraphBuilder(half);
  const tracer = new Tracer(g, opset, dynamic === 'all');
  const inputName = g.reserve('images');
  const outputName = 'output0';
  const out = traceLayers(model, tracer, { name: inputName, c: model.ch, h, w }, outputName);
  const { inDims, outDims } = ioDims(r, model.ch, out);
  const metadata = { stride: String(r.gs), names: namesDictString(model.names) };
  const irVersion = irVersionFor(opset);
  const message: ModelMsg = {
    ir_version: irVersion,
    opset_import: [{ domain: '', version: opset }],
    producer_name: 'tsyolo',
    producer_version: '0.1.0',
    graph: {
      name: 'main_graph',
      node: g.nodes,
      initializer: g.initializers,
      input: [{ name: inputName, type: { tensor_type: { elem_type: g.floatType, shape: { dim: inDims } } } }],
      output: [{ name: outputName, type: { tensor_type: { elem_type: g.floatType, shape: { dim: outDims } } } }],
    },
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  return {
    message,
    info: {
      imgsz: [h, w],
      batch,
      opset,
      irVersion,
      dynamic,
      half,
      outputShape: [batch, out.h, out.c],
      inputName,
      outputName,
      metadata,
    },
  };
}

/** exportOnnx with what was written: the resolved options and the structural check report. */
export function exportOnnxDetailed(
  model: DetectionModel,
  opts: OnnxExportOptions = {},
): { bytes: Uint8Array; info: OnnxExportInfo; check: OnnxCheckReport | null } {
  const { message, info } = buildOnnxModel(model, opts);
  const bytes = encodeModel(message);
  const check = opts.noCheck ? null : checkOnnx(bytes);
  if (check && !check.ok) throw new Error(`ONNX export produced an invalid graph:\n  ${check.errors.join('\n  ')}`);
  return { bytes, info, check };
}

/**
 * The model as an ONNX file (bytes): input `images` (batch×3×H×W, float32, or float16 with half),
 * output `output0` (batch × anchors × (5+nc)): xywh in input pixels, objectness, class scores, the same
 * as the model's eval forward. BatchNorm is folded into the convolutions as fuse() does (the model is
 * not modified; its training flag is irrelevant: the export is always the eval graph). Metadata
 * `stride` and `names` as yolov5 writes them. The result passes checkOnnx() (an invalid graph throws).
 */
export function exportOnnx(model: DetectionModel, opts: OnnxExportOptions = {}): Uint8Array {
  return exportOnnxDetailed(model, opts).bytes;
}
