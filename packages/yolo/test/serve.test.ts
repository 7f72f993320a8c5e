// tsyolo serve against real servers on 127.0.0.1 (real HTTP, no handler calls): detections as
// Detector.detect finds them (raw body, multipart, batched, ONNX), every refusal with its status,
// the bounded queue and the deadline, a client gone mid-upload, the API key, and SIGTERM draining
// through the CLI. The model is a seeded yolov5n built here (3 classes, objectness and class biases
// raised so that it finds boxes on bus.jpg: ~400 at conf 0.25, ~50 above 0.4). No timing assertions: waits are bounded polls on /metrics.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { manualSeed, noGrad } from '@tsyolo/torch';
import sharp from 'sharp';
import {
  buildModel,
  type DetectOptions,
  Detector,
  type DetectResult,
  exportOnnx,
  loadModel,
  type ServeHandle,
  saveCheckpoint,
  serve,
} from '../src/index.js';
import { repoRoot, sampleImage } from './fixtures.js';

const BUS = sampleImage('bus.jpg');
const skip = existsSync(BUS) ? false : 'bus.jpg not found';
const cli = join(repoRoot(), 'packages/yolo/dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'tsyolo-serve-'));
const weights = join(dir, 'yolov5n-3.safetensors');
const onnxWeights = join(dir, 'yolov5n-3.onnx');
const KEY = 'test-key-0123';
const auth = { authorization: `Bearer ${KEY}` };
const IMGSZ = 320;
const BODY_LIMIT = 2 * 2 ** 20;
const MAX_PIXELS = 2_000_000;

let bus: Buffer;
let ref: Detector;
let main: ServeHandle;
const logLines: Array<Record<string, unknown>> = [];

before(async () => {
  if (skip) return;
  bus = readFileSync(BUS);
  manualSeed(0);
  const model = buildModel('yolov5n', { nc: 3 });
  model.names = ['person', 'bicycle', 'bus'];
  noGrad(() => {
    const d = model.detect;
    for (let i = 0; i < d.nl; i++) {
      const bias = d.m.at(i).bias;
      if (!bias) throw new Error('Detect convolutions have biases');
      const b = bias.view(d.na, -1);
      b.index(':', 4).add_(6);
      b.index(':', '5:').add_(1);
    }
  });
  saveCheckpoint(weights, model);
  model.dispose();
  const saved = loadModel(weights).fuse().eval();
  writeFileSync(onnxWeights, exportOnnx(saved, { imgsz: IMGSZ, dynamic: true }));
  saved.dispose();
  ref = await Detector.load(weights, { imgsz: IMGSZ });
  // batches wait for every admitted request (maxWaitMs far beyond any test), so batching is deterministic
  main = await serve({
    weights,
    imgsz: IMGSZ,
    port: 0,
    maxBatch: 3,
    maxWaitMs: 600_000,
    maxQueue: 16,
    timeoutMs: 600_000,
    bodyLimit: BODY_LIMIT,
    maxPixels: MAX_PIXELS,
    apiKey: KEY,
    log: { stream: { write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>) } },
  });
});

after(async () => {
  await main?.close();
  ref?.dispose();
});

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function post(
  h: { url: string },
  body: Buffer | string | FormData,
  query = '',
  headers: Record<string, string> = { 'content-type': 'image/jpeg', ...auth },
): Promise<Answer> {
  const r = await fetch(`${h.url}/v1/detect${query}`, { method: 'POST', body, headers });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: JSON.parse(text) as Record<string, unknown> };
}

/** Detector.detect's result as the server answers it (through JSON). */
function expected(r: DetectResult): Record<string, unknown> {
  return JSON.parse(JSON.stringify({ detections: r.detections, width: r.width, height: r.height })) as Record<
    string,
    unknown
  >;
}

function sameDetections(got: Answer, want: DetectResult, what: string): void {
  assert.equal(got.status, 200, `${what}: ${JSON.stringify(got.body)}`);
  const { detections, width, height } = got.body;
  assert.deepEqual({ detections, width, height }, expected(want), what);
  const speed = got.body.speed_ms as Record<string, number>;
  assert.deepEqual(Object.keys(speed).sort(), ['inference', 'nms', 'pre']);
}

async function metric(h: { url: string }, name: string): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

