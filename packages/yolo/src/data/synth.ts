// A deterministic synthetic detection dataset: flat-coloured shapes (circle, square, triangle, ...)
// with varied sizes, aspect, rotations, colours and partial occlusion, over textured backgrounds
// (gradients, low-frequency waves, random lines, sensor noise). Rasterised here in TypeScript with
// 2×2 supersampling, encoded as JPEG (quality 90) by sharp. Labels are the tight boxes of each
// shape's visible pixels (after occlusion by later shapes and clipping by the image border).
//
// Every random choice comes from `new Xoshiro128(seed, split, index)`, so a seed gives
// byte-identical files (for a given sharp/libvips build), whatever else is generated.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@tsyolo/torch';
import sharp from 'sharp';
import { stringify as yamlStringify } from 'yaml';
import { mapPool } from './cache.js';
import { Xoshiro128 } from './rng.js';
import type { RawImage, Rng } from './types.js';

type Inside = (u: number, v: number) => boolean;

/** Even-odd point-in-polygon over flat [x0, y0, x1, y1, ...]. */
function polygon(vs: readonly number[]): Inside {
  const n = vs.length / 2;
  return (u, v) => {
    let c = false;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const xi = vs[2 * i],
        yi = vs[2 * i + 1],
        xj = vs[2 * j],
        yj = vs[2 * j + 1];
      if (yi > v !== yj > v && u < ((xj - xi) * (v - yi)) / (yj - yi) + xi) c = !c;
    }
    return c;
  };
}
function regular(n: number, r: number, start: number, inner?: number): number[] {
  const vs: number[] = [];
  const m = inner === undefined ? n : 2 * n;
  for (let k = 0; k < m; k++) {
    const a = start + (2 * Math.PI * k) / m;
    const rr = inner !== undefined && k % 2 === 1 ? inner : r;
    vs.push(rr * Math.cos(a), rr * Math.sin(a));
  }
  return vs;
}

/** Shapes in local coordinates, each inside the unit circle; the class index is the position here. */
const SHAPES: readonly { name: string; inside: Inside }[] = [
  { name: 'circle', inside: (u, v) => u * u + v * v <= 1 },
  { name: 'square', inside: (u, v) => Math.abs(u) <= 0.72 && Math.abs(v) <= 0.72 },
  { name: 'triangle', inside: polygon(regular(3, 1, -Math.PI / 2)) },
  {
    name: 'cross',
    inside: (u, v) => {
      const a = Math.abs(u),
        b = Math.abs(v);
      return (a <= 0.3 && b <= 0.95) || (b <= 0.3 && a <= 0.95);
    },
  },
  {
    name: 'ring',
    inside: (u, v) => {
      const r = u * u + v * v;
      return r <= 1 && r >= 0.5 * 0.5;
    },
  },
  { name: 'star', inside: polygon(regular(5, 1, -Math.PI / 2, 0.42)) },
  {
    name: 'crescent',
    inside: (u, v) => u * u + v * v <= 1 && (u - 0.45) * (u - 0.45) + v * v > 0.78 * 0.78,
  },
  {
    name: 'arrow',
    inside: polygon([-0.95, -0.22, 0.2, -0.22, 0.2, -0.62, 0.95, 0, 0.2, 0.62, 0.2, 0.22, -0.95, 0.22]),
  },
  {
    name: 'heart',
    inside: (u, v) => {
      const x = 1.12 * u,
        y = -1.12 * v + 0.12;
      const a = x * x + y * y - 1;
      return a * a * a - x * x * y * y * y <= 0;
    },
  },
  { name: 'hexagon', inside: polygon(regular(6, 1, 0)) },
];

/** Names of the shapes synthesizeDataset can draw, in class order. */
export const SYNTH_CLASSES: readonly string[] = SHAPES.map((s) => s.name);

export interface SynthOptions {
  /** output folder: images/{train,val}, labels/{train,val}, data.yaml */
  out: string;
  /** number of training images */
  train: number;
  /** number of validation images */
  val: number;
  /** image side in pixels (square images; default 320) */
  img?: number;
  /** number of classes, 1..SYNTH_CLASSES.length (default 6) */
  classes?: number;
  /** default 0 */
  seed?: number;
  /** JPEG encodes in flight (default 4) */
  concurrency?: number;
}

