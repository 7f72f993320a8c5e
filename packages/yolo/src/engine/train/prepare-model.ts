// The model's last preparations before the first batch (yolov5's steps between the dataloaders and
// the epoch loop): labels.jpg, AutoAnchor, FP16 rounding, the start from rank 0's weights, and the
// loss gains scaled to the model.
import { join } from 'node:path';
import { nn, noGrad, tidy } from '@tsyolo/torch';
import { ComputeLoss } from '../../loss/compute-loss.js';
import type { DetectionModel } from '../../models/model.js';
import { plotLabels } from '../../plots/index.js';
import { checkAnchors } from '../autoanchor.js';
import type { Run } from './context.js';
import type { TrainData } from './data.js';

/**
 * A new run (not a resumed one) plots its labels and, on rank 0, checks its anchors against them
 * (AutoAnchor, replacing poorly fitting ones), then rounds the weights to FP16 precision. In a
 * multi-process run every rank then takes rank 0's weights, anchors and BN statistics, and
 * --sync-bn converts the BatchNorm layers. Returns the loss, built on the scaled gains.
 */
export async function prepareModel(run: Run, data: TrainData): Promise<ComputeLoss> {
  const { opts, role, model, log } = run;
  if (!run.resumed) {
    if (role.isMain && !opts.noplots)
      await plotLabels(data.allLabels, run.names, join(run.paths.saveDir, 'labels.jpg'));
    if (role.isMain && !opts.noautoanchor) {
      const { shapes, labels } = data.train.spec;
      checkAnchors({ model, shapes, labels, thr: run.hyp.anchor_t, imgsz: run.imgsz, seed: opts.seed, log });
    }
    roundToHalf(model);
  }
  if (role.ddp) {
    role.ddp.broadcastModule(model);
    if (opts.syncBn)
      log(
        `SyncBatchNorm: ${nn.convertSyncBatchNorm(model, role.ddp.pg)} BatchNorm2d layers synchronised across ${role.worldSize} processes`,
      );
  } else if (opts.syncBn) {
    log('--sync-bn has no effect in a single process');
  }
  model.hyp = lossGains(run);
  return new ComputeLoss(model);
}

/** Rounds every floating tensor to FP16 precision in place (yolov5's model.half().float()). */
function roundToHalf(model: DetectionModel): void {
  tidy(() =>
    noGrad(() => {
      for (const [, t] of model.stateDict()) if (t.dtype === 'float32') t.copy_(t.half());
    }),
  );
}

/**
 * The hyperparameters with the loss gains scaled as yolov5 does: box and cls by 3 / detection
 * levels, cls also by nc / 80, obj by (imgsz / 640)² · 3 / levels; plus --label-smoothing.
 */
function lossGains(run: Run): Record<string, number> {
  const levels = run.model.detect.nl;
  const gains = { ...run.hyp } as unknown as Record<string, number>;
  gains.box *= 3 / levels;
  gains.cls *= ((run.nc / 80) * 3) / levels;
  gains.obj *= ((run.imgsz / 640) ** 2 * 3) / levels;
  gains.label_smoothing = run.opts.labelSmoothing;
  return gains;
}
