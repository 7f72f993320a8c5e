// --multi-scale (yolov5's multi-scale block in the batch loop): each batch is resized to a random
// multiple of the grid stride between 0.5× and 1.5× the image size.
import { F, type Tensor } from '@tsyolo/torch';
import { Xoshiro128 } from '../../data/rng.js';

/** The epoch's stream of batch sizes: a function of (seed, epoch) alone, so a resumed run draws the same. */
export function multiScaleRng(seed: number, epoch: number): Xoshiro128 {
  return new Xoshiro128(seed, epoch, 0x3c5);
}

/** One draw from `rng`, then a bilinear resize of the batch when the size changes. */
export function randomRescale(images: Tensor, rng: Xoshiro128, imgsz: number, gridStride: number): Tensor {
  const size = Math.floor(rng.uniform(imgsz * 0.5, imgsz * 1.5 + gridStride) / gridStride) * gridStride;
  const factor = size / Math.max(images.shape[2], images.shape[3]);
  if (factor === 1) return images;
  const shape: [number, number] = [
    Math.ceil((images.shape[2] * factor) / gridStride) * gridStride,
    Math.ceil((images.shape[3] * factor) / gridStride) * gridStride,
  ];
  return F.interpolate(images, { size: shape, mode: 'bilinear', alignCorners: false });
}
