// Test-time augmentation (yolov5's DetectionModel._forward_augment, `--augment`): the input is run
// at three scales (1, 0.83, 0.67), the middle one mirrored left-right; each branch's decoded boxes are
// mapped back to the input's frame (divided by the scale, the mirror undone) and the branches are
// concatenated, minus the largest-object level of the full-scale branch and the smallest-object level
// of the smallest branch (yolov5's _clip_augmented).
import { cat, F, type Tensor, tidy } from '@tsyolo/torch';

/** What forwardAugment needs from a model (DetectionModel has all of it). */
export interface AugmentableModel {
  /** decoded predictions (bs, N, 5+nc), boxes xywh in input pixels */
  predict(x: Tensor): Tensor;
  /** per-level strides */
  readonly stride: readonly number[];
  /** the Detect head: number of levels */
  readonly detect: { readonly nl: number };
}

/** yolov5's TTA scales and flips (3 = left-right, on dim 3 of NCHW). */
export const TTA_SCALES: readonly number[] = [1, 0.83, 0.67];
export const TTA_FLIPS: readonly (number | null)[] = [null, 3, null];

/** Pad value of the scaled images (yolov5's imagenet mean 0.447). */
const PAD_VALUE = 0.447;

/**
 * yolov5's scale_img: resizes an NCHW batch by `ratio` (bilinear, align_corners false) to
 * (int(h·ratio), int(w·ratio)) and, unless sameShape, pads right/bottom with 0.447 up to the next
 * multiple of gs. A ratio of 1 returns the input itself.
 */
export function scaleImg(img: Tensor, ratio = 1, sameShape = false, gs = 32): Tensor {
  if (ratio === 1) return img;
  return tidy(() => {
    let [h, w] = img.shape.slice(2);
    const s: [number, number] = [Math.trunc(h * ratio), Math.trunc(w * ratio)];
    const resized = F.interpolate(img, { size: s, mode: 'bilinear', alignCorners: false });
    if (!sameShape) [h, w] = [h, w].map((x) => Math.ceil((x * ratio) / gs) * gs);
    return F.pad(resized, [0, w - s[1], 0, h - s[0]], 'constant', PAD_VALUE);
  });
}

/**
 * yolov5's _descale_pred: boxes xywh (first 4 columns of the last dim) divided by `scale`, then the
 * mirror undone: flips 2 (up-down) y = h − y, flips 3 (left-right) x = w − x, with imgSize = [h, w]
 * of the un-augmented input. Returns a new tensor.
 */
export function descalePred(
  p: Tensor,
  flips: number | null,
  scale: number,
  imgSize: readonly [number, number] | readonly number[],
): Tensor {
  return tidy(() => {
    const y = p.clone();
    y.index('...', ':4').div_(scale);
    if (flips === 2) y.indexPut_(['...', 1], y.index('...', 1).rsub(imgSize[0]));
    else if (flips === 3) y.indexPut_(['...', 0], y.index('...', 0).rsub(imgSize[1]));
    return y;
  });
}

/**
 * yolov5's _clip_augmented: with g = Σ 4^i over the nl levels, drops the last (N₀/g) rows of the
 * first branch (its coarsest level: large objects at full scale) and the first (N₋₁/g)·4^(nl−1) rows
 * of the last branch (its finest level: small objects at the smallest scale). Returns new tensors.
 */
export function clipAugmented(y: readonly Tensor[], nl: number): Tensor[] {
  const g = Array.from({ length: nl }, (_, x) => 4 ** x).reduce((a, b) => a + b, 0);
  const e = 1; // levels excluded at each end
  const out = [...y];
  const n0 = y[0].shape[1];
  const i0 = Math.floor(n0 / g) * Array.from({ length: e }, (_, x) => 4 ** x).reduce((a, b) => a + b, 0);
  out[0] = y[0].narrow(1, 0, n0 - i0); // y[0][:, :-i]
  const last = out.length - 1;
  const n1 = y[last].shape[1];
  const i1 = Math.floor(n1 / g) * Array.from({ length: e }, (_, x) => 4 ** (nl - 1 - x)).reduce((a, b) => a + b, 0);
  out[last] = out[last].narrow(1, i1, n1 - i1); // y[-1][:, i:]
  return out;
}

/**
 * Augmented inference (yolov5's `model(x, augment=True)`): decoded predictions (bs, N', 5+nc) of the
 * three branches, in the input's pixel frame, ready for NMS. The model should be in eval mode.
 */
export function forwardAugment(model: AugmentableModel, x: Tensor): Tensor {
  return tidy(() => {
    const imgSize = x.shape.slice(-2) as [number, number];
    const gs = Math.trunc(Math.max(...model.stride));
    const ys = TTA_SCALES.map((si, k) => {
      const fi = TTA_FLIPS[k];
      const xi = scaleImg(fi !== null ? x.flip(fi) : x, si, false, gs);
      const yi = model.predict(xi);
      return descalePred(yi, fi, si, imgSize);
    });
    return cat(clipAugmented(ys, model.detect.nl), 1);
  });
}
