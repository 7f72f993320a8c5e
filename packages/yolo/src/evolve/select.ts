// Choosing parents from evolve.csv rows (yolov5 v7.0): the best few by fitness, weighted by how far
// each lies above the worst of them; 'single' draws one row, 'weighted' averages them.

import type { Rng } from '../data/types.js';
import { fitness } from '../metrics/ap.js';

export type ParentSelection = 'single' | 'weighted';

/** fitness of a row from its first 4 columns (P, R, mAP@0.5, mAP@0.5:0.95; weights 0, 0, 0.1, 0.9). NaN → -∞. */
export function rowFitness(row: readonly number[]): number {
  const f = fitness(row[0], row[1], row[2], row[3]);
  return Number.isNaN(f) ? -Infinity : f;
}

/** Index of the fittest row (the first one on ties, like np.argmax); -1 for none. */
export function bestRowIndex(rows: readonly (readonly number[])[]): number {
  let best = -1;
  let bf = -Infinity;
  rows.forEach((r, i) => {
    const f = rowFitness(r);
    if (best < 0 || f > bf) {
      best = i;
      bf = f;
    }
  });
  return best;
}

/** The top min(n, rows) rows by fitness (stable: earlier rows first on ties). */
export function topRows(rows: readonly (readonly number[])[], n = 5): number[][] {
  return rows
    .map((r, i) => ({ r, i, f: rowFitness(r) }))
    .sort((a, b) => b.f - a.f || a.i - b.i)
    .slice(0, Math.min(n, rows.length))
    .map(({ r }) => [...r]);
}

/** Selection weights of the chosen rows: fitness − min(fitness) + 1e-6 (non-finite fitness → 1e-6). */
export function selectionWeights(rows: readonly (readonly number[])[]): number[] {
  const f = rows.map(rowFitness);
  const finite = f.filter(Number.isFinite);
  const lo = finite.length ? Math.min(...finite) : 0;
  return f.map((v) => (Number.isFinite(v) ? v - lo : 0) + 1e-6);
}

/** A parent row: one of the top `n` rows drawn ∝ weight ('single'), or their weighted mean ('weighted'). */
export function selectParent(rows: readonly (readonly number[])[], mode: ParentSelection, rng: Rng, n = 5): number[] {
  if (!rows.length) throw new Error('selectParent: no rows to select from');
  const top = topRows(rows, n);
  const w = selectionWeights(top);
  const total = w.reduce((a, b) => a + b, 0);
  if (mode === 'weighted') {
    return top[0].map((_, j) => top.reduce((s, r, i) => s + r[j] * w[i], 0) / total);
  }
  // random.choices(range(n), weights=w): the first index whose cumulative weight exceeds u·total
  const u = rng.random() * total;
  let acc = 0;
  for (let i = 0; i < top.length; i++) {
    acc += w[i];
    if (u < acc) return top[i];
  }
  return top[top.length - 1];
}
