// The programmatic detector: `const det = await Detector.load('best.safetensors');
// const boxes = await det.detect('bus.jpg')`. Several weights form an ensemble (outputs
// concatenated before NMS, as yolov5's Ensemble); `augment` runs test-time augmentation.
// An .onnx file runs on ONNX Runtime (CPU) with the plain-TypeScript pre/post-processing of
// src/portable (the code the exported web page runs): letterbox, NMS and box scaling as here.
import { inferenceMode, type Tensor, tidy } from '@tsyolo/torch';
import { scaleBoxes } from '../boxes/convert.js';
import { nonMaxSuppression } from '../boxes/nms.js';
import type { RawImage } from '../data/types.js';
import type { DetectionModel } from '../models/model.js';
import { letterboxInput } from '../portable/letterbox.js';
import { nonMaxSuppressionRows } from '../portable/nms.js';
import { toDetections } from '../portable/scale.js';
import type { Detection } from '../portable/types.js';
import { Ensemble } from './ensemble.js';
import { prepare, readImage } from './image.js';
import { OnnxModel } from './onnx-model.js';
import { loadPredictor } from './predictor.js';

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
  /** model config for weights files that do not carry one (plain state dicts, bare safetensors) */
  cfg?: string;
  /** ONNX Runtime intra-op threads for .onnx weights (default: TSYOLO_ORT_THREADS, TSYOLO_NUM_THREADS or every core) */
  threads?: number;
}

/** One detection: box [x1, y1, x2, y2] in original image pixels, conf, cls, name (shared with src/portable). */
export type { Detection } from '../portable/types.js';

export interface DetectResult {
  detections: Detection[];
  width: number;
  height: number;
  /** ms: pre-process, inference, NMS */
  speed: { pre: number; inference: number; nms: number };
}

/** detect.py's NMS defaults (conf 0.25, IoU 0.45, 1000 detections), shared by the libtorch and ONNX paths. */
function nmsOptions(o: DetectOptions): {
  confThres: number;
  iouThres: number;
  classes: number[] | undefined;
  agnostic: boolean;
  maxDet: number;
} {
  return {
    confThres: o.confThres ?? 0.25,
    iouThres: o.iouThres ?? 0.45,
    classes: o.classes,
    agnostic: o.agnostic ?? false,
    maxDet: o.maxDet ?? 1000,
  };
}

export class Detector {
  /** the libtorch models (none for an ONNX model) */
  readonly models: DetectionModel[];
  /** the ONNX Runtime model, for .onnx weights */
  readonly onnx: OnnxModel | null;
  readonly stride: number;
  readonly names: string[];
  private readonly native: Ensemble | null;
  private warnedSize = false;
  constructor(
    models: DetectionModel[] | OnnxModel,
    readonly opts: DetectOptions = {},
  ) {
    if (models instanceof OnnxModel) {
      this.models = [];
      this.onnx = models;
      this.native = null;
      this.stride = models.stride;
      this.names = models.names;
      return;
    }
    this.onnx = null;
    if (!models.length) throw new Error('Detector: no models');
    this.models = models.map((m) => (m.fused ? m : m.fuse()).eval().channelsLast());
    this.native = new Ensemble(this.models);
    this.stride = Math.max(...models.map((m) => Math.max(...m.stride)));
    this.names = models[0].names;
    const nc = models[0].nc;
    if (models.some((m) => m.nc !== nc))
      throw new Error(
        `Detector: an ensemble needs models with the same classes (${models.map((m) => m.nc).join(' vs ')})`,
      );
  }

  /** The libtorch ensemble of the models (a Detector on an ONNX model has none). */
  get ensemble(): Ensemble {
    if (!this.native)
      throw new Error(`Detector: ${this.onnx?.path ?? 'this model'} runs on ONNX Runtime and has no libtorch models`);
    return this.native;
  }

  /** Weights files (.pt, .safetensors; several: an ensemble), or one .onnx file (run by ONNX Runtime). */
  static async load(weights: string | string[], opts: DetectOptions = {}): Promise<Detector> {
    return new Detector(await loadPredictor(weights, opts), opts);
  }

