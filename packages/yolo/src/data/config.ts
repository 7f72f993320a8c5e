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
  const doc = readYamlMapping(file);
  const fail: Fail = (key, msg) => {
    throw new DataConfigError(file, key, msg);
  };
  const root = datasetRoot(doc, file, fail);
  const names = classNames(doc, file, opts.warn ?? console.warn, fail);
  const nc = names.length;
  const train = sourceList(doc, 'train', true, root, fail) as string[];
  const val = sourceList(doc, 'val', true, root, fail) as string[];
  const test = sourceList(doc, 'test', false, root, fail);
  const cfg: DataConfig = { file, root, train, val, names, nc };
  if (test) cfg.test = test;
  return cfg;
}

/** Throws the DataConfigError of one key of the file being read. */
type Fail = (key: string, msg: string) => never;

/** The yaml file's top-level mapping; a missing file, invalid YAML or another top level is an error. */
function readYamlMapping(file: string): Record<string, unknown> {
  if (!existsSync(file)) throw new DataConfigError(file, undefined, 'file not found');
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataConfigError(file, undefined, `not valid YAML: ${(e as Error).message}`);
  }
  if (!isRecord(doc)) throw new DataConfigError(file, undefined, 'expected a mapping at the top level');
  return doc;
}

/** The dataset root: `path` resolved against the yaml file's folder, or that folder when `path` is not given. */
function datasetRoot(doc: Record<string, unknown>, file: string, fail: Fail): string {
  const yamlDir = dirname(file);
  if (doc.path === undefined || doc.path === null || doc.path === '') return yamlDir;
  if (typeof doc.path !== 'string') fail('path', `expected a string, got ${JSON.stringify(doc.path)}`);
  const p = doc.path as string;
  return isAbsolute(p) ? resolve(p) : resolve(yamlDir, p);
}

/**
 * The class names from `names` and `nc`: they must agree when both are given; with nc alone the names
 * become class0, class1, … (with a warning, as yolov5's check_dataset); at least one class.
 */
function classNames(doc: Record<string, unknown>, file: string, warn: (line: string) => void, fail: Fail): string[] {
  let names = doc.names !== undefined && doc.names !== null ? parseNames(doc.names, fail) : undefined;
  let nc: number | undefined;
  if (doc.nc !== undefined && doc.nc !== null) {
    if (typeof doc.nc !== 'number' || !Number.isInteger(doc.nc) || doc.nc < 1)
      fail('nc', `expected a positive integer, got ${JSON.stringify(doc.nc)}`);
    nc = doc.nc as number;
  }
  if (names && nc !== undefined && names.length !== nc) fail('nc', `nc is ${nc} but names has ${names.length} entries`);
  if (!names && nc === undefined) fail('names', 'missing: give names (a list or an index→name map) or nc');
  if (!names) {
    // as yolov5's check_dataset: it still works, but labels and plots will read class0, class1, ...
    warn(
      `WARNING ⚠️ ${file}: 'names:' field missing, assigning default names 'class0', 'class1', etc.; add names: [...] to name the ${nc} classes`,
    );
    names = Array.from({ length: nc as number }, (_, i) => `class${i}`);
  }
  if (names.length === 0) fail('names', 'no classes');
  return names;
}

/** `names` as a list of names, or as a map of class index to name whose indices are 0..n−1 without gaps. */
function parseNames(value: unknown, fail: Fail): string[] {
  if (Array.isArray(value)) {
    return value.map((n, i) => {
      if (typeof n !== 'string' && typeof n !== 'number') fail('names', `entry ${i} is not a string`);
      return String(n);
    });
  }
  if (!isRecord(value)) return fail('names', 'expected a list of names or a map of class index to name');
  const byIndex = new Map<number, string>();
  for (const [k, v] of Object.entries(value)) {
    if (!/^\d+$/.test(k)) fail('names', `key ${JSON.stringify(k)} is not a class index (0, 1, ...)`);
    if (typeof v !== 'string' && typeof v !== 'number') fail('names', `name of class ${k} is not a string`);
    byIndex.set(Number(k), String(v));
  }
  const names: string[] = [];
  for (let i = 0; i < byIndex.size; i++) {
    const v = byIndex.get(i);
    if (v === undefined) fail('names', `class indices must be 0..${byIndex.size - 1} without gaps; ${i} is missing`);
    names.push(v as string);
  }
  return names;
}

/**
 * The image sources under `key` (a path or a list of paths, relative to the dataset root), absolute;
 * each must exist. Undefined when an optional key is absent.
 */
function sourceList(
  doc: Record<string, unknown>,
  key: string,
  required: boolean,
  root: string,
  fail: Fail,
): string[] | undefined {
  const v = doc[key];
  if (v === undefined || v === null || v === '') {
    if (required) fail(key, 'missing');
    return undefined;
  }
  const list: unknown[] = Array.isArray(v) ? v : [v];
  if (list.length === 0) fail(key, 'empty list');
  return list.map((s, i) => {
    if (typeof s !== 'string' || s === '')
      fail(key, `expected a path or a list of paths, entry ${i} is ${JSON.stringify(s)}`);
    const abs = isAbsolute(s as string) ? resolve(s as string) : resolve(root, s as string);
    if (!existsSync(abs)) fail(key, `${abs} does not exist (dataset root ${root})`);
    return abs;
  });
}
