// Facts about a request gathered along the way (detections, the reason of an error) for its log line.
import type { FastifyRequest } from 'fastify';

const notes = new WeakMap<FastifyRequest, Record<string, unknown>>();

export function note(req: FastifyRequest, facts: Record<string, unknown>): void {
  notes.set(req, { ...notes.get(req), ...facts });
}

export function notesOf(req: FastifyRequest): Record<string, unknown> {
  return notes.get(req) ?? {};
}
