// tsyolo train: yolov5's train.py procedure — model from a config or weights, freezing,
// optimizer groups, warmup, LR schedule, EMA, validation on the EMA each epoch, best/last
// checkpoints, early stopping, exact resume, and FP16 stripped weights at the end.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { clipGradNorm_, F, getNumThreads, manualSeed, nn, noGrad, optim, setRngState, tidy, writeFileAtomic, type Tensor } from '@tsyolo/torch';
import { loadConfig, type ModelConfig } from '../models/config.js';
import { DetectionModel } from '../models/model.js';
import { loadModelFile, transferWeights } from '../models/weights.js';
import { loadDataConfig } from '../data/config.js';
import { loadHyp, validateHyp } from '../data/hyp.js';
import { createDataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import { Xoshiro128 } from '../data/rng.js';
import type { Hyp } from '../data/types.js';
import { ComputeLoss } from '../loss/compute-loss.js';
import { fitness } from '../metrics/ap.js';
import { smartOptimizer, type OptimizerName } from './optimizer.js';
import { linearLr, oneCycleLr, warmupAt, warmupIterations } from './schedule.js';
import { ModelEMA } from './ema.js';
import { EarlyStopping } from './early-stop.js';
import { validate, type ValResult } from './validator.js';
import { checkImgSize, incrementPath } from './paths.js';
import { appendResults, RESULT_KEYS } from './results.js';
import { SummaryWriter } from './tensorboard.js';
import { labelsToBoxes, plotImages, plotLabels, plotMcCurve, plotPrCurve, plotResults } from '../plots/index.js';
import { isTrainingCheckpoint, loadTrainCheckpoint, replaceWithStripped, saveTrainCheckpoint, writeStripped, type TrainState } from './state.js';
import { EpochProgress } from './progress.js';
import { DDP, distEnv } from '../distributed/ddp.js';
import { requireCpu } from '../distributed/devices.js';

export interface TrainOptions {
  weights: string;
  cfg: string;
  data: string;
  /** a hyp YAML (shipped name or path), or the values themselves (hyperparameter evolution) */
  hyp: string | Hyp;
  epochs: number;
  batchSize: number;
  imgsz: number;
  rect: boolean;
  /** true: newest runs/train/*\/weights/resume or last; a string: that checkpoint */
  resume: boolean | string;
  nosave: boolean;
  noval: boolean;
  noautoanchor: boolean;
  noplots: boolean;
  cache: 'ram' | null;
  imageWeights: boolean;
  device: string;
  multiScale: boolean;
  singleCls: boolean;
  optimizer: OptimizerName;
  workers: number;
  project: string;
  name: string;
  existOk: boolean;
  cosLr: boolean;
  labelSmoothing: number;
  patience: number;
  freeze: number[];
  /** train the frozen layers again from this epoch (-1: never) */
  unfreezeAt: number;
  savePeriod: number;
  seed: number;
  /** SyncBatchNorm across the ranks of a multi-process run */
  syncBn: boolean;
  /** print per-batch progress */
  verbose: boolean;
  /** where lines go (default console.log) */
  log?: (line: string) => void;
  /** the process group of a multi-process run (default: joined from RANK/WORLD_SIZE when set) */
  ddp?: DDP | null;
}

export const trainDefaults: TrainOptions = {
  weights: '',
  cfg: '',
  data: '',
  hyp: 'hyp.scratch-low.yaml',
  epochs: 100,
  batchSize: 16,
  imgsz: 640,
  rect: false,
  resume: false,
  nosave: false,
  noval: false,
  noautoanchor: false,
  noplots: false,
  cache: null,
  imageWeights: false,
  device: '',
  multiScale: false,
  singleCls: false,
  optimizer: 'SGD',
  workers: 8,
  project: 'runs/train',
  name: 'exp',
  existOk: false,
  cosLr: false,
  labelSmoothing: 0,
  patience: 100,
  freeze: [0],
  unfreezeAt: -1,
  savePeriod: -1,
  seed: 0,
  syncBn: false,
  verbose: true,
};

export interface TrainResult {
  saveDir: string;
  epochs: number;
  /** epoch of the last completed epoch */
  lastEpoch: number;
  bestFitness: number;
  metrics: { precision: number; recall: number; mAP50: number; mAP50_95: number; box: number; obj: number; cls: number };
  weights: { last: string; best: string; resume: string | null; lastBytes: number; bestBytes: number };
  stoppedBy: 'completed' | 'early-stop' | 'signal' | 'nan';
  seconds: number;
  imagesPerSecond: number;
}

/** The newest resumable checkpoint under runs/train (yolov5's get_latest_run). */
export function latestRun(project = 'runs/train'): string {
  let best: [number, string] | null = null;
  if (existsSync(project)) {
    for (const d of readdirSync(project)) {
      for (const f of ['resume.safetensors', 'last.safetensors']) {
        const p = join(project, d, 'weights', f);
        if (existsSync(p) && isTrainingCheckpoint(p)) {
          const t = statSync(p).mtimeMs;
          if (!best || t > best[0]) best = [t, p];
          break;
        }
      }
    }
  }
  if (!best) throw new Error(`--resume: no resumable checkpoint under ${project}/*/weights/`);
  return best[1];
}

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

function freezePrefixes(freeze: number[]): string[] {
  const layers = freeze.length > 1 ? freeze : Array.from({ length: freeze[0] ?? 0 }, (_, i) => i);
  return layers.map((i) => `model.${i}.`);
}

function setFrozen(model: DetectionModel, prefixes: string[], frozen: boolean, log?: (s: string) => void): void {
  for (const [k, p] of model.namedParameters()) {
    if (prefixes.some((x) => k.startsWith(x))) {
      p.requiresGrad_(!frozen);
      if (frozen) log?.(`freezing ${k}`);
    }
  }
}

/** hyp `anchors: k` (set by --evolve) builds the model with k anchors per level, left to AutoAnchor (yolov5's Model(anchors=…)). */
function withAnchorCount(cfg: ModelConfig, hyp: Hyp): ModelConfig {
  return hyp.anchors ? { ...cfg, anchors: Math.round(hyp.anchors) } : cfg;
}

/** Rounds every floating tensor to FP16 precision in place (yolov5's model.half().float()). */
function roundToHalf(model: DetectionModel): void {
  tidy(() =>
    noGrad(() => {
      for (const [, t] of model.stateDict()) if (t.dtype === 'float32') t.copy_(t.half());
    }),
  );
}

export async function train(options: Partial<TrainOptions>): Promise<TrainResult> {
  let o: TrainOptions = { ...trainDefaults, ...options };
  requireCpu(o.device, 'train');
  const de = options.ddp === undefined ? distEnv() : null;
  const ddp = options.ddp ?? (de ? DDP.fromEnv(de) : null);
  const ownsDdp = !options.ddp && !!ddp;
  try {
    return await trainOn(o, options, ddp);
  } finally {
    if (ownsDdp) ddp!.destroy();
  }
}

async function trainOn(o: TrainOptions, options: Partial<TrainOptions>, ddp: DDP | null): Promise<TrainResult> {
  const t0 = performance.now();
  const world = ddp?.worldSize ?? 1;
  const rank = ddp?.rank ?? 0;
  const isMain = rank === 0;
  const log = !isMain ? (): void => {} : (o.log ?? ((s: string) => console.log(s)));

  // ---- resume: options, weights and state come from the checkpoint ----
  let resumed: ReturnType<typeof loadTrainCheckpoint> | null = null;
  if (o.resume) {
    const path = typeof o.resume === 'string' ? o.resume : latestRun(o.project);
    resumed = loadTrainCheckpoint(path);
    const saved = resumed.state.opt as unknown as TrainOptions;
    const epochs = options.epochs !== undefined && options.epochs !== saved.epochs ? options.epochs : saved.epochs;
    if (resumed.state.epoch + 1 >= epochs) {
      resumed.dispose();
      throw new Error(`${path}: training to ${saved.epochs} epochs is complete; pass --epochs N (N > ${saved.epochs}) to train further`);
    }
    o = { ...saved, epochs, resume: path, existOk: true, log: o.log, workers: options.workers ?? saved.workers, verbose: options.verbose ?? saved.verbose };
    log(`Resuming training from ${path} (epoch ${resumed.state.epoch + 1} of ${epochs})`);
  }

  // after resume: the batch size is the run's own
  if (o.batchSize % world !== 0) throw new Error(`--batch-size ${o.batchSize} must be a multiple of the number of processes (${world}): it is the total batch, split across them`);
  const batchPerRank = o.batchSize / world;
  if (ddp) log(`distributed training: ${world} processes (gloo), batch ${o.batchSize} = ${world} × ${batchPerRank}${o.syncBn ? ', SyncBatchNorm' : ''}`);

  // rank 0 alone writes the run folder
  const saveDir = resumed ? resolve(typeof o.resume === 'string' ? o.resume : '', '..', '..') : isMain ? incrementPath(o.project, o.name, o.existOk) : '';
  const wdir = join(saveDir, 'weights');
  if (isMain) incrementPath(wdir, '', true);
  const lastPath = join(wdir, 'last.safetensors');
  const bestPath = join(wdir, 'best.safetensors');
  const resumePath = join(wdir, 'resume.safetensors');

  // ---- hyperparameters and options, saved with the run ----
  const hyp: Hyp = resumed ? ({ ...(resumed.state.hyp as unknown as Hyp) } as Hyp) : typeof o.hyp === 'string' ? { ...loadHyp(o.hyp) } : validateHyp(o.hyp, 'hyp');
  const { log: _l, ddp: _d, ...optToSave } = o;
  if (isMain) {
    writeFileAtomic(join(saveDir, 'hyp.yaml'), new TextEncoder().encode(stringify(hyp)));
    writeFileAtomic(join(saveDir, 'opt.yaml'), new TextEncoder().encode(stringify({ ...optToSave, resume: o.resume })));
  }
  log(`hyperparameters: ${Object.entries(hyp).map(([k, v]) => `${k}=${v}`).join(', ')}`);

  manualSeed(o.seed + 1);
  const data = loadDataConfig(o.data);
  const nc = o.singleCls ? 1 : data.nc;
  const names = o.singleCls && data.names.length !== 1 ? ['item'] : data.names;

  // ---- model ----
  let model: DetectionModel;
  if (resumed) {
    model = new DetectionModel(resumed.meta.cfg);
    model.loadStateDict(resumed.model);
  } else if (o.weights) {
    const src = loadModelFile(o.weights, { cfg: o.cfg || undefined });
    const cfg = o.cfg ? loadConfig(o.cfg) : src.model.cfg;
    model = new DetectionModel(withAnchorCount(cfg, hyp), { nc });
    const exclude = o.cfg || hyp.anchors ? ['anchor'] : [];
    const r = transferWeights(model, src.model.stateDict(), exclude);
    log(`Transferred ${r.transferred}/${r.total} items from ${o.weights}`);
    src.model.dispose();
  } else {
    if (!o.cfg) throw new Error('give --cfg (a model config) or --weights to train from');
    model = new DetectionModel(withAnchorCount(loadConfig(o.cfg), hyp), { nc });
  }
  model.names = names;
  const frozen = freezePrefixes(o.freeze);
  setFrozen(model, frozen, true, log);

  const gs = Math.max(Math.max(...model.stride), 32);
  const imgsz = checkImgSize(o.imgsz, gs, gs * 2, log);

  // ---- optimizer, schedule, EMA ----
  const nbs = 64;
  let accumulate = Math.max(Math.round(nbs / o.batchSize), 1);
  hyp.weight_decay *= (o.batchSize * accumulate) / nbs;
  const optimizer = smartOptimizer(model, o.optimizer, hyp.lr0, hyp.momentum, hyp.weight_decay);
  const lf = o.cosLr ? oneCycleLr(o.epochs, hyp.lrf) : linearLr(o.epochs, hyp.lrf);
  const scheduler = new optim.LambdaLR(optimizer, lf);
  const ema = new ModelEMA(model);
  let startEpoch = 0;
  let bestFitness = 0;
  const stopper = new EarlyStopping(o.patience);
  let lastOptStep = -1;
  if (resumed) {
    optimizer.loadStateDict(resumed.optimizer!);
    ema.ema.loadStateDict(resumed.ema);
    ema.updates = resumed.updates;
    startEpoch = resumed.state.epoch + 1;
    bestFitness = resumed.state.bestFitness;
    stopper.bestFitness = resumed.state.stopper.bestFitness;
    stopper.bestEpoch = resumed.state.stopper.bestEpoch;
    lastOptStep = resumed.state.lastOptStep;
    // the schedule is re-planned over the (possibly extended) total; initial lrs stay
    for (const g of optimizer.paramGroups) g.initial_lr ??= hyp.lr0;
    scheduler.lastEpoch = startEpoch - 1;
    if (resumed.rng) setRngState(resumed.rng);
  }

  // ---- data ----
  const dsOpts = { hyp, seed: o.seed, stride: gs, nc, singleCls: o.singleCls, cache: o.cache, log };
  // rank 0 scans the labels (and writes the cache) first; the others then read the cache
  if (ddp && !isMain) ddp.barrier('waiting for rank 0 to scan the dataset');
  const trainSet = await createDataset(data.train, { ...dsOpts, imgsz, augment: true, batchSize: batchPerRank, rect: o.rect, prefix: 'train: ' });
  if (ddp && isMain) ddp.barrier('waiting for the other ranks to start');
  const allLabels = trainSet.allLabels();
  for (let i = 0; i < allLabels.length; i += 5) {
    if (allLabels[i] >= nc) throw new Error(`${o.data}: label class ${allLabels[i]} exceeds nc=${nc}; valid classes are 0-${nc - 1}`);
  }
  // rank 0 alone validates
  const valSet = isMain ? await createDataset(data.val, { ...dsOpts, imgsz, augment: false, batchSize: batchPerRank * 2, rect: true, pad: 0.5, prefix: 'val: ' }) : null;

  if (!resumed) {
    if (isMain && !o.noplots) await plotLabels(allLabels, names, join(saveDir, 'labels.jpg'));
    if (isMain && !o.noautoanchor) await autoAnchor(model, trainSet.spec.shapes, trainSet.spec.labels, hyp.anchor_t, imgsz, o.seed, log);
    roundToHalf(model);
  }
  if (ddp) {
    // every rank starts from rank 0's weights, anchors and BN statistics
    ddp.broadcastModule(model);
    if (o.syncBn) log(`SyncBatchNorm: ${nn.convertSyncBatchNorm(model, ddp.pg)} BatchNorm2d layers synchronised across ${world} processes`);
  } else if (o.syncBn) {
    log('--sync-bn has no effect in a single process');
  }

  // ---- loss gains scaled to levels, classes and image size ----
  const nl = model.detect.nl;
  const mh = { ...hyp } as unknown as Record<string, number>;
  mh.box *= 3 / nl;
  mh.cls *= (nc / 80) * 3 / nl;
  mh.obj *= (imgsz / 640) ** 2 * 3 / nl;
  mh.label_smoothing = o.labelSmoothing;
  model.hyp = mh;
  const computeLoss = new ComputeLoss(model);

  // TensorBoard: `tensorboard --logdir runs/train` shows losses, metrics and learning rates
  const tb = isMain ? new SummaryWriter(saveDir) : null;
  // the loaders' worker threads start here, right before the try whose finally stops them
  const trainLoader = new DataLoader(trainSet.spec, { batchSize: batchPerRank, workers: o.workers, shuffle: !o.rect, seed: o.seed, rank, worldSize: world });
  const valLoader = valSet ? new DataLoader(valSet.spec, { batchSize: batchPerRank * 2, workers: Math.min(o.workers, 2), shuffle: false, seed: o.seed }) : null;
  const nb = trainLoader.length;
  const nw = warmupIterations(hyp.warmup_epochs, nb);
  log(`Image sizes ${imgsz} train, ${imgsz} val; using ${trainLoader.numWorkers} dataloader workers and ${getNumThreads()} libtorch threads`);
  log(`Logging results to ${saveDir}; starting training for ${o.epochs} epochs...`);

  let stoppedBy: TrainResult['stoppedBy'] = 'completed';
  let interrupted = false;
  // a signal is acted on at a batch boundary; in a multi-process run, at the same batch on every rank
  let signalled = false;
  const onSignal = (): void => {
    signalled = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const cw = classWeights(trainSet.spec.labels, nc);
  let maps = new Float64Array(nc);
  let lastVal: ValResult | null = null;
  let lastMloss = [0, 0, 0];
  let lastEpoch = startEpoch - 1;
  let images = 0;
  const tTrain = performance.now();
  try {
    for (let epoch = startEpoch; epoch < o.epochs; epoch++) {
      if (o.unfreezeAt >= 0 && epoch === o.unfreezeAt && frozen.length) {
        setFrozen(model, frozen, false);
        log(`epoch ${epoch}: unfreezing ${frozen.length} layers`);
      }
      model.train();
      if (o.imageWeights) {
        // classes with a low mAP are drawn more often: cw·(1 − mAP)² / nc
        const w = cw.map((c, k) => (c * (1 - maps[k]) ** 2) / nc);
        trainLoader.setImageWeights(imageWeights(trainSet.spec.labels, w));
      }
      const mloss = [0, 0, 0];
      optimizer.zeroGrad();
      const bar = new EpochProgress(epoch, o.epochs, nb, o.verbose, !isMain);
      let i = 0;
      const msRng = new Xoshiro128(o.seed, epoch, 0x3c5);
      for await (const batch of trainLoader.epoch(epoch)) {
        const ni = i + nb * epoch;
        let lossValue = 0;
        tidy(() => {
          let imgs = batch.images.float().div(255);
          if (ni <= nw) {
            const w = warmupAt(ni, { nw, warmupBiasLr: hyp.warmup_bias_lr, warmupMomentum: hyp.warmup_momentum, momentum: hyp.momentum, nbs, batchSize: o.batchSize }, optimizer.paramGroups.map((g) => g.initial_lr! * lf(epoch)));
            accumulate = w.accumulate;
            optimizer.paramGroups.forEach((g, j) => {
              g.lr = w.lr[j];
              if ('momentum' in g) (g as unknown as { momentum: number }).momentum = w.momentum;
            });
          }
          if (o.multiScale) {
            const sz = Math.floor(msRng.uniform(imgsz * 0.5, imgsz * 1.5 + gs) / gs) * gs;
            const sf = sz / Math.max(imgs.shape[2], imgs.shape[3]);
            if (sf !== 1) {
              const ns: [number, number] = [Math.ceil((imgs.shape[2] * sf) / gs) * gs, Math.ceil((imgs.shape[3] * sf) / gs) * gs];
              imgs = F.interpolate(imgs, { size: ns, mode: 'bilinear', alignCorners: false });
            }
          }
          const pred = model.forward(imgs) as Tensor[];
          const { loss, items } = computeLoss.call(pred, batch.targets);
          lossValue = loss.item();
          if (ddp) {
            // every rank takes the same decision: stop on a NaN anywhere, or a signal anywhere
            const [l, stop] = ddp.sum([lossValue, signalled ? 1 : 0]);
            if (!Number.isFinite(l)) lossValue = l;
            if (stop > 0) interrupted = true;
          }
          if (!Number.isFinite(lossValue)) return;
          // gradients are averaged across ranks: the loss is scaled back to the total batch (yolov5's loss *= WORLD_SIZE)
          (ddp ? loss.mul(world) : loss).backward();
          if (ni - lastOptStep >= accumulate) {
            if (ddp) ddp.averageGradients(model.parameters());
            clipGradNorm_(model.parameters(), 10.0);
            optimizer.step();
            optimizer.zeroGrad();
            ema.update(model);
            lastOptStep = ni;
          }
          const it = items.toArray();
          for (let k = 0; k < 3; k++) mloss[k] = (mloss[k] * i + it[k]) / (i + 1);
          bar.update(i, mloss, batch.targets.shape[0], imgs.shape[3]);
        });
        if (isMain && !o.noplots && epoch === startEpoch && i < 3) {
          const [bs, , h, w] = batch.images.shape;
          await plotImages(batch.images.toTypedArray() as Uint8Array, bs, h, w, labelsToBoxes(batch.targets.toArray(), bs, h, w), batch.paths, names, join(saveDir, `train_batch${i}.jpg`));
        }
        images += batch.images.shape[0];
        batch.images.dispose();
        batch.targets.dispose();
        if (!Number.isFinite(lossValue)) {
          stoppedBy = 'nan';
          log(`\nloss is ${lossValue} at epoch ${epoch}, batch ${i}: stopping; ${existsSync(lastPath) ? `${lastPath} keeps the last good epoch (${epoch - 1})` : 'no checkpoint was written yet'}`);
          break;
        }
        i++;
        if (!ddp && signalled) interrupted = true;
        if (interrupted) break;
      }
      bar.done();
      if (stoppedBy === 'nan' || interrupted) {
        if (interrupted) stoppedBy = 'signal';
        break;
      }
      const lrs = optimizer.paramGroups.map((g) => g.lr);
      scheduler.step();
      ema.updateAttr(model);
      const finalEpoch = epoch + 1 === o.epochs || stopper.possibleStop;
      if (valLoader && (!o.noval || finalEpoch)) {
        lastVal = await validate(ema.ema, valLoader, { computeLoss, singleCls: o.singleCls });
        maps = lastVal.maps;
        log(formatVal(lastVal));
      }
      const v = lastVal;
      const fi = v ? fitness(v.mp, v.mr, v.map50, v.map) : 0;
      let stop = stopper.step(epoch, fi);
      if (ddp) {
        // rank 0's early-stop decision (and per-class mAPs for --image-weights) reach every rank
        const got = ddp.fromMain([stop ? 1 : 0, ...maps]);
        stop = got[0] > 0;
        maps = Float64Array.from(got.slice(1));
      }
      if (!isMain) {
        lastEpoch = epoch;
        if (stop) {
          stoppedBy = 'early-stop';
          break;
        }
        continue;
      }
      if (fi > bestFitness) bestFitness = fi;
      const row = [...mloss, v?.mp ?? 0, v?.mr ?? 0, v?.map50 ?? 0, v?.map ?? 0, ...(v?.losses ?? [0, 0, 0]), ...lrs];
      appendResults(join(saveDir, 'results.csv'), epoch, row);
      RESULT_KEYS.forEach((k, j) => tb!.addScalar(k, row[j], epoch));
      tb!.flush();
      lastMloss = mloss;
      lastEpoch = epoch;
      if (!o.nosave || finalEpoch) {
        const st: TrainState = {
          epoch,
          bestFitness,
          stopper: { bestFitness: stopper.bestFitness, bestEpoch: stopper.bestEpoch },
          lastOptStep,
          opt: { ...optToSave, resume: false } as unknown as Record<string, unknown>,
          hyp: hyp as unknown as Record<string, number>,
          date: new Date().toISOString(),
        };
        saveTrainCheckpoint(lastPath, model, ema, optimizer, st);
        if (bestFitness === fi) writeStripped(bestPath, ema.ema, { bestFitness, extra: { epoch } });
        if (o.savePeriod > 0 && epoch % o.savePeriod === 0) saveTrainCheckpoint(join(wdir, `epoch${epoch}.safetensors`), model, ema, optimizer, st);
      }
      if (stop) {
        stoppedBy = 'early-stop';
        log(stopper.message());
        break;
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    tb?.close();
    await trainLoader.close();
    await valLoader?.close();
  }

  // ---- final weights: stripped FP16; the resumable state moves to resume.safetensors ----
  let lastBytes = 0;
  let bestBytes = 0;
  let resumeFile: string | null = null;
  if (isMain && existsSync(lastPath) && isTrainingCheckpoint(lastPath)) {
    lastBytes = replaceWithStripped(lastPath, resumePath, (tmp) => writeStripped(tmp, ema.ema, { bestFitness, extra: { epoch: lastEpoch } }));
    resumeFile = resumePath;
  }
  if (isMain && existsSync(bestPath)) bestBytes = statSync(bestPath).size;
  if (isMain && !o.noplots && existsSync(join(saveDir, 'results.csv'))) {
    await plotResults(join(saveDir, 'results.csv'));
    const ap = lastVal?.ap;
    if (ap) {
      const cls = Array.from(ap.apClass, (c) => names[c] ?? String(c));
      await plotPrCurve(ap.px, ap.py, ap.ap50, cls, join(saveDir, 'PR_curve.png'));
      await plotMcCurve(ap.px, ap.f1Curve, cls, join(saveDir, 'F1_curve.png'), 'F1');
      await plotMcCurve(ap.px, ap.pCurve, cls, join(saveDir, 'P_curve.png'), 'Precision');
      await plotMcCurve(ap.px, ap.rCurve, cls, join(saveDir, 'R_curve.png'), 'Recall');
    }
  }
  const mb = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MB`;
  const fullBytes = resumeFile ? statSync(resumeFile).size : 0;
  log(`\n${lastEpoch - startEpoch + 1} epochs completed in ${((performance.now() - tTrain) / 3600000).toFixed(3)} hours (${stoppedBy}).`);
  if (resumeFile) log(`Final weights (FP16, EMA, no optimizer): ${lastPath} ${mb(lastBytes)}, ${bestPath} ${mb(bestBytes)}; full training state ${resumeFile} ${mb(fullBytes)} (for --resume)`);
  const seconds = (performance.now() - t0) / 1000;
  const result: TrainResult = {
    saveDir,
    epochs: o.epochs,
    lastEpoch,
    bestFitness,
    metrics: { precision: lastVal?.mp ?? 0, recall: lastVal?.mr ?? 0, mAP50: lastVal?.map50 ?? 0, mAP50_95: lastVal?.map ?? 0, box: lastMloss[0], obj: lastMloss[1], cls: lastMloss[2] },
    weights: { last: lastPath, best: bestPath, resume: resumeFile, lastBytes, bestBytes },
    stoppedBy,
    seconds,
    imagesPerSecond: (images * world) / ((performance.now() - tTrain) / 1000),
  };
  resumed?.dispose();
  ema.dispose();
  optimizer.dispose();
  model.dispose();
  return result;
}

export function formatVal(v: ValResult): string {
  const f = (x: number): string => x.toFixed(3);
  return `${'all'.padStart(22)}${String(v.seen).padStart(11)}${String(v.nt.reduce((a, b) => a + b, 0)).padStart(11)}${f(v.mp).padStart(11)}${f(v.mr).padStart(11)}${f(v.map50).padStart(11)}${f(v.map).padStart(11)}`;
}

async function autoAnchor(model: DetectionModel, shapes: [number, number][], labels: Float32Array[], thr: number, imgsz: number, seed: number, log: (s: string) => void): Promise<void> {
  const path = '../data/autoanchor.js';
  const mod = (await import(path).catch(() => null)) as { checkAnchors?: (a: Record<string, unknown>) => unknown } | null;
  if (!mod?.checkAnchors) {
    log('AutoAnchor: not available, keeping the configured anchors');
    return;
  }
  mod.checkAnchors({ model, shapes, labels, thr, imgsz, seed, log });
}