const admitted = (h: { url: string }): Promise<number> => metric(h, 'tsyolo_queue_depth{stage="admitted"}');

/** Polls until cond() holds (every 20 ms, at most `ms`). */
async function until(cond: () => Promise<boolean> | boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Held {
  req: ClientRequest;
  response: Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>;
}

/** A POST whose headers are sent now and whose body is held back (req.end(body) sends it). */
function holdUpload(url: string, length: number, headers: Record<string, string> = auth, query = ''): Held {
  const req = httpRequest(`${url}/v1/detect${query}`, {
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'image/jpeg', 'content-length': String(length), ...headers },
  });
  const response = new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>(
    (resolve, reject) => {
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
    },
  );
  req.flushHeaders();
  return { req, response };
}

test('POST /v1/detect: a raw body and a multipart upload get the detections of Detector.detect', {
  skip,
  timeout: 300_000,
}, async () => {
  const want = await ref.detect(bus);
  assert.ok(
    want.detections.length >= 5,
    `the seeded model should find boxes on bus.jpg (found ${want.detections.length})`,
  );
  sameDetections(await post(main, bus), want, 'raw image/jpeg');
  const png = await sharp(bus).resize(405, 540).png().toBuffer();
  sameDetections(
    await post(main, png, '', { 'content-type': 'image/png', ...auth }),
    await ref.detect(png),
    'raw image/png',
  );
  // options from the query string, from form fields and from a JSON `options` field
  const opts: DetectOptions = { confThres: 0.4, iouThres: 0.5, classes: [0, 2], maxDet: 7 };
  const wantOpts = await ref.detect(bus, opts);
  sameDetections(await post(main, bus, '?conf=0.4&iou=0.5&classes=0,2&max_det=7'), wantOpts, 'query options');
  const form = new FormData();
  form.append('image', new Blob([bus], { type: 'image/jpeg' }), 'bus.jpg');
  form.append('conf', '0.4');
  form.append('classes', '0');
  form.append('classes', '2');
  form.append('options', JSON.stringify({ iou: 0.5, max_det: 7 }));
  sameDetections(await post(main, form, '', auth), wantOpts, 'multipart with fields');
  const webp = await sharp(bus).resize(405, 540).webp({ lossless: true }).toBuffer();
  sameDetections(
    await post(main, webp, '?imgsz=256', { 'content-type': 'image/webp', ...auth }),
    await ref.detect(webp, { imgsz: 256 }),
    'webp at imgsz 256',
  );
});

test('concurrent requests share a forward and still get their own detections; bad ones among them fail alone', {
  skip,
  timeout: 300_000,
}, async () => {
  const before = await metric(main, 'tsyolo_batch_size_count');
  const sideways = await sharp(bus).rotate(90).jpeg({ quality: 95 }).toBuffer(); // another input shape
  const jobs: Array<{ body: Buffer; query: string; want: DetectResult | number }> = [
    { body: bus, query: '', want: await ref.detect(bus) },
    { body: bus, query: '?conf=0.4', want: await ref.detect(bus, { confThres: 0.4 }) },
    { body: sideways, query: '', want: await ref.detect(sideways) },
    { body: bus, query: '?classes=1', want: await ref.detect(bus, { classes: [1] }) },
    { body: bus.subarray(0, bus.length >> 1), query: '', want: 400 },
    { body: Buffer.from('not an image at all'), query: '', want: 400 },
    { body: bus, query: '?max_det=3', want: await ref.detect(bus, { maxDet: 3 }) },
  ];
  // every request is admitted before any body is sent, so the batcher waits for them all
  const held = jobs.map((j) => holdUpload(main.url, j.body.length, auth, j.query));
  await until(async () => (await admitted(main)) === jobs.length, 'all requests admitted');
  for (const [i, h] of held.entries()) h.req.end(jobs[i].body);
  const answers = await Promise.all(held.map((h) => h.response));
  answers.forEach((a, i) => {
    const want = jobs[i].want;
    if (typeof want === 'number') {
      assert.equal(a.status, want, `job ${i}: ${a.body}`);
      return;
    }
    sameDetections(
      { status: a.status, headers: new Headers(), body: JSON.parse(a.body) as Record<string, unknown> },
      want,
      `job ${i}`,
    );
  });
  // 4 images of one shape at max batch 3 and 1 of another: 3 forwards (3 + 1, 1)
  const batches = (await metric(main, 'tsyolo_batch_size_count')) - before;
  assert.equal(batches, 3, 'forwards for 6 images');
});

