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

/** Six fixed boxes per image, [image, class, x, y, w, h]. */
function targets(bs: number): Tensor {
  const rows: number[] = [];
  for (let i = 0; i < bs; i++)
    for (let k = 0; k < 6; k++) rows.push(i, k % 80, 0.1 + 0.13 * k, 0.2 + 0.1 * k, 0.05 + 0.04 * k, 0.06 + 0.05 * k);
  return fromTypedArray(Float32Array.from(rows), [bs * 6, 6]);
}

export function benchTrainStep(threads: number[], names = ['yolov5n', 'yolov5s'], sizes = [320, 640], bs = 16): void {
  const hyp = loadHyp('hyp.scratch-low.yaml') as unknown as Record<string, number>;
  for (const name of names) {
    for (const size of sizes) {
      manualSeed(0);
      const model = buildModel(name);
      model.hyp = { ...hyp, box: hyp.box, cls: hyp.cls, obj: hyp.obj * (size / 640) ** 2 };
      const opt = smartOptimizer(model, 'SGD', 0.01, 0.937, 0.0005);
      const ema = new ModelEMA(model);
      const loss = new ComputeLoss(model);
      const x = rand([bs, 3, size, size]);
      const t = targets(bs);
      for (const n of threads) {
        setNumThreads(n);
        const times: number[] = [];
        for (let i = 0; i < 5; i++) {
          const t0 = performance.now();
          tidy(() => {
            const pred = model.forward(x) as Tensor[];
            const { loss: l } = loss.call(pred, t);
            l.backward();
            clipGradNorm_(model.parameters(), 10);
            opt.step();
            opt.zeroGrad();
            ema.update(model);
          });
          if (i >= 1) times.push(performance.now() - t0);
        }
        const ms = median(times);
        report({
          bench: 'train_step',
          model: name,
          imgsz: size,
          batch: bs,
          threads: getNumThreads(),
          unit: 'ms/step',
          value: +ms.toFixed(1),
          images_per_s: +((bs * 1000) / ms).toFixed(2),
        });
      }
      x.dispose();
      t.dispose();
      ema.dispose();
      opt.dispose();
      model.dispose();
    }
  }
}