export interface SynthResult {
  /** data.yaml path */
  yaml: string;
  names: string[];
  train: number;
  val: number;
  /** total labelled objects */
  objects: number;
  /** images without objects */
  backgrounds: number;
}

export interface SynthImage {
  image: RawImage;
  /** n × 5 rows [cls, x, y, w, h], normalised */
  labels: Float32Array;
}

/** HSV (each 0..1) to RGB (0..255). */
function hsv2rgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6) % 6,
    f = h * 6 - Math.floor(h * 6);
  const p = v * (1 - s),
    q = v * (1 - f * s),
    t = v * (1 - (1 - f) * s);
  const [r, g, b] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][i];
  return [r * 255, g * 255, b * 255];
}
/** A random colour: any hue and saturation, value at least 0.15. */
function randomColour(rng: Rng): [number, number, number] {
  return hsv2rgb(rng.random(), rng.uniform(0, 1), rng.uniform(0.15, 1));
}

/** Subsample offsets within a pixel (2×2 supersampling of the shapes). */
const SUB = [0.25, 0.75];

/** The image being drawn: float RGB, row-major, W × H × 3, values nominally 0..255. */
interface Canvas {
  img: Float32Array;
  W: number;
  H: number;
  /** Size relative to 320 px, the scale of every length in the drawing. */
  s: number;
}

/** Background, step 1: a two-colour linear gradient in a random direction. */
function paintGradient(cv: Canvas, rng: Rng): void {
  const { img, W, H } = cv;
  const c1 = randomColour(rng),
    c2 = randomColour(rng);
  const phi = rng.uniform(0, 2 * Math.PI),
    cp = Math.cos(phi),
    sp = Math.sin(phi);
  const span = Math.abs(cp) * W + Math.abs(sp) * H;
  const off = Math.min(0, cp * W) + Math.min(0, sp * H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const t = (cp * x + sp * y - off) / span,
        i = (y * W + x) * 3;
      img[i] = c1[0] + (c2[0] - c1[0]) * t;
      img[i + 1] = c1[1] + (c2[1] - c1[1]) * t;
      img[i + 2] = c1[2] + (c2[2] - c1[2]) * t;
    }
}

/**
 * Background, step 2: one to three low-frequency plane waves with random colour amplitudes, each
 * evaluated separably as sin(ax + by) = sin ax · cos by + cos ax · sin by.
 */
function addWaves(cv: Canvas, rng: Rng): void {
  const { img, W, H, s } = cv;
  const nw = rng.randint(1, 3);
  for (let k = 0; k < nw; k++) {
    const wl = rng.uniform(20, 200) * s,
      th = rng.uniform(0, 2 * Math.PI);
    const a = ((2 * Math.PI) / wl) * Math.cos(th),
      b = ((2 * Math.PI) / wl) * Math.sin(th),
      ph = rng.uniform(0, 2 * Math.PI);
    const amp = [rng.uniform(-30, 30), rng.uniform(-30, 30), rng.uniform(-30, 30)];
    const sx = new Float32Array(W),
      cx = new Float32Array(W),
      sy = new Float32Array(H),
      cy = new Float32Array(H);
    for (let x = 0; x < W; x++) (sx[x] = Math.sin(a * x + ph)), (cx[x] = Math.cos(a * x + ph));
    for (let y = 0; y < H; y++) (sy[y] = Math.sin(b * y)), (cy[y] = Math.cos(b * y));
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const w = sx[x] * cy[y] + cx[x] * sy[y],
          i = (y * W + x) * 3;
        img[i] += amp[0] * w;
        img[i + 1] += amp[1] * w;
        img[i + 2] += amp[2] * w;
      }
  }
}

