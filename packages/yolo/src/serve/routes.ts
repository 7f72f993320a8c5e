// The routes: POST /v1/detect, GET /v1/model, /healthz, /readyz, /metrics.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServeContext } from './context.js';
import { signalOf, startDeadline } from './deadline.js';
import type { DetectResponse } from './engine.js';
import { HttpError } from './errors.js';
import { mergeOptionSources, resolveOptions } from './limits.js';
import { note } from './notes.js';
import { readUpload } from './upload.js';

/** onRequest of the /v1 routes: the API key, then (detect only) admission into the bounded queue. */
function guard(ctx: ServeContext, admit: boolean): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    ctx.auth?.(req.headers.authorization);
    if (!admit) return;
    if (ctx.state.draining) throw new HttpError(503, 'the server is shutting down', { Connection: 'close' });
    const release = ctx.admission.admit();
    startDeadline(req, reply, ctx.cfg.timeoutMs, () => {
      release();
      ctx.batcher.poke(); // one request fewer on its way: a partial batch waiting for it may go now
    });
  };
}

async function detect(ctx: ServeContext, req: FastifyRequest, signal: AbortSignal): Promise<DetectResponse> {
  if (signal.aborted) throw signal.reason as Error;
  const query = req.query as Record<string, unknown>;
  mergeOptionSources([query]); // unknown query fields fail before the body is looked at
  const upload = await readUpload(req, ctx.cfg);
  const opts = resolveOptions(mergeOptionSources([query, ...upload.fields]), ctx.limits);
  const input = await ctx.pool.decode(upload.bytes, ctx.engine.inputSpec(opts.imgsz), signal);
  const res = await ctx.batcher.submit(input.shape.join('x'), { input, opts }, signal);
  note(req, {
    detections: res.detections.length,
    width: res.width,
    height: res.height,
    inference_ms: +res.speed_ms.inference.toFixed(2),
  });
  ctx.stats.images++;
  ctx.stats.detections += res.detections.length;
  ctx.admission.answered();
  return res;
}

export function registerRoutes(app: FastifyInstance, ctx: ServeContext): void {
  // answered here rather than returned: a 504 may have been sent by the deadline meanwhile
  app.post('/v1/detect', { onRequest: guard(ctx, true) }, async (req, reply) => {
    const result = await detect(ctx, req, signalOf(req)).catch((e: unknown) => e as Error);
    if (!reply.sent && !reply.raw.destroyed) reply.send(result);
  });
  app.get('/v1/model', { onRequest: guard(ctx, false) }, async () => ({
    ...ctx.engine.info(),
    max_batch: ctx.cfg.maxBatch,
    max_imgsz: ctx.cfg.maxImgsz,
    ready: ctx.state.ready,
  }));
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (ctx.state.ready && !ctx.state.draining) return { status: 'ready' };
    reply.code(503);
    return { status: ctx.state.draining ? 'draining' : 'warming up' };
  });
  app.get('/metrics', async (_req, reply) => {
    const m = await ctx.metrics.text();
    reply.type(m.contentType);
    return m.body;
  });
}
