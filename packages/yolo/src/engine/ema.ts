// Exponential moving average of the model's weights (yolov5's ModelEMA): decay ramps up as
// d = decay·(1 − exp(−updates/tau)), applied to every floating parameter and buffer.
import { foreachAdd_, foreachMul_, getRngState, noGrad, setRngState, type Tensor, tidy } from '@tsyolo/torch';
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
    if (model.layout === 'channels_last') this.ema.channelsLast(); // one layout: the update stays on the fast path
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
        // one multi-tensor call per dtype instead of two ops per entry (bit-identical)
        const byDtype = new Map<string, [Tensor[], Tensor[]]>();
        for (const [k, v] of this.ema.stateDict()) {
          if (v.dtype !== 'float32' && v.dtype !== 'float64' && v.dtype !== 'float16') continue;
          const lists = byDtype.get(v.dtype) ?? byDtype.set(v.dtype, [[], []]).get(v.dtype)!;
          lists[0].push(v);
          lists[1].push(msd.get(k)!.detach());
        }
        for (const [ema, cur] of byDtype.values()) {
          foreachMul_(ema, d);
          foreachAdd_(ema, cur, 1 - d);
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
