// The programmatic detector: `const det = await Detector.load('best.safetensors');
// const boxes = await det.detect('bus.jpg')`. Several weights form an ensemble (outputs
// concatenated before NMS, as yolov5's Ensemble); `augment` runs test-time augmentation.
import { inferenceMode, tidy, type Tensor } from '@tsyolo/torch';
import { loadModel } from '../models/weights.js';
import type { DetectionModel } from '../models/model.js';
import { nonMaxSuppression } from '../boxes/nms.js';
import { scaleBoxes } from '../boxes/convert.js';
import { prepare, readImage } from './image.js';
import { Ensemble } from './ensemble.js';

export interface DetectOptions {
  imgsz?: number;
  confThres?: number;
  iouThres?: number;
  maxDet?: number;
  classes?: number[];
  agnostic?: boolean;
  /** letterbox to the smallest stride-multiple rectangle (detect.py, default true) or to a square imgsz × imgsz (false) */
  auto?: boolean;
  /** test-time augmentation (yolov5's --augment) */
  augment?: boolean;
}

export interface Detection {
  /** [x1, y1, x2, y2] in original image pixels */
  box: [number, number, number, number];
  conf: number;
  cls: number;
  name: string;
}

export interface DetectResult {
  detections: Detection[];
  width: number;
  height: number;
  /** ms: pre-process, inference, NMS */
  speed: { pre: number; inference: number; nms: number };
}

export class Detector {
  readonly models: DetectionModel[];
  readonly ensemble: Ensemble;
  readonly stride: number;
  readonly names: string[];
  constructor(
    models: DetectionModel[],
    readonly opts: DetectOptions = {},
  ) {
    if (!models.length) throw new Error('Detector: no models');
    this.models = models.map((m) => (m.fused ? m : m.fuse()).eval());
    this.ensemble = new Ensemble(this.models);
    this.stride = Math.max(...models.map((m) => Math.max(...m.stride)));
    this.names = models[0].names;
    const nc = models[0].nc;
    if (models.some((m) => m.nc !== nc)) throw new Error(`Detector: an ensemble needs models with the same classes (${models.map((m) => m.nc).join(' vs ')})`);
  }

  static async load(weights: string | string[], opts: DetectOptions = {}): Promise<Detector> {
    const list = Array.isArray(weights) ? weights : [weights];
    return new Detector(list.map((w) => loadModel(w)), opts);
  }

  /** Decoded predictions (bs, N, 5+nc) of the ensemble for a prepared input (with augment: TTA per model). */
  predict(input: Tensor, augment = this.opts.augment ?? false): Tensor {
    return inferenceMode(() => this.ensemble.predict(input, augment));
  }

  async detect(source: string | Buffer, o: DetectOptions = {}): Promise<DetectResult> {
    const opts = { ...this.opts, ...o };
    const t0 = performance.now();
    const img = await readImage(source);
    const imgsz = Math.ceil((opts.imgsz ?? 640) / this.stride) * this.stride;
    return tidy(() => {
      const p = prepare(img, imgsz, this.stride, opts.auto ?? true);
      const t1 = performance.now();
      const pred = this.predict(p.input, opts.augment ?? false);
      const t2 = performance.now();
      const [det] = inferenceMode(() =>
        nonMaxSuppression(pred, { confThres: opts.confThres ?? 0.25, iouThres: opts.iouThres ?? 0.45, classes: opts.classes, agnostic: opts.agnostic ?? false, maxDet: opts.maxDet ?? 1000 }),
      );
      const boxes = det.shape[0] ? scaleBoxes(p.shape, det.index(':', ':4'), [img.height, img.width]).round() : det.index(':', ':4');
      const b = boxes.toArray();
      const conf = det.shape[0] ? det.index(':', 4).toArray() : [];
      const cls = det.shape[0] ? det.index(':', 5).toArray() : [];
      const t3 = performance.now();
      return {
        detections: conf.map((c, i) => ({ box: [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]] as [number, number, number, number], conf: c, cls: cls[i], name: this.names[cls[i]] ?? String(cls[i]) })),
        width: img.width,
        height: img.height,
        speed: { pre: t1 - t0, inference: t2 - t1, nms: t3 - t2 },
      };
    });
  }

  dispose(): void {
    for (const m of this.models) m.dispose();
  }
}
