// A dataset ready for the loader: verified images and labels, single-class folding, and
// yolov5's rectangular batches (images sorted by aspect ratio, one letterbox shape per batch).

import { type LabelSummary, loadLabels } from './cache.js';
import { listImages } from './files.js';
import type { DatasetSpec } from './sample.js';
import type { Hyp } from './types.js';

export interface DatasetOptions {
  imgsz: number;
  augment: boolean;
  hyp: Hyp;
  seed: number;
  stride: number;
  batchSize: number;
  nc: number;
  rect?: boolean;
  /** extra padding of rect shapes, in strides (yolov5: 0.5 for validation) */
  pad?: number;
  singleCls?: boolean;
  cache?: 'ram' | null;
  /** print lines (scan summary, warnings) */
  log?: (line: string) => void;
  prefix?: string;
}

export interface Dataset {
  spec: DatasetSpec;
  summary: LabelSummary;
  /** every label row of every image (for AutoAnchor, class weights, plots) */
  allLabels(): Float32Array;
}

/** yolov5's batch shapes: per batch [h, w] = ceil(ratio·imgsz/stride + pad)·stride. */
export function rectBatchShapes(
  shapes: [number, number][],
  batchSize: number,
  imgsz: number,
  stride: number,
  pad: number,
): { order: number[]; shapes: [number, number][]; batchOf: number[] } {
  const n = shapes.length;
  const ar = shapes.map(([h, w]) => h / w);
  // a stable sort keeps ties in file order
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ar[a] - ar[b] || a - b);
  const nb = Math.ceil(n / batchSize);
  const out: [number, number][] = [];
  const batchOf: number[] = [];
  for (let b = 0; b < nb; b++) {
    const ars = order.slice(b * batchSize, (b + 1) * batchSize).map((i) => ar[i]);
    const mini = Math.min(...ars);
    const maxi = Math.max(...ars);
    let s: [number, number] = [1, 1];
    if (maxi < 1) s = [maxi, 1];
    else if (mini > 1) s = [1, 1 / mini];
    out.push([Math.ceil((s[0] * imgsz) / stride + pad) * stride, Math.ceil((s[1] * imgsz) / stride + pad) * stride]);
  }
  for (let k = 0; k < n; k++) batchOf.push(Math.floor(k / batchSize));
  return { order, shapes: out, batchOf };
}

export async function createDataset(sources: string[], o: DatasetOptions): Promise<Dataset> {
  const files = listImages(sources);
  if (!files.length) throw new Error(`${o.prefix ?? ''}no images found in ${sources.join(', ')}`);
  const res = await loadLabels(files, o.nc, { prefix: o.prefix });
  for (const l of res.lines) o.log?.(l);
  if (!res.entries.length)
    throw new Error(`${o.prefix ?? ''}no usable images in ${sources.join(', ')} (${res.summary.corrupt} corrupt)`);
  let entries = res.entries;
  const labels = (l: Float32Array): Float32Array => {
    if (!o.singleCls) return l;
    const c = l.slice();
    for (let i = 0; i < c.length; i += 5) c[i] = 0;
    return c;
  };
  let rectShapes: [number, number][] | undefined;
  let batchOf: number[] | undefined;
  if (o.rect) {
    const r = rectBatchShapes(
      entries.map((e) => e.shape),
      o.batchSize,
      o.imgsz,
      o.stride,
      o.pad ?? 0,
    );
    entries = r.order.map((i) => entries[i]);
    rectShapes = r.shapes;
    batchOf = r.batchOf;
  }
  const spec: DatasetSpec = {
    files: entries.map((e) => e.im),
    labels: entries.map((e) => labels(e.labels)),
    shapes: entries.map((e) => e.shape),
    imgsz: o.imgsz,
    augment: o.augment,
    hyp: o.hyp,
    seed: o.seed,
    stride: o.stride,
    rectShapes,
    batchOf,
    cache: o.cache ?? null,
  };
  return {
    spec,
    summary: res.summary,
    allLabels: () => {
      const n = spec.labels.reduce((a, l) => a + l.length, 0);
      const out = new Float32Array(n);
      let k = 0;
      for (const l of spec.labels) {
        out.set(l, k);
        k += l.length;
      }
      return out;
    },
  };
}
