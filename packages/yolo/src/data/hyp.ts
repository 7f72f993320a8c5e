// Training hyperparameters (yolov5's hyp.*.yaml): loading and validation.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { Hyp } from './types.js';

const hypsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../configs/hyps');

/** Keys every hyp file must define (yolov5 v7.0's hyp.scratch-*.yaml set). */
export const requiredHypKeys = [
  'lr0',
  'lrf',
  'momentum',
  'weight_decay',
  'warmup_epochs',
  'warmup_momentum',
  'warmup_bias_lr',
  'box',
  'cls',
  'cls_pw',
  'obj',
  'obj_pw',
  'iou_t',
  'anchor_t',
  'fl_gamma',
  'hsv_h',
  'hsv_s',
  'hsv_v',
  'degrees',
  'translate',
  'scale',
  'shear',
  'perspective',
  'flipud',
  'fliplr',
  'mosaic',
  'mixup',
  'copy_paste',
] as const satisfies readonly (keyof Hyp)[];

/** The shipped hyp files (names accepted by loadHyp). */
export function shippedHyps(): string[] {
  return ['hyp.scratch-low.yaml', 'hyp.scratch-med.yaml', 'hyp.scratch-high.yaml'];
}

/** Resolves 'hyp.scratch-low.yaml', 'hyp.scratch-low', 'scratch-low' or a file path. */
export function resolveHypPath(nameOrPath: string): string {
  if (existsSync(nameOrPath)) return nameOrPath;
  let name = basename(nameOrPath).replace(/\.ya?ml$/, '');
  if (!name.startsWith('hyp.')) name = `hyp.${name}`;
  const shipped = join(hypsDir, `${name}.yaml`);
  if (existsSync(shipped)) return shipped;
  throw new Error(
    `hyp '${nameOrPath}' not found (not a file, and not one of the shipped ${shippedHyps().join(', ')} in ${hypsDir})`,
  );
}

/**
 * Checks a parsed hyp mapping: every required key present, every value a finite number.
 * Extra numeric keys (e.g. anchors, label_smoothing) are kept. `where` names the source in errors.
 */
export function validateHyp(raw: unknown, where: string): Hyp {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error(`${where}: a hyp file must be a mapping of name: number`);
  const obj = raw as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new Error(`${where}: hyp '${k}' must be a finite number (got ${JSON.stringify(v)})`);
  }
  const missing = requiredHypKeys.filter((k) => !(k in obj));
  if (missing.length)
    throw new Error(
      `${where}: missing hyp key${missing.length > 1 ? 's' : ''} ${missing.map((k) => `'${k}'`).join(', ')}`,
    );
  return { ...(obj as unknown as Hyp) };
}

/** Loads and validates a hyp YAML: a shipped name ('hyp.scratch-low.yaml' / 'scratch-low') or a path. */
export function loadHyp(nameOrPath: string): Hyp {
  const path = resolveHypPath(nameOrPath);
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: cannot parse hyp YAML: ${(e as Error).message}`);
  }
  return validateHyp(raw, path);
}
