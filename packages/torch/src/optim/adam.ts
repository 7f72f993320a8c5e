// Adam with L2 weight decay and optional AMSGrad (torch.optim.Adam); AdamW reuses it decoupled.

import { zerosLike } from '../creation.js';
import type { Tensor } from '../tensor.js';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

export interface AdamGroup extends ParamGroup {
  betas: [number, number];
  eps: number;
  weight_decay: number;
  amsgrad: boolean;
  maximize: boolean;
}
export type AdamOptions = Partial<Omit<AdamGroup, 'params'>>;

export class Adam extends Optimizer<AdamGroup> {
  /** AdamW: decay the parameter by lr*weight_decay instead of adding weight_decay*p to the gradient. */
  protected get decoupled(): boolean {
    return false;
  }

  constructor(params: Tensor[] | ParamGroupInput<AdamGroup>[], opts: AdamOptions = {}) {
    super(params, {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weight_decay: 0,
      amsgrad: false,
      maximize: false,
      ...opts,
    });
  }

  protected override validateGroup(g: AdamGroup): void {
    super.validateGroup(g);
    if (!(g.eps >= 0)) throw new RangeError(`Invalid epsilon value: ${g.eps}`);
    g.betas.forEach((b, i) => {
      if (!(b >= 0 && b < 1)) throw new RangeError(`Invalid beta parameter at index ${i}: ${b}`);
    });
    if (!(g.weight_decay >= 0)) throw new RangeError(`Invalid weight_decay value: ${g.weight_decay}`);
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: AdamGroup): void {
    const [beta1, beta2] = g.betas;
    const expAvg = this.stateTensor(s, 'exp_avg', () => zerosLike(p));
    const expAvgSq = this.stateTensor(s, 'exp_avg_sq', () => zerosLike(p));
    const step = ((s.step as number | undefined) ?? 0) + 1;
    s.step = step;
    let d = g.maximize ? grad.neg() : grad;
    if (g.weight_decay !== 0) {
      if (this.decoupled) p.mul_(1 - g.lr * g.weight_decay);
      else d = d.add(p, g.weight_decay);
    }
    expAvg.lerp_(d, 1 - beta1);
    expAvgSq.mul_(beta2).addcmul_(d, d, 1 - beta2);
    const stepSize = g.lr / (1 - beta1 ** step);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
    let second = expAvgSq;
    if (g.amsgrad) {
      const maxSq = this.stateTensor(s, 'max_exp_avg_sq', () => zerosLike(p));
      maxSq.copy_(maxSq.maximum(expAvgSq));
      second = maxSq;
    }
    const denom = second.sqrt().div_(bc2Sqrt).add_(g.eps);
    p.addcdiv_(expAvg, denom, -stepSize);
  }
}
