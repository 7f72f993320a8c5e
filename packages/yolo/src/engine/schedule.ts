// Learning-rate schedules and warmup as yolov5's train.py: linear or one-cycle (cosine) decay
// to lrf, and a warmup over max(warmup_epochs × batches, 100) iterations in which the bias lr
// falls from warmup_bias_lr, the other lrs rise from 0, momentum rises from warmup_momentum
// and gradient accumulation ramps up to the nominal batch size.

/** np.interp for increasing xp. */
export function interp(x: number, xp: readonly number[], fp: readonly number[]): number {
  if (x <= xp[0]) return fp[0];
  if (x >= xp[xp.length - 1]) return fp[fp.length - 1];
  for (let i = 1; i < xp.length; i++) {
    if (x <= xp[i]) return fp[i - 1] + ((fp[i] - fp[i - 1]) * (x - xp[i - 1])) / (xp[i] - xp[i - 1]);
  }
  return fp[fp.length - 1];
}

/**
 * Linear decay from 1 towards lrf: (1 − x/epochs)·(1 − lrf) + lrf, as yolov5 v7.0 (the fixture
 * checkpoint's lr after one step of 100 epochs is 0.01·lf(1) = 0.009901).
 */
export function linearLr(epochs: number, lrf: number): (epoch: number) => number {
  return (x) => (1 - x / epochs) * (1 - lrf) + lrf;
}

/** One-cycle cosine from 1 to lrf over `epochs` ((1 − cos(x·π/epochs))/2·(lrf − 1) + 1). */
export function oneCycleLr(epochs: number, lrf: number): (epoch: number) => number {
  return (x) => ((1 - Math.cos((x * Math.PI) / epochs)) / 2) * (lrf - 1) + 1;
}

export interface WarmupState {
  lr: number[];
  momentum: number;
  accumulate: number;
}

export interface WarmupConfig {
  /** warmup iterations: max(round(warmup_epochs × batches), 100) */
  nw: number;
  warmupBiasLr: number;
  warmupMomentum: number;
  momentum: number;
  /** nominal batch size (64) / batch size */
  nbs: number;
  batchSize: number;
}

export function warmupIterations(warmupEpochs: number, batchesPerEpoch: number): number {
  return Math.max(Math.round(warmupEpochs * batchesPerEpoch), 100);
}

/**
 * Group learning rates, momentum and accumulation at iteration ni (< nw). Group 0 is the
 * bias group; `targetLr[j]` = initial_lr·lf(epoch) of group j.
 */
export function warmupAt(ni: number, cfg: WarmupConfig, targetLr: readonly number[]): WarmupState {
  const xi = [0, cfg.nw];
  return {
    accumulate: Math.max(1, Math.round(interp(ni, xi, [1, cfg.nbs / cfg.batchSize]))),
    lr: targetLr.map((lr, j) => interp(ni, xi, [j === 0 ? cfg.warmupBiasLr : 0, lr])),
    momentum: interp(ni, xi, [cfg.warmupMomentum, cfg.momentum]),
  };
}
