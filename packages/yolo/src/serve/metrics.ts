// Prometheus metrics (prom-client), in a registry of the server's own (several servers may share a
// process): requests by route and status, request latency, the queue at each stage, batch sizes,
// forward time, and prom-client's default process metrics (RSS, event-loop lag, GC).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What the queue-depth gauge reads when scraped. */
export interface QueueProbe {
  /** admitted requests not yet answered */
  admitted: () => number;
  /** images being decoded or waiting for a decode worker */
  decoding: () => number;
  /** decoded images waiting for a forward */
  batching: () => number;
}

export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly latency: Histogram<'route'>;
  readonly batchSize: Histogram;
  readonly inference: Histogram;

  constructor(probe: QueueProbe, maxBatch: number) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'tsyolo_http_requests_total',
      help: 'HTTP requests answered, by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'tsyolo_http_request_duration_seconds',
      help: 'time from the request to its answer',
      labelNames: ['route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const sizes = [1, 2, 4, 8, 16, 32, 64].filter((b) => b < maxBatch);
    this.batchSize = new Histogram({
      name: 'tsyolo_batch_size',
      help: 'images per forward',
      buckets: [...sizes, maxBatch],
      registers,
    });
    this.inference = new Histogram({
      name: 'tsyolo_inference_duration_seconds',
      help: 'forward time per batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    new Gauge({
      name: 'tsyolo_queue_depth',
      help: 'requests in the server by stage: admitted (not yet answered), decoding, batching (decoded, waiting for a forward)',
      labelNames: ['stage'],
      registers,
      collect() {
        this.set({ stage: 'admitted' }, probe.admitted());
        this.set({ stage: 'decoding' }, probe.decoding());
        this.set({ stage: 'batching' }, probe.batching());
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
