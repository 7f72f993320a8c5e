// Validation throughput (images/s incl. NMS, val.py settings) and detection latency (batch 1, 640)
// for yolov5n and yolov5s with yolov5's default init (nc=80) on the synthetic dataset.
import { existsSync } from 'node:fs';
import { getNumThreads, manualSeed } from '@tsyolo/torch';
import {
  buildModel,
  createDataset,
  DataLoader,
  Detector,
  loadDataConfig,
  loadHyp,
  synthesizeDataset,
  validate,
} from 'tsyolo';
import { median, report } from './measure.js';

export async function benchVal(names = ['yolov5n', 'yolov5s'], dir = 'tmp/bench-synth320'): Promise<void> {
  if (!existsSync(`${dir}/data.yaml`))
    await synthesizeDataset({ out: dir, train: 16, val: 128, img: 320, classes: 6, seed: 0 });
  const data = loadDataConfig(`${dir}/data.yaml`);
  for (const name of names) {
    manualSeed(0);
    const model = buildModel(name);
    const ds = await createDataset(data.val, {
      imgsz: 320,
      augment: false,
      hyp: loadHyp('hyp.scratch-low.yaml'),
      seed: 0,
      stride: 32,
      batchSize: 32,
      nc: 80,
      rect: true,
      pad: 0.5,
    });
    const loader = new DataLoader(ds.spec, { batchSize: 32, workers: 2, shuffle: false, seed: 0 });
    model.fuse().channelsLast();
    // the first pass pays one-time costs (oneDNN primitives for each new shape, page faults); the
    // second is the steady state a training run's per-epoch validation sees
    let first = 0;
    for (let pass = 0; pass < 2; pass++) {
      const t0 = performance.now();
      const r = await validate(model, loader);
      const s = (performance.now() - t0) / 1000;
      if (pass === 0) {
        first = r.seen / s;
        continue;
      }
      report({
        bench: 'val',
        model: name,
        imgsz: 320,
        batch: 32,
        threads: getNumThreads(),
        unit: 'images/s',
        value: +(r.seen / s).toFixed(1),
        first_pass: +first.toFixed(1),
        ms_per_image: {
          pre: +r.speed.pre.toFixed(1),
          inference: +r.speed.inference.toFixed(1),
          nms: +r.speed.nms.toFixed(1),
        },
      });
    }
    await loader.close();
    const det = new Detector([model], { imgsz: 640 });
    const img = 'packages/yolo/assets/images/bus.jpg';
    const times: number[] = [];
    for (let i = 0; i < 8; i++) {
      const d = await det.detect(img);
      if (i >= 2) times.push(d.speed.inference);
    }
    report({
      bench: 'detect',
      model: name,
      imgsz: 640,
      batch: 1,
      threads: getNumThreads(),
      unit: 'ms inference',
      value: +median(times).toFixed(1),
    });
    det.dispose();
  }
}