/** Blends colour col with opacity al into the pixels within radius r of (px, py) not yet painted by line k. */
function stampDisc(
  cv: Canvas,
  stamp: Int32Array,
  k: number,
  px: number,
  py: number,
  r: number,
  col: readonly number[],
  al: number,
): void {
  const { img, W, H } = cv;
  const ri = Math.ceil(r);
  for (let yy = Math.floor(py - ri); yy <= Math.ceil(py + ri); yy++) {
    if (yy < 0 || yy >= H) continue;
    for (let xx = Math.floor(px - ri); xx <= Math.ceil(px + ri); xx++) {
      if (xx < 0 || xx >= W) continue;
      const p = yy * W + xx;
      const ddx = xx + 0.5 - px,
        ddy = yy + 0.5 - py;
      if (stamp[p] === k || ddx * ddx + ddy * ddy > r * r) continue;
      stamp[p] = k;
      const i = p * 3;
      for (let c = 0; c < 3; c++) img[i + c] += (col[c] - img[i + c]) * al;
    }
  }
}

/** Background, step 3: up to eight random straight lines, each pixel painted at most once per line. */
function drawLines(cv: Canvas, rng: Rng): void {
  const { W, H, s } = cv;
  const stamp = new Int32Array(W * H);
  const nl = rng.randint(0, 8);
  for (let k = 1; k <= nl; k++) {
    const x0 = rng.uniform(-0.2, 1.2) * W,
      y0 = rng.uniform(-0.2, 1.2) * H;
    const x1 = rng.uniform(-0.2, 1.2) * W,
      y1 = rng.uniform(-0.2, 1.2) * H;
    const r = (rng.randint(1, 3) * s) / 2,
      col = randomColour(rng),
      al = rng.uniform(0.4, 1);
    const len = Math.hypot(x1 - x0, y1 - y0),
      steps = Math.ceil(len * 2) + 1;
    for (let st = 0; st <= steps; st++) {
      const px = x0 + ((x1 - x0) * st) / steps,
        py = y0 + ((y1 - y0) * st) / steps;
      stampDisc(cv, stamp, k, px, py, r, col, al);
    }
  }
}

/** The objects placed so far and which of them shows at each pixel. */
interface Scene {
  /** Per pixel, the topmost object covering at least 2 of its 4 subsamples, or −1. */
  owner: Int16Array;
  /** Per object: pixels it covered when placed (inside or outside the image), pixels still visible, class. */
  full: number[];
  visible: number[];
  cls: number[];
  /** Subsample counts (0..4) over the current candidate's bounding square, row-major bw × bh. */
  cov: Uint8Array;
}

/** A proposed object: class, size R, radii ru × rv, rotation (cos, sin), centre, and its pixel bounding square. */
interface Candidate {
  c: number;
  R: number;
  ru: number;
  rv: number;
  ct: number;
  st: number;
  ocx: number;
  ocy: number;
  bx0: number;
  by0: number;
  bw: number;
  bh: number;
}

/** Draws a candidate's geometry from rng: log-uniform size up to maxR, mild aspect, any rotation, centre mostly inside. */
function drawCandidate(cv: Canvas, rng: Rng, classes: number, maxR: number): Candidate {
  const { W, H, s } = cv;
  const c = rng.randint(0, classes - 1);
  const R = Math.exp(rng.uniform(Math.log(10 * s), Math.log(maxR)));
  const asp = Math.sqrt(rng.uniform(0.8, 1.25));
  const ru = R * asp,
    rv = R / asp,
    th = rng.uniform(0, 2 * Math.PI),
    ct = Math.cos(th),
    st = Math.sin(th);
  const ocx = rng.uniform(0.55 * R, W - 0.55 * R),
    ocy = rng.uniform(0.55 * R, H - 0.55 * R);
  const ext = Math.max(ru, rv) + 1;
  const bx0 = Math.floor(ocx - ext),
    by0 = Math.floor(ocy - ext),
    bw = Math.ceil(ocx + ext) - bx0,
    bh = Math.ceil(ocy + ext) - by0;
  return { c, R, ru, rv, ct, st, ocx, ocy, bx0, by0, bw, bh };
}

/** What a candidate would cover: its pixels, those inside the image, what it hides of each earlier object, and the colour sums beneath. */
interface Footprint {
  nFull: number;
  nIn: number;
  lost: Map<number, number>;
  sum: [number, number, number];
}

