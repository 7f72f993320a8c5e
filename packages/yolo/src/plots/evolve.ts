// evolve.png (yolov5's plot_evolve): one small scatter per evolved hyperparameter — its value in
// every generation against that generation's fitness, coloured by fitness (viridis), the best
// generation marked with a black cross and its value in the title.
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

/** What evolve.png shows: per evolved hyperparameter its value in every generation, each generation's fitness. */
export interface EvolutionPlotData {
  hypKeys: readonly string[];
  /** values[j][i]: hyperparameter j in generation i */
  values: readonly (readonly number[])[];
  fitness: readonly number[];
  /** the best generation's index */
  best: number;
}

/** Draws evolve.png from the generations' values and fitness. */
export async function plotEvolution(data: EvolutionPlotData, outPng: string): Promise<void> {
  const f = data.fitness.map((v) => (Number.isFinite(v) ? v : 0));
  const best = data.best;
  const [flo, fhi] = [Math.min(...f), Math.max(...f)];
  const tOf = (v: number): number => (fhi > flo ? (v - flo) / (fhi - flo) : 1);
  // fitter points drawn last (on top)
  const order = f.map((_, i) => i).sort((a, b) => f[a] - f[b] || a - b);
  const cols = 5;
  const cw = 220;
  const ch = 180;
  const nrow = Math.ceil(data.hypKeys.length / cols);
  const y = extent(f);
  const body = data.hypKeys.map((k, j) => {
    const v = data.values[j];
    const cell = { x: (j % cols) * cw + 4, y: Math.floor(j / cols) * ch + 4, w: cw - 8, h: ch - 8 };
    const ax = axes(cell, {
      x: extent(v),
      y,
      title: `${k} = ${Number(v[best].toPrecision(3))}`,
      ylabel: j % cols === 0 ? 'fitness' : undefined,
      fontSize: 11,
      tickCount: 3,
      yticks: j % cols === 0 ? undefined : false,
    });
    const pts = order.map(
      (i) =>
        `<circle cx="${num(ax.sx(v[i]))}" cy="${num(ax.sy(f[i]))}" r="3" fill="${viridis(tOf(f[i]))}" fill-opacity="0.85"/>`,
    );
    const bx = ax.sx(v[best]);
    const by = ax.sy(f[best]);
    const cross = `<path d="M${num(bx - 7)} ${num(by)}h14M${num(bx)} ${num(by - 7)}v14" stroke="#000000" stroke-width="2"/>`;
    return ax.wrap(pts.join('') + cross);
  });
  await saveSvg(svgDoc(cols * cw, nrow * ch, body.join('')), outPng);
}
