// ONNX Runtime (CPU) inference latency at batch 1 next to the libtorch forward of the same fused model
// (yolov5n and yolov5s built from their configs, seeded), per size and thread count, on the same input
// (bus.jpg letterboxed to a square). One JSON line per measurement; at 1 thread the line also carries
// the reference, yolov5 v7.0 detect.py's inference time on the development machine.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  fromTypedArray,
  getNumThreads,
  inferenceMode,
  manualSeed,
  setNumThreads,
  tidy,
  writeFileAtomic,
} from '@tsyolo/torch';
import { buildModel, exportOnnx, letterboxInput, OnnxModel, readImage } from 'tsyolo';
import { report, timeMs, timeMsAsync } from './measure.js';

/** yolov5 v7.0 detect.py, inference ms per image on the 2-core development machine, 1 thread (issue #8). */
const YOLOV5_DETECT_MS: Record<number, number> = { 320: 35.2, 640: 125.4 };

export async function benchOnnx(
  threads: number[],
  names = ['yolov5n', 'yolov5s'],
  sizes = [320, 640],
  dir = 'tmp/bench-onnx',
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const bus = await readImage('packages/yolo/assets/images/bus.jpg');
  const restore = getNumThreads();
  for (const name of names) {
    manualSeed(0);
    const model = buildModel(name).fuse().eval();
    for (const size of sizes) {
      const path = join(dir, `${name}-${size}.onnx`);
      writeFileAtomic(path, exportOnnx(model, { imgsz: size }));
      // the libtorch side as the Detector runs it: channels-last weights and input
      if (size === sizes[0]) model.channelsLast();
      const input = letterboxInput(bus, size, { auto: false }).data;
      const x = fromTypedArray(input, [1, 3, size, size]).contiguous('channels_last');
      for (const n of threads) {
        setNumThreads(n);
        const torchMs = timeMs(() => tidy(() => inferenceMode(() => model.forward(x))), 10, 3);
        const ort = await OnnxModel.load(path, { threads: n });
        const ortMs = await timeMsAsync(() => ort.run(input, [1, 3, size, size]), 10, 3);
        ort.dispose();
        const ref = n === 1 ? YOLOV5_DETECT_MS[size] : undefined;
        const common = { bench: 'onnx', model: name, imgsz: size, batch: 1, threads: n, unit: 'ms' };
        report({
          ...common,
          runtime: 'onnxruntime-node',
          value: +ortMs.toFixed(1),
          vs_libtorch: +(ortMs / torchMs).toFixed(2),
          ...(ref ? { yolov5_detect_ms: ref, vs_yolov5: +(ortMs / ref).toFixed(2) } : {}),
        });
        report({
          ...common,
          runtime: 'libtorch',
          value: +torchMs.toFixed(1),
          ...(ref ? { yolov5_detect_ms: ref, vs_yolov5: +(torchMs / ref).toFixed(2) } : {}),
        });
      }
      x.dispose();
    }
    model.dispose();
  }
  setNumThreads(restore);
}
