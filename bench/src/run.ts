// `npm run bench -- NAME [args]`: each benchmark prints one JSON object per measurement.
import { getNumThreads } from '@tsyolo/torch';
import { benchLoader } from './loader.js';
import { benchMemory, memoryChild } from './memory.js';
import { benchModels } from './models.js';
import { benchOnnx } from './onnx.js';
import { benchServe } from './serve.js';
import { benchTensor } from './tensor.js';
import { benchTrainStep } from './train.js';
import { benchVal } from './val.js';

const [name = 'tensor', ...args] = process.argv.slice(2);
const threads = args.length ? args.map(Number) : [1, getNumThreads()].filter((v, i, a) => a.indexOf(v) === i);

const benches: Record<string, () => void | Promise<void>> = {
  tensor: () => benchTensor(threads),
  memory: () => benchMemory(Number(args[0]) || 2000),
  models: () => benchModels(threads),
  train: () =>
    benchTrainStep(
      threads,
      (process.env.BENCH_MODELS ?? 'yolov5n,yolov5s').split(','),
      (process.env.BENCH_SIZES ?? '320,640').split(',').map(Number),
    ),
  val: () => benchVal(),
  onnx: () =>
    benchOnnx(
      threads,
      (process.env.BENCH_MODELS ?? 'yolov5n,yolov5s').split(','),
      (process.env.BENCH_SIZES ?? '320,640').split(',').map(Number),
    ),
  serve: () => benchServe(Number(process.env.BENCH_IMAGES) || 200, Number(process.env.BENCH_FLOOD) || 10_000),
  loader: () => benchLoader(args.length ? args.map(Number) : [0, 1, 2]),
  'memory-child': () => memoryChild(Number(args[0]) || 2000),
};

const fn = benches[name];
if (!fn) {
  console.error(
    `unknown benchmark '${name}'; available: ${Object.keys(benches)
      .filter((b) => !b.endsWith('-child'))
      .join(', ')}`,
  );
  process.exit(2);
}
await fn();
