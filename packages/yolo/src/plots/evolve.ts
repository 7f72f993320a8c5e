// evolve.png (yolov5's plot_evolve): one small scatter per evolved hyperparameter — its value in
// every generation against that generation's fitness, coloured by fitness (viridis), the best
// generation marked with a black cross and its value in the title.
import { dirname, join } from 'node:path';
import { readPopulation } from '../evolve/store.js';
import { RESULT_COLUMNS } from '../evolve/meta.js';
import { bestRowIndex, rowFitness } from '../evolve/select.js';
import { axes, extent, num, saveSvg, svgDoc } from './svg.js';

const VIRIDIS = ['#440154', '#414487', '#2a788e', '#22a884', '#7ad151', '#fde725'];

/** A viridis colour for t in [0, 1]. */
export function viridis(t: number): string {
  const x = Math.min(Math.max(Number.isFinite(t) ? t : 0, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  const f = x - i;
  const c = (hex: string, k: number): number => parseInt(hex.slice(1 + 2 * k, 3 + 2 * k), 16);
  const ch = [0, 1, 2].map((k) => Math.round(c(VIRIDIS[i], k) * (1 - f) + c(VIRIDIS[i + 1], k) * f));
  return `#${ch.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** Draws evolve.png from an evolve.csv (default: next to it). */
export async function plotEvolve(csvPath: string, outPng = join(dirname(csvPath), 'evolve.png')): Promise<void> {
  const p = readPopulation(csvPath);
  if (!p || !p.rows.length) throw new Error(`${csvPath}: no generations to plot`);
  const f = p.rows.map(rowFitness).map((v) => (Number.isFinite(v) ? v : 0));
  const [flo, fhi] = [Math.min(...f), Math.max(...f)];
  const tOf = (v: number): number => (fhi > flo ? (v - flo) / (fhi - flo) : 1);
  const best = bestRowIndex(p.rows);
  // fitter points drawn last (on top)
  const order = f.map((_, i) => i).sort((a, b) => f[a] - f[b] || a - b);
  const cols = 5;
  const cw = 220;
  const ch = 180;
  const nrow = Math.ceil(p.hypKeys.length / cols);
  const y = extent(f);
  const body = p.hypKeys.map((k, j) => {
    const v = p.rows.map((r) => r[RESULT_COLUMNS.length + j]);
    const cell = { x: (j % cols) * cw + 4, y: Math.floor(j / cols) * ch + 4, w: cw - 8, h: ch - 8 };
    const ax = axes(cell, { x: extent(v), y, title: `${k} = ${Number(v[best].toPrecision(3))}`, ylabel: j % cols === 0 ? 'fitness' : undefined, fontSize: 11, tickCount: 3, yticks: j % cols === 0 ? undefined : false });
    const pts = order.map((i) => `<circle cx="${num(ax.sx(v[i]))}" cy="${num(ax.sy(f[i]))}" r="3" fill="${viridis(tOf(f[i]))}" fill-opacity="0.85"/>`);
    const bx = ax.sx(v[best]);
    const by = ax.sy(f[best]);
    const cross = `<path d="M${num(bx - 7)} ${num(by)}h14M${num(bx)} ${num(by - 7)}v14" stroke="#000000" stroke-width="2"/>`;
    return ax.wrap(pts.join('') + cross);
  });
  await saveSvg(svgDoc(cols * cw, nrow * ch, body.join('')), outPng);
}
