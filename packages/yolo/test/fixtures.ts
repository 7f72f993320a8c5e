// Where the shared reference fixtures live: ../shared beside the repository root.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tidy, type Tensor } from '@tsyolo/torch';

export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'packages')) && dirname(d) !== d) d = dirname(d);
  return d;
}
export function shared(...parts: string[]): string {
  return resolve(repoRoot(), '..', 'shared', ...parts);
}
export function fixture(name: string): string {
  return shared('fixtures', 'yolov5n', name);
}
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item());
}
/** max |a − b| / max(1, |b|): float32 results computed by different kernels agree to ~1e-5 of their magnitude. */
export function maxRelDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().div(b.abs().clamp(1)).max().item());
}
