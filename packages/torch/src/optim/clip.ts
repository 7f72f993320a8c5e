// Gradient clipping by total norm (torch.nn.utils.clip_grad_norm_).

import { noGrad } from '../autograd.js';
import { stack } from '../creation.js';
import { foreachMul_, foreachNorm } from '../foreach.js';
import { tidy } from '../scope.js';
import { Tensor } from '../tensor.js';

/**
 * Scales the gradients of `params` in place so their total `normType`-norm (the norm of the
 * per-gradient norms) is at most maxNorm: by maxNorm / (total + 1e-6) when that is below 1.
 * Returns the total norm before clipping (0 when no parameter has a gradient).
 */
export function clipGradNorm_(
  params: Tensor | Iterable<Tensor>,
  maxNorm: number,
  normType = 2,
  errorIfNonfinite = false,
): number {
  const list = params instanceof Tensor ? [params] : [...params];
  return noGrad(() =>
    tidy(() => {
      const grads = list.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return 0;
      const total = stack(foreachNorm(grads, normType)).norm(normType);
      const value = total.item();
      if (errorIfNonfinite && !Number.isFinite(value)) {
        throw new Error(`the total norm of order ${normType} for gradients is non-finite, so it cannot be clipped`);
      }
      const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1);
      const c = coef.item();
      if (c < 1) foreachMul_(grads, c);
      return value;
    }),
  );
}
