// What the routes and hooks of one server share.
import type { Batcher } from './batcher.js';
import type { ServeConfig } from './config.js';
import type { DecodePool } from './decode-pool.js';
import type { DetectResponse, Engine, InferItem } from './engine.js';
import type { RequestLimits } from './limits.js';
import type { ServeMetrics } from './metrics.js';
import type { Admission } from './queue.js';

/** Counts for the summary printed on exit. */
export interface ServeStats {
  startedAt: number;
  requests: number;
  byStatus: Record<string, number>;
  images: number;
  batches: number;
  detections: number;
}

export interface ServeContext {
  cfg: ServeConfig;
  engine: Engine;
  pool: DecodePool;
  batcher: Batcher<InferItem, DetectResponse>;
  metrics: ServeMetrics;
  admission: Admission;
  limits: RequestLimits;
  /** throws a 401 unless the Authorization header carries the key; null without a key */
  auth: ((authorization: string | undefined) => void) | null;
  state: { ready: boolean; draining: boolean };
  stats: ServeStats;
}
