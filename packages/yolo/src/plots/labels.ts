// labels.jpg: the dataset's label statistics. Instances per class, the boxes drawn about a common
// centre, box centres (x vs y) and box sizes (width vs height).
import { classColor } from '../util/colors.js';
import { axes, type Box, dots, num, saveSvg, svgDoc, type Tick, text } from './svg.js';

/** Scatter plots draw at most this many points (an even stride through the labels). */
export const MAX_SCATTER = 5000;
/** Boxes drawn in the centred overlay. */
export const MAX_OVERLAY = 2000;

/** The figure's side in pixels: a 2 × 2 grid of panels. */
const SIZE = 1000;

/** Panel i of the 2 × 2 grid (row-major), inset by a small margin. */
function cell(i: number): Box {
  const half = SIZE / 2;
  return { x: (i % 2) * half + 6, y: Math.floor(i / 2) * half + 6, w: half - 12, h: half - 12 };
}

/** Column j of the label rows listed in idx. */
function column(labels: Float32Array, j: number, idx: number[]): number[] {
  return idx.map((i) => labels[i * 5 + j]);
}

/** The number of classes: one per name, or (without names) up to the largest class index seen. */
function classCount(labels: Float32Array, n: number, names: string[]): number {
  let nc = names.length;
  for (let i = 0; i < n && !names.length; i++) nc = Math.max(nc, Math.trunc(labels[i * 5]) + 1);
  return nc;
}

/** Panel 0: a bar per class with its number of instances, bars in the class colours. */
function classHistogram(labels: Float32Array, n: number, nc: number, names: string[]): string {
  const counts = new Array<number>(nc).fill(0);
  for (let i = 0; i < n; i++) {
    const c = Math.trunc(labels[i * 5]);
    if (c >= 0 && c < nc) counts[c]++;
  }
  const xticks: Tick[] | undefined =
    nc > 0 && nc < 30 ? counts.map((_, c) => ({ v: c, label: names[c] ?? String(c) })) : undefined;
  const hist = axes(cell(0), {
    x: [-0.6, Math.max(nc, 1) - 0.4],
    y: [0, Math.max(1, ...counts) * 1.05],
    xticks,
    xInteger: true,
    yInteger: true,
    xlabel: 'classes',
    ylabel: 'instances',
    title: `${n} labels`,
    grid: true,
  });
  const bw = hist.sx(0.8) - hist.sx(0) || 1;
  const bars = counts.map(
    (k, c) =>
      `<rect x="${num(hist.sx(c) - bw / 2)}" y="${num(hist.sy(k))}" width="${num(bw)}" height="${num(hist.sy(0) - hist.sy(k))}" fill="${classColor(c)}"/>`,
  );
  return hist.wrap(bars.join(''));
}

/** Panel 1: the first MAX_OVERLAY boxes outlined about one common centre on a 500 × 500 canvas. */
function centredBoxes(labels: Float32Array, n: number): string {
  const c1 = cell(1);
  const side = Math.min(c1.w, c1.h - 36);
  const o: Box = { x: c1.x + (c1.w - side) / 2, y: c1.y + 30, w: side, h: side };
  const m = Math.min(n, MAX_OVERLAY);
  const rects: string[] = [];
  for (let i = 0; i < m; i++) {
    const w = labels[i * 5 + 3] * 500;
    const h = labels[i * 5 + 4] * 500;
    rects.push(
      `<rect x="${num(250 - w / 2)}" y="${num(250 - h / 2)}" width="${num(w)}" height="${num(h)}" stroke="${classColor(Math.trunc(labels[i * 5]))}"/>`,
    );
  }
  return (
    text(o.x + side / 2, c1.y + 18, m < n ? `first ${m} boxes, centred` : 'boxes, centred', {
      size: 12.6,
      anchor: 'middle',
    }) +
    `<svg x="${num(o.x)}" y="${num(o.y)}" width="${num(side)}" height="${num(side)}" viewBox="0 0 500 500"><g fill="none" stroke-width="1">${rects.join('')}</g></svg>` +
    `<rect x="${num(o.x)}" y="${num(o.y)}" width="${num(side)}" height="${num(side)}" fill="none" stroke="#000000"/>`
  );
}

/** Panels 2 and 3: box centres (x, y) and sizes (w, h), every stride-th label when there are many. */
function scatterPanels(labels: Float32Array, n: number): [string, string] {
  const stride = Math.max(1, Math.ceil(n / MAX_SCATTER));
  const idx: number[] = [];
  for (let i = 0; i < n; i += stride) idx.push(i);
  const sub = idx.length < n ? ` (${idx.length} of ${n})` : '';
  const xy = axes(cell(2), { x: [0, 1], y: [0, 1], xlabel: 'x', ylabel: 'y', title: `box centres${sub}`, grid: true });
  const wh = axes(cell(3), {
    x: [0, 1],
    y: [0, 1],
    xlabel: 'width',
    ylabel: 'height',
    title: `box sizes${sub}`,
    grid: true,
  });
  const col = (j: number) => column(labels, j, idx);
  return [xy.wrap(dots(xy, col(1), col(2), 2, '#1f77b4', 0.25)), wh.wrap(dots(wh, col(3), col(4), 2, '#1f77b4', 0.25))];
}

/**
 * labels: all rows [cls, x, y, w, h] (normalised xywh) concatenated; names: class names (the
 * histogram has one bar per name; without names, one per class index seen).
 */
export async function plotLabels(labels: Float32Array, names: string[], outJpg: string): Promise<void> {
  const n = Math.floor(labels.length / 5);
  const nc = classCount(labels, n, names);
  const body = [classHistogram(labels, n, nc, names), centredBoxes(labels, n), ...scatterPanels(labels, n)];
  await saveSvg(svgDoc(SIZE, SIZE, body.join('')), outJpg);
}
