// Validation curves and the confusion matrix: PR_curve.png, F1/P/R_curve.png, confusion_matrix.png.
import { smooth } from '../metrics/numpy.js';
import { type AxesOptions, axes, CYCLE, lineChart, num, type Series, saveSvg, svgDoc, type Tick, text } from './svg.js';

/** With this many classes or more, per-class curves are grey and unlabelled. */
const MANY = 21;
const MEAN_COLOR = '#0000ff';

function meanCurve(curves: ArrayLike<number>[], len: number): Float64Array {
  const m = new Float64Array(len);
  for (const c of curves) for (let i = 0; i < len; i++) m[i] += c[i] / curves.length;
  return m;
}

function perClass(px: ArrayLike<number>, curves: ArrayLike<number>[], label: (i: number) => string): Series[] {
  const few = curves.length < MANY;
  return curves.map((y, i) => ({
    x: px,
    y,
    color: few ? CYCLE[i % CYCLE.length] : '#808080',
    width: 1,
    label: few ? label(i) : undefined,
  }));
}

/**
 * PR_curve.png: precision against recall px, one curve per entry of py (ApPerClassResult.py); curve
 * i is labelled `names[i] ap50[i]` (as yolov5: pass the names of apClass). The bold mean curve is
 * labelled with the mean of ap50 (mAP@0.5).
 */
export async function plotPrCurve(
  px: ArrayLike<number>,
  py: ArrayLike<number>[],
  ap50: ArrayLike<number>,
  names: string[],
  outPng: string,
): Promise<void> {
  const series = perClass(px, py, (i) => `${names[i] ?? i} ${Number(ap50[i]).toFixed(3)}`);
  if (py.length) {
    let map = 0;
    for (let i = 0; i < ap50.length; i++) map += ap50[i] / ap50.length;
    series.push({
      x: px,
      y: meanCurve(py, px.length),
      color: MEAN_COLOR,
      width: 3,
      label: `all classes ${map.toFixed(3)} mAP@0.5`,
    });
  }
  const chart = lineChart(
    { x: 0, y: 0, w: 900, h: 600 },
    {
      series,
      x: [0, 1],
      y: [0, 1],
      xlabel: 'Recall',
      ylabel: 'Precision',
      title: 'Precision-Recall Curve',
      legend: 'outside',
      fontSize: 13,
      grid: true,
    },
  );
  await saveSvg(svgDoc(900, 600, chart), outPng);
}

/**
 * F1_curve.png / P_curve.png / R_curve.png: a metric against confidence px; curves nc × px.length
 * row-major (ApPerClassResult.f1Curve / pCurve / rCurve). The smoothed class mean is bold and its
 * legend gives the maximum and the confidence where it is reached.
 */
export async function plotMcCurve(
  px: ArrayLike<number>,
  curves: ArrayLike<number>,
  names: string[],
  outPng: string,
  ylabel = 'Metric',
): Promise<void> {
  const len = px.length;
  const nc = len ? Math.floor(curves.length / len) : 0;
  const rows = Array.from(
    { length: nc },
    (_, i) => Array.prototype.slice.call(curves, i * len, (i + 1) * len) as number[],
  );
  const series = perClass(px, rows, (i) => names[i] ?? String(i));
  if (nc) {
    const y = smooth(meanCurve(rows, len), 0.05);
    let best = 0;
    for (let i = 1; i < y.length; i++) if (y[i] > y[best]) best = i;
    series.push({
      x: px,
      y,
      color: MEAN_COLOR,
      width: 3,
      label: `all classes ${y[best].toFixed(2)} at ${Number(px[best]).toFixed(3)}`,
    });
  }
  const chart = lineChart(
    { x: 0, y: 0, w: 900, h: 600 },
    {
      series,
      x: [0, 1],
      y: [0, 1],
      xlabel: 'Confidence',
      ylabel,
      title: `${ylabel}-Confidence Curve`,
      legend: 'outside',
      fontSize: 13,
      grid: true,
    },
  );
  await saveSvg(svgDoc(900, 600, chart), outPng);
}

