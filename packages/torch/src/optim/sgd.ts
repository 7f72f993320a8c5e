// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD).
import { foreachAdd, foreachAdd_, foreachMul_ } from '../foreach.js';
import { Tensor } from '../tensor.js';
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

  /**
   * The same update for the whole group with _foreach_ ops (bit-identical, a few calls instead of five
   * per parameter), once every parameter has a gradient and a momentum buffer.
   */
  protected override updateGroup(g: SGDGroup): boolean {
    if (g.maximize) return false;
    if (g.params.length === 0) return true;
    const grads: Tensor[] = [];
    for (const p of g.params) {
      const grad = p.grad;
      if (grad === null || (g.momentum !== 0 && !(this.state.get(p)?.momentum_buffer instanceof Tensor))) return false;
      grads.push(grad);
    }
    let d = g.weight_decay !== 0 ? foreachAdd(grads, g.params, g.weight_decay) : grads;
    if (g.momentum !== 0) {
      const bufs = g.params.map((p) => this.state.get(p)?.momentum_buffer as Tensor);
      foreachMul_(bufs, g.momentum);
      foreachAdd_(bufs, d, 1 - g.dampening);
      d = g.nesterov ? foreachAdd(d, bufs, g.momentum) : bufs;
    }
    foreachAdd_(g.params, d, -g.lr);
    return true;
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
