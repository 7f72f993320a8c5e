// The one decode rule for images, shared by training, detection and the service: sharp decodes with
// EXIF orientation applied, alpha dropped, sRGB, truncated files refused, and the embedded ICC profile
// ignored, as cv2.imread ignores it (the pixels are the file's own, so training and detection see the
// same values as yolov5's).
import sharp from 'sharp';
import type { RawImage } from './types.js';

/** Packed RGB pixels of an image file or buffer; channels other than 3 after decoding are an error. */
export async function decodeRgb(source: string | Uint8Array, opts: { maxPixels?: number } = {}): Promise<RawImage> {
  const limit = opts.maxPixels === undefined ? {} : { limitInputPixels: opts.maxPixels };
  const { data, info } = await sharp(source, { failOn: 'error', ignoreIcc: true, ...limit })
    .rotate()
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
  };
}
