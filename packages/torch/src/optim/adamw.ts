// AdamW: Adam with decoupled weight decay, p *= 1 - lr * weight_decay before the step (torch.optim.AdamW).
import type { Tensor } from '../tensor.js';
import { Adam, type AdamGroup, type AdamOptions } from './adam.js';
import type { ParamGroupInput } from './optimizer.js';

export class AdamW extends Adam {
  protected override get decoupled(): boolean {
    return true;
  }
  /** Defaults as torch: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2. */
  constructor(params: Tensor[] | ParamGroupInput<AdamGroup>[], opts: AdamOptions = {}) {
    super(params, { weight_decay: 1e-2, ...opts });
  }
}
