// The end of a run (yolov5's "end training" section): final weights, result plots, the summary
// lines and the result train() returns.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { plotMcCurve, plotPrCurve, plotResults } from '../../plots/index.js';
import type { ValResult } from '../validator.js';
import { stripFinalWeights } from './checkpoint.js';
import type { Run } from './context.js';
import type { TrainResult } from './options.js';

/**
 * Strips the final weights, plots results.png and the last validation's PR/F1/P/R curves (rank 0,
 * unless --noplots), logs the summary and reports the run. `startedAt`: when train() began.
 */
export async function finish(run: Run, startedAt: number): Promise<TrainResult> {
  const { opts, paths, progress, log } = run;
  const final = stripFinalWeights(run);
  if (run.role.isMain && !opts.noplots && existsSync(paths.results)) await plotFinalCurves(run, progress.lastVal);
  const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;
  const fullBytes = final.resumeFile ? statSync(final.resumeFile).size : 0;
  log(
    `\n${progress.lastEpoch - run.startEpoch + 1} epochs completed in ${((performance.now() - progress.loopStartedAt) / 3600000).toFixed(3)} hours (${progress.stoppedBy}).`,
  );
  if (final.resumeFile)
    log(
      `Final weights (FP16, EMA, no optimizer): ${paths.last} ${mb(final.lastBytes)}, ${paths.best} ${mb(final.bestBytes)}; full training state ${final.resumeFile} ${mb(fullBytes)} (for --resume)`,
    );
  const seconds = (performance.now() - startedAt) / 1000;
  const val = progress.lastVal;
  const [box, obj, cls] = progress.lastMeanLoss;
  return {
    saveDir: paths.saveDir,
    epochs: opts.epochs,
    lastEpoch: progress.lastEpoch,
    bestFitness: progress.bestFitness,
    metrics: {
      precision: val?.mp ?? 0,
      recall: val?.mr ?? 0,
      mAP50: val?.map50 ?? 0,
      mAP50_95: val?.map ?? 0,
      box,
      obj,
      cls,
    },
    weights: {
      last: paths.last,
      best: paths.best,
      resume: final.resumeFile,
      lastBytes: final.lastBytes,
      bestBytes: final.bestBytes,
    },
    stoppedBy: progress.stoppedBy,
    seconds,
    loaderWaitShare: progress.batchLoopMs > 0 ? +(progress.loaderWaitMs / progress.batchLoopMs).toFixed(4) : 0,
    imagesPerSecond: (progress.imagesSeen * run.role.worldSize) / ((performance.now() - progress.loopStartedAt) / 1000),
  };
}

/** results.png from results.csv, and the curves of the last validation. */
async function plotFinalCurves(run: Run, val: ValResult | null): Promise<void> {
  const { saveDir, results } = run.paths;
  await plotResults(results);
  const ap = val?.ap;
  if (!ap) return;
  const classes = Array.from(ap.apClass, (c) => run.names[c] ?? String(c));
  await plotPrCurve(ap.px, ap.py, ap.ap50, classes, join(saveDir, 'PR_curve.png'));
  await plotMcCurve(ap.px, ap.f1Curve, classes, join(saveDir, 'F1_curve.png'), 'F1');
  await plotMcCurve(ap.px, ap.pCurve, classes, join(saveDir, 'P_curve.png'), 'Precision');
  await plotMcCurve(ap.px, ap.rCurve, classes, join(saveDir, 'R_curve.png'), 'Recall');
}
