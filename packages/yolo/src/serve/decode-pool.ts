// The decode workers (worker_threads): the event loop never decodes or letterboxes an image. Each
// worker takes one image at a time from a FIFO shared by all; an aborted request leaves the FIFO at
// once (one already being decoded finishes, and its result is dropped). A worker that dies fails its
// image with a 500 and is replaced.
import { Worker } from 'node:worker_threads';
import type { DecodedInput, InputSpec } from './decode.js';
import type { DecodeReply, DecodeRequest } from './decode-worker.js';
import { HttpError } from './errors.js';

interface Job {
  id: number;
  bytes: Uint8Array;
  spec: InputSpec;
  resolve: (v: DecodedInput) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

export class DecodePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private closed = false;

  constructor(readonly size: number) {
    if (!(Number.isInteger(size) && size >= 1)) throw new Error(`decode workers: ${size} is not a positive integer`);
    for (let i = 0; i < size; i++) {
      const slot = { job: null } as unknown as Slot;
      this.start(slot);
      this.slots.push(slot);
    }
  }

  /** Images waiting for a worker or being decoded. */
  get pending(): number {
    return this.queue.length + this.slots.filter((s) => s.job).length;
  }

  decode(bytes: Uint8Array, spec: InputSpec, signal?: AbortSignal): Promise<DecodedInput> {
    if (this.closed) return Promise.reject(new HttpError(503, 'the server is shutting down'));
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      const job: Job = { id: this.nextId++, bytes, spec, resolve, reject };
      const onAbort = (): void => {
        const i = this.queue.indexOf(job);
        if (i >= 0) this.queue.splice(i, 1);
        job.resolve = () => undefined; // a running decode finishes unheard
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      job.resolve = (v) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      job.reject = (e) => {
        signal?.removeEventListener('abort', onAbort);
        reject(e);
      };
      this.queue.push(job);
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.queue.splice(0)) j.reject(new HttpError(503, 'the server is shutting down'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job) continue;
      const job = this.queue.shift();
      if (!job) return;
      slot.job = job;
      // the worker gets its own copy of the bytes (the body buffer may share a pooled ArrayBuffer)
      const bytes = new Uint8Array(job.bytes);
      slot.worker.postMessage({ id: job.id, bytes, spec: job.spec } satisfies DecodeRequest, [bytes.buffer]);
    }
  }

  /** Starts a worker in the slot (again, after one died). */
  private start(slot: Slot): void {
    const worker = new Worker(new URL('./decode-worker.js', import.meta.url));
    slot.worker = worker;
    slot.job = null;
    worker.on('message', (r: DecodeReply) => {
      const job = slot.job;
      if (!job || job.id !== r.id) return;
      slot.job = null;
      if ('error' in r) job.reject(new HttpError(r.error.statusCode, r.error.message));
      else job.resolve(r.input);
      this.pump();
    });
    const died = (why: string): void => {
      worker.removeAllListeners();
      worker.on('error', () => undefined);
      if (this.closed) return;
      slot.job?.reject(new HttpError(500, `decode worker failed: ${why}`));
      void worker.terminate();
      this.start(slot);
      this.pump();
    };
    worker.on('error', (e) => died(e.message));
    worker.on('exit', (code) => died(`exited with code ${code}`));
  }
}
