// tsyolo serve under load: a seeded yolov5n at 320 served by the CLI (a child process on 127.0.0.1, its
// default threads), autocannon POSTing bus.jpg as the raw body at 1, 8 and 32 connections, with batching
// on (max batch 8) and off (max batch 1); the ceiling is the same number of images through
// Detector.detect in a loop in this process (at every core's threads and at 1; vs_ceiling uses the better). Then a flood beyond the queue (64 connections against --max-queue 8): the statuses it
// gets and the server's RSS growth over it. One JSON line per measurement.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { getNumThreads, manualSeed, setNumThreads } from '@tsyolo/torch';
import autocannon from 'autocannon';
import { buildModel, Detector, saveCheckpoint } from 'tsyolo';
import { median, report } from './measure.js';

const IMGSZ = 320;
const BUS = 'packages/yolo/assets/images/bus.jpg';
/** every load loop ends after this many seconds, whatever its count */
const MAX_RUN_S = 60;
const CLI = join(dirname(fileURLToPath(import.meta.resolve('tsyolo'))), 'cli', 'main.js');

interface Server {
  url: string;
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

async function startServer(weights: string, args: string[]): Promise<Server> {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--weights', weights, '--img', String(IMGSZ), '--port', '0', '--json', ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      lines.push(l);
      if (l.includes('"event":"listening"')) resolve(String((JSON.parse(l) as { url: string }).url));
    });
    void exited.then(() => reject(new Error('tsyolo serve exited before listening')));
  });
  return { url, child, lines, exited };
}

/** Runs fn against a server started with args; the server is stopped by SIGTERM (drained), or killed if fn fails. */
async function withServer<T>(
  weights: string,
  args: string[],
  fn: (s: Server) => Promise<T>,
): Promise<{ result: T; summary: Record<string, unknown> }> {
  const s = await startServer(weights, args);
  try {
    const result = await fn(s);
    return { result, summary: await stopServer(s) };
  } finally {
    s.child.kill('SIGKILL'); // a no-op once it has exited
  }
}

async function stopServer(s: Server): Promise<Record<string, unknown>> {
  s.child.kill('SIGTERM');
  const code = await s.exited;
  if (code !== 0) throw new Error(`tsyolo serve exited with ${code} after SIGTERM`);
  return JSON.parse(s.lines[s.lines.length - 1]) as Record<string, unknown>;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

/** `amount` POSTs of the body over `connections` connections, stopped after maxS seconds at most. */
function load(
  url: string,
  body: Buffer,
  connections: number,
  amount: number,
  maxS = MAX_RUN_S,
): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const opts = {
      url: `${url}/v1/detect`,
      method: 'POST' as const,
      headers: { 'content-type': 'image/jpeg' },
      body,
      connections,
      amount,
      timeout: 60,
    };
    const timer = setTimeout(() => instance.stop(), maxS * 1000);
    const instance = autocannon(opts, (err: Error | null, result: autocannon.Result) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(result);
    });
  });
}

/** images/s and per-image latency of Detector.detect on the buffer, one at a time. */
async function ceiling(
  weights: string,
  bus: Buffer,
  n: number,
): Promise<{ images: number; ips: number; p50: number; p99: number }> {
  const det = await Detector.load(weights, { imgsz: IMGSZ });
  for (let i = 0; i < 10; i++) await det.detect(bus);
  const ms: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n && performance.now() - t0 < MAX_RUN_S * 1000; i++) {
    const t = performance.now();
    await det.detect(bus);
    ms.push(performance.now() - t);
  }
  const ips = ms.length / ((performance.now() - t0) / 1000);
  det.dispose();
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    images: ms.length,
    ips,
    p50: median(ms),
    p99: sorted[Math.min(ms.length - 1, Math.ceil(0.99 * ms.length) - 1)],
  };
}

