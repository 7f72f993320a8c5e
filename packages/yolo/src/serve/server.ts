// serve(): load the model, start the decode workers and the batcher, warm up, listen. close() drains:
// it stops accepting, answers what was admitted, then releases the workers (and the model it loaded).

import { setNumThreads } from '@tsyolo/torch';
import type { FastifyInstance } from 'fastify';
import { Detector } from '../detect/detector.js';
import { requireCpu } from '../distributed/devices.js';
import { buildApp } from './app.js';
import { bearerAuth } from './auth.js';
import { Batcher } from './batcher.js';
import { resolveConfig, type ServeConfig, type ServeOptions } from './config.js';
import type { ServeContext, ServeStats } from './context.js';
import { DecodePool } from './decode-pool.js';
import { type DetectResponse, Engine, type InferItem } from './engine.js';
import { ServeMetrics } from './metrics.js';
import { Admission } from './queue.js';

/** What a server did, for the summary printed on exit. */
export interface ServeSummary {
  url: string;
  uptime_s: number;
  /** POST /v1/detect requests answered (or aborted by their client: status 499) */
  requests: number;
  /** the same by status */
  by_status: Record<string, number>;
  images: number;
  detections: number;
  batches: number;
  mean_batch: number;
}

export interface ServeHandle {
  /** http://host:port */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly config: ServeConfig;
  readonly app: FastifyInstance;
  readonly engine: Engine;
  summary(): ServeSummary;
  /** Stops accepting, answers every admitted request, releases the workers (and the model serve() loaded). Idempotent. */
  close(): Promise<ServeSummary>;
}

function createContext(cfg: ServeConfig, engine: Engine): ServeContext {
  const stats: ServeStats = {
    startedAt: performance.now(),
    requests: 0,
    byStatus: {},
    images: 0,
    batches: 0,
    detections: 0,
  };
  const pool = new DecodePool(cfg.workers);
  const admission = new Admission(cfg.maxQueue);
  let batcher: Batcher<InferItem, DetectResponse> | undefined;
  const metrics = new ServeMetrics(
    { admitted: () => admission.count, decoding: () => pool.pending, batching: () => batcher?.depth ?? 0 },
    cfg.maxBatch,
  );
  const run = async (items: InferItem[]): Promise<Array<DetectResponse | Error>> => {
    const t0 = performance.now();
    const out = await engine.run(items);
    metrics.inference.observe((performance.now() - t0) / 1000);
    return out;
  };
  const onBatch = (n: number): void => {
    stats.batches++;
    metrics.batchSize.observe(n);
  };
  batcher = new Batcher(run, {
    maxBatch: cfg.maxBatch,
    maxWaitMs: cfg.maxWaitMs,
    expectMore: (held) => admission.count > held,
    onBatch,
  });
  const limits = {
    confThres: cfg.confThres,
    iouThres: cfg.iouThres,
    maxDet: cfg.maxDet,
    imgsz: cfg.imgsz,
    maxDetLimit: cfg.maxDet,
    maxImgsz: cfg.maxImgsz,
    fixedSize: engine.fixedSize,
    nc: engine.names.length,
  };
  const auth = cfg.apiKey ? bearerAuth(cfg.apiKey) : null;
  return {
    cfg,
    engine,
    pool,
    batcher,
    metrics,
    admission,
    limits,
    auth,
    state: { ready: false, draining: false },
    stats,
  };
}

function summarize(ctx: ServeContext, url: string): ServeSummary {
  const s = ctx.stats;
  return {
    url,
    uptime_s: +((performance.now() - s.startedAt) / 1000).toFixed(3),
    requests: s.requests,
    by_status: { ...s.byStatus },
    images: s.images,
    detections: s.detections,
    batches: s.batches,
    mean_batch: s.batches ? +(s.images / s.batches).toFixed(3) : 0,
  };
}

/** Starts the detection service; resolves once it listens with the model loaded and warm. */
export async function serve(opts: ServeOptions): Promise<ServeHandle> {
  const cfg = resolveConfig(opts);
  requireCpu(cfg.device, 'serve');
  const owned = !opts.detector;
  const detector = opts.detector ?? (await Detector.load(cfg.weights, { imgsz: cfg.imgsz, threads: cfg.threads }));
  if (cfg.threads && !detector.onnx) setNumThreads(cfg.threads);
  const ctx = createContext(cfg, new Engine(detector, cfg.imgsz, cfg.maxPixels, cfg.weights));
  let app: FastifyInstance | undefined;
  try {
    app = await buildApp(ctx);
    await app.listen({ host: cfg.host, port: cfg.port });
    await ctx.engine.warmup(cfg.maxBatch);
  } catch (e) {
    await app?.close();
    await ctx.pool.close();
    if (owned) detector.dispose();
    throw e;
  }
  const server = app;
  ctx.state.ready = true;
  const addr = server.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
  const url = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;
  let closing: Promise<ServeSummary> | null = null;
  const close = async (): Promise<ServeSummary> => {
    ctx.state.draining = true;
    await server.close();
    await ctx.batcher.idle();
    await ctx.pool.close();
    if (owned) detector.dispose();
    return summarize(ctx, url);
  };
  return {
    url,
    host: cfg.host,
    port,
    config: cfg,
    app: server,
    engine: ctx.engine,
    summary: () => summarize(ctx, url),
    close: () => (closing ??= close()),
  };
}