/** Subsamples (of 4) of pixel (X, Y) inside the candidate's shape (its class's test in local coordinates). */
function coverage(cand: Candidate, inside: Inside, X: number, Y: number): number {
  let n = 0;
  for (const oy of SUB)
    for (const ox of SUB) {
      const dx = X + ox - cand.ocx,
        dy = Y + oy - cand.ocy;
      if (inside((dx * cand.ct + dy * cand.st) / cand.ru, (-dx * cand.st + dy * cand.ct) / cand.rv)) n++;
    }
  return n;
}

/** Rasterises the candidate into scene.cov and measures its footprint (pixels with ≥ 2 subsamples count). */
function measure(cv: Canvas, scene: Scene, cand: Candidate): Footprint {
  const { img, W, H } = cv;
  const { bx0, by0, bw, bh } = cand;
  const inside = SHAPES[cand.c].inside;
  const fp: Footprint = { nFull: 0, nIn: 0, lost: new Map<number, number>(), sum: [0, 0, 0] };
  for (let yy = 0; yy < bh; yy++)
    for (let xx = 0; xx < bw; xx++) {
      const X = bx0 + xx,
        Y = by0 + yy;
      const n = coverage(cand, inside, X, Y);
      scene.cov[yy * bw + xx] = n;
      if (n < 2) continue;
      fp.nFull++;
      if (X < 0 || Y < 0 || X >= W || Y >= H) continue;
      fp.nIn++;
      const p = Y * W + X,
        o = scene.owner[p];
      if (o >= 0) fp.lost.set(o, (fp.lost.get(o) ?? 0) + 1);
      fp.sum[0] += img[p * 3];
      fp.sum[1] += img[p * 3 + 1];
      fp.sum[2] += img[p * 3 + 2];
    }
  return fp;
}

/** A placement is refused when under 70% of it lies in the image or it would hide over 45% of an earlier object. */
function acceptable(scene: Scene, fp: Footprint): boolean {
  if (fp.nFull === 0 || fp.nIn < 0.7 * fp.nFull) return false;
  let ok = true;
  for (const [o, l] of fp.lost) if (scene.visible[o] - l < 0.55 * scene.full[o]) ok = false;
  return ok;
}

/** The most distant from mean of up to 16 random colours, stopping at the first at distance ≥ 110. */
function contrastingColour(rng: Rng, mean: readonly number[]): [number, number, number] {
  let col = randomColour(rng),
    best = -1;
  for (let t = 0; t < 16; t++) {
    const cand = t === 0 ? col : randomColour(rng);
    const d = Math.hypot(cand[0] - mean[0], cand[1] - mean[1], cand[2] - mean[2]);
    if (d > best) (best = d), (col = cand);
    if (d >= 110) break;
  }
  return col;
}

/**
 * Paints the measured candidate as object id in colour col with a soft linear shading (gradient gx, gy),
 * antialiased by its subsample coverage; pixels it mostly covers become its own.
 */
function paint(
  cv: Canvas,
  scene: Scene,
  cand: Candidate,
  id: number,
  col: readonly number[],
  gx: number,
  gy: number,
): void {
  const { img, W, H } = cv;
  const { bx0, by0, bw, bh, ocx, ocy, R } = cand;
  for (let yy = 0; yy < bh; yy++) {
    const Y = by0 + yy;
    if (Y < 0 || Y >= H) continue;
    for (let xx = 0; xx < bw; xx++) {
      const X = bx0 + xx,
        n = scene.cov[yy * bw + xx];
      if (X < 0 || X >= W || n === 0) continue;
      const p = Y * W + X,
        i = p * 3,
        a = n / 4;
      const f = 1 + (gx * (X + 0.5 - ocx) + gy * (Y + 0.5 - ocy)) / R;
      for (let ch = 0; ch < 3; ch++) img[i + ch] += (col[ch] * f - img[i + ch]) * a;
      if (n >= 2) {
        const o = scene.owner[p];
        if (o >= 0) scene.visible[o]--;
        scene.owner[p] = id;
      }
    }
  }
}

