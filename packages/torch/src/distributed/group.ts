// c10d process groups (Gloo on the CPU, NCCL on CUDA) and their collectives. Every collective
// blocks until done; a peer that died or a timeout becomes an Error naming the collective.

import { emptyLike } from '../creation.js';
import { type GroupHandle, native, type ReduceOpName } from '../native.js';
import type { Tensor } from '../tensor.js';
import type { Store } from './store.js';

export type Backend = 'gloo' | 'nccl';
export type { ReduceOpName };

export interface GroupOptions {
  /** timeout of each collective, ms (torch's default: 30 minutes) */
  timeoutMs?: number;
  /** Gloo: the network interface to use (GLOO_SOCKET_IFNAME) */
  ifname?: string;
  /** Gloo: the address to bind (default: this machine's hostname, else loopback) */
  hostname?: string;
}

export const DEFAULT_GROUP_TIMEOUT_MS = 1_800_000;

export class ProcessGroup {
  readonly rank: number;
  readonly size: number;
  readonly backend: Backend;
  readonly timeoutMs: number;
  private h: GroupHandle | null;

  private constructor(h: GroupHandle, timeoutMs: number) {
    this.h = h;
    const info = native.dist.groupInfo(h);
    this.rank = info.rank;
    this.size = info.size;
    this.backend = info.backend as Backend;
    this.timeoutMs = timeoutMs;
  }

  /** Creates a group: blocks until all `size` ranks have joined through the store. */
  static create(backend: Backend, store: Store, rank: number, size: number, o: GroupOptions = {}): ProcessGroup {
    if (!Number.isInteger(rank) || !Number.isInteger(size) || size < 1 || rank < 0 || rank >= size) {
      throw new Error(`process group: rank ${rank} is not in 0..${size - 1}`);
    }
    const timeout = o.timeoutMs ?? DEFAULT_GROUP_TIMEOUT_MS;
    const h =
      backend === 'nccl'
        ? native.dist.groupNccl(store._h, rank, size, timeout)
        : native.dist.groupGloo(
            store._h,
            rank,
            size,
            timeout,
            o.ifname ?? process.env.GLOO_SOCKET_IFNAME ?? null,
            o.hostname ?? null,
          );
    return new ProcessGroup(h, timeout);
  }

  static hasNccl(): boolean {
    return native.dist.hasNccl();
  }

  private handle(): GroupHandle {
    if (!this.h) throw new Error('process group: destroyed');
    return this.h;
  }

  /** In place: every rank ends with the reduction of all ranks' tensors. */
  allreduce(t: Tensor, op: ReduceOpName = 'sum', timeoutMs = this.timeoutMs): Tensor {
    native.dist.allreduce(this.handle(), t._h, op, timeoutMs);
    return t;
  }

  /** In place: the sum divided by the world size (what DDP does to gradients). */
  allreduceMean(t: Tensor, timeoutMs = this.timeoutMs): Tensor {
    this.allreduce(t, 'sum', timeoutMs);
    if (this.size > 1) t.div_(this.size);
    return t;
  }

  /** In place: every rank ends with root's tensor. */
  broadcast(t: Tensor, root = 0, timeoutMs = this.timeoutMs): Tensor {
    native.dist.broadcast(this.handle(), t._h, root, timeoutMs);
    return t;
  }

  /** Every rank's tensor, in rank order (new tensors the caller owns). */
  allgather(t: Tensor, timeoutMs = this.timeoutMs): Tensor[] {
    const out = Array.from({ length: this.size }, () => emptyLike(t));
    try {
      native.dist.allgather(
        this.handle(),
        out.map((o) => o._h),
        t._h,
        timeoutMs,
      );
    } catch (e) {
      for (const o of out) o.dispose();
      throw e;
    }
    return out;
  }

  barrier(timeoutMs = this.timeoutMs): void {
    native.dist.barrier(this.handle(), timeoutMs);
  }

  /** Stops the group's threads now. */
  destroy(): void {
    if (this.h) native.dist.groupDestroy(this.h);
    this.h = null;
  }
}
