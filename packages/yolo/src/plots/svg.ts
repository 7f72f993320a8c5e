// Small SVG chart toolkit for the run plots: linear axes with nice ticks, line/dot series, legends,
// and rasterisation through sharp (librsvg). Coordinates are SVG user units = output pixels.

import { extname } from 'node:path';
import { writeFileAtomic } from '@tsyolo/torch';
import sharp from 'sharp';

export const FONT = 'DejaVu Sans, Arial, Helvetica, sans-serif';
/** Qualitative line colours (matplotlib's default cycle). */
export const CYCLE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A coordinate for an attribute: at most 2 decimals. */
export function num(v: number): string {
  const r = Math.round(v * 100) / 100;
  return String(r === 0 ? 0 : r);
}

/** Approximate rendered width of a DejaVu Sans string. */
export function textWidth(s: string, size: number): number {
  return s.length * size * 0.6;
}

export interface TextStyle {
  size?: number;
  anchor?: 'start' | 'middle' | 'end';
  color?: string;
  bold?: boolean;
  /** Degrees, about (x, y). */
  rotate?: number;
  /** Vertically centre the text on y instead of sitting on the baseline. */
  middle?: boolean;
  extra?: string;
}

export function text(x: number, y: number, s: string, o: TextStyle = {}): string {
  const size = o.size ?? 12;
  const dy = o.middle ? size * 0.35 : 0;
  const attrs = [
    o.rotate
      ? `transform="translate(${num(x)},${num(y)}) rotate(${o.rotate})" x="0" y="${num(dy)}"`
      : `x="${num(x)}" y="${num(y + dy)}"`,
    `font-size="${num(size)}"`,
    o.anchor && o.anchor !== 'start' ? `text-anchor="${o.anchor}"` : '',
    o.color ? `fill="${o.color}"` : '',
    o.bold ? 'font-weight="bold"' : '',
    o.extra ?? '',
  ];
  return `<text ${attrs.filter(Boolean).join(' ')}>${esc(s)}</text>`;
}

// ------------------------------------------------------------------------------------------------
// scales and ticks
// ------------------------------------------------------------------------------------------------

/** Range of the finite values, widened by `margin` of the span on both sides (like matplotlib's autoscale). */
export function extent(values: Iterable<number>, margin = 0.05): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values)
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  if (lo > hi) return [0, 1];
  if (hi - lo <= 1e-9 * Math.max(Math.abs(lo), Math.abs(hi))) {
    // one value (up to rounding): a band of ±10% around it
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - d, hi + d];
  }
  const d = (hi - lo) * margin;
  return [lo - d, hi + d];
}

