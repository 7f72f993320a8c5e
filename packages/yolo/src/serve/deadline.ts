// A detect request's deadline and cancellation. Fastify's own handlerTimeout / request.signal cannot be
// used: on a request with a body the signal aborts as soon as the body has been read (fastify#6725).
// Here the signal aborts when the timeout passes (after the 504 has been sent, even mid-upload) or when
// the connection goes before the answer; the decode queue and the batcher drop the request then.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

const signals = new WeakMap<FastifyRequest, AbortSignal>();

/** Starts the clock of a request; `done` runs once when its answer is sent or its connection closes. */
export function startDeadline(req: FastifyRequest, reply: FastifyReply, timeoutMs: number, done: () => void): void {
  const ac = new AbortController();
  const timer = setTimeout(() => {
    const err = new HttpError(504, `no answer within ${timeoutMs} ms`);
    if (!reply.sent) reply.send(err);
    ac.abort(err);
  }, timeoutMs);
  reply.raw.once('close', () => {
    clearTimeout(timer);
    if (!reply.raw.writableFinished) ac.abort(new HttpError(499, 'the client closed the connection'));
    done();
  });
  signals.set(req, ac.signal);
}

/** The request's signal (a never-aborting one for requests without a deadline). */
export function signalOf(req: FastifyRequest): AbortSignal {
  return signals.get(req) ?? new AbortController().signal;
}
