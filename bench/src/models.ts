// Forward latency of fused eval models at batch 1 (inference mode), per size and thread count.
import { getNumThreads, inferenceMode, randn, setNumThreads, tidy } from '@tsyolo/torch';
import { buildModel } from 'tsyolo';
import { report, timeMs } from './measure.js';

export function benchModels(threads: number[], names = ['yolov5n', 'yolov5s'], sizes = [320, 640]): void {
  for (const name of names) {
    const model = buildModel(name).fuse().eval();
    for (const n of threads) {
      setNumThreads(n);
      for (const size of sizes) {
        const x = randn([1, 3, size, size]);
        const ms = timeMs(() => tidy(() => inferenceMode(() => model.forward(x))), 10, 3);
        report({
          bench: 'forward',
          model: name,
          imgsz: size,
          batch: 1,
          unit: 'ms',
          value: +ms.toFixed(2),
          threads: getNumThreads(),
          fused: true,
        });
        x.dispose();
      }
    }
    model.dispose();
  }
}
