// torch.distributed.init_process_group for tsyolo: a store from init_method (env://, tcp://host:port,
// file:///path) and a process group on it. env:// reads the variables torchrun sets:
// MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE.
import { type Backend, type GroupOptions, ProcessGroup } from './group.js';
import { DEFAULT_STORE_TIMEOUT_MS, Store } from './store.js';

export interface InitOptions extends GroupOptions {
  backend?: Backend;
  /** env:// (default), tcp://host:port or file:///path */
  initMethod?: string;
  rank?: number;
  worldSize?: number;
  /** how long to wait for the other processes to join, ms */
  storeTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v}: expected a non-negative integer`);
  return n;
}

export function initProcessGroup(o: InitOptions = {}): ProcessGroup {
  const env = o.env ?? process.env;
  const rank = o.rank ?? envInt(env, 'RANK');
  const size = o.worldSize ?? envInt(env, 'WORLD_SIZE');
  if (rank === undefined || size === undefined)
    throw new Error('initProcessGroup: RANK and WORLD_SIZE must be set (or passed as rank/worldSize)');
  if (rank >= size) throw new Error(`initProcessGroup: RANK ${rank} >= WORLD_SIZE ${size}`);
  const storeTimeout = o.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  const method = o.initMethod ?? 'env://';
  let store: Store;
  if (method.startsWith('file://')) {
    store = Store.file(method.slice('file://'.length), size, storeTimeout);
  } else {
    let host: string;
    let port: number;
    if (method === 'env://') {
      host = env.MASTER_ADDR ?? '';
      port = envInt(env, 'MASTER_PORT') ?? NaN;
      if (!host || !Number.isFinite(port))
        throw new Error('initProcessGroup: env:// needs MASTER_ADDR and MASTER_PORT');
    } else if (method.startsWith('tcp://')) {
      const u = new URL(method);
      host = u.hostname;
      port = Number(u.port);
    } else {
      throw new Error(`initProcessGroup: unknown init method '${method}' (env://, tcp://host:port, file:///path)`);
    }
    if (!(port > 0 && port < 65536)) throw new Error(`initProcessGroup: bad port ${port}`);
    store = Store.tcp({
      host,
      port,
      isServer: rank === 0,
      worldSize: size,
      timeoutMs: storeTimeout,
      waitWorkers: false,
    });
  }
  return ProcessGroup.create(o.backend ?? 'gloo', store, rank, size, o);
}
