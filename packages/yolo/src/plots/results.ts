// results.png: the training curves of results.csv, a 2 × 5 grid of losses and metrics against epoch,
// each with its Gaussian-smoothed trend.
import { dirname, join } from 'node:path';
import { readCsvTable } from '../util/csv-table.js';
import { CYCLE, lineChart, saveSvg, svgDoc } from './svg.js';

/** The charts in grid order (row-major, 5 per row). */
export const RESULT_PANELS = [
  'train/box_loss',
  'train/obj_loss',
  'train/cls_loss',
  'metrics/precision',
  'metrics/recall',
  'val/box_loss',
  'val/obj_loss',
  'val/cls_loss',
  'metrics/mAP_0.5',
  'metrics/mAP_0.5:0.95',
] as const;

/**
 * 1-D Gaussian filter (scipy.ndimage.gaussian_filter1d's definition): kernel radius round(4σ),
 * the signal extended by mirror reflection including the edge value (… b a | a b … z | z y …).
 */
export function gaussianSmooth(y: ArrayLike<number>, sigma = 3): Float64Array {
  const n = y.length;
  const r = Math.floor(4 * sigma + 0.5);
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-0.5 * ((i - r) / sigma) ** 2));
  const ks = k.reduce((a, b) => a + b, 0);
  const at = (i: number): number => {
    const p = 2 * n;
    i = ((i % p) + p) % p; // period of the symmetric extension
    return y[i < n ? i : p - 1 - i];
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = -r; j <= r; j++) s += k[j + r] * at(i + j);
    out[i] = s / ks;
  }
  return out;
}

/** Draws results.png from a results.csv (default: next to it). */
export async function plotResults(csvPath: string, outPng = join(dirname(csvPath), 'results.png')): Promise<void> {
  const { header, rows } = readCsvTable(csvPath);
  const col = (name: string): number[] => {
    const j = header.indexOf(name);
    return j < 0 ? [] : rows.map((r) => r[j]);
  };
  const epoch = col('epoch');
  const W = 1500;
  const H = 700;
  const cw = W / 5;
  const ch = H / 2;
  const body = RESULT_PANELS.map((name, i) => {
    const y = col(name);
    const cell = { x: (i % 5) * cw + 4, y: Math.floor(i / 5) * ch + 4, w: cw - 8, h: ch - 8 };
    return lineChart(cell, {
      title: name,
      xlabel: i >= 5 ? 'epoch' : undefined,
      xInteger: true,
      grid: true,
      series: [
        { x: epoch, y, color: CYCLE[0], width: 2, marker: 3, label: 'results' },
        { x: epoch, y: gaussianSmooth(y), color: CYCLE[1], width: 2, dash: '2 4', label: 'smooth' },
      ],
      legend: i === 0 ? 'upper right' : undefined,
    });
  });
  await saveSvg(svgDoc(W, H, body.join('')), outPng);
}
