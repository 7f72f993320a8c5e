// serve()'s options, their defaults and their checks.
import { availableParallelism } from 'node:os';
import type { Detector } from '../detect/detector.js';

/** Where the per-request log lines go (pino, which Fastify brings). */
export interface LogOptions {
  /** pino level: 'info' (a line per request, the default), 'warn', 'error', 'silent', … */
  level?: string;
  /** a writable for the JSON lines; default stdout */
  stream?: { write(line: string): unknown };
}

export interface ServeOptions {
  /** weights: .safetensors / .pt (several: an ensemble) or one .onnx file */
  weights?: string | string[];
  /** an already loaded detector instead of weights (the caller keeps ownership: close() does not dispose it) */
  detector?: Detector;
  /** 'cpu' or '' (CUDA is refused for now) */
  device?: string;
  /** default inference size (default 640) */
  imgsz?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** default 8080; 0 picks a free port */
  port?: number;
  /** most images per forward (default 8; 1 turns batching off) */
  maxBatch?: number;
  /** longest wait of a partial batch for more images, ms (default 5) */
  maxWaitMs?: number;
  /** most requests admitted at once (uploading, decoding, waiting or running); beyond: 503 (default 64) */
  maxQueue?: number;
  /** a request not answered within this many ms gets a 504 (default 30000) */
  timeoutMs?: number;
  /** largest request body in bytes (default 16 MiB); beyond: 413 */
  bodyLimit?: number;
  /** largest image in pixels, checked before decoding (default 40 MP); beyond: 413 */
  maxPixels?: number;
  /** largest imgsz a request may ask for (default 1280) */
  maxImgsz?: number;
  /** default and largest max_det (default 1000) */
  maxDet?: number;
  /** default conf threshold (0.25) */
  confThres?: number;
  /** default NMS IoU threshold (0.45) */
  iouThres?: number;
  /** decode worker threads (default: 1 on up to 2 cores, else 2) */
  workers?: number;
  /**
   * inference threads: libtorch's intra-op threads (process-wide, setNumThreads) or ONNX Runtime's. Default:
   * the cores the decode workers leave (at least 1), unless TSYOLO_NUM_THREADS / TSYOLO_ORT_THREADS say otherwise
   */
  threads?: number;
  /** require `Authorization: Bearer <apiKey>` on /v1/*; default TSYOLO_API_KEY, if set */
  apiKey?: string;
  /** request logging; false: none */
  log?: LogOptions | false;
}

export type ServeConfig = Required<Omit<ServeOptions, 'weights' | 'detector' | 'threads' | 'apiKey' | 'log'>> &
  Pick<ServeOptions, 'threads' | 'log'> & { weights: string[]; apiKey: string | null };

function check(name: string, v: number, lo: number, integer = true): number {
  if (!(Number.isFinite(v) && v >= lo) || (integer && !Number.isInteger(v)))
    throw new Error(`serve: ${name} ${v}: expected ${integer ? 'an integer' : 'a number'} ≥ ${lo}`);
  return v;
}

/**
 * Inference threads beside the decode workers: on 2 cores one thread runs the forward while a worker decodes
 * the next images (libtorch's OpenMP threads slow down badly when they share a core with other busy threads).
 */
function defaultThreads(workers: number): number | undefined {
  if (process.env.TSYOLO_NUM_THREADS || process.env.TSYOLO_ORT_THREADS) return undefined;
  return Math.max(1, availableParallelism() - workers);
}

export function resolveConfig(o: ServeOptions): ServeConfig {
  const weights = o.weights === undefined ? [] : Array.isArray(o.weights) ? o.weights : [o.weights];
  if (!weights.length && !o.detector)
    throw new Error('serve: weights are required (a .safetensors, .pt or .onnx file)');
  const apiKey = o.apiKey ?? process.env.TSYOLO_API_KEY ?? '';
  const workers = check('workers', o.workers ?? (availableParallelism() <= 2 ? 1 : 2), 1);
  const c: ServeConfig = {
    weights,
    device: o.device ?? '',
    imgsz: check('imgsz', o.imgsz ?? 640, 32),
    host: o.host ?? '127.0.0.1',
    port: check('port', o.port ?? 8080, 0),
    maxBatch: check('max batch', o.maxBatch ?? 8, 1),
    maxWaitMs: check('max wait ms', o.maxWaitMs ?? 5, 0, false),
    maxQueue: check('max queue', o.maxQueue ?? 64, 0),
    timeoutMs: check('timeout ms', o.timeoutMs ?? 30_000, 1),
    bodyLimit: check('body limit', o.bodyLimit ?? 16 * 2 ** 20, 1),
    maxPixels: check('max pixels', o.maxPixels ?? 40_000_000, 1),
    maxImgsz: check('max imgsz', o.maxImgsz ?? 1280, 32),
    maxDet: check('max det', o.maxDet ?? 1000, 1),
    confThres: o.confThres ?? 0.25,
    iouThres: o.iouThres ?? 0.45,
    workers,
    threads: o.threads === undefined ? defaultThreads(workers) : check('threads', o.threads, 1),
    apiKey: apiKey || null,
    log: o.log,
  };
  if (c.port > 65535) throw new Error(`serve: port ${c.port} is out of range`);
  for (const [k, v] of [
    ['conf', c.confThres],
    ['iou', c.iouThres],
  ] as const)
    if (!(v >= 0 && v <= 1)) throw new Error(`serve: ${k} threshold ${v} is outside [0, 1]`);
  return c;
}
