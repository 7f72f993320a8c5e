// Conv2d with PyTorch's default initialisation.
import { empty } from '../creation.js';
import { conv2d } from '../functional.js';
import type { Tensor } from '../tensor.js';
import { fans, kaimingUniform_, uniformInit_ } from './init.js';
import { Module } from './module.js';

type Pair = number | [number, number];
export interface Conv2dConfig {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly groups: number;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, cfg: Conv2dConfig = {}) {
    super();
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    this.stride = cfg.stride ?? 1;
    this.padding = cfg.padding ?? 0;
    this.dilation = cfg.dilation ?? 1;
    this.groups = cfg.groups ?? 1;
    if (inChannels % this.groups || outChannels % this.groups)
      throw new Error(`Conv2d: channels ${inChannels}->${outChannels} not divisible by groups ${this.groups}`);
    const w = empty([outChannels, inChannels / this.groups, ...this.kernelSize]);
    kaimingUniform_(w, Math.sqrt(5));
    this.registerParameter('weight', w);
    if (cfg.bias ?? true) {
      const bound = 1 / Math.sqrt(fans(w).fanIn);
      this.registerParameter('bias', uniformInit_(empty([outChannels]), -bound, bound));
    } else {
      this.registerParameter('bias', null);
    }
  }
  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor | null {
    return this.hasParam('bias') ? this.param('bias') : null;
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }
}
