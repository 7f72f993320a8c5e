// Where the reference fixtures live: fixtures/ at the repository root (@tsyolo/fixtures), and the
// sample photos shipped with the package (assets/images).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture as fixtureIn } from '@tsyolo/fixtures';
import { type Tensor, tidy } from '@tsyolo/torch';

export { fullFixture, needsFullFixture } from '@tsyolo/fixtures';

export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'packages')) && dirname(d) !== d) d = dirname(d);
  return d;
}
/** A yolov5n reference fixture (fixtures/yolov5n). */
export function fixture(name: string): string {
  return fixtureIn(name, 'yolov5n');
}
/** A COCO-evaluation reference fixture (fixtures/coco_eval). */
export function cocoFixture(name: string): string {
  return fixtureIn(name, 'coco_eval');
}
/** A sample photo shipped with tsyolo (bus.jpg, zidane.jpg). */
export function sampleImage(name: string): string {
  return join(repoRoot(), 'packages', 'yolo', 'assets', 'images', name);
}
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item());
}
/** max |a − b| / max(1, |b|): float32 results computed by different kernels agree to ~1e-5 of their magnitude. */
export function maxRelDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().div(b.abs().clamp(1)).max().item());
}
