// Neural-network functions (torch.nn.functional): convolution, normalisation,
// pooling, resampling, padding and losses.
import { type Handle, native } from './native.js';
import { opId } from './registry.js';
import { Tensor } from './tensor.js';

const O = {
  conv2d: opId('conv2d'),
  convTranspose2d: opId('conv_transpose2d.input'),
  batchNorm: opId('batch_norm'),
  maxPool2d: opId('max_pool2d'),
  avgPool2d: opId('avg_pool2d'),
  adaptiveAvgPool2d: opId('adaptive_avg_pool2d'),
  upsampleNearest: opId('upsample_nearest2d.vec'),
  upsampleBilinear: opId('upsample_bilinear2d.vec'),
  pad: opId('constant_pad_nd'),
  reflectPad: opId('reflection_pad2d'),
  replicatePad: opId('replication_pad2d'),
  bceLogits: opId('binary_cross_entropy_with_logits'),
  bce: opId('binary_cross_entropy'),
  mse: opId('mse_loss'),
  crossEntropy: opId('cross_entropy_loss'),
  linear: opId('linear'),
  dropout: opId('dropout'),
};

const reductions = { none: 0, mean: 1, sum: 2 } as const;
export type Reduction = keyof typeof reductions;

function h(t: Tensor | null | undefined): Handle | null {
  return t ? t._h : null;
}

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, o: Conv2dOptions = {}): Tensor {
  return new Tensor(
    native.call(
      O.conv2d,
      x._h,
      weight._h,
      h(bias),
      o.stride ?? 1,
      o.padding ?? 0,
      o.dilation ?? 1,
      o.groups ?? 1,
    ) as Handle,
  );
}

export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  o: Conv2dOptions & { outputPadding?: number | [number, number] } = {},
): Tensor {
  return new Tensor(
    native.call(
      O.convTranspose2d,
      x._h,
      weight._h,
      h(bias),
      o.stride ?? 1,
      o.padding ?? 0,
      o.outputPadding ?? 0,
      o.groups ?? 1,
      o.dilation ?? 1,
    ) as Handle,
  );
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/** Batch normalisation; in training mode the running stats are updated in place (unbiased variance). */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  o: BatchNormOptions = {},
): Tensor {
  return new Tensor(
    native.call(
      O.batchNorm,
      x._h,
      h(o.weight),
      h(o.bias),
      h(runningMean),
      h(runningVar),
      o.training ?? false,
      o.momentum ?? 0.1,
      o.eps ?? 1e-5,
      true,
    ) as Handle,
  );
}

export interface Pool2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  ceilMode?: boolean;
}

export function maxPool2d(x: Tensor, kernelSize: number | [number, number], o: Pool2dOptions = {}): Tensor {
  return new Tensor(
    native.call(
      O.maxPool2d,
      x._h,
      kernelSize,
      o.stride ?? kernelSize,
      o.padding ?? 0,
      o.dilation ?? 1,
      o.ceilMode ?? false,
    ) as Handle,
  );
}

export function avgPool2d(x: Tensor, kernelSize: number | [number, number], o: Pool2dOptions = {}): Tensor {
  return new Tensor(
    native.call(O.avgPool2d, x._h, kernelSize, o.stride ?? kernelSize, o.padding ?? 0, o.ceilMode ?? false) as Handle,
  );
}

export function adaptiveAvgPool2d(x: Tensor, size: number | [number, number]): Tensor {
  return new Tensor(native.call(O.adaptiveAvgPool2d, x._h, size) as Handle);
}

export interface InterpolateOptions {
  size?: [number, number];
  scaleFactor?: number | [number, number];
  mode?: 'nearest' | 'bilinear';
  alignCorners?: boolean;
}

/** Resizes NCHW by size or scale factor (nearest or bilinear), like F.interpolate. */
export function interpolate(x: Tensor, o: InterpolateOptions): Tensor {
  const scales =
    o.scaleFactor === undefined
      ? null
      : typeof o.scaleFactor === 'number'
        ? [o.scaleFactor, o.scaleFactor]
        : o.scaleFactor;
  const size = o.size ?? null;
  if (size === null && scales === null) throw new Error('interpolate: give size or scaleFactor');
  if ((o.mode ?? 'nearest') === 'nearest') {
    return new Tensor(native.call(O.upsampleNearest, x._h, size, size ? null : scales) as Handle);
  }
  return new Tensor(
    native.call(O.upsampleBilinear, x._h, size, o.alignCorners ?? false, size ? null : scales) as Handle,
  );
}

/** Pads the last dims: pad = [left, right, top, bottom, ...] as F.pad. */
export function pad(
  x: Tensor,
  padding: number[],
  mode: 'constant' | 'reflect' | 'replicate' = 'constant',
  value = 0,
): Tensor {
  if (mode === 'constant') return new Tensor(native.call(O.pad, x._h, padding, value) as Handle);
  return new Tensor(native.call(mode === 'reflect' ? O.reflectPad : O.replicatePad, x._h, padding) as Handle);
}

export interface BceOptions {
  weight?: Tensor | null;
  posWeight?: Tensor | null;
  reduction?: Reduction;
}

export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, o: BceOptions = {}): Tensor {
  return new Tensor(
    native.call(
      O.bceLogits,
      input._h,
      target._h,
      h(o.weight),
      h(o.posWeight),
      reductions[o.reduction ?? 'mean'],
    ) as Handle,
  );
}

export function binaryCrossEntropy(
  input: Tensor,
  target: Tensor,
  o: { weight?: Tensor | null; reduction?: Reduction } = {},
): Tensor {
  return new Tensor(native.call(O.bce, input._h, target._h, h(o.weight), reductions[o.reduction ?? 'mean']) as Handle);
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return new Tensor(native.call(O.mse, input._h, target._h, reductions[reduction]) as Handle);
}

export function crossEntropy(
  input: Tensor,
  target: Tensor,
  o: { weight?: Tensor | null; reduction?: Reduction; labelSmoothing?: number } = {},
): Tensor {
  return new Tensor(
    native.call(
      O.crossEntropy,
      input._h,
      target._h,
      h(o.weight),
      reductions[o.reduction ?? 'mean'],
      -100,
      o.labelSmoothing ?? 0,
    ) as Handle,
  );
}

export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return new Tensor(native.call(O.linear, x._h, weight._h, h(bias)) as Handle);
}

export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  return new Tensor(native.call(O.dropout, x._h, p, training) as Handle);
}
