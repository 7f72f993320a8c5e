// BatchNorm2d with running statistics and num_batches_tracked, as PyTorch's.
import { noGrad } from '../autograd.js';
import { ones, scalar, zeros } from '../creation.js';
import type { ProcessGroup } from '../distributed/group.js';
import { batchNorm } from '../functional.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';
import { syncBatchNorm } from './sync-batchnorm.js';

export interface BatchNormConfig {
  eps?: number;
  /** null: cumulative moving average (1 / num_batches_tracked) */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

export class BatchNorm2d extends Module {
  readonly numFeatures: number;
  eps: number;
  momentum: number | null;
  readonly trackRunningStats: boolean;

  constructor(numFeatures: number, cfg: BatchNormConfig = {}) {
    super();
    this.numFeatures = numFeatures;
    this.eps = cfg.eps ?? 1e-5;
    this.momentum = cfg.momentum === undefined ? 0.1 : cfg.momentum;
    this.trackRunningStats = cfg.trackRunningStats ?? true;
    if (cfg.affine ?? true) {
      this.registerParameter('weight', ones([numFeatures]));
      this.registerParameter('bias', zeros([numFeatures]));
    }
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures]));
      this.registerBuffer('running_var', ones([numFeatures]));
      this.registerBuffer('num_batches_tracked', scalar(0, { dtype: 'int64' }));
    }
  }
  get weight(): Tensor | null {
    return this.hasParam('weight') ? this.param('weight') : null;
  }
  get bias(): Tensor | null {
    return this.hasParam('bias') ? this.param('bias') : null;
  }
  get runningMean(): Tensor | null {
    return this.hasParam('running_mean') ? this.param('running_mean') : null;
  }
  get runningVar(): Tensor | null {
    return this.hasParam('running_var') ? this.param('running_var') : null;
  }

  /** SyncBatchNorm: in training, statistics over the global batch of this group (see convertSyncBatchNorm). */
  syncGroup: ProcessGroup | null = null;

  forward(x: Tensor): Tensor {
    let momentum = this.momentum ?? 0;
    if (this.training && this.trackRunningStats) {
      const nbt = this.param('num_batches_tracked');
      noGrad(() => nbt.add_(1));
      if (this.momentum === null) momentum = 1 / nbt.item();
    }
    const useBatchStats = this.training || !this.trackRunningStats;
    if (useBatchStats && this.syncGroup && this.syncGroup.size > 1) {
      return syncBatchNorm(x, this.weight, this.bias, {
        group: this.syncGroup,
        runningMean: this.runningMean,
        runningVar: this.runningVar,
        momentum,
        eps: this.eps,
      });
    }
    return batchNorm(x, this.runningMean, this.runningVar, {
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum,
      eps: this.eps,
    });
  }
}

/** torch.nn.SyncBatchNorm.convert_sync_batchnorm: every BatchNorm2d of `m` normalises over the group's global batch in training (null: back to local). Returns how many layers. */
export function convertSyncBatchNorm(m: Module, group: ProcessGroup | null): number {
  let n = 0;
  for (const [, c] of m.namedModules()) {
    if (c instanceof BatchNorm2d) {
      c.syncGroup = group;
      n++;
    }
  }
  return n;
}
