// Process-wide settings: threads, seeds, CUDA queries, libtorch version.
import { native } from './native.js';
import { Tensor } from './tensor.js';

/** Threads libtorch uses inside one op. */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}
/** Seeds libtorch's CPU (and CUDA) generators. */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}
/** The CPU generator state, for checkpoints that resume exactly. */
export function getRngState(): Tensor {
  return new Tensor(native.getRngState());
}
export function setRngState(state: Tensor): void {
  native.setRngState(state._h);
}
export const cuda = {
  isAvailable: (): boolean => native.cudaIsAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
};
/**
 * Hands freed heap memory back to the OS now (glibc's malloc_trim): the allocator policy keeps up
 * to 512 MiB of freed heap for reuse between steps. Returns false where there is nothing to trim.
 */
export function trimMemory(): boolean {
  return native.mallocTrim();
}
/**
 * How tensor handles are made in this process: 'v8' (one weak V8 handle, dropped by dispose; the
 * addon was built for this Node's ABI) or 'napi' (napi_create_external; TSYOLO_NAPI_HANDLES=1).
 */
export function handleMode(): 'v8' | 'napi' {
  return native.handleMode();
}
export function libtorchVersion(): string {
  return native.libtorchVersion();
}
