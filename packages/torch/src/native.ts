// Loads the compiled addon and describes its functions. Everything else goes through here.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blasEnv, resolvedBlas } from './blas.js';

/** An opaque native tensor handle (a type-tagged napi External). */
export type Handle = { readonly __tensorHandle: unique symbol };
/** Opaque c10d handles (type-tagged napi Externals). */
export type StoreHandle = { readonly __storeHandle: unique symbol };
export type GroupHandle = { readonly __groupHandle: unique symbol };
export type ReduceOpName = 'sum' | 'max' | 'min' | 'product';

/** The addon's c10d functions; collectives block until done and throw on timeout or peer failure. */
export interface NativeDist {
  storeTcp(
    host: string,
    port: number,
    isServer: boolean,
    worldSize: number,
    timeoutMs: number,
    waitWorkers: boolean,
  ): StoreHandle;
  storeFile(path: string, worldSize: number, timeoutMs: number): StoreHandle;
  storePrefix(store: StoreHandle, prefix: string): StoreHandle;
  storeSet(store: StoreHandle, key: string, value: string | Uint8Array): void;
  storeGet(store: StoreHandle, key: string): Buffer;
  storeAdd(store: StoreHandle, key: string, n: number): number;
  storeCheck(store: StoreHandle, keys: string[]): boolean;
  storeWait(store: StoreHandle, keys: string[], timeoutMs: number): void;
  groupGloo(
    store: StoreHandle,
    rank: number,
    size: number,
    timeoutMs: number,
    ifname?: string | null,
    hostname?: string | null,
  ): GroupHandle;
  groupNccl(store: StoreHandle, rank: number, size: number, timeoutMs: number): GroupHandle;
  hasNccl(): boolean;
  groupInfo(g: GroupHandle): { rank: number; size: number; backend: string };
  groupDestroy(g: GroupHandle): void;
  allreduce(g: GroupHandle, t: Handle | Handle[], op: ReduceOpName, timeoutMs: number): void;
  broadcast(g: GroupHandle, t: Handle | Handle[], root: number, timeoutMs: number): void;
  allgather(g: GroupHandle, out: Handle[], input: Handle, timeoutMs: number): void;
  barrier(g: GroupHandle, timeoutMs: number): void;
}

/** A value returned by the dispatcher. */
export type NativeValue = Handle | number | boolean | string | null | NativeValue[];

export interface OpArg {
  name: string;
  type: string;
  hasDefault: boolean;
  kwargOnly: boolean;
}
export interface OpSchema {
  name: string;
  overload: string;
  schema: string;
  args: OpArg[];
  returns: number;
}

