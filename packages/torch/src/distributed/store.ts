// c10d key-value stores: the rendezvous processes use to find each other (TCPStore, FileStore).
import { native, type StoreHandle } from '../native.js';

export interface TcpStoreOptions {
  host: string;
  port: number;
  /** the process that hosts the store (rank 0) */
  isServer: boolean;
  /** number of processes that will connect (the server waits for them when waitWorkers) */
  worldSize?: number;
  timeoutMs?: number;
  waitWorkers?: boolean;
}

export const DEFAULT_STORE_TIMEOUT_MS = 300_000;

export class Store {
  private constructor(
    /** @internal */ readonly _h: StoreHandle,
    readonly timeoutMs: number,
  ) {}

  /** torch.distributed.TCPStore: the server binds host:port, clients connect (retrying until the timeout). */
  static tcp(o: TcpStoreOptions): Store {
    const timeout = o.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    return new Store(
      native.dist.storeTcp(o.host, o.port, o.isServer, o.worldSize ?? -1, timeout, o.waitWorkers ?? false),
      timeout,
    );
  }

  /** torch.distributed.FileStore: a file on a filesystem every process sees. */
  static file(path: string, worldSize: number, timeoutMs = DEFAULT_STORE_TIMEOUT_MS): Store {
    return new Store(native.dist.storeFile(path, worldSize, timeoutMs), timeoutMs);
  }

  /** A view whose keys are prefixed (torch's PrefixStore). */
  prefix(p: string): Store {
    return new Store(native.dist.storePrefix(this._h, p), this.timeoutMs);
  }

  set(key: string, value: string | Uint8Array): void {
    native.dist.storeSet(this._h, key, value);
  }

  /** Blocks until the key exists (or the store's timeout passes). */
  get(key: string): Buffer {
    return native.dist.storeGet(this._h, key);
  }

  getString(key: string): string {
    return this.get(key).toString('utf8');
  }

  /** Atomic counter: adds n and returns the new value. */
  add(key: string, n: number): number {
    return native.dist.storeAdd(this._h, key, n);
  }

  check(keys: string[]): boolean {
    return native.dist.storeCheck(this._h, keys);
  }

  wait(keys: string[], timeoutMs = this.timeoutMs): void {
    native.dist.storeWait(this._h, keys, timeoutMs);
  }
}
