// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD).
import type { Tensor } from '../tensor.js';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

export interface SGDGroup extends ParamGroup {
  momentum: number;
  dampening: number;
  weight_decay: number;
  nesterov: boolean;
  maximize: boolean;
}
export type SGDOptions = Partial<Omit<SGDGroup, 'params'>>;

export class SGD extends Optimizer<SGDGroup> {
  constructor(params: Tensor[] | ParamGroupInput<SGDGroup>[], opts: SGDOptions = {}) {
    super(params, { lr: 1e-3, momentum: 0, dampening: 0, weight_decay: 0, nesterov: false, maximize: false, ...opts });
  }

  protected override validateGroup(g: SGDGroup): void {
    super.validateGroup(g);
    if (!(g.momentum >= 0)) throw new RangeError(`Invalid momentum value: ${g.momentum}`);
    if (!(g.weight_decay >= 0)) throw new RangeError(`Invalid weight_decay value: ${g.weight_decay}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0))
      throw new RangeError('Nesterov momentum requires a momentum and zero dampening');
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: SGDGroup): void {
    let d = g.maximize ? grad.neg() : grad;
    if (g.weight_decay !== 0) d = d.add(p, g.weight_decay);
    if (g.momentum !== 0) {
      const fresh = s.momentum_buffer === undefined;
      const buf = this.stateTensor(s, 'momentum_buffer', () => d.clone());
      if (!fresh) buf.mul_(g.momentum).add_(d, 1 - g.dampening);
      d = g.nesterov ? d.add(buf, g.momentum) : buf;
    }
    p.add_(d, -g.lr);
  }
}
