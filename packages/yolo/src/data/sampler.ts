// The order of samples in an epoch: a permutation drawn from (seed, epoch) when shuffling,
// optionally weighted by image weights (--image-weights), and split across ranks.
import { Xoshiro128 } from './rng.js';

export interface SamplerOptions {
  shuffle: boolean;
  seed: number;
  /** with replacement, proportional to these weights (yolov5's --image-weights) */
  weights?: Float64Array | null;
  /** distributed training: this rank's share (rank, world size) */
  rank?: number;
  worldSize?: number;
}

export function epochOrder(n: number, epoch: number, o: SamplerOptions): number[] {
  const rng = new Xoshiro128(o.seed, epoch, 0x5a3);
  let order: number[];
  if (o.weights) {
    const cum = new Float64Array(n);
    let s = 0;
    for (let i = 0; i < n; i++) cum[i] = s += o.weights[i];
    order = Array.from({ length: n }, () => {
      const r = rng.random() * s;
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cum[mid] > r) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    });
  } else {
    order = Array.from({ length: n }, (_, i) => i);
    if (o.shuffle) {
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rng.random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
  }
  const world = o.worldSize ?? 1;
  if (world > 1) {
    // pad to a multiple of the world size, then take every world-th sample (no overlap)
    const total = Math.ceil(n / world) * world;
    for (let i = n; i < total; i++) order.push(order[i - n]);
    order = order.filter((_, i) => i % world === (o.rank ?? 0));
  }
  return order;
}
