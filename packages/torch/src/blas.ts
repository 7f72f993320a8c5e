// Which BLAS libtorch will load through Debian's alternatives (libblas.so.3), and what to do about it
// before the addon loads: OpenBLAS's pthread build (selected when Python's torch is installed) runs its
// own thread pool beside libtorch's OpenMP threads, and on a few cores they fight.
import { existsSync, realpathSync } from 'node:fs';

/** The file libblas.so.3 resolves to on this machine (Debian's multiarch folders), or null. */
export function resolvedBlas(): string | null {
  for (const triplet of ['x86_64-linux-gnu', 'aarch64-linux-gnu']) {
    const link = `/usr/lib/${triplet}/libblas.so.3`;
    if (existsSync(link)) return realpathSync(link);
  }
  return null;
}

/**
 * Environment to set before the addon loads: OpenBLAS's pthread build is held to one thread (libtorch
 * parallelises around its BLAS calls itself), unless the user chose OPENBLAS_NUM_THREADS.
 */
export function blasEnv(blasPath: string | null, env: NodeJS.ProcessEnv): Record<string, string> {
  if (!blasPath || !/openblas-pthread/.test(blasPath)) return {};
  if (env.OPENBLAS_NUM_THREADS !== undefined) return {};
  return { OPENBLAS_NUM_THREADS: '1' };
}