test('every bad input gets its status and a reason; the server keeps serving', { skip, timeout: 300_000 }, async () => {
  const gif = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } })
    .gif()
    .toBuffer();
  const bomb = await sharp({ create: { width: 2000, height: 1500, channels: 3, background: 'white' } })
    .png()
    .toBuffer(); // 3 MP in a few KB
  const form = (fields: Record<string, string>, image: Buffer | null = bus, name = 'image'): FormData => {
    const f = new FormData();
    if (image) f.append(name, new Blob([image]), 'x.jpg');
    for (const [k, v] of Object.entries(fields)) f.append(k, v);
    return f;
  };
  const twoImages = form({});
  twoImages.append('image', new Blob([bus]), 'y.jpg');
  const cases: Array<[string, () => Promise<Answer>, number, RegExp]> = [
    ['unknown query field', () => post(main, bus, '?confidence=0.5'), 400, /unknown option 'confidence'/],
    ['conf out of range', () => post(main, bus, '?conf=1.5'), 400, /conf: 1.5 is outside/],
    ['conf not a number', () => post(main, bus, '?conf=high'), 400, /conf: expected one number/],
    ['class out of range', () => post(main, bus, '?classes=3'), 400, /classes: 3 is outside \[0, 2\]/],
    ['max_det 0', () => post(main, bus, '?max_det=0'), 400, /max_det/],
    ['imgsz beyond the limit', () => post(main, bus, '?imgsz=4096'), 400, /imgsz: 4096 is outside/],
    ['option given twice', () => post(main, form({ conf: '0.3' }), '?conf=0.3', auth), 400, /given twice/],
    ['not an image', () => post(main, Buffer.from('GIF? no: plain text')), 400, /not an image/],
    ['truncated JPEG', () => post(main, bus.subarray(0, bus.length - 4096)), 400, /truncated|premature/i],
    ['empty body', () => post(main, Buffer.alloc(0)), 400, /empty body|no image/],
    ['GIF', () => post(main, gif), 400, /unsupported image format 'gif'/],
    [
      'decompression bomb',
      () => post(main, bomb, '', { 'content-type': 'image/png', ...auth }),
      413,
      /3000000 pixels exceeds the limit of 2000000/,
    ],
    ['body over the limit', () => post(main, Buffer.alloc(BODY_LIMIT + 1)), 413, /exceeds the limit of 2097152 bytes/],
    ['multipart file over the limit', () => post(main, form({}, Buffer.alloc(BODY_LIMIT + 1)), '', auth), 413, /limit/],
    [
      'JSON body',
      () => post(main, '{"image":"..."}', '', { 'content-type': 'application/json', ...auth }),
      415,
      /Unsupported Media Type/,
    ],
    ['multipart: unknown field', () => post(main, form({ colour: 'red' }), '', auth), 400, /unknown option 'colour'/],
    [
      'multipart: unknown key in options',
      () => post(main, form({ options: '{"agnostic":true}' }), '', auth),
      400,
      /unknown option 'agnostic'/,
    ],
    ['multipart: options not JSON', () => post(main, form({ options: '{conf:' }), '', auth), 400, /options: not JSON/],
    ['multipart: no image', () => post(main, form({ conf: '0.5' }, null), '', auth), 400, /without an 'image' file/],
    [
      'multipart: file under another name',
      () => post(main, form({}, bus, 'picture'), '', auth),
      400,
      /unknown file field 'picture'/,
    ],
    ['multipart: two images', () => post(main, twoImages, '', auth), 400, /one image per request/],
  ];
  for (const [what, send, status, reason] of cases) {
    const a = await send();
    assert.equal(a.status, status, `${what}: ${JSON.stringify(a.body)}`);
    assert.equal(a.body.statusCode, status, what);
    assert.match(String(a.body.message), reason, what);
  }
  sameDetections(await post(main, bus), await ref.detect(bus), 'after the bad inputs');
  assert.equal(await admitted(main), 0);
});