/** Tick values at a 1/2/5×10^k step giving about `count` ticks inside [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5, minStep = 0): { values: number[]; step: number } {
  if (lo > hi) [lo, hi] = [hi, lo];
  if (!(hi > lo)) return { values: [lo], step: 1 };
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = Math.max(minStep, (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag);
  const i0 = Math.ceil(lo / step - 1e-9);
  const i1 = Math.floor(hi / step + 1e-9);
  // a span lost in rounding (values far beyond 2^53 steps): one tick
  if (!(i1 - i0 < 1000) || Math.abs(i0) > 2 ** 52) return { values: [lo], step };
  const values: number[] = [];
  for (let i = i0; i <= i1; i++) values.push(Number((i * step).toPrecision(12)));
  return { values, step };
}

/** A tick value printed with the decimals its step needs. */
export function tickLabel(v: number, step: number): string {
  const d = Math.min(10, Math.max(0, Math.ceil(-Math.log10(step) - 1e-9)));
  const s = v.toFixed(d);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

export interface Tick {
  v: number;
  label: string;
}

function autoTicks(lo: number, hi: number, count: number, integer: boolean): Tick[] {
  const { values, step } = niceTicks(lo, hi, count, integer ? 1 : 0);
  return values.map((v) => ({ v, label: tickLabel(v, step) }));
}

// ------------------------------------------------------------------------------------------------
// axes
// ------------------------------------------------------------------------------------------------

export interface AxesOptions {
  /** Domain of x, [left, right]. */
  x: [number, number];
  /** Domain of y, [bottom, top] (reverse it to put the first value at the top). */
  y: [number, number];
  title?: string;
  xlabel?: string;
  ylabel?: string;
  /** Explicit ticks, or false for none; automatic nice ticks by default. */
  xticks?: Tick[] | false;
  yticks?: Tick[] | false;
  /** Automatic ticks on integers only (epochs, counts). */
  xInteger?: boolean;
  yInteger?: boolean;
  tickCount?: number;
  grid?: boolean;
  fontSize?: number;
  /** Tick label size (default 0.9 × fontSize). */
  tickSize?: number;
  /** Rotate the x tick labels by 90° (default: when they would overlap). */
  rotateX?: boolean;
  /** Space kept free on the right of the plot area (an outside legend). */
  rightPad?: number;
}

export interface Axes {
  /** The plot area. */
  inner: Box;
  sx(v: number): number;
  sy(v: number): number;
  /** The full axes: background, grid, ticks and labels, `content` clipped to the plot area, the frame. */
  wrap(content: string): string;
}

/** Axes inside `cell`: margins for tick labels, axis labels and title are taken from the cell. */
export function axes(cell: Box, o: AxesOptions): Axes {
  const fs = o.fontSize ?? 12;
  const tfs = o.tickSize ?? fs * 0.9;
  const count = o.tickCount ?? 5;
  const xt = o.xticks === false ? [] : (o.xticks ?? autoTicks(o.x[0], o.x[1], count, !!o.xInteger));
  const yt = o.yticks === false ? [] : (o.yticks ?? autoTicks(o.y[0], o.y[1], count, !!o.yInteger));
  const yTickW = yt.length ? Math.max(...yt.map((t) => textWidth(t.label, tfs))) + 8 : 0;
  const left = 4 + yTickW + (o.ylabel ? fs * 1.6 : 0);
  const right = 10 + (o.rightPad ?? 0);
  const iw = Math.max(1, cell.w - left - right);
  const xTickW = xt.length ? Math.max(...xt.map((t) => textWidth(t.label, tfs))) : 0;
  const rotate = o.rotateX ?? (xt.length > 1 && xTickW > (iw / xt.length) * 0.9);
  const bottom = 4 + (xt.length ? (rotate ? xTickW : tfs) + 8 : 0) + (o.xlabel ? fs * 1.6 : 0);
  const top = o.title ? fs * 2 : 8;
  const inner: Box = { x: cell.x + left, y: cell.y + top, w: iw, h: Math.max(1, cell.h - top - bottom) };
  const [x0, x1] = o.x;
  const [y0, y1] = o.y;
  const sx = (v: number) => inner.x + ((v - x0) / (x1 - x0 || 1)) * inner.w;
  const sy = (v: number) => inner.y + inner.h - ((v - y0) / (y1 - y0 || 1)) * inner.h;
  const ib = inner.y + inner.h;
  const id = `clip${Math.round(cell.x)}_${Math.round(cell.y)}`;

  const wrap = (content: string): string => {
    const s: string[] = [];
    s.push(
      `<clipPath id="${id}"><rect x="${num(inner.x)}" y="${num(inner.y)}" width="${num(inner.w)}" height="${num(inner.h)}"/></clipPath>`,
    );
    s.push(
      `<rect x="${num(inner.x)}" y="${num(inner.y)}" width="${num(inner.w)}" height="${num(inner.h)}" fill="#ffffff"/>`,
    );
    const marks: string[] = [];
    for (const t of xt) {
      const x = sx(t.v);
      if (x < inner.x - 0.5 || x > inner.x + inner.w + 0.5) continue;
      if (o.grid) s.push(`<path d="M${num(x)} ${num(inner.y)}V${num(ib)}" stroke="#e5e5e5"/>`);
      marks.push(`M${num(x)} ${num(ib)}v4`);
      s.push(
        rotate
          ? text(x, ib + 7, t.label, { size: tfs, anchor: 'end', rotate: -90, middle: true })
          : text(x, ib + 6 + tfs * 0.8, t.label, { size: tfs, anchor: 'middle' }),
      );
    }
    for (const t of yt) {
      const y = sy(t.v);
      if (y < inner.y - 0.5 || y > ib + 0.5) continue;
      if (o.grid) s.push(`<path d="M${num(inner.x)} ${num(y)}H${num(inner.x + inner.w)}" stroke="#e5e5e5"/>`);
      marks.push(`M${num(inner.x)} ${num(y)}h-4`);
      s.push(text(inner.x - 7, y, t.label, { size: tfs, anchor: 'end', middle: true }));
    }
    if (marks.length) s.push(`<path d="${marks.join('')}" stroke="#000000"/>`);
    if (o.title) s.push(text(inner.x + inner.w / 2, cell.y + fs * 1.3, o.title, { size: fs * 1.05, anchor: 'middle' }));
    if (o.xlabel) s.push(text(inner.x + inner.w / 2, cell.y + cell.h - 6, o.xlabel, { size: fs, anchor: 'middle' }));
    if (o.ylabel)
      s.push(
        text(cell.x + 4 + fs * 0.5, inner.y + inner.h / 2, o.ylabel, {
          size: fs,
          anchor: 'middle',
          rotate: -90,
          middle: true,
        }),
      );
    s.push(`<g clip-path="url(#${id})">${content}</g>`);
    s.push(
      `<rect x="${num(inner.x)}" y="${num(inner.y)}" width="${num(inner.w)}" height="${num(inner.h)}" fill="none" stroke="#000000"/>`,
    );
    return s.join('');
  };
  return { inner, sx, sy, wrap };
}

// ------------------------------------------------------------------------------------------------
// series and legends
// ------------------------------------------------------------------------------------------------

export interface Series {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color: string;
  width?: number;
  /** stroke-dasharray, e.g. '2 3' for dots. */
  dash?: string;
  /** Radius of a dot at each point (0 = none). */
  marker?: number;
  label?: string;
}

/** A polyline (broken at non-finite values) with optional point markers. */
export function line(ax: Axes, s: Series): string {
  const d: string[] = [];
  const dots: string[] = [];
  let pen = false;
  for (let i = 0; i < Math.min(s.x.length, s.y.length); i++) {
    const x = s.x[i];
    const y = s.y[i];
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    const px = num(ax.sx(x));
    const py = num(ax.sy(y));
    d.push(`${pen ? 'L' : 'M'}${px} ${py}`);
    pen = true;
    if (s.marker) dots.push(`<circle cx="${px}" cy="${py}" r="${num(s.marker)}"/>`);
  }
  const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
  const path = d.length
    ? `<path d="${d.join('')}" fill="none" stroke="${s.color}" stroke-width="${num(s.width ?? 1.5)}" stroke-linejoin="round" stroke-linecap="round"${dash}/>`
    : '';
  return path + (dots.length ? `<g fill="${s.color}">${dots.join('')}</g>` : '');
}

/** Dots at the points (scatter plots). */
export function dots(
  ax: Axes,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  r: number,
  color: string,
  opacity = 1,
): string {
  const c: string[] = [];
  for (let i = 0; i < x.length; i++)
    c.push(`<circle cx="${num(ax.sx(x[i]))}" cy="${num(ax.sy(y[i]))}" r="${num(r)}"/>`);
  return `<g fill="${color}" fill-opacity="${opacity}">${c.join('')}</g>`;
}

export interface LegendItem {
  label: string;
  color: string;
  width?: number;
  dash?: string;
}

export type LegendPlace = 'upper right' | 'upper left' | 'lower right' | 'lower left' | 'outside';

export function legendWidth(items: LegendItem[], fs = 11): number {
  return 44 + Math.max(0, ...items.map((i) => textWidth(i.label, fs)));
}

/** A framed legend in a corner of the plot area, or to the right of it ('outside'). */
export function legend(inner: Box, items: LegendItem[], place: LegendPlace = 'upper right', fs = 11): string {
  if (!items.length) return '';
  const rowH = fs * 1.45;
  const w = legendWidth(items, fs);
  const h = items.length * rowH + 8;
  const x =
    place === 'outside' ? inner.x + inner.w + 10 : place.endsWith('right') ? inner.x + inner.w - w - 6 : inner.x + 6;
  const y = place.startsWith('lower') ? inner.y + inner.h - h - 6 : inner.y + (place === 'outside' ? 0 : 6);
  const s = [
    `<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" rx="3" fill="#ffffff" fill-opacity="0.85" stroke="#cccccc"/>`,
  ];
  items.forEach((it, i) => {
    const cy = y + 4 + rowH * (i + 0.5);
    const dash = it.dash ? ` stroke-dasharray="${it.dash}"` : '';
    s.push(
      `<path d="M${num(x + 8)} ${num(cy)}h24" stroke="${it.color}" stroke-width="${num(Math.min(it.width ?? 1.5, 4))}"${dash}/>`,
    );
    s.push(text(x + 38, cy, it.label, { size: fs, middle: true }));
  });
  return s.join('');
}

export interface LineChartOptions extends Partial<AxesOptions> {
  series: Series[];
  legend?: LegendPlace;
  legendSize?: number;
}

/** Axes fitted to the series (unless x/y are given), the lines, and a legend of the labelled series. */
export function lineChart(cell: Box, o: LineChartOptions): string {
  const x = o.x ?? extent(o.series.flatMap((s) => Array.from(s.x)));
  const y = o.y ?? extent(o.series.flatMap((s) => Array.from(s.y)));
  const items = o.series
    .filter((s) => s.label)
    .map((s) => ({ label: s.label!, color: s.color, width: s.width, dash: s.dash }));
  const fs = o.legendSize ?? 11;
  const rightPad = o.legend === 'outside' && items.length ? legendWidth(items, fs) + 16 : 0;
  const ax = axes(cell, { ...o, x, y, rightPad });
  const body = ax.wrap(o.series.map((s) => line(ax, s)).join(''));
  return body + (o.legend ? legend(ax.inner, items, o.legend, fs) : '');
}

// ------------------------------------------------------------------------------------------------
// documents and files
// ------------------------------------------------------------------------------------------------

/** A complete SVG document on a white background. */
export function svgDoc(width: number, height: number, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">` +
    `<rect width="${width}" height="${height}" fill="#ffffff"/>${body}</svg>`
  );
}

/** SVG → PNG bytes. */
export function rasterise(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** Encodes a sharp pipeline by the output's extension (.png, else JPEG) and writes it atomically. */
export async function saveImage(img: sharp.Sharp, out: string): Promise<void> {
  const png = extname(out).toLowerCase() === '.png';
  const buf = await (png ? img.png() : img.flatten({ background: '#ffffff' }).jpeg({ quality: 90 })).toBuffer();
  writeFileAtomic(out, buf);
}

/** Renders an SVG document into `out` (.png or .jpg). */
export function saveSvg(svg: string, out: string): Promise<void> {
  return saveImage(sharp(Buffer.from(svg)), out);
}