/** Tries up to 12 candidates for one object and paints the first acceptable one. */
function placeObject(cv: Canvas, rng: Rng, scene: Scene, classes: number, maxR: number): void {
  for (let attempt = 0; attempt < 12; attempt++) {
    const cand = drawCandidate(cv, rng, classes, maxR);
    const fp = measure(cv, scene, cand);
    if (!acceptable(scene, fp)) continue;
    const mean = [fp.sum[0] / fp.nIn, fp.sum[1] / fp.nIn, fp.sum[2] / fp.nIn];
    const col = contrastingColour(rng, mean);
    const gx = rng.uniform(-0.25, 0.25),
      gy = rng.uniform(-0.25, 0.25);
    paint(cv, scene, cand, scene.full.length, col, gx, gy);
    scene.full.push(fp.nFull);
    scene.visible.push(fp.nIn);
    scene.cls.push(cand.c);
    return;
  }
}

/** Objects, later ones on top: none in about 5% of images, otherwise one to eight attempted. */
function placeObjects(cv: Canvas, rng: Rng, classes: number): Scene {
  const { W, H, s } = cv;
  const maxR = 60 * s;
  const scene: Scene = {
    owner: new Int16Array(W * H).fill(-1),
    full: [],
    visible: [],
    cls: [],
    cov: new Uint8Array((2 * Math.ceil(maxR * 1.25) + 4) ** 2),
  };
  const nObj = rng.random() < 0.05 ? 0 : rng.randint(1, 8);
  for (let k = 0; k < nObj; k++) placeObject(cv, rng, scene, classes, maxR);
  return scene;
}

/** Label rows [cls, x, y, w, h] (normalised): the tight box of each object's visible pixels; hidden objects get none. */
function visibleBoxes(cv: Canvas, scene: Scene): number[] {
  const { W, H } = cv;
  const { owner, cls } = scene;
  const n = scene.full.length;
  const bx1 = new Int32Array(n).fill(W),
    by1 = new Int32Array(n).fill(H),
    bx2 = new Int32Array(n).fill(-1),
    by2 = new Int32Array(n).fill(-1);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const o = owner[y * W + x];
      if (o < 0) continue;
      if (x < bx1[o]) bx1[o] = x;
      if (x > bx2[o]) bx2[o] = x;
      if (y < by1[o]) by1[o] = y;
      if (y > by2[o]) by2[o] = y;
    }
  const rows: number[] = [];
  for (let o = 0; o < n; o++) {
    if (bx2[o] < 0) continue;
    const x1 = bx1[o],
      x2 = bx2[o] + 1,
      y1 = by1[o],
      y2 = by2[o] + 1;
    rows.push(cls[o], (x1 + x2) / 2 / W, (y1 + y2) / 2 / H, (x2 - x1) / W, (y2 - y1) / H);
  }
  return rows;
}

/**
 * Sensor noise and quantisation: per pixel one triangular noise value (std ≈ sigma, shared by the
 * three channels) from a mulberry32 generator seeded by rng, added, clamped and rounded half up to bytes.
 */
function addNoiseAndQuantise(cv: Canvas, rng: Rng): Uint8Array {
  const { img, W, H } = cv;
  const sigma = rng.uniform(1, 8),
    scale = (sigma * 2.45) / 65536;
  let ns = rng.randint(0, 0xffffffff) >>> 0;
  const data = new Uint8Array(W * H * 3);
  for (let p = 0, i = 0; p < W * H; p++, i += 3) {
    ns = (ns + 0x6d2b79f5) | 0;
    let z = Math.imul(ns ^ (ns >>> 15), 1 | ns);
    z = (z + Math.imul(z ^ (z >>> 7), 61 | z)) ^ z;
    z = (z ^ (z >>> 14)) >>> 0;
    const nz = ((z & 0xffff) + (z >>> 16) - 65535) * scale;
    for (let ch = 0; ch < 3; ch++) {
      const v = img[i + ch] + nz;
      data[i + ch] = v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5; // stores truncate: round half up
    }
  }
  return data;
}

