// COCO bookkeeping of val: image ids as yolov5 derives them and the dataset's ground-truth json.
import { existsSync, readFileSync } from 'node:fs';
import { basename, extname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { DataConfig } from '../../data/config.js';

/** yolov5 COCO image ids: int(stem) when the stem is numeric, else the stem. */
export function cocoImageId(path: string): number | string {
  const stem = basename(path, extname(path));
  return /^\d+$/.test(stem) ? Number(stem) : stem;
}

/** The dataset's COCO ground-truth json: data.yaml `coco_json` (relative to the dataset root), else annotations/instances_val.json. */
export function findCocoJson(data: DataConfig): string | null {
  let doc: unknown = null;
  try {
    doc = parseYaml(readFileSync(data.file, 'utf8'));
  } catch {
    doc = null;
  }
  const key = doc && typeof doc === 'object' && 'coco_json' in doc ? doc.coco_json : undefined;
  if (typeof key === 'string' && key) {
    const p = isAbsolute(key) ? key : resolve(data.root, key);
    if (!existsSync(p)) throw new Error(`${data.file}: coco_json ${p} not found`);
    return p;
  }
  const p = join(data.root, 'annotations', 'instances_val.json');
  return existsSync(p) ? p : null;
}
