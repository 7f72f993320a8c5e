// An exported ONNX detector run by ONNX Runtime on the CPU (yolov5's DetectMultiBackend idea): the
// input/output shapes and the `stride` / `names` metadata are read from the file, inputs are padded
// to a fixed batch, and float16 files are fed and read through libtorch's half conversion.
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fromTypedArray, type Tensor, tidy } from '@tsyolo/torch';
import type { InferenceSession } from 'onnxruntime-node';
import { type OnnxInfo, onnxInfo } from '../onnx/info.js';
import { loadOnnxRuntime } from './onnx-runtime.js';

export interface OnnxModelOptions {
  /** ONNX Runtime intra-op threads; default onnxThreads() */
  threads?: number;
}

/** True for a path ending in .onnx (any case). */
export function isOnnxFile(path: string): boolean {
  return extname(path).toLowerCase() === '.onnx';
}

function positiveInt(name: string): number | null {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return null;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}=${raw}: expected a positive integer`);
  return v;
}

/** ONNX Runtime's default thread count: TSYOLO_ORT_THREADS, else TSYOLO_NUM_THREADS (libtorch's), else every core. */
export function onnxThreads(): number {
  return positiveInt('TSYOLO_ORT_THREADS') ?? positiveInt('TSYOLO_NUM_THREADS') ?? availableParallelism();
}

export class OnnxModel {
  /** the largest stride (metadata `stride`, default 32) */
  readonly stride: number;
  readonly names: string[];
  readonly nc: number;
  /** input batch, or null when dynamic */
  readonly batch: number | null;
  /** input [h, w], or null when height and width are dynamic */
  readonly shape: [number, number] | null;
  readonly half: boolean;
  private released = false;

  private constructor(
    readonly path: string,
    private readonly session: InferenceSession,
    readonly threads: number,
    readonly info: OnnxInfo,
  ) {
    this.stride = info.stride;
    this.names = info.names;
    this.nc = info.nc;
    this.batch = info.batch;
    this.shape = info.shape;
    this.half = info.half;
  }

  /** Reads an .onnx file and opens an ONNX Runtime CPU session on it. */
  static async load(path: string, opts: OnnxModelOptions = {}): Promise<OnnxModel> {
    if (!existsSync(path)) throw new Error(`${path}: file not found`);
    const bytes = readFileSync(path);
    const info = onnxInfo(bytes, path);
    const threads = opts.threads ?? onnxThreads();
    if (!Number.isInteger(threads) || threads < 1)
      throw new Error(`ONNX Runtime threads: ${threads} is not a positive integer`);
    const ort = await loadOnnxRuntime();
    let session: InferenceSession;
    try {
      // no spin-waiting between runs: the intra-op threads would keep the cores busy while the rest of the pipeline runs
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      });
    } catch (e) {
      throw new Error(`${path}: ONNX Runtime cannot load the model (${(e as Error).message})`);
    }
    return new OnnxModel(path, session, threads, info);
  }

  /**
   * Runs the model on a float32 NCHW input (values 0..1) of shape dims; returns the output rows
   * (bs × anchors × (5 + nc)) as float32. A fixed-batch model runs in chunks of its batch, the last
   * one padded with zeros; a fixed-size model needs exactly its height and width.
   */
  async run(
    data: Float32Array,
    dims: readonly [number, number, number, number],
  ): Promise<{ data: Float32Array; dims: [number, number, number] }> {
    if (this.released) throw new Error(`${this.path}: the ONNX Runtime session was released`);
    const [bs, c, h, w] = dims;
    if (data.length !== bs * c * h * w)
      throw new Error(`${this.path}: ${data.length} input values for [${dims.join(', ')}]`);
    if (c !== 3) throw new Error(`${this.path}: input must have 3 channels, got ${c}`);
    if (this.shape && (this.shape[0] !== h || this.shape[1] !== w))
      throw new Error(`${this.path}: the model takes ${this.shape[0]}x${this.shape[1]} images, got ${h}x${w}`);
    if (h % this.stride || w % this.stride)
      throw new Error(`${this.path}: input ${h}x${w} is not a multiple of the stride ${this.stride}`);
    const ort = await loadOnnxRuntime();
    const chunk = this.batch ?? bs;
    const per = c * h * w;
    const parts: Float32Array[] = [];
    let rows = 0;
    let no = 0;
    for (let b0 = 0; b0 < bs; b0 += chunk) {
      const n = Math.min(chunk, bs - b0);
      let x = data.subarray(b0 * per, (b0 + n) * per);
      if (n < chunk) {
        const padded = new Float32Array(chunk * per);
        padded.set(x);
        x = padded;
      }
      const shape = [chunk, c, h, w];
      const feed = {
        [this.info.input.name]: this.half
          ? new ort.Tensor('float16', toHalf(x, shape), shape)
          : new ort.Tensor('float32', x, shape),
      };
      const out = await this.session.run(feed, [this.info.output.name]);
      const y = out[this.info.output.name];
      try {
        const yd = y.dims as readonly number[];
        if (yd.length !== 3 || yd[0] !== chunk || yd[2] !== this.nc + 5)
          throw new Error(`${this.path}: output is [${yd.join(', ')}], expected [${chunk}, anchors, ${this.nc + 5}]`);
        rows = yd[1];
        no = yd[2];
        const vals = this.half ? fromHalf(y.data as Uint16Array, [...yd]) : (y.data as Float32Array);
        parts.push(vals.slice(0, n * rows * no));
      } finally {
        for (const v of Object.values(out)) v.dispose?.();
      }
    }
    const result = parts.length === 1 ? parts[0] : new Float32Array(bs * rows * no);
    if (parts.length > 1) parts.reduce((o, p) => (result.set(p, o), o + p.length), 0);
    return { data: result, dims: [bs, rows, no] };
  }

  /** run() on a (bs, 3, h, w) tensor (uint8 0..255 or float 0..1); the output as a float32 tensor (bs, anchors, 5 + nc). */
  async predict(images: Tensor): Promise<Tensor> {
    const data = tidy(
      () =>
        (images.dtype === 'uint8' ? images.float().div(255) : images.float())
          .contiguous()
          .toTypedArray() as Float32Array,
    );
    const [bs, c, h, w] = images.shape;
    const y = await this.run(data, [bs, c, h, w]);
    return fromTypedArray(y.data, y.dims);
  }

  /** Releases the ONNX Runtime session. */
  dispose(): void {
    if (this.released) return;
    this.released = true;
    this.session.release().catch(() => undefined);
  }
}

function toHalf(x: Float32Array, shape: number[]): Uint16Array {
  return tidy(() => fromTypedArray(x, shape).half().contiguous().toTypedArray() as Uint16Array);
}

function fromHalf(x: Uint16Array, shape: number[]): Float32Array {
  return tidy(() => fromTypedArray(x, shape, 'float16').float().contiguous().toTypedArray() as Float32Array);
}
