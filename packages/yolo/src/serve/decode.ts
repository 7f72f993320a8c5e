// One request's image → the model input, as the decode workers run it: the format is sniffed from the
// bytes (JPEG, PNG, WebP; the Content-Type is not trusted), the pixel count is checked from the header
// before anything is decoded (decompression bombs), then sharp decodes with Detector's own settings
// (detect/image.ts readImage: EXIF rotation, alpha dropped, sRGB, ICC profile ignored, truncated files
// refused) and src/portable letterboxes to CHW float32. No libtorch here: this runs in worker threads.
import sharp from 'sharp';
import { decodeRgb } from '../data/decode.js';
import type { RawImage } from '../data/types.js';
import { letterboxInput } from '../portable/letterbox.js';
import { HttpError } from './errors.js';

export const IMAGE_FORMATS: readonly string[] = ['jpeg', 'png', 'webp'];

/** How an image becomes a model input (from Engine.inputSpec). */
export interface InputSpec {
  /** letterbox target [h, w] */
  size: [number, number];
  /** pad only to a stride multiple (dynamic models) or to the full size (fixed-shape models) */
  auto: boolean;
  stride: number;
  /** refuse images with more pixels than this (413) */
  maxPixels: number;
}

/** A decoded, letterboxed image. */
export interface DecodedInput {
  /** 3 × h × w float32 in 0..1 */
  data: Float32Array;
  /** letterboxed [h, w] */
  shape: [number, number];
  width: number;
  height: number;
  /** ms spent decoding and letterboxing */
  ms: number;
}

async function probe(bytes: Uint8Array, maxPixels: number): Promise<void> {
  if (!bytes.length) throw new HttpError(400, 'empty body: send a JPEG, PNG or WebP image');
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new HttpError(400, `not an image: ${(e as Error).message}`);
  }
  if (!meta.format || !IMAGE_FORMATS.includes(meta.format))
    throw new HttpError(400, `unsupported image format '${meta.format ?? 'unknown'}': send JPEG, PNG or WebP`);
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (!(w > 0 && h > 0)) throw new HttpError(400, `${meta.format} image without a size`);
  if (w * h > maxPixels)
    throw new HttpError(413, `image of ${w}x${h} = ${w * h} pixels exceeds the limit of ${maxPixels} pixels`);
}

export async function decodeInput(bytes: Uint8Array, spec: InputSpec): Promise<DecodedInput> {
  const t0 = performance.now();
  await probe(bytes, spec.maxPixels);
  let img: RawImage;
  try {
    img = await decodeRgb(bytes, { maxPixels: spec.maxPixels });
  } catch (e) {
    const msg = (e as Error).message;
    if (msg.startsWith('expected 3 channels'))
      throw new HttpError(400, `expected 3 colour channels after decoding, got ${msg.split(' ').pop()}`);
    throw new HttpError(400, `cannot decode the image (truncated or corrupt): ${msg}`);
  }
  const { width, height } = img;
  const lb = letterboxInput(img, spec.size, { auto: spec.auto, stride: spec.stride });
  return { data: lb.data, shape: lb.shape, width, height, ms: performance.now() - t0 };
}
