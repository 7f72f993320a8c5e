// Test helpers: fixture paths and a finite-difference gradient check.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromTypedArray, noGrad, randn, type Tensor, tidy } from '../src/index.js';

/** The repository root (the folder holding packages/). */
export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'packages')) && dirname(d) !== d) d = dirname(d);
  return d;
}

/**
 * Compares autograd's gradient of sum(f(inputs) * r) with central differences, in float64.
 * Returns the largest absolute difference over all inputs.
 */
export function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], eps = 1e-6): number {
  return tidy(() => {
    const xs = inputs.map((x) => x.double().detach().requiresGrad_(true));
    const y0 = f(...xs);
    const r = randn([...y0.shape], { dtype: 'float64' });
    y0.mul(r).sum().backward();
    let worst = 0;
    xs.forEach((x, i) => {
      const analytic = Float64Array.from(x.grad!.toTypedArray() as Float64Array);
      const base = Float64Array.from(x.toTypedArray() as Float64Array);
      for (let k = 0; k < base.length; k++) {
        const evalAt = (v: number): number =>
          tidy(() =>
            noGrad(() => {
              const data = Float64Array.from(base);
              data[k] = v;
              const xi = fromTypedArray(data, x.shape);
              const args = xs.map((o, j) => (j === i ? xi : o.detach()));
              return f(...args)
                .mul(r)
                .sum()
                .item();
            }),
          );
        const numeric = (evalAt(base[k] + eps) - evalAt(base[k] - eps)) / (2 * eps);
        worst = Math.max(worst, Math.abs(numeric - analytic[k]));
      }
    });
    return worst;
  });
}

export function maxAbsDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.float().sub(b.float()).abs().max().item());
}
