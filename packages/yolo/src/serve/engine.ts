// The model behind the server: one forward for a batch of decoded inputs of the same shape, then each
// image's own NMS (its conf, iou, classes, max_det) and box scaling, as Detector.detect does it: the
// libtorch path with nonMaxSuppression and scaleBoxes, the ONNX Runtime path with src/portable.
// A failure in one image's post-processing fails that image alone.
import { fromTypedArray, inferenceMode, type Tensor, tidy, zeros } from '@tsyolo/torch';
import { scaleBoxes } from '../boxes/convert.js';
import { nonMaxSuppression } from '../boxes/nms.js';
import type { Detector } from '../detect/detector.js';
import type { OnnxModel } from '../detect/onnx-model.js';
import { nonMaxSuppressionRows } from '../portable/nms.js';
import { toDetections } from '../portable/scale.js';
import type { Box, Detection } from '../portable/types.js';
import type { DecodedInput, InputSpec } from './decode.js';
import type { RequestOptions } from './limits.js';

export interface InferItem {
  input: DecodedInput;
  opts: RequestOptions;
}

/** The body of a POST /v1/detect answer. */
export interface DetectResponse {
  detections: Detection[];
  width: number;
  height: number;
  /** ms: decoding and letterboxing, the forward of the batch the image was in, NMS and scaling */
  speed_ms: { pre: number; inference: number; nms: number };
}

/** GET /v1/model. */
export interface ModelInfo {
  backend: 'libtorch' | 'onnxruntime';
  weights: string[];
  names: string[];
  nc: number;
  stride: number;
  /** the default inference size */
  imgsz: number;
  /** [h, w] when the model's input is fixed, else null (any stride multiple) */
  input_size: [number, number] | null;
}

function nmsOptions(o: RequestOptions): {
  confThres: number;
  iouThres: number;
  classes: number[] | undefined;
  agnostic: boolean;
  maxDet: number;
} {
  return { confThres: o.confThres, iouThres: o.iouThres, classes: o.classes, agnostic: false, maxDet: o.maxDet };
}

/** The inputs of a batch, concatenated (the single input itself for a batch of one). */
function stack(items: readonly InferItem[]): Float32Array {
  if (items.length === 1) return items[0].input.data;
  const per = items[0].input.data.length;
  const out = new Float32Array(items.length * per);
  for (const [i, it] of items.entries()) out.set(it.input.data, i * per);
  return out;
}

export class Engine {
  readonly backend: 'libtorch' | 'onnxruntime';
  private readonly onnx: OnnxModel | null;

  constructor(
    readonly detector: Detector,
    readonly imgsz: number,
    readonly maxPixels: number,
    readonly weights: string[] = [],
  ) {
    this.onnx = detector.onnx;
    this.backend = this.onnx ? 'onnxruntime' : 'libtorch';
  }

  get stride(): number {
    return this.detector.stride;
  }
  get names(): string[] {
    return this.detector.names;
  }
  /** The model's fixed [h, w], or null. */
  get fixedSize(): [number, number] | null {
    return this.onnx?.shape ?? null;
  }

  /** How a request's image is letterboxed (Detector.detect's rule: imgsz rounded up to the stride, or the fixed size). */
  inputSpec(imgsz = this.imgsz): InputSpec {
    const fixed = this.fixedSize;
    if (fixed) return { size: fixed, auto: false, stride: this.stride, maxPixels: this.maxPixels };
    const s = Math.ceil(imgsz / this.stride) * this.stride;
    return { size: [s, s], auto: true, stride: this.stride, maxPixels: this.maxPixels };
  }

  info(): ModelInfo {
    return {
      backend: this.backend,
      weights: this.weights,
      names: this.names,
      nc: this.names.length,
      stride: this.stride,
      imgsz: this.imgsz,
      input_size: this.fixedSize,
    };
  }

  /** One forward for inputs of one shape; a result or an Error per item. */
  run(items: readonly InferItem[]): Promise<Array<DetectResponse | Error>> {
    const shapes = new Set(items.map((it) => it.input.shape.join('x')));
    if (shapes.size !== 1)
      return Promise.reject(new Error(`a batch needs inputs of one shape, got ${[...shapes].join(', ')}`));
    return this.onnx ? this.runOnnx(this.onnx, items) : Promise.resolve(this.runNative(items));
  }

  private runNative(items: readonly InferItem[]): Array<DetectResponse | Error> {
    const [h, w] = items[0].input.shape;
    return tidy(() => {
      const t0 = performance.now();
      const x = fromTypedArray(stack(items), [items.length, 3, h, w]).contiguous('channels_last');
      const pred = this.detector.predict(x, false);
      const inference = performance.now() - t0;
      return items.map((it, i) => {
        try {
          return tidy(() => this.postNative(pred.narrow(0, i, 1), it, inference));
        } catch (e) {
          return e as Error;
        }
      });
    });
  }

  private postNative(pred: Tensor, it: InferItem, inference: number): DetectResponse {
    const t0 = performance.now();
    const { width, height } = it.input;
    const [det] = inferenceMode(() => nonMaxSuppression(pred, nmsOptions(it.opts)));
    const n = det.shape[0];
    const b = n ? scaleBoxes(it.input.shape, det.index(':', ':4'), [height, width]).round().toArray() : [];
    const conf = n ? det.index(':', 4).toArray() : [];
    const cls = n ? det.index(':', 5).toArray() : [];
    const detections = conf.map((c, i) => ({
      box: [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]] as Box,
      conf: c,
      cls: cls[i],
      name: this.names[cls[i]] ?? String(cls[i]),
    }));
    return { detections, width, height, speed_ms: { pre: it.input.ms, inference, nms: performance.now() - t0 } };
  }

  private async runOnnx(m: OnnxModel, items: readonly InferItem[]): Promise<Array<DetectResponse | Error>> {
    const [h, w] = items[0].input.shape;
    const t0 = performance.now();
    const out = await m.run(stack(items), [items.length, 3, h, w]);
    const inference = performance.now() - t0;
    const [, rows, no] = out.dims;
    return items.map((it, i) => {
      try {
        const t1 = performance.now();
        const [det] = nonMaxSuppressionRows(
          out.data.subarray(i * rows * no, (i + 1) * rows * no),
          [1, rows, no],
          nmsOptions(it.opts),
        );
        const detections = toDetections(det, it.input.shape, [it.input.height, it.input.width], this.names);
        return {
          detections,
          width: it.input.width,
          height: it.input.height,
          speed_ms: { pre: it.input.ms, inference, nms: performance.now() - t1 },
        };
      } catch (e) {
        return e as Error;
      }
    });
  }

  /** Runs the model on a blank input (batch 1 and maxBatch) so that the first requests do not pay for it. */
  async warmup(maxBatch: number): Promise<void> {
    const [h, w] = this.inputSpec().size;
    for (const bs of [...new Set([1, maxBatch])]) {
      if (this.onnx) {
        await this.onnx.run(new Float32Array(bs * 3 * h * w), [bs, 3, h, w]);
        continue;
      }
      tidy(() => this.detector.predict(zeros([bs, 3, h, w]).contiguous('channels_last'), false));
    }
  }
}
