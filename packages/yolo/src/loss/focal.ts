// Binary cross-entropy on logits with a positive-class weight, and the focal-loss wrapper
// yolov5 applies when hyp.fl_gamma > 0 (Lin et al. 2017):
//   loss = BCE(pred, true) · α_t · (1 − p_t)^γ,  p = σ(pred),
//   p_t = true·p + (1 − true)·(1 − p),  α_t = true·α + (1 − true)·(1 − α).
import { F, type Tensor, tensor } from '@tsyolo/torch';

export type Reduction = 'none' | 'mean' | 'sum';

/** A loss of (pred, target) with a settable reduction (torch.nn loss modules' contract). */
export interface LossFunction {
  reduction: Reduction;
  forward(pred: Tensor, target: Tensor): Tensor;
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === 'mean' ? loss.mean() : reduction === 'sum' ? loss.sum() : loss;
}

/** torch.nn.BCEWithLogitsLoss(pos_weight=tensor([posWeight])). Call inside a scope. */
export class BCEWithLogitsLoss implements LossFunction {
  reduction: Reduction;
  /** weight of positive targets; null: none (a weight of exactly 1 still uses the pos_weight formula, as yolov5 does) */
  readonly posWeight: number | null;
  constructor(opts: { posWeight?: number | null; reduction?: Reduction } = {}) {
    this.posWeight = opts.posWeight ?? null;
    this.reduction = opts.reduction ?? 'mean';
  }
  forward(pred: Tensor, target: Tensor): Tensor {
    const pw = this.posWeight === null ? null : tensor([this.posWeight], { dtype: pred.dtype, device: pred.device });
    return F.binaryCrossEntropyWithLogits(pred, target, { posWeight: pw, reduction: this.reduction });
  }
}

/** Focal loss around an elementwise loss (whose reduction it takes over, setting the inner one to 'none'). */
export class FocalLoss implements LossFunction {
  reduction: Reduction;
  readonly lossFcn: LossFunction;
  readonly gamma: number;
  readonly alpha: number;
  constructor(lossFcn: LossFunction, gamma = 1.5, alpha = 0.25) {
    this.lossFcn = lossFcn;
    this.gamma = gamma;
    this.alpha = alpha;
    this.reduction = lossFcn.reduction;
    lossFcn.reduction = 'none';
  }
  forward(pred: Tensor, target: Tensor): Tensor {
    const loss = this.lossFcn.forward(pred, target);
    const p = pred.sigmoid();
    const notTarget = target.rsub(1);
    const pT = target.mul(p).add(notTarget.mul(p.rsub(1)));
    const alphaFactor = target.mul(this.alpha).add(notTarget.mul(1 - this.alpha));
    const modulating = pT.rsub(1).pow(this.gamma);
    return reduce(loss.mul(alphaFactor.mul(modulating)), this.reduction);
  }
}
