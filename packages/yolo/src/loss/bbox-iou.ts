// Elementwise IoU of paired boxes and its GIoU / DIoU / CIoU variants, as yolov5 v7.0's
// utils/metrics.bbox_iou computes them (same operations in the same order, so float32
// results match PyTorch's). Boxes are (..., 4), xywh (centre, size) or xyxy; the result
// is (..., 1).
import { noGrad, type Tensor } from '@tsyolo/torch';

export interface BboxIouOptions {
  /** boxes are (x, y, w, h) centre/size (default true) or (x1, y1, x2, y2) */
  xywh?: boolean;
  /** generalised IoU: iou − (enclosing area − union) / enclosing area */
  GIoU?: boolean;
  /** distance IoU: iou − ρ² / c² */
  DIoU?: boolean;
  /** complete IoU: iou − (ρ² / c² + v·α), α without gradient */
  CIoU?: boolean;
  eps?: number;
}

/**
 * IoU of box1[k] with box2[k] (broadcasting over the leading dims), shape (..., 1).
 * Call inside a scope: the temporaries belong to it.
 */
export function bboxIou(box1: Tensor, box2: Tensor, opts: BboxIouOptions = {}): Tensor {
  const { xywh = true, GIoU = false, DIoU = false, CIoU = false, eps = 1e-7 } = opts;
  let b1x1: Tensor, b1y1: Tensor, b1x2: Tensor, b1y2: Tensor;
  let b2x1: Tensor, b2y1: Tensor, b2x2: Tensor, b2y2: Tensor;
  let w1: Tensor, h1: Tensor, w2: Tensor, h2: Tensor;
  if (xywh) {
    const [x1, y1, w1r, h1r] = box1.chunk(4, -1);
    const [x2, y2, w2r, h2r] = box2.chunk(4, -1);
    [w1, h1, w2, h2] = [w1r, h1r, w2r, h2r];
    const w1h = w1.div(2);
    const h1h = h1.div(2);
    const w2h = w2.div(2);
    const h2h = h2.div(2);
    [b1x1, b1x2, b1y1, b1y2] = [x1.sub(w1h), x1.add(w1h), y1.sub(h1h), y1.add(h1h)];
    [b2x1, b2x2, b2y1, b2y2] = [x2.sub(w2h), x2.add(w2h), y2.sub(h2h), y2.add(h2h)];
  } else {
    [b1x1, b1y1, b1x2, b1y2] = box1.chunk(4, -1);
    [b2x1, b2y1, b2x2, b2y2] = box2.chunk(4, -1);
    // v7.0: eps added to the heights of corner-form boxes
    [w1, h1] = [b1x2.sub(b1x1), b1y2.sub(b1y1).add(eps)];
    [w2, h2] = [b2x2.sub(b2x1), b2y2.sub(b2y1).add(eps)];
  }

  const inter = b1x2
    .minimum(b2x2)
    .sub(b1x1.maximum(b2x1))
    .clamp(0)
    .mul(b1y2.minimum(b2y2).sub(b1y1.maximum(b2y1)).clamp(0));
  const union = w1.mul(h1).add(w2.mul(h2)).sub(inter).add(eps);
  const iou = inter.div(union);
  if (!(CIoU || DIoU || GIoU)) return iou;

  const cw = b1x2.maximum(b2x2).sub(b1x1.minimum(b2x1)); // enclosing width
  const ch = b1y2.maximum(b2y2).sub(b1y1.minimum(b2y1)); // enclosing height
  if (CIoU || DIoU) {
    const c2 = cw.pow(2).add(ch.pow(2)).add(eps); // enclosing diagonal²
    const rho2 = b2x1.add(b2x2).sub(b1x1).sub(b1x2).pow(2).add(b2y1.add(b2y2).sub(b1y1).sub(b1y2).pow(2)).div(4); // centre distance²
    if (CIoU) {
      const v = w2
        .div(h2)
        .atan()
        .sub(w1.div(h1).atan())
        .pow(2)
        .mul(4 / Math.PI ** 2);
      const alpha = noGrad(() => v.div(v.sub(iou).add(1 + eps)));
      return iou.sub(rho2.div(c2).add(v.mul(alpha)));
    }
    return iou.sub(rho2.div(c2));
  }
  const cArea = cw.mul(ch).add(eps);
  return iou.sub(cArea.sub(union).div(cArea));
}
