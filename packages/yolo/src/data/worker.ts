// A data-loader worker: builds the samples it is asked for and sends them back (buffers transferred).
import { parentPort, workerData } from 'node:worker_threads';
import { buildSample, type DatasetSpec } from './sample.js';

const spec = workerData as DatasetSpec;

parentPort!.on('message', (req: { id: number; epoch: number; indices: number[] }) => {
  Promise.all(req.indices.map((i) => buildSample(spec, i, req.epoch)))
    .then((samples) => {
      parentPort!.postMessage(
        { id: req.id, samples },
        samples.map((s) => s.chw.buffer as ArrayBuffer),
      );
    })
    .catch((e: unknown) => parentPort!.postMessage({ id: req.id, error: (e as Error).message }));
});
