// Dynamic batching: items submitted concurrently are grouped by key (inputs of one shape) into one run of
// up to maxBatch items. One run at a time; a partial batch waits for company at most maxWaitMs after its
// oldest item arrived, and not at all when nothing else is on its way (expectMore() false), so a lone
// request pays no wait. An aborted item leaves the queue at once; one already running finishes unheard.
export interface BatcherOptions {
  maxBatch: number;
  maxWaitMs: number;
  /** whether more items are on their way (e.g. requests being uploaded or decoded), given how many the batcher holds (queued and running); default: never */
  expectMore?: (held: number) => boolean;
  /** called with the size of each batch that runs */
  onBatch?: (size: number) => void;
}

/** Runs one batch: a result or an Error per item, in order. */
export type BatchRun<T, R> = (values: T[]) => Promise<Array<R | Error>>;

interface Entry<T, R> {
  key: string;
  value: T;
  at: number;
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

export class Batcher<T, R> {
  private queue: Array<Entry<T, R>> = [];
  private running = false;
  private inRun = 0;
  private timer: NodeJS.Timeout | null = null;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly runBatch: BatchRun<T, R>,
    readonly opts: BatcherOptions,
  ) {
    if (!(Number.isInteger(opts.maxBatch) && opts.maxBatch >= 1))
      throw new Error(`max batch: ${opts.maxBatch} is not a positive integer`);
    if (!(opts.maxWaitMs >= 0)) throw new Error(`max wait: ${opts.maxWaitMs} ms is not a non-negative number`);
  }

  /** Items waiting for a run. */
  get depth(): number {
    return this.queue.length;
  }
  /** Items in the run under way. */
  get runningCount(): number {
    return this.inRun;
  }

  submit(key: string, value: T, signal?: AbortSignal): Promise<R> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<R>((resolve, reject) => {
      const onAbort = (): void => {
        this.queue = this.queue.filter((e) => e !== entry);
        reject(signal?.reason as Error);
        this.schedule();
        this.settleIdle();
      };
      const entry: Entry<T, R> = {
        key,
        value,
        at: performance.now(),
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(entry);
      this.schedule();
    });
  }

  /** Re-evaluates a waiting partial batch (call when expectMore() may have turned false). */
  poke(): void {
    this.schedule();
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.running && !this.queue.length) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (!this.queue.length && this.timer) {
      clearTimeout(this.timer); // every waiting item was aborted
      this.timer = null;
    }
    if (this.running || !this.queue.length) return;
    const oldest = this.queue[0];
    const same = this.queue.reduce((n, e) => n + (e.key === oldest.key ? 1 : 0), 0);
    const waited = performance.now() - oldest.at;
    if (
      same >= this.opts.maxBatch ||
      waited >= this.opts.maxWaitMs ||
      !(this.opts.expectMore?.(this.queue.length + this.inRun) ?? false)
    ) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      // the run starts on the next turn of the event loop: items arriving in this one join it
      this.running = true;
      setImmediate(() => void this.flush());
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.schedule();
    }, this.opts.maxWaitMs - waited).unref();
  }

  private async flush(): Promise<void> {
    const key = this.queue[0]?.key;
    const batch: Array<Entry<T, R>> = [];
    const rest: Array<Entry<T, R>> = [];
    for (const e of this.queue) (e.key === key && batch.length < this.opts.maxBatch ? batch : rest).push(e);
    this.queue = rest;
    if (!batch.length) {
      this.running = false; // every item was aborted meanwhile
      this.settleIdle();
      return;
    }
    this.opts.onBatch?.(batch.length);
    this.inRun = batch.length;
    try {
      const out = await this.runBatch(batch.map((e) => e.value));
      batch.forEach((e, i) => {
        const r = out[i];
        if (r instanceof Error) e.reject(r);
        else e.resolve(r);
      });
    } catch (err) {
      for (const e of batch) e.reject(err as Error);
    } finally {
      this.running = false;
      this.inRun = 0;
      this.schedule();
      this.settleIdle();
    }
  }

  private settleIdle(): void {
    if (this.running || this.queue.length) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