export interface Native {
  fromTypedArray(data: ArrayBufferView, shape: readonly number[], dtype?: string): Handle;
  toTypedArray(
    h: Handle,
  ): Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
  shape(h: Handle): number[];
  strides(h: Handle): number[];
  dim(h: Handle): number;
  numel(h: Handle): number;
  dtype(h: Handle): string;
  device(h: Handle): string;
  /** A boolean for bool, a number when a double holds the value exactly, else (an int64 beyond 2**53) a bigint. */
  item(h: Handle): number | boolean | bigint;
  dispose(h: Handle): void;
  isDisposed(h: Handle): boolean;
  isHandle(v: unknown): v is Handle;
  /** How tensor handles are made: 'v8' (one weak handle, dropped by dispose) or 'napi' (napi_create_external). */
  handleMode(): 'v8' | 'napi';
  /** Handles of this thread whose tensor is not yet freed (by dispose or the GC). */
  liveHandles(): number;
  sameStorage(a: Handle, b: Handle): boolean;
  dataPtr(h: Handle): number;
  /** Whether new tensors are reported to V8 as external memory (scope.ts turns it off inside scopes). */
  setExternalReporting(on: boolean): void;
  /** Reports a tensor that outlives every scope to V8 (no-op when already reported). */
  reportExternal(h: Handle): void;
  lookupOp(name: string, overload?: string): number;
  opSchema(id: number): OpSchema;
  call(id: number, ...args: unknown[]): NativeValue;
  /** call() for in-place ops: the result (the input again) is not wrapped. */
  callVoid(id: number, ...args: unknown[]): void;
  /** Unboxed add/sub/mul/div (kind 0..3) of two tensors. */
  binary(kind: number, a: Handle, b: Handle, alpha?: number): Handle;
  setRequiresGrad(h: Handle, on: boolean): void;
  requiresGrad(h: Handle): boolean;
  isLeaf(h: Handle): boolean;
  backward(outs: Handle[], grads: (Handle | null)[] | null, retainGraph?: boolean, createGraph?: boolean): void;
  grad(h: Handle): Handle | null;
  setGrad(h: Handle, g: Handle | null): void;
  gradEnabled(enabled?: boolean): boolean;
  enterInferenceMode(): number;
  exitInferenceMode(): void;
  isInference(h: Handle): boolean;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number): void;
  getRngState(): Handle;
  setRngState(h: Handle): void;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  libtorchVersion(): string;
  mallopt(param: number, value: number): boolean;
  mallocTrim(): boolean;
  dist: NativeDist;
  setFunctionHandler(
    fn: (kind: 'forward' | 'backward', id: number, tensors: (Handle | null)[]) => (Handle | null)[],
  ): void;
  applyFunction(id: number, inputs: Handle[]): (Handle | null)[];
}

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function load(): Native {
  // read by OpenBLAS when libtorch's dynamic loader brings it in: set it first
  Object.assign(process.env, blasEnv(resolvedBlas(), process.env));
  // dist/src/native.js -> ../../build/Release
  const candidates = [
    join(here, '../../build/Release/tsyolo_torch.node'),
    join(here, '../build/Release/tsyolo_torch.node'),
  ];
  const errors: string[] = [];
  for (const c of candidates) {
    try {
      return require(c) as Native;
    } catch (e) {
      errors.push(`${c}: ${(e as Error).message}`);
    }
  }
  throw new Error(`@tsyolo/torch: the native addon is not built (run \`make build\`).\n${errors.join('\n')}`);
}

export const native: Native = load();

// Measured (bench memory, engine-ab): glibc's dynamic mmap threshold keeps unmapping and faulting in
// the large blocks of a training step (perf: a quarter of conv2d's time in page faults, 2.4x PyTorch's
// time). Blocks below 256 MiB come from the heap and up to 512 MiB of freed heap is kept for reuse:
// conv2d and the tiny op at PyTorch's speed or better, for ~10 % more RSS in a training loop.
const DEFAULT_MALLOC = 'mmap=268435456,trim=536870912';

/** Threads libtorch uses for intra-op parallelism: TSYOLO_NUM_THREADS, else every core. */
export function defaultThreads(): number {
  const env = Number(process.env.TSYOLO_NUM_THREADS);
  return Number.isInteger(env) && env > 0 ? env : availableParallelism();
}

// libtorch's own default (from OpenMP) is not reliable here: set it explicitly.
native.setNumThreads(defaultThreads());
applyAllocatorPolicy();
warnReferenceBlas();

/** The reference (netlib) BLAS makes 1x1 convolutions and matmuls ~10x slower: say so once. */
function warnReferenceBlas(): void {
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    if (/\/blas\/libblas\.so/.test(maps) && !process.env.TSYOLO_QUIET_BLAS) {
      process.emitWarning(
        'libtorch is using the reference BLAS (/usr/lib/*/blas/libblas.so.3), which is ~10x slower; install OpenBLAS (apt-get install libopenblas0-openmp)',
        { code: 'TSYOLO_SLOW_BLAS' },
      );
    }
  } catch {
    /* not Linux */
  }
}

/**
 * glibc's allocator policy for tensor memory (TSYOLO_MALLOC="mmap=BYTES,trim=BYTES,arenas=N").
 * See bench/memory.ts for the measurements behind the default.
 */
function applyAllocatorPolicy(): void {
  const spec = process.env.TSYOLO_MALLOC ?? DEFAULT_MALLOC;
  const params: Record<string, number> = { mmap: -3, trim: -1, arenas: -8 };
  for (const part of spec.split(',').filter(Boolean)) {
    const [k, v] = part.split('=');
    if (!(k in params) || !Number.isFinite(Number(v))) throw new Error(`TSYOLO_MALLOC: bad entry '${part}'`);
    native.mallopt(params[k], Number(v));
  }
}