async function loadRuns(weights: string, bus: Buffer, n: number, ceilingIps: number): Promise<void> {
  for (const [batching, args] of [
    ['on', ['--max-batch', '8']],
    ['off', ['--max-batch', '1']],
  ] as const) {
    await withServer(weights, [...args, '--log-level', 'warn'], async (s) => {
      for (const c of [1, 8, 32]) {
        await load(s.url, bus, c, Math.max(2 * c, 16)); // warm-up
        const [sum0, count0] = [
          await metric(s.url, 'tsyolo_batch_size_sum'),
          await metric(s.url, 'tsyolo_batch_size_count'),
        ];
        const r = await load(s.url, bus, c, Math.max(n, c));
        const batches = (await metric(s.url, 'tsyolo_batch_size_count')) - count0;
        const ips = r['2xx'] / r.duration;
        report({
          bench: 'serve',
          model: 'yolov5n',
          imgsz: IMGSZ,
          batching,
          connections: c,
          images: r['2xx'],
          images_per_s: +ips.toFixed(1),
          vs_ceiling: +(ips / ceilingIps).toFixed(2),
          p50_ms: r.latency.p50,
          p99_ms: r.latency.p99,
          p99_over_p50: +(r.latency.p99 / r.latency.p50).toFixed(2),
          non2xx: r.non2xx,
          errors: r.errors,
          mean_batch: +(((await metric(s.url, 'tsyolo_batch_size_sum')) - sum0) / batches).toFixed(2),
          loadavg: +loadavg()[0].toFixed(2),
        });
      }
    });
  }
}

async function flood(weights: string, bus: Buffer, n: number): Promise<void> {
  const { result, summary } = await withServer(
    weights,
    ['--max-queue', '8', '--max-batch', '8', '--log-level', 'warn'],
    async (s) => {
      await load(s.url, bus, 64, 1000); // warm-up: the heap and the sockets settle
      const rss0 = await metric(s.url, 'process_resident_memory_bytes');
      const r = await load(s.url, bus, 64, n, 150);
      return { r, rss0, rss1: await metric(s.url, 'process_resident_memory_bytes') };
    },
  );
  const { r, rss0, rss1 } = result;
  const statuses = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count ?? 0]));
  report({
    bench: 'serve-flood',
    model: 'yolov5n',
    imgsz: IMGSZ,
    connections: 64,
    max_queue: 8,
    requests: n,
    statuses,
    errors: r.errors,
    timeouts: r.timeouts,
    only_200_503: Object.keys(statuses).every((k) => k === '200' || k === '503') && r.errors === 0,
    rss_start_mb: +(rss0 / 2 ** 20).toFixed(1),
    rss_end_mb: +(rss1 / 2 ** 20).toFixed(1),
    rss_growth_mb: +((rss1 - rss0) / 2 ** 20).toFixed(1),
    requests_per_s: +(n / r.duration).toFixed(0),
    served_images: summary.images,
    loadavg: +loadavg()[0].toFixed(2),
  });
}

export async function benchServe(n = 200, floodRequests = 10_000, dir = 'tmp/bench-serve'): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const weights = join(dir, 'yolov5n.safetensors');
  manualSeed(0);
  const model = buildModel('yolov5n');
  saveCheckpoint(weights, model);
  model.dispose();
  const bus = readFileSync(BUS);
  // the ceiling at libtorch's default thread count (every core) and at 1 thread; the better one counts
  const restore = getNumThreads();
  let best = 0;
  for (const threads of [...new Set([restore, 1])]) {
    setNumThreads(threads);
    const c = await ceiling(weights, bus, n);
    best = Math.max(best, c.ips);
    report({
      bench: 'serve',
      model: 'yolov5n',
      imgsz: IMGSZ,
      runtime: 'Detector.detect loop (ceiling)',
      threads,
      images: c.images,
      images_per_s: +c.ips.toFixed(1),
      p50_ms: +c.p50.toFixed(1),
      p99_ms: +c.p99.toFixed(1),
      loadavg: +loadavg()[0].toFixed(2),
    });
  }
  setNumThreads(restore);
  await loadRuns(weights, bus, n, best);
  await flood(weights, bus, floodRequests);
}
