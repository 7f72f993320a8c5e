// The data loader: samples are built (decoded, augmented) in worker threads, batches are
// prefetched and delivered in order as uint8 NCHW tensors plus [image, class, x, y, w, h]
// targets. Every random choice comes from (seed, epoch, index), so a batch is the same
// whatever the number of workers.

import { constants } from 'node:buffer';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { fromTypedArray, type Tensor } from '@tsyolo/torch';
import { buildSample, type DatasetSpec, type Sample } from './sample.js';
import { epochOrder, type SamplerOptions } from './sampler.js';

export interface Batch {
  /** (bs, 3, H, W) uint8 RGB */
  images: Tensor;
  /** (n, 6): image index in the batch, class, x, y, w, h (normalised) */
  targets: Tensor;
  paths: string[];
  /** per image: original [h0, w0] and the letterbox [[ratio_h, ratio_w], [pad_w, pad_h]] */
  shapes: Sample['shapes'][];
  /** dataset indices of the images */
  indices: number[];
}

export interface LoaderOptions {
  batchSize: number;
  workers: number;
  shuffle: boolean;
  seed: number;
  /** batches requested ahead of the consumer (default 2 per worker, at least 2) */
  prefetch?: number;
  imageWeights?: Float64Array | null;
  rank?: number;
  worldSize?: number;
}

interface Request {
  id: number;
  epoch: number;
  indices: number[];
}
interface Reply {
  id: number;
  samples?: Sample[];
  error?: string;
}

/**
 * How many worker threads a loader starts, as yolov5's create_dataloader: no more than the CPUs
 * (shared by the training processes on this machine), than the batch size (none for batches of 1)
 * or than asked for.
 */
export function dataloaderWorkers(
  requested: number,
  batchSize: number,
  processes = Number(process.env.LOCAL_WORLD_SIZE) || 1,
): number {
  const perProcess = Math.max(1, Math.floor(availableParallelism() / Math.max(processes, 1)));
  return Math.max(0, Math.min(perProcess, batchSize > 1 ? batchSize : 0, requested));
}

/** Refuses options that would loop forever or start nothing useful, naming the option. */
function checkLoaderOptions(o: LoaderOptions): void {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1)
    throw new Error(
      `DataLoader: batchSize must be a positive integer (got ${o.batchSize}); --batch-size on the command line`,
    );
  if (!Number.isInteger(o.workers) || o.workers < 0)
    throw new Error(
      `DataLoader: workers must be a non-negative integer (got ${o.workers}); --workers on the command line`,
    );
  if (o.prefetch !== undefined && (!Number.isInteger(o.prefetch) || o.prefetch < 1))
    throw new Error(`DataLoader: prefetch must be a positive integer (got ${o.prefetch})`);
}

/** A batch lives in one buffer: refuse sizes past what one can hold, with what to lower. */
function checkBatchBytes(n: number, h: number, w: number): void {
  const bytes = n * 3 * h * w;
  if (bytes > constants.MAX_LENGTH) {
    const gb = (x: number): string => (x / 2 ** 30).toFixed(1);
    throw new Error(
      `a batch of ${n} images of 3×${h}×${w} needs ${gb(bytes)} GB, more than one buffer can hold (${gb(constants.MAX_LENGTH)} GB): lower --batch-size or --imgsz`,
    );
  }
}

export function collate(samples: Sample[], indices: number[]): Batch {
  const [h, w] = [samples[0].height, samples[0].width];
  checkBatchBytes(samples.length, h, w);
  const plane = 3 * h * w;
  const buf = new Uint8Array(samples.length * plane);
  let nt = 0;
  samples.forEach((s, i) => {
    if (s.height !== h || s.width !== w)
      throw new Error(`collate: image ${s.path} is ${s.height}×${s.width}, the batch is ${h}×${w}`);
    buf.set(s.chw, i * plane);
    nt += s.labels.length / 5;
  });
  const t = new Float32Array(nt * 6);
  let k = 0;
  samples.forEach((s, i) => {
    for (let r = 0; r < s.labels.length / 5; r++) {
      t[k++] = i;
      for (let c = 0; c < 5; c++) t[k++] = s.labels[r * 5 + c];
    }
  });
  return {
    images: fromTypedArray(buf, [samples.length, 3, h, w]),
    targets: fromTypedArray(t, [nt, 6]),
    paths: samples.map((s) => s.path),
    shapes: samples.map((s) => s.shapes),
    indices,
  };
}

export class DataLoader {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (s: Sample[]) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private rr = 0;
  /** worker threads started: --workers capped by dataloaderWorkers() */
  readonly numWorkers: number;

  constructor(
    readonly spec: DatasetSpec,
    readonly opts: LoaderOptions,
  ) {
    checkLoaderOptions(opts);
    this.numWorkers = dataloaderWorkers(opts.workers, opts.batchSize);
    for (let i = 0; i < this.numWorkers; i++) {
      const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: spec });
      w.on('message', (r: Reply) => {
        const p = this.pending.get(r.id);
        if (!p) return;
        this.pending.delete(r.id);
        if (r.error) p.reject(new Error(r.error));
        else p.resolve(r.samples!);
      });
      w.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      this.workers.push(w);
    }
  }

  /** Per-image sampling weights for the next epochs (--image-weights), or null for uniform. */
  setImageWeights(w: Float64Array | null): void {
    this.opts.imageWeights = w;
  }

  get size(): number {
    return this.spec.files.length;
  }
  /** Batches per epoch (the last one may be smaller). */
  get length(): number {
    const per = Math.ceil(this.size / (this.opts.worldSize ?? 1));
    return Math.ceil(per / this.opts.batchSize);
  }

  /** Sample order for an epoch, split into batches. */
  batchIndices(epoch: number): number[][] {
    const sampler: SamplerOptions = {
      shuffle: this.opts.shuffle,
      seed: this.opts.seed,
      weights: this.opts.imageWeights,
      rank: this.opts.rank,
      worldSize: this.opts.worldSize,
    };
    const order = this.spec.rectShapes
      ? Array.from({ length: this.size }, (_, i) => i)
      : epochOrder(this.size, epoch, sampler);
    const out: number[][] = [];
    for (let i = 0; i < order.length; i += this.opts.batchSize) out.push(order.slice(i, i + this.opts.batchSize));
    return out;
  }

  private request(epoch: number, indices: number[]): Promise<Sample[]> {
    if (this.workers.length === 0) return Promise.all(indices.map((i) => buildSample(this.spec, i, epoch)));
    const id = this.nextId++;
    const w = this.workers[this.rr++ % this.workers.length];
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, epoch, indices } satisfies Request);
    });
  }

  /** The batches of one epoch, in order, prefetched in the background. */
  async *epoch(epoch: number, startBatch = 0): AsyncGenerator<Batch> {
    const all = this.batchIndices(epoch).slice(startBatch);
    const ahead = Math.max(2, this.opts.prefetch ?? 2 * this.workers.length);
    const inflight: Promise<Sample[]>[] = [];
    let next = 0;
    const fill = (): void => {
      while (next < all.length && inflight.length < ahead) inflight.push(this.request(epoch, all[next++]));
    };
    fill();
    for (let b = 0; b < all.length; b++) {
      const samples = await inflight.shift()!;
      fill();
      yield collate(samples, all[b]);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
