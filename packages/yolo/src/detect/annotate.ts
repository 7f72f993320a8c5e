// Annotated images: class-coloured boxes and labels drawn as an SVG overlay that sharp
// composites onto the image (an image file, or a decoded RGB frame in memory).

import { extname } from 'node:path';
import { writeFileAtomic } from '@tsyolo/torch';
import sharp from 'sharp';
import type { RawImage } from '../data/types.js';
import { classColor } from '../util/colors.js';
import type { Detection } from './detector.js';

export { classColor };

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface AnnotateOptions {
  lineThickness?: number;
  hideLabels?: boolean;
  hideConf?: boolean;
}

export function overlaySvg(width: number, height: number, dets: Detection[], o: AnnotateOptions = {}): string {
  const lw = o.lineThickness ?? Math.max(Math.round(((width + height) / 2) * 0.003), 2);
  const fs = Math.max(lw * 5, 11);
  const parts = dets.map((d) => {
    const [x1, y1, x2, y2] = d.box;
    const c = classColor(d.cls);
    let s = `<rect x="${x1}" y="${y1}" width="${x2 - x1}" height="${y2 - y1}" fill="none" stroke="${c}" stroke-width="${lw}"/>`;
    if (!o.hideLabels) {
      const label = o.hideConf ? d.name : `${d.name} ${d.conf.toFixed(2)}`;
      const tw = Math.ceil(label.length * fs * 0.6) + 4;
      const above = y1 - fs - 4 >= 0;
      const ty = above ? y1 - fs - 4 : y1;
      s += `<rect x="${x1 - lw / 2}" y="${ty}" width="${tw}" height="${fs + 4}" fill="${c}"/>`;
      s += `<text x="${x1 + 2}" y="${ty + fs}" font-family="DejaVu Sans, sans-serif" font-size="${fs}" fill="#ffffff">${escapeXml(label)}</text>`;
    }
    return s;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** Writes the image with its detections drawn (format from the output extension). */
export async function annotate(
  source: string | Buffer,
  dets: Detection[],
  out: string,
  o: AnnotateOptions = {},
): Promise<void> {
  const img = sharp(source).rotate();
  const { width, height } = await sharp(await img.clone().toBuffer()).metadata();
  const ext = extname(out).slice(1).toLowerCase();
  const fmt = ext === 'png' ? 'png' : ext === 'webp' ? 'webp' : 'jpeg';
  const buf = await img
    .composite([{ input: Buffer.from(overlaySvg(width!, height!, dets, o)), top: 0, left: 0 }])
    .toFormat(fmt)
    .toBuffer();
  writeFileAtomic(out, buf);
}

/** The RGB image with its detections drawn, in memory (for video frames): same size, 3 channels. */
export async function annotateRaw(img: RawImage, dets: Detection[], o: AnnotateOptions = {}): Promise<RawImage> {
  const { width, height } = img;
  const input = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  const { data, info } = await sharp(input, { raw: { width, height, channels: 3 } })
    .composite([{ input: Buffer.from(overlaySvg(width, height, dets, o)), top: 0, left: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== width || info.height !== height)
    throw new Error(`annotateRaw: expected ${width}x${height}x3, got ${info.width}x${info.height}x${info.channels}`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height };
}