test('a request killed mid-upload leaves the server serving', { skip, timeout: 300_000 }, async () => {
  for (const multipart of [false, true]) {
    const boundary = 'tsyolo-test-boundary';
    const head = multipart
      ? Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="bus.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
        )
      : Buffer.alloc(0);
    const type = multipart ? `multipart/form-data; boundary=${boundary}` : 'image/jpeg';
    const h = holdUpload(main.url, head.length + bus.length + 64, { ...auth, 'content-type': type });
    h.response.catch(() => undefined); // the socket is destroyed below
    h.req.write(Buffer.concat([head, bus.subarray(0, bus.length >> 1)]));
    await until(async () => (await admitted(main)) === 1, 'the upload admitted');
    h.req.destroy();
    await until(async () => (await admitted(main)) === 0, 'the killed request released');
  }
  sameDetections(await post(main, bus), await ref.detect(bus), 'after the killed uploads');
  const aborted = logLines.filter((l) => l.status === 499);
  assert.equal(aborted.length, 2, 'one log line per killed upload');
});

test('the API key is enforced on /v1 (Bearer, compared in constant time); probes and metrics stay open', {
  skip,
  timeout: 120_000,
}, async () => {
  const bad: Array<Record<string, string>> = [
    {},
    { authorization: 'Bearer wrong-key' },
    { authorization: `Basic ${KEY}` },
    { authorization: `Bearer ${KEY}x` },
  ];
  for (const headers of bad) {
    const a = await post(main, bus, '', { 'content-type': 'image/jpeg', ...headers });
    assert.equal(a.status, 401, JSON.stringify(headers));
    assert.match(a.headers.get('www-authenticate') ?? '', /^Bearer/);
  }
  assert.equal((await fetch(`${main.url}/v1/model`)).status, 401);
  const model = (await (await fetch(`${main.url}/v1/model`, { headers: auth })).json()) as Record<string, unknown>;
  assert.deepEqual(
    [model.backend, model.names, model.stride, model.imgsz, model.input_size, model.ready],
    ['libtorch', ['person', 'bicycle', 'bus'], 32, IMGSZ, null, true],
  );
  assert.equal((await fetch(`${main.url}/healthz`)).status, 200);
  assert.equal((await fetch(`${main.url}/readyz`)).status, 200);
  const metrics = await (await fetch(`${main.url}/metrics`)).text();
  for (const name of [
    'tsyolo_http_requests_total',
    'tsyolo_http_request_duration_seconds_bucket',
    'tsyolo_queue_depth',
    'tsyolo_batch_size_bucket',
    'process_resident_memory_bytes',
  ])
    assert.ok(metrics.includes(name), name);
  assert.match(metrics, /tsyolo_http_requests_total\{route="\/v1\/detect",method="POST",status="401"\} 4/);
});

test('one structured log line per request', { skip, timeout: 60_000 }, async () => {
  const n = logLines.length;
  await post(main, bus, '?conf=0.5');
  await post(main, bus, '?conf=7');
  const lines = logLines.slice(n);
  assert.equal(lines.length, 2);
  for (const l of lines)
    for (const k of ['reqId', 'method', 'url', 'status', 'ms', 'time', 'level'])
      assert.ok(k in l, `${k} in ${JSON.stringify(l)}`);
  assert.equal(lines[0].status, 200);
  assert.equal(typeof lines[0].detections, 'number');
  assert.equal(lines[1].status, 400);
  assert.match(String(lines[1].error), /conf/);
});

