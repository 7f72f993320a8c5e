// Model ensembles (yolov5's models.experimental.Ensemble): every model sees the same input and their
// decoded predictions are concatenated along the box dimension before NMS. No raw outputs, so no loss.
import { cat, type Tensor, tidy } from '@tsyolo/torch';
import type { DetectionModel } from '../models/model.js';
import { forwardAugment } from './tta.js';

export class Ensemble {
  readonly models: DetectionModel[];

  constructor(models: DetectionModel[]) {
    if (!models.length) throw new Error('Ensemble: no models');
    const nc = models[0].nc;
    if (models.some((m) => m.nc !== nc))
      throw new Error(`Ensemble: models with different class counts (${models.map((m) => m.nc).join(' vs ')})`);
    this.models = models;
  }

  get nc(): number {
    return this.models[0].nc;
  }
  get names(): string[] {
    return this.models[0].names;
  }
  /** the largest per-level strides of the members (yolov5 takes the max stride) */
  get stride(): number[] {
    let best: number[] = [];
    for (const m of this.models) if (Math.max(...m.stride) > Math.max(0, ...best)) best = [...m.stride];
    return best;
  }
  get training(): boolean {
    return this.models[0].training;
  }

  train(mode = true): this {
    for (const m of this.models) m.train(mode);
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  fuse(): this {
    for (const m of this.models) if (!m.fused) m.fuse();
    return this;
  }

  /** Decoded predictions of every member (bs, ΣN, 5+nc); with augment each member runs TTA. A single model's output is returned as is. */
  predict(x: Tensor, augment = false): Tensor {
    return tidy(() => {
      const outs = this.models.map((m) => (augment ? forwardAugment(m, x) : m.predict(x)));
      return outs.length === 1 ? outs[0] : cat(outs, 1);
    });
  }

  /** DetectionModel.forwardBoth's shape, for the validator: the predictions and no raw outputs. */
  forwardBoth(x: Tensor): { pred: Tensor; raw: null } {
    return { pred: this.predict(x), raw: null };
  }

  dispose(): void {
    for (const m of this.models) m.dispose();
  }
}
