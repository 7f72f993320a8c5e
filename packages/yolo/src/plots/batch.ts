// Batch mosaics (train_batch0.jpg, val_batchN_labels.jpg, val_batchN_pred.jpg): up to 16 images of a
// batch in a square grid with their boxes in class colours and the file names on top.

import { basename } from 'node:path';
import sharp from 'sharp';
import { classColor } from '../util/colors.js';
import { esc, FONT, num, saveImage, textWidth } from './svg.js';

/** The boxes of one image, in pixels of the batch's h × w images. */
export interface ImageBoxes {
  /** n × 4 [x1, y1, x2, y2], row-major. */
  boxes: ArrayLike<number>;
  /** n class indices. */
  cls: ArrayLike<number>;
  /** n confidences: predictions. Only those ≥ confThres are drawn and their labels show the value. */
  conf?: ArrayLike<number>;
}

/** Labels of a training batch, n × 6 [image, cls, x, y, w, h] (xywh normalised to the image) → per-image pixel boxes. */
export function labelsToBoxes(targets: ArrayLike<number>, bs: number, h: number, w: number): ImageBoxes[] {
  const boxes: number[][] = Array.from({ length: bs }, () => []);
  const cls: number[][] = Array.from({ length: bs }, () => []);
  for (let r = 0; r + 6 <= targets.length; r += 6) {
    const i = Math.trunc(targets[r]);
    if (i < 0 || i >= bs) continue;
    const [c, x, y, bw, bh] = [
      targets[r + 1],
      targets[r + 2] * w,
      targets[r + 3] * h,
      targets[r + 4] * w,
      targets[r + 5] * h,
    ];
    boxes[i].push(x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2);
    cls[i].push(c);
  }
  return boxes.map((b, i) => ({ boxes: b, cls: cls[i] }));
}

/** Detections per image, each n × 6 [x1, y1, x2, y2, conf, cls] in pixels (NMS output) → ImageBoxes. */
export function predsToBoxes(preds: ArrayLike<number>[]): ImageBoxes[] {
  return preds.map((p) => {
    const k = Math.floor(p.length / 6);
    const boxes = new Float32Array(k * 4);
    const conf = new Float32Array(k);
    const cls = new Float32Array(k);
    for (let j = 0; j < k; j++) {
      for (let q = 0; q < 4; q++) boxes[j * 4 + q] = p[j * 6 + q];
      conf[j] = p[j * 6 + 4];
      cls[j] = p[j * 6 + 5];
    }
    return { boxes, cls, conf };
  });
}

export interface PlotImagesOptions {
  /** Predictions below this confidence are left out (yolov5: 0.25). */
  confThres?: number;
}

/**
 * Writes a mosaic of the first maxSubplots images of a batch. images: bs × 3 × h × w uint8 RGB (CHW);
 * targets: boxes per image (labelsToBoxes / predsToBoxes; missing entries = no boxes); paths: the
 * images' files (names shown on the tiles); names: class names. The mosaic is scaled down so that its
 * longer side is at most maxSize.
 */
export async function plotImages(
  images: Uint8Array,
  bs: number,
  h: number,
  w: number,
  targets: ImageBoxes[],
  paths: string[],
  names: string[],
  outJpg: string,
  maxSize = 1920,
  maxSubplots = 16,
  o: PlotImagesOptions = {},
): Promise<void> {
  const confThres = o.confThres ?? 0.25;
  const n = Math.max(0, Math.min(bs, maxSubplots, Math.floor(images.length / (3 * h * w))));
  const ns = Math.max(1, Math.ceil(Math.sqrt(n)));
  const rows = Math.max(1, Math.ceil(n / ns));
  const W = ns * w;
  const H = rows * h;
  const mosaic = tileImages(images, n, ns, h, w, H);
  const scale = Math.min(1, maxSize / Math.max(W, H));
  const ow = Math.max(1, Math.round(W * scale));
  const oh = Math.max(1, Math.round(H * scale));
  const base = await sharp(mosaic, { raw: { width: W, height: H, channels: 3 } })
    .resize(ow, oh, { kernel: 'linear', fit: 'fill' })
    .raw()
    .toBuffer();

  // overlay: tile borders, file names, boxes and labels, in output pixels
  const tw = w * scale;
  const th = h * scale;
  const fs = Math.max(11, Math.round((tw + th) * 0.02));
  const style: TileStyle = { scale, fs, lw: Math.max(1, Math.round(fs / 9)), confThres };
  const svg: string[] = [];
  for (let i = 0; i < n; i++) {
    const tx = (i % ns) * tw;
    const ty = Math.floor(i / ns) * th;
    // nested <svg> clips everything to its tile
    svg.push(
      `<svg x="${num(tx)}" y="${num(ty)}" width="${num(tw)}" height="${num(th)}">${tileSvg(targets[i], paths[i], names, style)}</svg>`,
    );
    svg.push(
      `<rect x="${num(tx)}" y="${num(ty)}" width="${num(tw)}" height="${num(th)}" fill="none" stroke="#ffffff" stroke-width="2"/>`,
    );
  }
  const overlay = `<svg xmlns="http://www.w3.org/2000/svg" width="${ow}" height="${oh}" font-family="${FONT}">${svg.join('')}</svg>`;
  const img = sharp(base, { raw: { width: ow, height: oh, channels: 3 } }).composite([
    { input: Buffer.from(overlay), top: 0, left: 0 },
  ]);
  await saveImage(img, outJpg);
}

