// The end of an epoch (yolov5's code after the batch loop): LR schedule step, validation of the
// EMA, fitness and early stopping, results.csv and TensorBoard, checkpoints.
import { trimMemory } from '@tsyolo/torch';
import { fitness } from '../../metrics/ap.js';
import { appendResults, RESULT_KEYS } from '../results.js';
import type { SummaryWriter } from '../tensorboard.js';
import { type ValResult, validate } from '../validator.js';
import { saveEpochCheckpoints } from './checkpoint.js';
import type { Loop, Run } from './context.js';

/**
 * Closes an epoch whose batches all trained. The EMA is validated every epoch (with --noval only
 * the final one, or when early stopping may end the run now); its fitness (0.1·mAP50 + 0.9·mAP)
 * feeds early stopping and best.safetensors. Only rank 0 logs and writes files. Returns true when
 * early stopping ends the run (on every rank alike).
 */
export async function endEpoch(run: Run, loop: Loop, epoch: number, meanLoss: number[]): Promise<boolean> {
  const { opts, progress, stopper } = run;
  const lrs = run.optimizer.paramGroups.map((g) => g.lr);
  run.scheduler.step();
  run.ema.updateAttr(run.model);
  trimMemory(); // the epoch's freed heap goes back to the OS before validation
  const finalEpoch = epoch + 1 === opts.epochs || stopper.possibleStop;
  if (loop.valLoader && (!opts.noval || finalEpoch)) {
    progress.lastVal = await validate(run.ema.ema, loop.valLoader, {
      computeLoss: loop.computeLoss,
      singleCls: opts.singleCls,
    });
    progress.classMaps = progress.lastVal.maps;
    run.log(formatVal(progress.lastVal));
  }
  const val = progress.lastVal;
  const fit = val ? fitness(val.mp, val.mr, val.map50, val.map) : 0;
  const stop = shareMainDecision(run, stopper.step(epoch, fit));
  if (!run.role.isMain) {
    progress.lastEpoch = epoch;
    return stop;
  }
  if (fit > progress.bestFitness) progress.bestFitness = fit;
  logResults(run, loop.tensorboard, epoch, [
    ...meanLoss,
    val?.mp ?? 0,
    val?.mr ?? 0,
    val?.map50 ?? 0,
    val?.map ?? 0,
    ...(val?.losses ?? [0, 0, 0]),
    ...lrs,
  ]);
  progress.lastMeanLoss = meanLoss;
  progress.lastEpoch = epoch;
  if (!opts.nosave || finalEpoch) saveEpochCheckpoints(run, epoch, fit);
  if (stop) run.log(stopper.message());
  return stop;
}

/** Rank 0's early-stop decision and per-class mAPs (for --image-weights) reach every rank. */
function shareMainDecision(run: Run, stop: boolean): boolean {
  const { ddp } = run.role;
  if (!ddp) return stop;
  const shared = ddp.fromMain([stop ? 1 : 0, ...run.progress.classMaps]);
  run.progress.classMaps = Float64Array.from(shared.slice(1));
  return shared[0] > 0;
}

/** One row of results.csv (yolov5's columns) and the same values as TensorBoard scalars (rank 0). */
function logResults(run: Run, tensorboard: SummaryWriter | null, epoch: number, row: number[]): void {
  appendResults(run.paths.results, epoch, row);
  if (!tensorboard) return;
  for (const [j, key] of RESULT_KEYS.entries()) tensorboard.addScalar(key, row[j], epoch);
  tensorboard.flush();
}

/** The validation summary line, as val.py prints it ('all', images, labels, P, R, mAP50, mAP50-95). */
export function formatVal(v: ValResult): string {
  const f = (x: number): string => x.toFixed(3);
  return `${'all'.padStart(22)}${String(v.seen).padStart(11)}${String(v.nt.reduce((a, b) => a + b, 0)).padStart(11)}${f(v.mp).padStart(11)}${f(v.mr).padStart(11)}${f(v.map50).padStart(11)}${f(v.map).padStart(11)}`;
}
