// Training throughput: full steps (forward, loss, backward, clip, SGD, EMA) on synthetic
// batches, per model, size and thread count; and end to end through the loader.
import {
  clipGradNorm_,
  fromTypedArray,
  getNumThreads,
  manualSeed,
  rand,
  setNumThreads,
  type Tensor,
  tidy,
} from '@tsyolo/torch';
import { buildModel, ComputeLoss, loadHyp, ModelEMA, smartOptimizer } from 'tsyolo';
import { median, report } from './measure.js';
import { loadedBlas, PyServer, pyEnv } from './pytorch.js';

/** Six fixed boxes per image, [image, class, x, y, w, h]. */
function targets(bs: number): Tensor {
  const rows: number[] = [];
  for (let i = 0; i < bs; i++)
    for (let k = 0; k < 6; k++) rows.push(i, k % 80, 0.1 + 0.13 * k, 0.2 + 0.1 * k, 0.05 + 0.04 * k, 0.06 + 0.05 * k);
  return fromTypedArray(Float32Array.from(rows), [bs * 6, 6]);
}

type Step = () => void;

/** One full training step of a fresh model, as yolov5's train loop does it. */
function makeStep(name: string, size: number, bs: number): { step: Step; dispose: () => void } {
  const hyp = loadHyp('hyp.scratch-low.yaml') as unknown as Record<string, number>;
  manualSeed(0);
  const model = buildModel(name);
  model.hyp = { ...hyp, box: hyp.box, cls: hyp.cls, obj: hyp.obj * (size / 640) ** 2 };
  const opt = smartOptimizer(model, 'SGD', 0.01, 0.937, 0.0005);
  const loss = new ComputeLoss(model);
  // as the trainer does (channels-last unless --no-channels-last); BENCH_LAYOUT=nchw for yolov5's layout
  const nchw = process.env.BENCH_LAYOUT === 'nchw';
  if (!nchw) model.channelsLast();
  const ema = new ModelEMA(model);
  const x0 = rand([bs, 3, size, size]);
  const x = nchw ? x0 : x0.contiguous('channels_last');
  const t = targets(bs);
  const step = () =>
    tidy(() => {
      const pred = model.forward(x) as Tensor[];
      const { loss: l } = loss.call(pred, t);
      l.backward();
      clipGradNorm_(model.parameters(), 10);
      opt.step();
      opt.zeroGrad();
      ema.update(model);
    });
  const dispose = () => {
    for (const d of [x, x0, t, ema, opt, model]) d.dispose();
  };
  return { step, dispose };
}

/** Median ms of `steps` steps, the first dropped. */
function timeSteps(step: Step, steps: number): number {
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step();
    if (i >= 1) times.push(performance.now() - t0);
  }
  return median(times);
}

/**
 * Step time per model, size and thread count: rounds of 5 steps (first dropped, median), taking turns
 * with bench/py/train_step.py (the same step in PyTorch) when Debian's python3-torch is installed.
 */
export async function benchTrainStep(threads: number[], names: string[], sizes: number[], bs = 16): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS) || 3;
  for (const name of names) {
    for (const size of sizes) {
      const { step, dispose } = makeStep(name, size, bs);
      const py = await PyServer.start('train_step.py', ['--model', name, '--imgsz', `${size}`, '--batch', `${bs}`]);
      for (const n of threads) {
        const ours: number[] = [];
        const theirs: number[] = [];
        for (let r = 0; r < rounds; r++) {
          setNumThreads(n);
          ours.push(timeSteps(step, 5));
          if (py) theirs.push(Number((await py.request(`${n} 5`)).value));
        }
        const ms = median(ours);
        const ref = py ? { pytorch_ms: median(theirs), ratio: +(ms / median(theirs)).toFixed(3) } : {};
        report({
          bench: 'train_step',
          model: name,
          imgsz: size,
          batch: bs,
          threads: getNumThreads(),
          unit: 'ms/step',
          value: +ms.toFixed(1),
          images_per_s: +((bs * 1000) / ms).toFixed(2),
          ...ref,
          rounds,
          blas: loadedBlas(),
          pytorch_malloc: pyEnv().malloc,
          layout: process.env.BENCH_LAYOUT === 'nchw' ? 'nchw' : 'channels_last',
        });
      }
      py?.close();
      dispose();
    }
  }
}
