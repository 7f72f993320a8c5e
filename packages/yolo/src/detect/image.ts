// Reading images for inference: sharp decodes (EXIF orientation applied) to RGB, letterbox
// to the model's input, and a float NCHW tensor in 0..1. Embedded ICC profiles are ignored, as
// cv2.imread ignores them: the pixels are the file's own (for bus.jpg, whose profile sharp would
// otherwise apply, the decode is then bit-identical to libjpeg-turbo's, i.e. to yolov5's).

import { fromTypedArray, type Tensor, tidy } from '@tsyolo/torch';
import { decodeRgb } from '../data/decode.js';
import type { RawImage } from '../data/types.js';
import { letterbox } from '../portable/resize.js';

export async function readImage(source: string | Buffer): Promise<RawImage> {
  try {
    return await decodeRgb(source);
  } catch (e) {
    throw new Error(
      `${typeof source === 'string' ? source : '<buffer>'}: cannot decode image: ${(e as Error).message}`,
    );
  }
}

export interface Prepared {
  /** (1, 3, h, w) float32 in 0..1 */
  input: Tensor;
  /** letterboxed size [h, w] */
  shape: [number, number];
  ratio: [number, number];
  pad: [number, number];
}

/** letterbox (minimum-rectangle padding when auto, as detect.py) → CHW float tensor. */
export function prepare(img: RawImage, imgsz: number | [number, number], stride: number, auto = true): Prepared {
  const lb = letterbox(img, imgsz, { auto, stride });
  const { width: w, height: h, data } = lb.img;
  const n = w * h;
  const chw = new Uint8Array(3 * n);
  for (let p = 0, q = 0; p < n; p++, q += 3) {
    chw[p] = data[q];
    chw[n + p] = data[q + 1];
    chw[2 * n + p] = data[q + 2];
  }
  const input = tidy(() => fromTypedArray(chw, [1, 3, h, w]).float().div(255));
  return { input, shape: [h, w], ratio: lb.ratio, pad: lb.pad };
}