/** Render one image (size × size) and its labels from rng, using classes 0..classes-1. */
export function renderSynthImage(rng: Rng, size: number, classes: number): SynthImage {
  const cv: Canvas = { img: new Float32Array(size * size * 3), W: size, H: size, s: size / 320 };
  paintGradient(cv, rng);
  addWaves(cv, rng);
  drawLines(cv, rng);
  const scene = placeObjects(cv, rng, classes);
  const rows = visibleBoxes(cv, scene);
  const data = addNoiseAndQuantise(cv, rng);
  return { image: { data, width: size, height: size }, labels: new Float32Array(rows) };
}

/** YOLO label text: one 'cls x y w h' line per row, 6 decimals. */
export function formatLabels(rows: Float32Array | readonly number[]): string {
  let out = '';
  for (let i = 0; i + 4 < rows.length; i += 5) {
    const r = Array.from(rows.slice(i, i + 5) as ArrayLike<number>);
    out += `${Math.round(r[0])} ${r
      .slice(1)
      .map((x) => x.toFixed(6))
      .join(' ')}\n`;
  }
  return out;
}

/** Refuse to mix our files with others already in a split folder. */
function checkFolder(dir: string, expected: Set<string>): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    if (f.startsWith('.') || f.endsWith('.cache')) continue;
    if (!expected.has(f))
      throw new Error(`synthesizeDataset: ${dir} holds other files (${f}); use an empty output folder`);
  }
}

/** Write the dataset and its data.yaml; the same options give byte-identical files. */
export async function synthesizeDataset(opts: SynthOptions): Promise<SynthResult> {
  const out = resolve(opts.out);
  const size = opts.img ?? 320;
  const classes = opts.classes ?? 6;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(size) || size < 32)
    throw new Error(`synthesizeDataset: img must be an integer ≥ 32, got ${size}`);
  if (!Number.isInteger(classes) || classes < 1 || classes > SHAPES.length)
    throw new Error(`synthesizeDataset: classes must be 1..${SHAPES.length}, got ${classes}`);
  for (const [k, v] of [
    ['train', opts.train],
    ['val', opts.val],
  ] as const)
    if (!Number.isInteger(v) || v < 0)
      throw new Error(`synthesizeDataset: ${k} must be a non-negative integer, got ${v}`);
  const names = SYNTH_CLASSES.slice(0, classes);
  const splits = [
    ['train', opts.train],
    ['val', opts.val],
  ] as const;
  const jobs: { split: string; si: number; i: number; name: string }[] = [];
  for (const [si, [split, count]] of splits.entries()) {
    const stems = Array.from({ length: count }, (_, i) => String(i).padStart(6, '0'));
    checkFolder(join(out, 'images', split), new Set(stems.map((x) => `${x}.jpg`)));
    checkFolder(join(out, 'labels', split), new Set(stems.map((x) => `${x}.txt`)));
    mkdirSync(join(out, 'images', split), { recursive: true });
    mkdirSync(join(out, 'labels', split), { recursive: true });
    stems.forEach((name, i) => jobs.push({ split, si, i, name }));
  }
  let objects = 0,
    backgrounds = 0;
  await mapPool(jobs, opts.concurrency ?? 4, async ({ split, si, i, name }) => {
    const { image, labels } = renderSynthImage(new Xoshiro128(seed, si, i), size, classes);
    objects += labels.length / 5;
    if (labels.length === 0) backgrounds++;
    const jpg = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer();
    writeFileAtomic(join(out, 'labels', split, `${name}.txt`), Buffer.from(formatLabels(labels), 'utf8'));
    writeFileAtomic(join(out, 'images', split, `${name}.jpg`), jpg);
  });
  const yaml = join(out, 'data.yaml');
  const doc = { path: '.', train: 'images/train', val: 'images/val', nc: classes, names };
  writeFileAtomic(
    yaml,
    Buffer.from(`# tsyolo synthetic shapes, seed ${seed}, ${size}px\n${yamlStringify(doc)}`, 'utf8'),
  );
  return { yaml, names, train: opts.train, val: opts.val, objects, backgrounds };
}
