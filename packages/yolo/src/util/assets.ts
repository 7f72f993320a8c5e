// Files shipped with the tsyolo package itself (assets/), found from this module's own location so
// they work from a clone, an npm install or a copied dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The sample photos shipped in assets/images (bus.jpg 810×1080, zidane.jpg 1280×720), those present. */
export function sampleImages(): string[] {
  // dist/src/util/assets.js (or src/util/assets.ts) → <package>/assets/images
  return ['bus.jpg', 'zidane.jpg']
    .map((f) => fileURLToPath(new URL(`../../../assets/images/${f}`, import.meta.url)))
    .filter((f) => existsSync(f));
}
