// The training and validation data (yolov5's "Trainloader" and "Process 0" sections of train()):
// datasets scanned once, labels checked against nc, and the loaders whose worker threads prepare
// the batches.
import { createDataset, type Dataset } from '../../data/dataset.js';
import { DataLoader } from '../../data/loader.js';
import type { Cleanup } from './cleanup.js';
import type { Run } from './context.js';

export interface TrainData {
  train: Dataset;
  /** rank 0 alone validates */
  val: Dataset | null;
  /** every training label row, [class, x, y, w, h] per row */
  allLabels: Float32Array;
}

/**
 * Scans the training and validation sets. In a multi-process run rank 0 scans first (and writes
 * the label cache) while the others wait, then they read the cache. A label whose class is not
 * below nc is refused, as yolov5's assert.
 */
export async function loadDatasets(run: Run): Promise<TrainData> {
  const { opts, role, imgsz } = run;
  const { ddp, isMain, batchPerRank } = role;
  const common = {
    hyp: run.hyp,
    seed: opts.seed,
    stride: run.gridStride,
    nc: run.nc,
    singleCls: opts.singleCls,
    cache: opts.cache,
    log: run.log,
  };
  if (ddp && !isMain) ddp.barrier('waiting for rank 0 to scan the dataset');
  const train = await createDataset(run.dataConfig.train, {
    ...common,
    imgsz,
    augment: true,
    batchSize: batchPerRank,
    rect: opts.rect,
    prefix: 'train: ',
  });
  if (ddp && isMain) ddp.barrier('waiting for the other ranks to start');
  const allLabels = train.allLabels();
  for (let i = 0; i < allLabels.length; i += 5) {
    if (allLabels[i] >= run.nc)
      throw new Error(
        `${opts.data}: label class ${allLabels[i]} exceeds nc=${run.nc}; valid classes are 0-${run.nc - 1}`,
      );
  }
  const val = isMain
    ? await createDataset(run.dataConfig.val, {
        ...common,
        imgsz,
        augment: false,
        batchSize: batchPerRank * 2,
        rect: true,
        pad: 0.5,
        prefix: 'val: ',
      })
    : null;
  return { train, val, allLabels };
}

/**
 * Starts the loaders' worker threads; `cleanup` stops them. Training batches are shuffled (unless
 * --rect) and sharded across the ranks; validation takes rectangular batches of twice the size.
 */
export function openLoaders(
  run: Run,
  data: TrainData,
  cleanup: Cleanup,
): { trainLoader: DataLoader; valLoader: DataLoader | null } {
  const { opts, role } = run;
  const trainLoader = new DataLoader(data.train.spec, {
    batchSize: role.batchPerRank,
    workers: opts.workers,
    shuffle: !opts.rect,
    seed: opts.seed,
    rank: role.rank,
    worldSize: role.worldSize,
  });
  cleanup.defer(() => trainLoader.close());
  if (!data.val) return { trainLoader, valLoader: null };
  const valLoader = new DataLoader(data.val.spec, {
    batchSize: role.batchPerRank * 2,
    workers: Math.min(opts.workers, 2),
    shuffle: false,
    seed: opts.seed,
  });
  cleanup.defer(() => valLoader.close());
  return { trainLoader, valLoader };
}
