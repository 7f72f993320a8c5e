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
export function libtorchVersion(): string {
  return native.libtorchVersion();
}
