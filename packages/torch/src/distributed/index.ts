// c10d: stores, process groups and their collectives.
export { Store, DEFAULT_STORE_TIMEOUT_MS, type TcpStoreOptions } from './store.js';
export { ProcessGroup, DEFAULT_GROUP_TIMEOUT_MS, type Backend, type GroupOptions, type ReduceOpName } from './group.js';
export { initProcessGroup, type InitOptions } from './init.js';
