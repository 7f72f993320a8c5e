// SyncBatchNorm (torch.nn.SyncBatchNorm): in training, batch statistics are the statistics of
// the global batch across a process group. Forward all-reduces each rank's per-channel sum,
// sum of squares and count; backward all-reduces sum(dy) and sum(dy·(x−mean)), so the input
// gradient is that of the global batch. Weight and bias gradients stay local (DDP averages them).

import { cat, scalar } from '../creation.js';
import type { ProcessGroup } from '../distributed/group.js';
import { applyFunction, type CustomFunction, type FunctionContext } from '../function.js';
import type { Tensor } from '../tensor.js';

export interface SyncBnArgs {
  group: ProcessGroup;
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  momentum: number;
  eps: number;
}

const DIMS = [0, 2, 3];

function makeFunction(a: SyncBnArgs, affine: boolean): CustomFunction {
  return {
    forward(ctx: FunctionContext, inputs: Tensor[]): Tensor[] {
      const [x, w, b] = inputs;
      const c = x.shape[1];
      const n = x.numel / c;
      // per-rank sums in float64, all-reduced in one message
      const xd = x.double();
      const local = cat([xd.sum(DIMS), xd.square().sum(DIMS), scalar(n, { dtype: 'float64' }).reshape(1)]);
      a.group.allreduce(local, 'sum');
      const total = local.index(-1).item() as number;
      const mean = local.narrow(0, 0, c).div(total);
      const varB = local.narrow(0, c, c).div(total).sub(mean.square()).clamp(0);
      const invstd = varB.add(a.eps).rsqrt().float();
      const meanF = mean.float();
      if (a.runningMean && a.runningVar) {
        a.runningMean.mul_(1 - a.momentum).add_(meanF.mul(a.momentum));
        a.runningVar.mul_(1 - a.momentum).add_(
          varB
            .mul(total / Math.max(total - 1, 1))
            .float()
            .mul(a.momentum),
        );
      }
      const shape = [1, c, 1, 1];
      let y = x.sub(meanF.view(...shape)).mul(invstd.view(...shape));
      if (affine) y = y.mul(w.view(...shape)).add(b.view(...shape));
      ctx.save(x, meanF, invstd, scalar(total));
      if (affine) ctx.save(w);
      return [y];
    },
    backward(ctx: FunctionContext, grads: (Tensor | null)[]): (Tensor | null)[] {
      const [x, mean, invstd, totalT, w] = ctx.saved;
      const dy = grads[0]!;
      const c = x.shape[1];
      const shape = [1, c, 1, 1];
      const xmu = x.sub(mean.view(...shape));
      const sumDy = dy.sum(DIMS);
      const sumDyXmu = dy.mul(xmu).sum(DIMS);
      const gw = affine ? sumDyXmu.mul(invstd) : null;
      const gb = affine ? sumDy.clone() : null;
      const both = cat([sumDy, sumDyXmu]);
      a.group.allreduce(both, 'sum');
      const total = totalT.item() as number;
      const meanDy = both.narrow(0, 0, c).div(total);
      const meanDyXmu = both.narrow(0, c, c).div(total);
      const scale = affine ? invstd.mul(w) : invstd;
      const gx = dy
        .sub(meanDy.view(...shape))
        .sub(
          xmu.mul(
            invstd
              .square()
              .mul(meanDyXmu)
              .view(...shape),
          ),
        )
        .mul(scale.view(...shape));
      return affine ? [gx, gw, gb] : [gx];
    },
  };
}

/** Training-mode batch norm over the global batch of `group` (inputs (N, C, H, W)). */
export function syncBatchNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, a: SyncBnArgs): Tensor {
  if (x.dim() !== 4) throw new Error(`SyncBatchNorm: expected a 4-D input (N, C, H, W), got ${x.dim()}-D`);
  const affine = !!(weight && bias);
  const inputs = affine ? [x, weight!, bias!] : [x];
  return applyFunction(makeFunction(a, affine), inputs)[0];
}
