// --save-crop: yolov5 v7.0's save_one_box(xyxy, im, file, gain=1.02, pad=10, square=False). The box
// becomes centre/size, the size is multiplied by the gain and the pad added, back to corners, truncated
// to integers (torch .long(), in float32 as yolov5 computes), clipped to the image; the crop is saved
// as a JPEG (quality 95, no chroma subsampling) under an incremented name: stem.jpg, stem2.jpg, …
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { writeFileAtomic } from '@tsyolo/torch';
import sharp from 'sharp';
import type { RawImage } from '../data/types.js';

const f32 = Math.fround;

export interface CropOptions {
  gain?: number;
  pad?: number;
  /** make the box square (its longer side) before gain and pad */
  square?: boolean;
}

/** The crop rectangle [x1, y1, x2, y2] (integers, x2/y2 exclusive) save_one_box takes from a width × height image. */
export function cropBox(
  box: readonly number[],
  width: number,
  height: number,
  o: CropOptions = {},
): [number, number, number, number] {
  const [gain, pad] = [f32(o.gain ?? 1.02), f32(o.pad ?? 10)];
  const [x1, y1, x2, y2] = box.map(f32);
  const cx = f32(f32(x1 + x2) / 2);
  const cy = f32(f32(y1 + y2) / 2);
  let w = f32(x2 - x1);
  let h = f32(y2 - y1);
  if (o.square) w = h = Math.max(w, h);
  w = f32(f32(w * gain) + pad);
  h = f32(f32(h * gain) + pad);
  const clip = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);
  return [
    clip(Math.trunc(f32(cx - f32(w / 2))), width),
    clip(Math.trunc(f32(cy - f32(h / 2))), height),
    clip(Math.trunc(f32(cx + f32(w / 2))), width),
    clip(Math.trunc(f32(cy + f32(h / 2))), height),
  ];
}

/** yolov5's increment_path for a file: file itself when free, else stem2.ext, stem3.ext, … */
export function incrementFile(file: string): string {
  if (!existsSync(file)) return file;
  const ext = extname(file);
  const base = file.slice(0, file.length - ext.length);
  for (let n = 2; ; n++) {
    const p = `${base}${n}${ext}`;
    if (!existsSync(p)) return p;
  }
}

/** Saves the crop of `box` from `img` as a JPEG at `file` (incremented); returns the path written, or null for an empty crop. */
export async function saveOneBox(
  box: readonly number[],
  img: RawImage,
  file: string,
  o: CropOptions = {},
): Promise<string | null> {
  const [x1, y1, x2, y2] = cropBox(box, img.width, img.height, o);
  if (x2 <= x1 || y2 <= y1) return null;
  mkdirSync(dirname(file), { recursive: true });
  const out = incrementFile(`${file.slice(0, file.length - extname(file).length)}.jpg`);
  const buf = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .extract({ left: x1, top: y1, width: x2 - x1, height: y2 - y1 })
    .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
    .toBuffer();
  writeFileAtomic(out, buf);
  return out;
}
