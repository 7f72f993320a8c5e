// Dataset descriptions in yolov5's data.yaml form:
//
//   path: ../datasets/coco128   # dataset root; relative to this yaml file's folder
//   train: images/train2017     # a folder, a .txt list of images, or a list of either; relative to `path`
//   val: images/train2017
//   test:                       # optional
//   names: {0: person, 1: bicycle}   # or a list; nc optional but must agree
//   download: ...               # ignored: nothing is fetched
//
// Differences from yolov5: a relative `path` resolves against the yaml file's folder (yolov5 uses its
// own repository folder), and nothing is downloaded when a source is missing: that is an error.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export interface DataConfig {
  /** the data.yaml file itself, absolute */
  file: string;
  /** dataset root (`path`), absolute */
  root: string;
  /** image sources: folders, .txt lists or image files, absolute */
  train: string[];
  val: string[];
  test?: string[];
  names: string[];
  nc: number;
}

export class DataConfigError extends Error {
  constructor(
    readonly file: string,
    readonly key: string | undefined,
    message: string,
  ) {
    super(key === undefined ? `${file}: ${message}` : `${file}: '${key}': ${message}`);
    this.name = 'DataConfigError';
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export interface LoadDataConfigOptions {
  /** where warnings go (default console.warn): missing names */
  warn?: (line: string) => void;
}

/** Read and check a yolov5 data.yaml. Sources must exist; names/nc must agree. */
export function loadDataConfig(path: string, opts: LoadDataConfigOptions = {}): DataConfig {
  const file = resolve(path);
  if (!existsSync(file)) throw new DataConfigError(file, undefined, 'file not found');
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataConfigError(file, undefined, `not valid YAML: ${(e as Error).message}`);
  }
  if (!isRecord(doc)) throw new DataConfigError(file, undefined, 'expected a mapping at the top level');
  const fail = (key: string, msg: string): never => {
    throw new DataConfigError(file, key, msg);
  };

  // root
  const yamlDir = dirname(file);
  let root = yamlDir;
  if (doc.path !== undefined && doc.path !== null && doc.path !== '') {
    if (typeof doc.path !== 'string') fail('path', `expected a string, got ${JSON.stringify(doc.path)}`);
    const p = doc.path as string;
    root = isAbsolute(p) ? resolve(p) : resolve(yamlDir, p);
  }

  // names / nc
  let names: string[] | undefined;
  if (doc.names !== undefined && doc.names !== null) {
    if (Array.isArray(doc.names)) {
      names = doc.names.map((n, i) => {
        if (typeof n !== 'string' && typeof n !== 'number') fail('names', `entry ${i} is not a string`);
        return String(n);
      });
    } else if (isRecord(doc.names)) {
      const entries = Object.entries(doc.names);
      const byIndex = new Map<number, string>();
      for (const [k, v] of entries) {
        if (!/^\d+$/.test(k)) fail('names', `key ${JSON.stringify(k)} is not a class index (0, 1, ...)`);
        if (typeof v !== 'string' && typeof v !== 'number') fail('names', `name of class ${k} is not a string`);
        byIndex.set(Number(k), String(v));
      }
      names = [];
      for (let i = 0; i < byIndex.size; i++) {
        const v = byIndex.get(i);
        if (v === undefined) fail('names', `class indices must be 0..${byIndex.size - 1} without gaps; ${i} is missing`);
        names.push(v as string);
      }
    } else {
      fail('names', 'expected a list of names or a map of class index to name');
    }
  }
  let nc: number | undefined;
  if (doc.nc !== undefined && doc.nc !== null) {
    if (typeof doc.nc !== 'number' || !Number.isInteger(doc.nc) || doc.nc < 1)
      fail('nc', `expected a positive integer, got ${JSON.stringify(doc.nc)}`);
    nc = doc.nc as number;
  }
  if (names && nc !== undefined && names.length !== nc)
    fail('nc', `nc is ${nc} but names has ${names.length} entries`);
  if (!names && nc === undefined) fail('names', 'missing: give names (a list or an index→name map) or nc');
  if (!names) {
    // as yolov5's check_dataset: it still works, but labels and plots will read class0, class1, ...
    (opts.warn ?? console.warn)(`WARNING ⚠️ ${file}: 'names:' field missing, assigning default names 'class0', 'class1', etc.; add names: [...] to name the ${nc} classes`);
    names = Array.from({ length: nc as number }, (_, i) => `class${i}`);
  }
  if (names.length === 0) fail('names', 'no classes');
  nc = names.length;

  // sources
  const sources = (key: string, required: boolean): string[] | undefined => {
    const v = doc[key];
    if (v === undefined || v === null || v === '') {
      if (required) fail(key, 'missing');
      return undefined;
    }
    const list = Array.isArray(v) ? v : [v];
    if (list.length === 0) fail(key, 'empty list');
    return list.map((s, i) => {
      if (typeof s !== 'string' || s === '')
        fail(key, `expected a path or a list of paths, entry ${i} is ${JSON.stringify(s)}`);
      const abs = isAbsolute(s as string) ? resolve(s as string) : resolve(root, s as string);
      if (!existsSync(abs)) fail(key, `${abs} does not exist (dataset root ${root})`);
      return abs;
    });
  };
  const train = sources('train', true) as string[];
  const val = sources('val', true) as string[];
  const test = sources('test', false);
  const cfg: DataConfig = { file, root, train, val, names, nc };
  if (test) cfg.test = test;
  return cfg;
}
