// yolov5's model fitness, the single number training and evolution maximise.

/** yolov5's fitness: 0.1·mAP@0.5 + 0.9·mAP@0.5:0.95 (P and R weigh 0). */
export function fitness(p: number, r: number, map50: number, map: number): number {
  return 0 * p + 0 * r + 0.1 * map50 + 0.9 * map;
}
