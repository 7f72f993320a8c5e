// Loader throughput: 640-px mosaic batches of 16 with N workers on the synthetic dataset.
import { existsSync } from 'node:fs';
import { createDataset, DataLoader, loadDataConfig, loadHyp, synthesizeDataset } from 'tsyolo';
import { report } from './measure.js';

export async function benchLoader(workers: number[], dir = 'tmp/bench-synth640'): Promise<void> {
  if (!existsSync(`${dir}/data.yaml`))
    await synthesizeDataset({ out: dir, train: 256, val: 16, img: 640, classes: 6, seed: 0 });
  const data = loadDataConfig(`${dir}/data.yaml`);
  const ds = await createDataset(data.train, {
    imgsz: 640,
    augment: true,
    hyp: loadHyp('hyp.scratch-low.yaml'),
    seed: 0,
    stride: 32,
    batchSize: 16,
    nc: data.nc,
  });
  for (const w of workers) {
    const dl = new DataLoader(ds.spec, { batchSize: 16, workers: w, shuffle: true, seed: 0 });
    let n = 0;
    const t0 = performance.now();
    for await (const b of dl.epoch(0)) {
      n += b.images.shape[0];
      b.images.dispose();
      b.targets.dispose();
    }
    const s = (performance.now() - t0) / 1000;
    await dl.close();
    report({
      bench: 'loader',
      imgsz: 640,
      batch: 16,
      mosaic: true,
      workers: w,
      unit: 'images/s',
      value: +(n / s).toFixed(1),
      images: n,
    });
  }
}
