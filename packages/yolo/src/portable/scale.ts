// Boxes from the letterboxed input back to the original image, as yolov5's scale_boxes(...).round()
// with the float32 arithmetic of the libtorch path: the gain and pad are computed in double, rounded
// to float32, subtracted / divided in float32, clipped to the image, rounded half to even (torch.round).

import { roundHalfEven } from '../util/python.js';
import type { Box, Detection, DetectionRows } from './types.js';

const f32 = Math.fround;

/**
 * Maps rows [x1, y1, x2, y2, ...] (n × stride values) from an input of shape from [h, w] to an image of
 * shape to [h0, w0]: gain = min(h/h0, w/w0), pad = ((w − w0·gain)/2, (h − h0·gain)/2), then clip to the
 * image; with round, to whole pixels. Returns new rows; the other columns are copied.
 */
export function scaleBoxRows(
  rows: Float32Array,
  n: number,
  from: readonly [number, number],
  to: readonly [number, number],
  round = true,
  stride = 6,
): Float32Array {
  const gain = Math.min(from[0] / to[0], from[1] / to[1]);
  const padX = f32((from[1] - to[1] * gain) / 2);
  const padY = f32((from[0] - to[0] * gain) / 2);
  const g = f32(gain);
  const [h0, w0] = to;
  const out = rows.slice(0, n * stride);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 4; c++) {
      const k = i * stride + c;
      const x = c % 2 === 0;
      let v = f32(f32(out[k] - (x ? padX : padY)) / g);
      const hi = x ? w0 : h0;
      v = v < 0 ? 0 : v > hi ? hi : v;
      out[k] = round ? roundHalfEven(v) : v;
    }
  }
  return out;
}

/** Detections in original-image pixels from NMS rows on a letterboxed input (boxes rounded, as detect.py). */
export function toDetections(
  det: DetectionRows,
  inputShape: readonly [number, number],
  imageShape: readonly [number, number],
  names: readonly string[],
): Detection[] {
  const r = scaleBoxRows(det.rows, det.n, inputShape, imageShape, true);
  const out: Detection[] = [];
  for (let i = 0; i < det.n; i++) {
    const cls = r[6 * i + 5];
    out.push({
      box: [r[6 * i], r[6 * i + 1], r[6 * i + 2], r[6 * i + 3]] as Box,
      conf: r[6 * i + 4],
      cls,
      name: names[cls] ?? String(cls),
    });
  }
  return out;
}
