// Exponential moving average of the model's weights (yolov5's ModelEMA): decay ramps up as
// d = decay·(1 − exp(−updates/tau)), applied to every floating parameter and buffer.
import { getRngState, noGrad, setRngState, tidy } from '@tsyolo/torch';
import { DetectionModel } from '../models/model.js';

/** A copy of the model with the same weights (drawing no random numbers). */
export function cloneModel(model: DetectionModel): DetectionModel {
  const state = getRngState();
  try {
    const copy = new DetectionModel(model.cfg, { ch: model.ch });
    copy.loadStateDict(model.stateDict());
    copy.names = [...model.names];
    copy.hyp = { ...model.hyp };
    return copy;
  } finally {
    setRngState(state);
    state.dispose();
  }
}

export class ModelEMA {
  readonly ema: DetectionModel;
  updates: number;
  constructor(
    model: DetectionModel,
    readonly decay = 0.9999,
    readonly tau = 2000,
    updates = 0,
  ) {
    this.ema = cloneModel(model).eval();
    for (const p of this.ema.parameters()) p.requiresGrad_(false);
    this.updates = updates;
  }
  /** The decay for the current update count. */
  d(): number {
    return this.decay * (1 - Math.exp(-this.updates / this.tau));
  }
  update(model: DetectionModel): void {
    this.updates++;
    const d = this.d();
    const msd = model.stateDict();
    tidy(() =>
      noGrad(() => {
        for (const [k, v] of this.ema.stateDict()) {
          if (v.dtype !== 'float32' && v.dtype !== 'float64' && v.dtype !== 'float16') continue;
          v.mul_(d).add_(msd.get(k)!.detach(), 1 - d);
        }
      }),
    );
  }
  /** Copies non-tensor attributes (names, hyp) as yolov5's update_attr. */
  updateAttr(model: DetectionModel): void {
    this.ema.names = [...model.names];
    this.ema.hyp = { ...model.hyp };
  }
  dispose(): void {
    this.ema.dispose();
  }
}
