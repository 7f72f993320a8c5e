// Unstructured L1 pruning of every convolution (yolov5's utils/torch_utils.prune, which applies
// torch.nn.utils.prune.l1_unstructured to each nn.Conv2d weight and makes it permanent): per layer,
// the k = round(amount · n) weights of smallest magnitude are set to zero (round half to even, as
// Python's round; the k smallest as torch.topk(|w|, k, largest=False) picks them, ties included).
import { nn, noGrad, tidy } from '@tsyolo/torch';
import { roundHalfEven } from '../util/python.js';

export interface PruneLayer {
  /** module name, e.g. "model.0.conv" */
  name: string;
  /** weight elements */
  numel: number;
  /** weights zeroed by this call */
  pruned: number;
  /** zero weights after pruning (pruned, plus any that were zero and not chosen) */
  zeros: number;
}

export interface PruneResult {
  /** global fraction of zero convolution weights after pruning */
  sparsity: number;
  /** fraction of zero elements over every parameter (yolov5's torch_utils.sparsity) */
  paramSparsity: number;
  layers: PruneLayer[];
}

/** Zeros the smallest-|w| `amount` fraction of every Conv2d weight, in place; returns the sparsity. */
export function prune(model: nn.Module, amount = 0.3): PruneResult {
  if (!(amount >= 0 && amount <= 1)) throw new RangeError(`prune: amount must be in [0, 1], got ${amount}`);
  const layers: PruneLayer[] = [];
  let numel = 0;
  let zeros = 0;
  noGrad(() => {
    for (const [name, m] of model.namedModules()) {
      if (!(m instanceof nn.Conv2d)) continue;
      const w = m.weight;
      const n = w.numel;
      const k = roundHalfEven(amount * n);
      const z = tidy(() => {
        if (k > 0) {
          const { indices } = w.reshape(-1).abs().topk(k, -1, false, true);
          w.copy_(
            w
              .reshape(-1)
              .clone()
              .indexPut_([indices], 0)
              .view(...w.shape),
          );
        }
        return w.eq(0).sum().item();
      });
      layers.push({ name, numel: n, pruned: k, zeros: z });
      numel += n;
      zeros += z;
    }
  });
  let pn = 0;
  let pz = 0;
  for (const p of model.parameters()) {
    pn += p.numel;
    pz += tidy(() => p.eq(0).sum().item());
  }
  return { sparsity: numel ? zeros / numel : 0, paramSparsity: pn ? pz / pn : 0, layers };
}
