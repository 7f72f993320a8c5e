// yolov5's compute_ap (utils/metrics.py): the area under one precision–recall curve, 101-point
// interpolated, with numpy's interp and trapz arithmetic.
import { npInterp, npLinspace, npTrapz } from './numpy.js';

/** The recall grid linspace(0, 1, 101) the AP integral is sampled on. */
const X101 = npLinspace(0, 1, 101);

export interface ComputeApResult {
  /** 101-point interpolated AP (area under the precision envelope). */
  ap: number;
  /** The precision envelope [1, precision..., 0] made non-increasing. */
  mpre: Float64Array;
  /** [0, recall..., 1]. */
  mrec: Float64Array;
}

/**
 * yolov5's compute_ap: sentinels mrec = [0, recall, 1], mpre = [1, precision, 0]; the precision envelope is
 * the running maximum taken from the end; AP = trapz(interp(linspace(0, 1, 101), mrec, mpre)).
 */
export function computeAp(recall: ArrayLike<number>, precision: ArrayLike<number>): ComputeApResult {
  const n = recall.length;
  const mrec = new Float64Array(n + 2);
  const mpre = new Float64Array(n + 2);
  mrec[0] = 0;
  mpre[0] = 1;
  for (let i = 0; i < n; i++) {
    mrec[i + 1] = recall[i];
    mpre[i + 1] = precision[i];
  }
  mrec[n + 1] = 1;
  mpre[n + 1] = 0;
  for (let i = n; i >= 0; i--) if (mpre[i + 1] > mpre[i]) mpre[i] = mpre[i + 1];
  const ap = npTrapz(npInterp(X101, mrec, mpre), X101);
  return { ap, mpre, mrec };
}
