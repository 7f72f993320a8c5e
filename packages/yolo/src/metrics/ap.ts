// The detection metrics of yolov5 v7.0, gathered under one import: per-class average precision
// (ap-per-class.ts, compute-ap.ts), val.py's prediction/label matching (process-batch.ts), fitness,
// the confusion matrix, and the numpy-exact numerics they rest on (numpy.ts).
//
// Everything after the IoU matrix runs on plain typed arrays in float64, with the same arithmetic
// order as numpy where that decides the last bits: np.interp's segment choice and formula, np.trapz's
// (x1 - x0) * (y1 + y0) / 2 terms, numpy's pairwise summation for sums/means over a contiguous axis and
// sequential summation over axis 0, round-half-to-even for np.round.

export { type ApPerClassResult, apPerClass } from './ap-per-class.js';
export { type ComputeApResult, computeAp } from './compute-ap.js';
export { ConfusionMatrix } from './confusion-matrix.js';
export { fitness } from './fitness.js';
export type { NumericInput } from './inputs.js';
export { npInterp, npLinspace, npMean, npSum, npTrapz, roundHalfEven, smooth } from './numpy.js';
export { iouVector, matchPredictions, processBatch } from './process-batch.js';