test('a full queue answers 503 with Retry-After; a request past its deadline 504, wherever it waits', {
  skip,
  timeout: 300_000,
}, async () => {
  const h = await serve({
    weights,
    imgsz: IMGSZ,
    port: 0,
    maxQueue: 2,
    maxBatch: 4,
    maxWaitMs: 600_000,
    timeoutMs: 4000,
    log: false,
  });
  try {
    const a = holdUpload(h.url, bus.length, {});
    const b = holdUpload(h.url, bus.length, {});
    await until(async () => (await admitted(h)) === 2, 'two requests admitted');
    const full = await post(h, bus, '', { 'content-type': 'image/jpeg' });
    assert.equal(full.status, 503);
    assert.match(String(full.body.message), /at capacity/);
    assert.ok(Number(full.headers.get('retry-after')) >= 1, `Retry-After: ${full.headers.get('retry-after')}`);
    // the held uploads never finish: their deadline answers them mid-upload
    for (const held of [a, b]) {
      const r = await held.response;
      assert.equal(r.status, 504, r.body);
      held.req.destroy();
    }
    await until(async () => (await admitted(h)) === 0, 'the queue emptied');
    // an image waiting for a batch partner that is admitted after it and never comes: its deadline passes
    // first, and it leaves the batch queue with a 504
    const waiting = holdUpload(h.url, bus.length, {});
    await until(async () => (await admitted(h)) === 1, 'the first request admitted');
    const partner = holdUpload(h.url, bus.length, {});
    await until(async () => (await admitted(h)) === 2, 'its partner admitted');
    waiting.req.end(bus);
    const w = await waiting.response;
    assert.equal(w.status, 504, w.body);
    assert.match(w.body, /no answer within 4000 ms/);
    assert.equal((await partner.response).status, 504);
    partner.req.destroy();
    await until(async () => (await admitted(h)) === 0, 'the queue emptied again');
    assert.equal(await metric(h, 'tsyolo_queue_depth{stage="batching"}'), 0);
    assert.equal(await metric(h, 'tsyolo_batch_size_count'), 0, 'no forward ran');
  } finally {
    await h.close();
  }
});

test('an ONNX model is served with the detections of Detector.detect on it', { skip, timeout: 300_000 }, async () => {
  const h = await serve({ weights: onnxWeights, imgsz: IMGSZ, port: 0, threads: 1, log: false });
  const det = await Detector.load(onnxWeights, { imgsz: IMGSZ, threads: 1 });
  try {
    const model = (await (await fetch(`${h.url}/v1/model`)).json()) as Record<string, unknown>;
    assert.equal(model.backend, 'onnxruntime');
    sameDetections(
      await post(h, bus, '?conf=0.3', { 'content-type': 'image/jpeg' }),
      await det.detect(bus, { confThres: 0.3 }),
      'onnx',
    );
  } finally {
    det.dispose();
    await h.close();
  }
});

test('tsyolo serve: SIGTERM stops accepting, answers the admitted requests, exits 0 with a summary (TSYOLO_API_KEY)', {
  skip,
  timeout: 300_000,
}, async () => {
  const child = spawn(
    process.execPath,
    [
      cli,
      'serve',
      '--weights',
      weights,
      '--img',
      String(IMGSZ),
      '--port',
      '0',
      '--max-wait-ms',
      '0',
      '--json',
      '--log-level',
      'warn',
    ],
    {
      env: { ...process.env, TSYOLO_NUM_THREADS: '2', TSYOLO_API_KEY: KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines: string[] = [];
  const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      lines.push(l);
      if (l.includes('"listening"')) resolve(JSON.parse(l) as Record<string, unknown>);
    });
    child.on('exit', () => reject(new Error(`tsyolo serve exited before listening:\n${stderr}`)));
  });
  try {
    const info = await listening;
    const url = String(info.url);
    const h = { url };
    assert.equal((await post(h, bus, '', { 'content-type': 'image/jpeg' })).status, 401, 'TSYOLO_API_KEY is required');
    const held = [holdUpload(url, bus.length), holdUpload(url, bus.length)];
    await until(async () => (await admitted(h)) === 2, 'two uploads admitted');
    child.kill('SIGTERM');
    // the listening socket closes: a new connection is refused
    await until(
      () =>
        new Promise<boolean>((resolve) => {
          const r = httpRequest(`${url}/healthz`, { agent: false }, (res) => {
            res.resume();
            resolve(false);
          });
          r.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
          r.end();
        }),
      'new connections refused',
    );
    for (const hd of held) hd.req.end(bus);
    const want = expected(await ref.detect(bus));
    for (const hd of held) {
      const r = await hd.response;
      assert.equal(r.status, 200, r.body);
      const { detections, width, height } = JSON.parse(r.body) as Record<string, unknown>;
      assert.deepEqual({ detections, width, height }, want);
    }
    assert.equal(await exited, 0, stderr);
    const summary = JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
    assert.equal(summary.command, 'serve');
    assert.equal(summary.signal, 'SIGTERM');
    assert.deepEqual(summary.by_status, { 200: 2, 401: 1 });
    assert.equal(summary.images, 2);
  } finally {
    child.kill('SIGKILL');
  }
});