/**
 * The first n CHW images (h × w each) laid out row by row, ns per row, as one HWC mosaic of ns·w × H
 * pixels at full resolution; white where there is no image.
 */
function tileImages(images: Uint8Array, n: number, ns: number, h: number, w: number, H: number): Uint8Array {
  const W = ns * w;
  const mosaic = new Uint8Array(W * H * 3).fill(255);
  const plane = h * w;
  for (let i = 0; i < n; i++) {
    const src = i * 3 * plane;
    const ox = (i % ns) * w;
    const oy = Math.floor(i / ns) * h;
    for (let y = 0; y < h; y++) {
      let d = ((oy + y) * W + ox) * 3;
      let s = src + y * w;
      for (let x = 0; x < w; x++, d += 3, s++) {
        mosaic[d] = images[s];
        mosaic[d + 1] = images[s + plane];
        mosaic[d + 2] = images[s + 2 * plane];
      }
    }
  }
  return mosaic;
}

/** How tiles are drawn: mosaic → output scale, font size, line width (output pixels), and the confidence threshold. */
interface TileStyle {
  scale: number;
  fs: number;
  lw: number;
  confThres: number;
}

/**
 * The SVG content of one tile, in the tile's output pixels: its boxes with class-coloured labels
 * (predictions under the threshold left out; their labels show the confidence) and the file name on top.
 */
function tileSvg(t: ImageBoxes | undefined, path: string | undefined, names: string[], style: TileStyle): string {
  const { scale, fs, lw, confThres } = style;
  const tile: string[] = [];
  for (let j = 0; t && j < t.cls.length; j++) {
    const conf = t.conf ? t.conf[j] : undefined;
    if (conf !== undefined && !(conf >= confThres)) continue;
    const c = Math.trunc(t.cls[j]);
    const [x1, y1, x2, y2] = [0, 1, 2, 3].map((q) => t.boxes[j * 4 + q] * scale);
    const color = classColor(c);
    tile.push(
      `<rect x="${num(x1)}" y="${num(y1)}" width="${num(x2 - x1)}" height="${num(y2 - y1)}" fill="none" stroke="${color}" stroke-width="${lw}"/>`,
    );
    const label = `${names[c] ?? c}${conf !== undefined ? ` ${conf.toFixed(1)}` : ''}`;
    const lh = fs + 4;
    const ly = y1 - lh >= 0 ? y1 - lh : y1; // above the box when it fits in the tile
    tile.push(
      `<rect x="${num(x1 - lw / 2)}" y="${num(ly)}" width="${num(textWidth(label, fs) + 6)}" height="${num(lh)}" fill="${color}"/>`,
    );
    tile.push(
      `<text x="${num(x1 + 2)}" y="${num(ly + fs * 0.92)}" font-size="${fs}" fill="#ffffff">${esc(label)}</text>`,
    );
  }
  if (path) {
    const name = basename(path).slice(0, 40);
    tile.push(
      `<text x="5" y="${num(fs + 3)}" font-size="${fs}" fill="#dcdcdc" stroke="#000000" stroke-width="${num(fs / 6)}" paint-order="stroke" stroke-linejoin="round">${esc(name)}</text>`,
    );
  }
  return tile.join('');
}
