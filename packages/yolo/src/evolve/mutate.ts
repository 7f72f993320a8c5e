// yolov5 v7.0's mutation: each mutable key is kept with probability 1 − mp or multiplied by
// 1 + gain·randn·r·s (one r for the whole draw), the factor clipped to [0.3, 3]; redrawn until
// something changes. Then every value is clipped to its bounds and rounded to 5 decimals.
import type { Rng } from '../data/types.js';
import { mutationLimit } from './meta.js';

export interface MutationOptions {
  /** probability that a key mutates (0.8) */
  mp?: number;
  /** scale of the change (0.2) */
  s?: number;
}

/** A standard normal draw (Box–Muller on two uniforms of `rng`). */
export function randn(rng: Rng): number {
  const u = 1 - rng.random(); // (0, 1]
  const v = rng.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Rounds to 5 decimals (Python's round(x, 5) on the decimal value). */
export function round5(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Number(x.toFixed(5));
  return r === 0 ? 0 : r;
}

/** Clips each known key of `hyp` to its [lower, upper] and rounds it to 5 decimals (a new mapping). */
export function constrainHyp(
  hyp: Readonly<Record<string, number>>,
  keys: readonly string[] = Object.keys(hyp),
): Record<string, number> {
  const out: Record<string, number> = { ...hyp };
  for (const k of keys) {
    const m = mutationLimit(k);
    if (!m || !(k in out)) continue;
    out[k] = round5(Math.min(Math.max(out[k], m.lower), m.upper));
  }
  return out;
}

/** The per-key factors v (draw order as numpy: rand(ng), randn(ng), rand()); all ones when no key has a gain. */
export function mutationFactors(keys: readonly string[], rng: Rng, o: MutationOptions = {}): number[] {
  const mp = o.mp ?? 0.8;
  const s = o.s ?? 0.2;
  const g = keys.map((k) => {
    const m = mutationLimit(k);
    if (!m) throw new Error(`mutate: unknown hyperparameter '${k}'`);
    return m.gain;
  });
  let v = keys.map(() => 1);
  if (!g.some((x) => x > 0)) return v;
  while (v.every((x) => x === 1)) {
    const keep = keys.map(() => rng.random() < mp);
    const n = keys.map(() => randn(rng));
    const r = rng.random();
    v = keys.map((_, i) => Math.min(Math.max(g[i] * (keep[i] ? 1 : 0) * n[i] * r * s + 1, 0.3), 3.0));
  }
  return v;
}

/** A child of `parent`: the keys `keys` mutated, clipped to their bounds and rounded; other keys copied. */
export function mutate(
  parent: Readonly<Record<string, number>>,
  keys: readonly string[],
  rng: Rng,
  o: MutationOptions = {},
): Record<string, number> {
  const v = mutationFactors(keys, rng, o);
  const child: Record<string, number> = { ...parent };
  keys.forEach((k, i) => {
    if (typeof parent[k] !== 'number') throw new Error(`mutate: the parent has no value for '${k}'`);
    child[k] = parent[k] * v[i];
  });
  return constrainHyp(child, keys);
}
