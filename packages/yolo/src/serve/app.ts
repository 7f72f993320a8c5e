// The Fastify application: logging (one structured pino line per request), the content-type parsers
// (image bodies as buffers, multipart), the error handler that turns every failure into a status and a
// reason, the metrics hooks, and the routes.
import { STATUS_CODES } from 'node:http';
import multipart from '@fastify/multipart';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { ServeContext } from './context.js';
import { HttpError } from './errors.js';
import { note, notesOf } from './notes.js';
import { registerRoutes } from './routes.js';
import { RAW_IMAGE_TYPES } from './upload.js';

/** Fastify's own request lines replaced by one line per request, written when it is answered. */
class RequestLog extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(_error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    reply.log.info(
      {
        method: req.method,
        url: req.url,
        status: reply.statusCode,
        ms: +reply.elapsedTime.toFixed(2),
        ip: req.ip,
        ...notesOf(req),
      },
      'request',
    );
  }
}

function loggerOptions(
  ctx: ServeContext,
): { logger: false } | { logger: { level: string; stream?: { write(line: string): unknown } } } {
  const log = ctx.cfg.log;
  if (log === false) return { logger: false };
  return { logger: { level: log?.level ?? 'info', ...(log?.stream ? { stream: log.stream } : {}) } };
}

/** Status, reason and headers of any error a request ends with. */
function classify(
  err: FastifyError | HttpError | Error,
  ctx: ServeContext,
): { status: number; message: string; headers: Record<string, string> } {
  if (err instanceof HttpError) return { status: err.statusCode, message: err.message, headers: { ...err.headers } };
  const code = (err as FastifyError).code;
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return {
      status: 415,
      message: `${err.message}: send ${RAW_IMAGE_TYPES.slice(0, 3).join(', ')} or multipart/form-data`,
      headers: {},
    };
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || code === 'FST_REQ_FILE_TOO_LARGE')
    return { status: 413, message: `the body exceeds the limit of ${ctx.cfg.bodyLimit} bytes`, headers: {} };
  const status = (err as FastifyError).statusCode;
  if (status && status >= 400 && status < 500) return { status, message: err.message, headers: {} };
  return { status: 500, message: 'internal server error', headers: {} };
}

function errorHandler(ctx: ServeContext) {
  return (err: FastifyError | HttpError | Error, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const { status, message, headers } = classify(err, ctx);
    if (status >= 500 && status !== 503 && status !== 504) req.log.error({ err }, 'request failed');
    note(req, { error: message });
    return reply
      .code(status)
      .headers(headers)
      .send({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message });
  };
}

function routeLabel(req: FastifyRequest): string {
  return req.routeOptions.url ?? 'unmatched';
}

const DETECT = '/v1/detect';

/** The exit summary counts detect requests. */
function tally(ctx: ServeContext, status: string): void {
  ctx.stats.requests++;
  ctx.stats.byStatus[status] = (ctx.stats.byStatus[status] ?? 0) + 1;
}

function countHooks(app: FastifyInstance, ctx: ServeContext): void {
  app.addHook('onResponse', async (req, reply) => {
    const route = routeLabel(req);
    ctx.metrics.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    ctx.metrics.latency.observe({ route }, reply.elapsedTime / 1000);
    if (route === DETECT) tally(ctx, String(reply.statusCode));
  });
  // while draining, every answer closes its connection (keep-alive would hold the shutdown up)
  app.addHook('onSend', async (_req, reply) => {
    if (ctx.state.draining) reply.header('Connection', 'close');
  });
  // a client gone before its answer (499, as nginx logs it): one line and one count
  app.addHook('onRequestAbort', async (req) => {
    ctx.metrics.requests.inc({ route: routeLabel(req), method: req.method, status: '499' });
    if (routeLabel(req) === DETECT) tally(ctx, '499');
    req.log.info(
      { method: req.method, url: req.url, status: 499, ip: req.ip, ...notesOf(req) },
      'request aborted by the client',
    );
  });
}

export async function buildApp(ctx: ServeContext): Promise<FastifyInstance> {
  const app = Fastify({
    ...loggerOptions(ctx),
    logController: new RequestLog(),
    bodyLimit: ctx.cfg.bodyLimit,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    requestTimeout: ctx.cfg.timeoutMs + 5000,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(RAW_IMAGE_TYPES as string[], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  await app.register(multipart, { limits: { fileSize: ctx.cfg.bodyLimit }, throwFileSizeLimit: true });
  app.setErrorHandler(errorHandler(ctx));
  countHooks(app, ctx);
  registerRoutes(app, ctx);
  return app;
}
