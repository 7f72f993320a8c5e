// tsyolo serve: the detection service (src/serve). With --json, a JSON line with the address when it
// listens and a JSON summary as the last line when SIGTERM/SIGINT has drained it (exit 0).
import { Command } from '@commander-js/extra-typings';
import type { Command as CommanderCommand } from 'commander';
import { serve } from '../serve/index.js';
import { onShutdownSignals } from '../serve/lifecycle.js';
import { asCommand } from './command.js';
import { emitJson } from './output.js';
import { floatIn, imgSize, intIn, nonNegativeInt, positiveInt, unitFloat } from './parse.js';

/** serve's flags; the action receives them typed (ServeFlags). */
function declareServe() {
  return new Command('serve')
    .description('serve detections over HTTP: POST /v1/detect, GET /v1/model, /healthz, /readyz, /metrics')
    .option('--weights <files...>', 'model weights (.safetensors, .pt; several: an ensemble) or one .onnx file')
    .option('--device <d>', 'cpu (CUDA devices are refused for now)', '')
    .option('--imgsz, --img <px>', 'default inference size', imgSize, 640)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0: any free port)', intIn(0, 65535), 8080)
    .option('--max-batch <n>', 'most images per forward (1: no batching)', positiveInt, 8)
    .option('--max-wait-ms <ms>', 'longest wait of a partial batch for more images', floatIn(0, 60_000), 5)
    .option('--max-queue <n>', 'most requests admitted at once; beyond: 503 with Retry-After', nonNegativeInt, 64)
    .option('--timeout-ms <ms>', 'answer 504 to a request not done within this time', positiveInt, 30000)
    .option('--body-limit <bytes>', 'largest request body; beyond: 413', positiveInt, 16 * 2 ** 20)
    .option(
      '--max-pixels <n>',
      'largest image in pixels, checked before decoding; beyond: 413',
      positiveInt,
      40_000_000,
    )
    .option('--max-imgsz <px>', 'largest imgsz a request may ask for', imgSize, 1280)
    .option('--max-det <n>', 'default and largest max_det', positiveInt, 1000)
    .option('--conf-thres <t>', 'default confidence threshold', unitFloat, 0.25)
    .option('--iou-thres <t>', 'default NMS IoU threshold', unitFloat, 0.45)
    .option('--workers <n>', 'decode worker threads (default: 1 on up to 2 cores, else 2)', positiveInt)
    .option(
      '--threads <n>',
      'inference threads, libtorch or ONNX Runtime (default: the cores the workers leave, or TSYOLO_NUM_THREADS)',
      positiveInt,
    )
    .option('--api-key <key>', 'require Authorization: Bearer <key> on /v1/* (default: TSYOLO_API_KEY)')
    .option('--log-level <level>', 'request log level (pino): info, warn, error, silent', 'info')
    .option('--json', 'print a JSON line when listening and a JSON summary as the last line on exit');
}

type ServeFlags = ReturnType<ReturnType<typeof declareServe>['opts']>;

export function serveCommand(): CommanderCommand {
  return asCommand(declareServe().action(serveAction));
}

async function serveAction(o: ServeFlags): Promise<void> {
  const weights = o.weights ?? [];
  if (!weights.length)
    throw new Error(
      '--weights is required (a trained model, e.g. runs/train/exp/weights/best.safetensors or best.onnx)',
    );
  const handle = await serve({
    weights,
    device: o.device,
    imgsz: o.img,
    host: o.host,
    port: o.port,
    maxBatch: o.maxBatch,
    maxWaitMs: o.maxWaitMs,
    maxQueue: o.maxQueue,
    timeoutMs: o.timeoutMs,
    bodyLimit: o.bodyLimit,
    maxPixels: o.maxPixels,
    maxImgsz: o.maxImgsz,
    maxDet: o.maxDet,
    confThres: o.confThres,
    iouThres: o.iouThres,
    workers: o.workers,
    threads: o.threads,
    apiKey: o.apiKey,
    log: { level: o.logLevel },
  });
  const info = handle.engine.info();
  if (o.json)
    emitJson({
      event: 'listening',
      url: handle.url,
      host: handle.host,
      port: handle.port,
      backend: info.backend,
      weights,
      pid: process.pid,
    });
  else
    console.log(
      `tsyolo serve: listening on ${handle.url} (${weights.join(', ')} on ${info.backend}, ${info.nc} classes, imgsz ${info.imgsz}, max batch ${handle.config.maxBatch})`,
    );
  onShutdownSignals(handle, {
    onDrained: (summary, signal) => {
      if (o.json) emitJson({ command: 'serve', signal, ...summary });
      else
        console.log(
          `tsyolo serve: ${signal}: drained after ${summary.requests} detect requests (${summary.images} images in ${summary.batches} batches), exiting`,
        );
      process.exit(0);
    },
  });
}
