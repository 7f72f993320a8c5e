// tsyolo serve: a detection service over HTTP (Fastify), with dynamic batching, decode workers,
// bounded queueing, Prometheus metrics and a draining shutdown.

export type { LogOptions, ServeOptions } from './config.js';
export type { DetectResponse, ModelInfo } from './engine.js';
export { onShutdownSignals, type ShutdownOptions } from './lifecycle.js';
export { type ServeHandle, type ServeSummary, serve } from './server.js';