/** Sequential white → dark blue colour for t in [0, 1]. */
export function blues(t: number): string {
  const stops = [
    [247, 251, 255],
    [198, 219, 239],
    [107, 174, 214],
    [33, 113, 181],
    [8, 48, 107],
  ];
  const u = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(u));
  const f = u - i;
  const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * confusion_matrix.png: the column-normalised (nc+1) × (nc+1) matrix (row = predicted, column =
 * true, last = background; ConfusionMatrix.normalized()) as a heatmap. Values under 0.005 are left
 * blank; cell values are written when nc < 30.
 */
export async function plotConfusionMatrix(matrix: ArrayLike<number>, names: string[], outPng: string): Promise<void> {
  const k = Math.round(Math.sqrt(matrix.length));
  const nc = k - 1;
  const W = 1200;
  const H = 900;
  const fs = nc < 50 ? 13 : 10;
  const labels = nc < 99 ? [...Array.from({ length: nc }, (_, i) => names[i] ?? String(i)), 'background'] : null;
  const every = labels ? 1 : Math.ceil(k / 40);
  const ticks: Tick[] = [];
  for (let i = 0; i < k; i += every) ticks.push({ v: i + 0.5, label: labels ? labels[i] : String(i) });
  const tickSize = Math.max(7, Math.min(fs, (700 / k) * 0.9));
  const opts: AxesOptions = {
    x: [0, k],
    y: [k, 0],
    xticks: ticks,
    yticks: ticks,
    rotateX: true,
    xlabel: 'True',
    ylabel: 'Predicted',
    title: 'Confusion Matrix',
    fontSize: fs,
    tickSize,
  };
  // a square heatmap: measure the margins, then fit the cell around a square plot area
  const full = { x: 10, y: 10, w: W - 170, h: H - 20 };
  const probe = axes(full, opts).inner;
  const side = Math.min(probe.w, probe.h);
  const cellW = probe.x - full.x + side + 10;
  // centred with the colour bar (30 gap, 24 bar, 40 tick labels)
  const cell = { ...full, x: Math.max(10, (W - cellW - 94) / 2), w: cellW, h: full.h - (probe.h - side) };
  const ax = axes(cell, opts);
  const { inner } = ax;
  const cw = inner.w / k;
  const chh = inner.h / k;
  const cells: string[] = [];
  const notes: string[] = [];
  for (let r = 0; r < k; r++)
    for (let c = 0; c < k; c++) {
      const v = matrix[r * k + c];
      if (!(v >= 0.005)) continue;
      const x = ax.sx(c);
      const y = ax.sy(r);
      cells.push(
        `<rect x="${num(x)}" y="${num(y)}" width="${num(cw + 0.5)}" height="${num(chh + 0.5)}" fill="${blues(v)}"/>`,
      );
      if (nc < 30)
        notes.push(
          text(x + cw / 2, y + chh / 2, v.toFixed(2), {
            size: Math.min(fs, cw * 0.28),
            anchor: 'middle',
            middle: true,
            color: v > 0.5 ? '#ffffff' : '#000000',
          }),
        );
    }
  // colour bar: the same piecewise-linear map as a gradient, 0 at the bottom
  const bar = { x: inner.x + inner.w + 30, y: inner.y, w: 24, h: inner.h };
  const stops = [0, 0.25, 0.5, 0.75, 1].map((t) => `<stop offset="${t}" stop-color="${blues(t)}"/>`).join('');
  const barTicks = [0, 0.2, 0.4, 0.6, 0.8, 1].map((v) => {
    const y = bar.y + bar.h * (1 - v);
    return (
      `<path d="M${num(bar.x + bar.w)} ${num(y)}h4" stroke="#000000"/>` +
      text(bar.x + bar.w + 7, y, v.toFixed(1), { size: fs * 0.9, middle: true })
    );
  });
  const body =
    ax.wrap(cells.join('') + notes.join('')) +
    `<linearGradient id="cmap" x1="0" y1="1" x2="0" y2="0">${stops}</linearGradient>` +
    `<rect x="${num(bar.x)}" y="${num(bar.y)}" width="${bar.w}" height="${num(bar.h)}" fill="url(#cmap)" stroke="#000000"/>` +
    barTicks.join('');
  await saveSvg(svgDoc(W, H, body), outPng);
}
