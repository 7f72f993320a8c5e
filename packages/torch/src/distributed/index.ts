// c10d: stores, process groups and their collectives.

export { type Backend, DEFAULT_GROUP_TIMEOUT_MS, type GroupOptions, ProcessGroup, type ReduceOpName } from './group.js';
export { type InitOptions, initProcessGroup } from './init.js';
export { DEFAULT_STORE_TIMEOUT_MS, Store, type TcpStoreOptions } from './store.js';
