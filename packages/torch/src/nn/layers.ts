// Parameter-free layers: activations, pooling, resampling, identity.
import * as F from '../functional.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return x.silu();
  }
}
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }
}
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}
export class Hardswish extends Module {
  forward(x: Tensor): Tensor {
    return x.hardswish();
  }
}
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: number,
    readonly stride: number = kernelSize,
    readonly padding = 0,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding });
  }
}
export class Upsample extends Module {
  constructor(
    readonly cfg: {
      size?: [number, number];
      scaleFactor?: number;
      mode?: 'nearest' | 'bilinear';
      alignCorners?: boolean;
    },
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.interpolate(x, this.cfg);
  }
}
