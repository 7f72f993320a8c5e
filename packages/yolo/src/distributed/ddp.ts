// Data-parallel training on a c10d process group: the rank layout read from the environment
// torchrun sets, parameters broadcast from rank 0, and gradients averaged in flat buckets
// before each optimizer step.
import { cat, dist, type nn, noGrad, type Tensor, tensor, tidy, zerosLike } from '@tsyolo/torch';

export interface DistEnv {
  rank: number;
  worldSize: number;
  localRank: number;
}

/** RANK / WORLD_SIZE / LOCAL_RANK from the environment; null for a single process. */
export function distEnv(env: NodeJS.ProcessEnv = process.env): DistEnv | null {
  const world = Number(env.WORLD_SIZE ?? 1);
  if (!Number.isInteger(world) || world < 1)
    throw new Error(`WORLD_SIZE=${env.WORLD_SIZE}: expected a positive integer`);
  if (world === 1) return null;
  const rank = Number(env.RANK);
  if (!Number.isInteger(rank) || rank < 0 || rank >= world)
    throw new Error(`RANK=${env.RANK}: expected 0..${world - 1} (WORLD_SIZE=${world})`);
  const localRank = env.LOCAL_RANK === undefined ? rank : Number(env.LOCAL_RANK);
  return { rank, worldSize: world, localRank };
}

export class DistributedError extends Error {}

export class DDP {
  constructor(
    readonly pg: dist.ProcessGroup,
    readonly localRank: number,
  ) {}

  get rank(): number {
    return this.pg.rank;
  }
  get worldSize(): number {
    return this.pg.size;
  }
  get isMain(): boolean {
    return this.pg.rank === 0;
  }

  /** Joins the group described by the environment (env:// rendezvous on MASTER_ADDR:MASTER_PORT). */
  static fromEnv(e: DistEnv, timeoutMs = Number(process.env.TSYOLO_DIST_TIMEOUT_MS ?? 1_800_000)): DDP {
    const pg = dist.initProcessGroup({
      backend: 'gloo',
      rank: e.rank,
      worldSize: e.worldSize,
      timeoutMs,
      storeTimeoutMs: Math.min(timeoutMs, 300_000),
    });
    return new DDP(pg, e.localRank);
  }

  /** Runs a collective; a failure names this rank and the likely cause. */
  run<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw new DistributedError(
        `distributed training, rank ${this.rank}/${this.worldSize}: ${what} failed; another worker has probably exited or stalled past the timeout (${(e as Error).message})`,
      );
    }
  }

  /** Copies rank 0's parameters and buffers to every rank (DDP's start). */
  broadcastModule(m: nn.Module): void {
    const ts = [...m.stateDict().values()];
    forBuckets(ts, (flat) => this.run('broadcast of the parameters', () => this.pg.broadcast(flat, 0)), true);
  }

  /** Averages the gradients of `params` (those that require grad) across ranks, in place. */
  averageGradients(params: Tensor[]): void {
    const ps = params.filter((p) => p.requiresGrad);
    tidy(() => {
      // a parameter without a gradient contributes zeros, so every rank sends the same layout
      const grads = ps.map((p) => p.grad ?? zerosLike(p));
      forBuckets(grads, (flat) => this.run('gradient all-reduce', () => this.pg.allreduceMean(flat)), true);
      ps.forEach((p, i) => {
        if (!p.grad) p.grad = grads[i].clone();
      });
    });
  }

  /** Sums small numbers across ranks (e.g. [loss, stop flag]). */
  sum(values: number[]): number[] {
    return tidy(() => {
      const t = tensor(values, { dtype: 'float64' });
      this.run('all-reduce of the step flags', () => this.pg.allreduce(t, 'sum'));
      return Array.from(t.toTypedArray() as Float64Array);
    });
  }

  /** Rank 0's numbers on every rank. */
  fromMain(values: number[]): number[] {
    return tidy(() => {
      const t = tensor(values, { dtype: 'float64' });
      this.run('broadcast from rank 0', () => this.pg.broadcast(t, 0));
      return Array.from(t.toTypedArray() as Float64Array);
    });
  }

  barrier(what: string): void {
    this.run(what, () => this.pg.barrier());
  }

  destroy(): void {
    this.pg.destroy();
  }
}

const BUCKET_BYTES = 25 * 2 ** 20;

/** Groups tensors of one dtype into flat buckets of ≤ 25 MiB, runs fn on each, copies back when writeBack. */
export function forBuckets(ts: Tensor[], fn: (flat: Tensor) => void, writeBack: boolean): void {
  const byType = new Map<string, Tensor[]>();
  for (const t of ts) {
    const g = byType.get(t.dtype);
    if (g) g.push(t);
    else byType.set(t.dtype, [t]);
  }
  for (const group of byType.values()) {
    let bucket: Tensor[] = [];
    let bytes = 0;
    const flush = (): void => {
      if (!bucket.length) return;
      const b = bucket;
      tidy(() =>
        noGrad(() => {
          const flat = cat(b.map((t) => t.reshape(-1)));
          fn(flat);
          if (writeBack) {
            let off = 0;
            for (const t of b) {
              t.copy_(flat.narrow(0, off, t.numel).view(...t.shape));
              off += t.numel;
            }
          }
        }),
      );
      bucket = [];
      bytes = 0;
    };
    for (const t of group) {
      bucket.push(t);
      bytes += t.numel * 4;
      if (bytes >= BUCKET_BYTES) flush();
    }
    flush();
  }
}
