// Left-right / up-down flips of an image and its normalised labels (yolov5 v7.0 __getitem__ semantics:
// np.fliplr / np.flipud, x → 1 − x / y → 1 − y on the [cls, x, y, w, h] rows, in float32).
import type { Labels, RawImage, Rng } from '../types.js';

/** Mirror left-right. Returns a new image and new labels. */
export function fliplr(img: RawImage, labels?: Labels): { img: RawImage; labels: Labels } {
  const { width, height, data } = img;
  const out = new Uint8Array(width * height * 3);
  const row = width * 3;
  for (let y = 0; y < height; y++) {
    const base = y * row;
    let s = base + row - 3;
    for (let o = base; o < base + row; o += 3, s -= 3) {
      out[o] = data[s];
      out[o + 1] = data[s + 1];
      out[o + 2] = data[s + 2];
    }
  }
  return { img: { data: out, width, height }, labels: flipColumn(labels, 1) };
}

/** Mirror up-down. Returns a new image and new labels. */
export function flipud(img: RawImage, labels?: Labels): { img: RawImage; labels: Labels } {
  const { width, height, data } = img;
  const out = new Uint8Array(width * height * 3);
  const row = width * 3;
  for (let y = 0; y < height; y++) out.set(data.subarray(y * row, (y + 1) * row), (height - 1 - y) * row);
  return { img: { data: out, width, height }, labels: flipColumn(labels, 2) };
}

function flipColumn(labels: Labels | undefined, col: number): Labels {
  if (!labels) return { rows: new Float32Array(0), n: 0 };
  const rows = labels.rows.slice(0, labels.n * 5);
  for (let i = 0; i < labels.n; i++) rows[i * 5 + col] = 1 - rows[i * 5 + col];
  return { rows, n: labels.n };
}

/**
 * yolov5's random flips, in its order: draws rng.random() for up-down (flip if < pUd), then
 * rng.random() for left-right (flip if < pLr). Both draws always happen (even with p = 0).
 */
export function randomFlip(
  img: RawImage,
  labels: Labels,
  pUd: number,
  pLr: number,
  rng: Rng,
): { img: RawImage; labels: Labels; ud: boolean; lr: boolean } {
  let cur = { img, labels };
  const ud = rng.random() < pUd;
  if (ud) cur = flipud(cur.img, cur.labels);
  const lr = rng.random() < pLr;
  if (lr) cur = fliplr(cur.img, cur.labels);
  return { ...cur, ud, lr };
}
