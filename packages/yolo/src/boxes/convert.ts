// Box formats and geometry, following yolov5 v7.0's utils/general.py and utils/metrics.py semantics.
// Boxes are tensors whose last dim holds at least 4 coordinates; columns after the 4th pass through
// unchanged. Every function returns a new tensor and leaves its input untouched (except the `_` variants).
import { type Tensor, tensor, tidy } from '@tsyolo/torch';

/** An image shape as [height, width]. */
export type HW = readonly [number, number] | readonly number[];

/** letterbox's (ratio, pad): [[gainW, gainH], [padW, padH]]; scaleBoxes uses gainW and both pads. */
export type RatioPad = readonly [readonly number[], readonly number[]];

/** [cx, cy, w, h] → [x1, y1, x2, y2]. */
export function xywh2xyxy(x: Tensor): Tensor {
  return tidy(() => {
    const y = x.clone();
    const xy = x.index('...', '0:2');
    const half = x.index('...', '2:4').div(2);
    y.indexPut_(['...', '0:2'], xy.sub(half));
    y.indexPut_(['...', '2:4'], xy.add(half));
    return y;
  });
}

/** [x1, y1, x2, y2] → [cx, cy, w, h]. */
export function xyxy2xywh(x: Tensor): Tensor {
  return tidy(() => {
    const y = x.clone();
    const p1 = x.index('...', '0:2');
    const p2 = x.index('...', '2:4');
    y.indexPut_(['...', '0:2'], p1.add(p2).div(2));
    y.indexPut_(['...', '2:4'], p2.sub(p1));
    return y;
  });
}

/** Normalised [cx, cy, w, h] → pixel [x1, y1, x2, y2] in an image of w×h placed at (padw, padh). */
export function xywhn2xyxy(x: Tensor, w = 640, h = 640, padw = 0, padh = 0): Tensor {
  return tidy(() => {
    const y = x.clone();
    const xy = x.index('...', '0:2');
    const half = x.index('...', '2:4').div(2);
    const scale = tensor([w, h], { dtype: x.dtype, device: x.device });
    const pad = tensor([padw, padh], { dtype: x.dtype, device: x.device });
    y.indexPut_(['...', '0:2'], xy.sub(half).mul(scale).add(pad));
    y.indexPut_(['...', '2:4'], xy.add(half).mul(scale).add(pad));
    return y;
  });
}

/**
 * Pixel [x1, y1, x2, y2] → normalised [cx, cy, w, h] for an image of w×h.
 * With clip, the boxes are first clipped to [0, w - eps] × [0, h - eps] (yolov5 clips its input in
 * place; here the input is left alone).
 */
export function xyxy2xywhn(x: Tensor, w = 640, h = 640, clip = false, eps = 0): Tensor {
  return tidy(() => {
    const src = clip ? clipBoxes(x, [h - eps, w - eps]) : x;
    const y = src.clone();
    const p1 = src.index('...', '0:2');
    const p2 = src.index('...', '2:4');
    const scale = tensor([w, h], { dtype: x.dtype, device: x.device });
    y.indexPut_(['...', '0:2'], p1.add(p2).div(2).div(scale));
    y.indexPut_(['...', '2:4'], p2.sub(p1).div(scale));
    return y;
  });
}

/**
 * Pairwise IoU of xyxy boxes: box1 (N,4) × box2 (M,4) → (N,M).
 * inter / (area1 + area2 - inter + eps), as yolov5's box_iou.
 */
export function boxIou(box1: Tensor, box2: Tensor, eps = 1e-7): Tensor {
  return tidy(() => {
    const a = box1.index(':', null, ':4'); // (N,1,4)
    const b = box2.index(null, ':', ':4'); // (1,M,4)
    const a1 = a.index('...', '0:2');
    const a2 = a.index('...', '2:4');
    const b1 = b.index('...', '0:2');
    const b2 = b.index('...', '2:4');
    const wh = a2.minimum(b2).sub(a1.maximum(b1)).clamp(0); // (N,M,2)
    const inter = wh.select(2, 0).mul(wh.select(2, 1));
    const da = a2.sub(a1);
    const db = b2.sub(b1);
    const area1 = da.select(2, 0).mul(da.select(2, 1)); // (N,1)
    const area2 = db.select(2, 0).mul(db.select(2, 1)); // (1,M)
    return inter.div(area1.add(area2).sub(inter).add(eps));
  });
}

/** Clips xyxy boxes to an image of shape [h, w], in place; returns boxes. */
export function clipBoxes_(boxes: Tensor, shape: HW): Tensor {
  const [h, w] = shape;
  tidy(() => {
    boxes.index('...', '0:4:2').clamp_(0, w);
    boxes.index('...', '1:4:2').clamp_(0, h);
  });
  return boxes;
}

/** xyxy boxes clipped to an image of shape [h, w] (x to [0, w], y to [0, h]); a new tensor. */
export function clipBoxes(boxes: Tensor, shape: HW): Tensor {
  return clipBoxes_(boxes.clone(), shape);
}

/**
 * Maps xyxy boxes from a letterboxed image of shape img1Shape [h, w] back to the original image of
 * shape img0Shape [h, w], then clips to it (yolov5's scale_boxes). Without ratioPad the letterbox is
 * recomputed: gain = min(h1/h0, w1/w0), pad = ((w1 - w0·gain)/2, (h1 - h0·gain)/2) (not rounded);
 * with ratioPad, gain = ratioPad[0][0] and pad = ratioPad[1]. Columns after the 4th are unchanged.
 */
export function scaleBoxes(img1Shape: HW, boxes: Tensor, img0Shape: HW, ratioPad?: RatioPad | null): Tensor {
  let gain: number;
  let padX: number;
  let padY: number;
  if (ratioPad == null) {
    gain = Math.min(img1Shape[0] / img0Shape[0], img1Shape[1] / img0Shape[1]);
    padX = (img1Shape[1] - img0Shape[1] * gain) / 2;
    padY = (img1Shape[0] - img0Shape[0] * gain) / 2;
  } else {
    gain = ratioPad[0][0];
    [padX, padY] = ratioPad[1];
  }
  const y = boxes.clone();
  tidy(() => {
    y.index('...', '0:4:2').sub_(padX);
    y.index('...', '1:4:2').sub_(padY);
    y.index('...', '0:4').div_(gain);
  });
  return clipBoxes_(y, img0Shape);
}
