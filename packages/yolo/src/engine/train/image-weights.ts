// --image-weights (yolov5's labels_to_class_weights and labels_to_image_weights): images holding
// rare classes, or classes the model still detects poorly, are drawn more often.

/** Inverse class frequencies, normalised to sum 1 (yolov5's labels_to_class_weights). */
export function classWeights(labels: readonly Float32Array[], nc: number): Float64Array {
  const counts = new Float64Array(nc);
  for (const l of labels) for (let i = 0; i < l.length; i += 5) counts[l[i]]++;
  const w = counts.map((c) => 1 / (c === 0 ? 1 : c));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / s);
}

/** Per-image weights: the sum of its labels' class weights (yolov5's labels_to_image_weights). */
export function imageWeights(labels: readonly Float32Array[], classW: Float64Array): Float64Array {
  return Float64Array.from(labels, (l) => {
    let s = 0;
    for (let i = 0; i < l.length; i += 5) s += classW[l[i]];
    return s;
  });
}

/**
 * The sampling weights of one epoch's images: each class weighs its frequency weight times
 * (1 − its latest mAP)² / nc, so classes with a low mAP are drawn more often.
 */
export function epochImageWeights(
  labels: readonly Float32Array[],
  classW: Float64Array,
  classMaps: Float64Array,
  nc: number,
): Float64Array {
  const weights = classW.map((c, k) => (c * (1 - classMaps[k]) ** 2) / nc);
  return imageWeights(labels, weights);
}
