// Learning-rate schedulers. Constructing one sets each group's `initial_lr` (if absent) and
// applies the epoch-0 rate; step() advances lastEpoch and rewrites every group's lr.
import type { Optimizer, ParamGroup } from './optimizer.js';

/** PyTorch's scheduler state_dict layout (functions are not saved). */
export interface LRSchedulerState {
  last_epoch: number;
  base_lrs: number[];
  _last_lr: number[];
  _step_count: number;
}

export abstract class LRScheduler {
  readonly optimizer: Optimizer<ParamGroup>;
  baseLrs: number[];
  /** The epoch the current rates belong to (yolov5 sets it when resuming). */
  lastEpoch: number;
  protected stepCount = 0;
  protected lastLr: number[] = [];

  constructor(optimizer: Optimizer<ParamGroup>, lastEpoch = -1) {
    this.optimizer = optimizer;
    const groups = optimizer.paramGroups;
    groups.forEach((g, i) => {
      if (lastEpoch === -1) g.initial_lr ??= g.lr;
      else if (g.initial_lr === undefined)
        throw new Error(`param 'initial_lr' is not specified in paramGroups[${i}] when resuming a scheduler`);
    });
    this.baseLrs = groups.map((g) => g.initial_lr as number);
    this.lastEpoch = lastEpoch;
  }

  /** Rates for lastEpoch, one per group. */
  abstract getLr(): number[];

  /** Advances one epoch (or jumps to `epoch`) and writes the new rates into the groups. */
  step(epoch?: number): void {
    this.stepCount++;
    this.lastEpoch = epoch ?? this.lastEpoch + 1;
    const lrs = this.getLr();
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = lrs[i];
    });
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The rates the last step() set. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): LRSchedulerState {
    return {
      last_epoch: this.lastEpoch,
      base_lrs: [...this.baseLrs],
      _last_lr: [...this.lastLr],
      _step_count: this.stepCount,
    };
  }

  loadStateDict(sd: LRSchedulerState): void {
    if (sd.base_lrs.length !== this.baseLrs.length) {
      throw new Error(
        `scheduler state has ${sd.base_lrs.length} base lrs, the optimizer has ${this.baseLrs.length} groups`,
      );
    }
    this.lastEpoch = sd.last_epoch;
    this.baseLrs = [...sd.base_lrs];
    this.lastLr = [...sd._last_lr];
    this.stepCount = sd._step_count;
  }
}

/** lr = initial_lr * lrLambda(epoch), one function for all groups or one per group. */
export class LambdaLR extends LRScheduler {
  private readonly lambdas: ((epoch: number) => number)[];

  constructor(
    optimizer: Optimizer<ParamGroup>,
    lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[],
    lastEpoch = -1,
  ) {
    super(optimizer, lastEpoch);
    const n = optimizer.paramGroups.length;
    if (Array.isArray(lrLambda) && lrLambda.length !== n)
      throw new Error(`expected ${n} lr lambdas, got ${lrLambda.length}`);
    this.lambdas = Array.isArray(lrLambda) ? [...lrLambda] : Array.from({ length: n }, () => lrLambda);
    this.step();
  }

  getLr(): number[] {
    return this.baseLrs.map((base, i) => base * this.lambdas[i](this.lastEpoch));
  }
}
