// The yolov5 model config (models/*.yaml): nc, depth/width multiples, anchors, backbone and head rows.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** One layer row: [from, number, module, args]. */
export type LayerRow = [number | number[], number, string, unknown[]];

export interface ModelConfig {
  nc: number;
  depth_multiple: number;
  width_multiple: number;
  /** per level: flat pixel pairs [w0,h0, w1,h1, ...]; or a number of anchors per level (computed by AutoAnchor) */
  anchors: number[][] | number;
  backbone: LayerRow[];
  head: LayerRow[];
  ch?: number;
  activation?: string;
  /** where the config came from (file name), for messages */
  yaml_file?: string;
}

const configsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../configs/models');

/** Shipped configs (yolov5n.yaml, ...) by name, or any path. */
export function resolveConfigPath(cfg: string): string {
  if (existsSync(cfg)) return cfg;
  const name = cfg.endsWith('.yaml') || cfg.endsWith('.yml') ? basename(cfg) : `${cfg}.yaml`;
  const shipped = join(configsDir, name);
  if (existsSync(shipped)) return shipped;
  throw new Error(`model config '${cfg}' not found (not a file, and not one of the shipped configs in ${configsDir})`);
}

export function shippedConfigs(): string[] {
  return [
    'yolov5n',
    'yolov5s',
    'yolov5m',
    'yolov5l',
    'yolov5x',
    'yolov5n6',
    'yolov5s6',
    'yolov5m6',
    'yolov5l6',
    'yolov5x6',
    'yolov3',
    'yolov3-spp',
    'yolov3-tiny',
  ];
}

function fail(where: string, why: string): never {
  throw new Error(`${where}: ${why}`);
}

/** Checks the shape of a config object (from YAML or a checkpoint's `yaml` attribute). */
export function validateConfig(raw: unknown, where: string): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where, 'a model config must be a mapping');
  const c = raw as Record<string, unknown>;
  for (const k of ['depth_multiple', 'width_multiple']) {
    if (typeof c[k] !== 'number' || !((c[k] as number) > 0)) fail(where, `'${k}' must be a positive number`);
  }
  if (!Number.isInteger(c.nc) || (c.nc as number) < 1)
    fail(where, `'nc' must be a positive integer (got ${JSON.stringify(c.nc)})`);
  const anchors = c.anchors;
  if (typeof anchors === 'number') {
    if (!Number.isInteger(anchors) || anchors < 1) fail(where, `'anchors' as a number must be a positive integer`);
  } else if (
    !Array.isArray(anchors) ||
    !anchors.length ||
    anchors.some((a) => !Array.isArray(a) || a.length % 2 || a.some((v) => typeof v !== 'number'))
  ) {
    fail(where, `'anchors' must be a list of per-level [w,h, w,h, ...] pixel pairs, or a number`);
  }
  const rows = (key: 'backbone' | 'head', offset: number): LayerRow[] => {
    const list = c[key];
    if (!Array.isArray(list)) fail(where, `'${key}' must be a list of [from, number, module, args] rows`);
    return list.map((r, i) => {
      const at = `${where}: layer ${offset + i} (${key} row ${i})`;
      if (!Array.isArray(r) || r.length !== 4)
        fail(at, `expected [from, number, module, args], got ${JSON.stringify(r)}`);
      const [f, n, m, args] = r;
      const fromOk = Number.isInteger(f) || (Array.isArray(f) && f.length > 0 && f.every((x) => Number.isInteger(x)));
      if (!fromOk) fail(at, `'from' must be an integer or a list of integers, got ${JSON.stringify(f)}`);
      if (!Number.isInteger(n) || n < 1) fail(at, `'number' must be a positive integer, got ${JSON.stringify(n)}`);
      if (typeof m !== 'string') fail(at, `'module' must be a name, got ${JSON.stringify(m)}`);
      if (!Array.isArray(args)) fail(at, `'args' must be a list, got ${JSON.stringify(args)}`);
      return [f, n, m, args] as LayerRow;
    });
  };
  const backbone = rows('backbone', 0);
  const head = rows('head', backbone.length);
  return {
    nc: c.nc as number,
    depth_multiple: c.depth_multiple as number,
    width_multiple: c.width_multiple as number,
    anchors: anchors as number[][] | number,
    backbone,
    head,
    ch: typeof c.ch === 'number' ? c.ch : undefined,
    activation: typeof c.activation === 'string' ? c.activation : undefined,
    yaml_file: typeof c.yaml_file === 'string' ? c.yaml_file : where,
  };
}

/** Reads a model config file (or a shipped config by name). */
export function loadConfig(cfg: string): ModelConfig {
  const path = resolveConfigPath(cfg);
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: invalid YAML: ${(e as Error).message}`);
  }
  const c = validateConfig(raw, path);
  c.yaml_file = basename(path);
  return c;
}