  /** Decoded predictions (bs, N, 5+nc) of the ensemble for a prepared input (with augment: TTA per model). */
  predict(input: Tensor, augment = this.opts.augment ?? false): Tensor {
    return inferenceMode(() => this.ensemble.predict(input, augment));
  }

  async detect(source: string | Buffer | RawImage, o: DetectOptions = {}): Promise<DetectResult> {
    const opts = { ...this.opts, ...o };
    const t0 = performance.now();
    const size = opts.imgsz ?? 640;
    if (!Number.isInteger(size) || size < 1)
      throw new Error(`Detector: imgsz must be a positive integer (got ${size}); --imgsz on the command line`);
    const img = typeof source === 'string' || Buffer.isBuffer(source) ? await readImage(source) : source; // a RawImage: an already decoded frame
    if (this.onnx) return this.detectOnnx(this.onnx, img, opts, t0);
    const imgsz = Math.ceil(size / this.stride) * this.stride;
    return tidy(() => {
      const p = prepare(img, imgsz, this.stride, opts.auto ?? true);
      const t1 = performance.now();
      const pred = this.predict(p.input.contiguous('channels_last'), opts.augment ?? false);
      const t2 = performance.now();
      const [det] = inferenceMode(() => nonMaxSuppression(pred, nmsOptions(opts)));
      const boxes = det.shape[0]
        ? scaleBoxes(p.shape, det.index(':', ':4'), [img.height, img.width]).round()
        : det.index(':', ':4');
      const b = boxes.toArray();
      const conf = det.shape[0] ? det.index(':', 4).toArray() : [];
      const cls = det.shape[0] ? det.index(':', 5).toArray() : [];
      const t3 = performance.now();
      return {
        detections: conf.map((c, i) => ({
          box: [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]] as [number, number, number, number],
          conf: c,
          cls: cls[i],
          name: this.names[cls[i]] ?? String(cls[i]),
        })),
        width: img.width,
        height: img.height,
        speed: { pre: t1 - t0, inference: t2 - t1, nms: t3 - t2 },
      };
    });
  }

  /**
   * ONNX Runtime path: a fixed-size model takes its own H×W (letterboxed without auto, as yolov5's
   * DetectMultiBackend), a dynamic one imgsz like the libtorch path; NMS and scaling from src/portable.
   */
  private async detectOnnx(m: OnnxModel, img: RawImage, opts: DetectOptions, t0: number): Promise<DetectResult> {
    if (opts.augment)
      throw new Error(
        `${m.path}: test-time augmentation (--augment) needs PyTorch weights; an ONNX model runs as exported`,
      );
    let size: [number, number];
    let auto = opts.auto ?? true;
    if (m.shape) {
      size = m.shape;
      auto = false;
      if (opts.imgsz !== undefined && (opts.imgsz !== size[0] || opts.imgsz !== size[1]) && !this.warnedSize) {
        console.warn(
          `${m.path}: the model's input is fixed at ${size[0]}x${size[1]}; images are letterboxed to that size, not to imgsz ${opts.imgsz}`,
        );
        this.warnedSize = true;
      }
    } else {
      const s = Math.ceil((opts.imgsz ?? 640) / this.stride) * this.stride;
      size = [s, s];
    }
    const lb = letterboxInput(img, size, { auto, stride: this.stride });
    const t1 = performance.now();
    const out = await m.run(lb.data, [1, 3, lb.shape[0], lb.shape[1]]);
    const t2 = performance.now();
    const [rows] = nonMaxSuppressionRows(out.data, out.dims, nmsOptions(opts));
    const detections = toDetections(rows, lb.shape, [img.height, img.width], this.names);
    const t3 = performance.now();
    return {
      detections,
      width: img.width,
      height: img.height,
      speed: { pre: t1 - t0, inference: t2 - t1, nms: t3 - t2 },
    };
  }

  dispose(): void {
    for (const m of this.models) m.dispose();
    this.onnx?.dispose();
  }
}
