// val's plots (yolov5's val.py): the first three batches' label and prediction mosaics, the confusion
// matrix, and the PR, F1, P and R curves.

import { join } from 'node:path';
import { fromTypedArray, tidy } from '@tsyolo/torch';
import type { ConfusionMatrix } from '../../metrics/ap.js';
import {
  labelsToBoxes,
  plotConfusionMatrix,
  plotImages,
  plotMcCurve,
  plotPrCurve,
  predsToBoxes,
} from '../../plots/index.js';
import type { ValBatch, ValResult } from '../validator.js';

/** Confusion-matrix counts and the first three batches' label/prediction mosaics (yolov5's val plots). */
export function plotValBatch(
  b: ValBatch,
  names: string[],
  saveDir: string,
  cm: ConfusionMatrix,
  pending: Promise<void>[],
): void {
  const [bs, , h, w] = b.images.shape;
  const t = b.targets.toArray();
  tidy(() => {
    b.preds.forEach((p, si) => {
      const rows: number[] = [];
      for (let r = 0; r < t.length / 6; r++) {
        if (t[r * 6] !== si) continue;
        const [, c, x, y, bw, bh] = t.slice(r * 6, r * 6 + 6);
        rows.push(c, x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2);
      }
      const labels = fromTypedArray(Float32Array.from(rows), [rows.length / 5, 5]);
      cm.processBatch(p.shape[0] ? p : null, p.shape[0] ? labels : labels.index(':', 0));
    });
  });
  if (b.batchIndex >= 3) return;
  const images = b.images.toTypedArray();
  if (!(images instanceof Uint8Array)) throw new Error(`val plots: uint8 images expected, got ${b.images.dtype}`);
  const norm = Float32Array.from(t, (v, i) =>
    i % 6 === 2 || i % 6 === 4 ? v / w : i % 6 === 3 || i % 6 === 5 ? v / h : v,
  );
  const preds = b.preds.map((p) => p.toArray());
  const paths = [...b.paths];
  pending.push(
    plotImages(
      images,
      bs,
      h,
      w,
      labelsToBoxes(norm, bs, h, w),
      paths,
      names,
      join(saveDir, `val_batch${b.batchIndex}_labels.jpg`),
    ),
  );
  pending.push(
    plotImages(images, bs, h, w, predsToBoxes(preds), paths, names, join(saveDir, `val_batch${b.batchIndex}_pred.jpg`)),
  );
}

/** The normalized confusion matrix and the PR, F1, P and R curves per class. */
export async function plotValCurves(
  r: ValResult,
  cm: ConfusionMatrix,
  names: string[],
  saveDir: string,
): Promise<void> {
  await plotConfusionMatrix(cm.normalized(), names, join(saveDir, 'confusion_matrix.png'));
  const ap = r.ap;
  if (!ap) return;
  const cls = Array.from(ap.apClass, (c) => names[c] ?? String(c));
  await plotPrCurve(ap.px, ap.py, ap.ap50, cls, join(saveDir, 'PR_curve.png'));
  await plotMcCurve(ap.px, ap.f1Curve, cls, join(saveDir, 'F1_curve.png'), 'F1');
  await plotMcCurve(ap.px, ap.pCurve, cls, join(saveDir, 'P_curve.png'), 'Precision');
  await plotMcCurve(ap.px, ap.rCurve, cls, join(saveDir, 'R_curve.png'), 'Recall');
}
