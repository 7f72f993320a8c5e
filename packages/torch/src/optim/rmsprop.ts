// RMSprop with weight decay, momentum and the centered variant (torch.optim.RMSprop).

import { zerosLike } from '../creation.js';
import type { Tensor } from '../tensor.js';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

export interface RMSpropGroup extends ParamGroup {
  alpha: number;
  eps: number;
  weight_decay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}
export type RMSpropOptions = Partial<Omit<RMSpropGroup, 'params'>>;

export class RMSprop extends Optimizer<RMSpropGroup> {
  constructor(params: Tensor[] | ParamGroupInput<RMSpropGroup>[], opts: RMSpropOptions = {}) {
    super(params, {
      lr: 1e-2,
      alpha: 0.99,
      eps: 1e-8,
      weight_decay: 0,
      momentum: 0,
      centered: false,
      maximize: false,
      ...opts,
    });
  }

  protected override validateGroup(g: RMSpropGroup): void {
    super.validateGroup(g);
    if (!(g.eps >= 0)) throw new RangeError(`Invalid epsilon value: ${g.eps}`);
    if (!(g.momentum >= 0)) throw new RangeError(`Invalid momentum value: ${g.momentum}`);
    if (!(g.weight_decay >= 0)) throw new RangeError(`Invalid weight_decay value: ${g.weight_decay}`);
    if (!(g.alpha >= 0)) throw new RangeError(`Invalid alpha value: ${g.alpha}`);
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: RMSpropGroup): void {
    const squareAvg = this.stateTensor(s, 'square_avg', () => zerosLike(p));
    s.step = ((s.step as number | undefined) ?? 0) + 1;
    let d = g.maximize ? grad.neg() : grad;
    if (g.weight_decay !== 0) d = d.add(p, g.weight_decay);
    squareAvg.mul_(g.alpha).addcmul_(d, d, 1 - g.alpha);
    let avg: Tensor;
    if (g.centered) {
      const gradAvg = this.stateTensor(s, 'grad_avg', () => zerosLike(p));
      gradAvg.lerp_(d, 1 - g.alpha);
      avg = squareAvg.clone().addcmul_(gradAvg, gradAvg, -1).sqrt_();
    } else {
      avg = squareAvg.sqrt();
    }
    avg.add_(g.eps);
    if (g.momentum > 0) {
      const buf = this.stateTensor(s, 'momentum_buffer', () => zerosLike(p));
      buf.mul_(g.momentum).addcdiv_(d, avg);
      p.add_(buf, -g.lr);
    } else {
      p.addcdiv_(d, avg, -g.lr);
    }
  }
}
