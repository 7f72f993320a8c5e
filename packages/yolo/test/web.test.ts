// The browser export end to end: `tsyolo export --include onnx web` on the yolov5n fixture, the folder
// served over http from 127.0.0.1, Debian's Chromium (headless, driven by playwright-core) detecting on
// bus.jpg, compared with the libtorch Detector on the same model and image. Tolerances: the browser
// decodes the JPEG itself (Chromium's libjpeg-turbo, no colour management) and ONNX Runtime Web's wasm
// kernels differ from libtorch's, so boxes are held to 2 px and confidences to 1e-2 (same classes and count).

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type Detection, Detector } from '../src/index.js';
import { fixture, repoRoot, sampleImage } from './fixtures.js';

const CHROMIUM = process.env.TSYOLO_CHROMIUM ?? '/usr/bin/chromium';
const WEIGHTS = fixture('yolov5n-stripped.pt');
const BUS = sampleImage('bus.jpg');
const noChromium = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} not found (apt-get install chromium; make test installs it)`;
const cli = join(repoRoot(), 'packages/yolo/dist/src/cli/main.js');
const env = { ...process.env, TSYOLO_NUM_THREADS: '2' };
const dir = mkdtempSync(join(tmpdir(), 'tsyolo-web-'));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.jpg': 'image/jpeg',
  '.txt': 'text/plain; charset=utf-8',
};

/** A static file server for root on 127.0.0.1 (random port); /bus.jpg is the shared test image. */
async function serve(root: string, requests: string[]): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const file = path === '/bus.jpg' ? BUS : resolve(root, `.${normalize(path === '/' ? '/index.html' : path)}`);
    if ((file !== BUS && !file.startsWith(root + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
    });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return { server, url: `http://127.0.0.1:${addr.port}/` };
}

interface WebResult {
  image: string;
  width: number;
  height: number;
  detections: Detection[];
  speed: { pre: number; inference: number; nms: number };
}

test('the page script and src/portable type-check for the browser (DOM library, no Node types)', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(repoRoot(), 'packages/yolo/web')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc -p packages/yolo/web:\n${r.stdout}${r.stderr}`);
});

test('tsyolo export --include onnx web; Chromium detects on bus.jpg like tsyolo detect', {
  skip: noChromium,
  timeout: 120_000,
}, async () => {
  const weights = join(dir, 'yolov5n.pt');
  copyFileSync(WEIGHTS, weights);
  const out = execFileSync(
    process.execPath,
    [cli, 'export', '--weights', weights, '--include', 'onnx', 'web', '--imgsz', '320', '--json'],
    { env, encoding: 'utf8' },
  );
  const summary = JSON.parse(out.trim().split('\n').pop()!) as {
    web: { dir: string; files: { name: string; bytes: number }[] };
  };
  const webDir = join(dir, 'yolov5n_web');
  assert.equal(summary.web.dir, webDir);
  assert.match(out, /serve it over http/);
  const names = [
    'index.html',
    'tsyolo-web.js',
    'ort.wasm.min.js',
    'ort-wasm-simd-threaded.wasm',
    'ort-wasm-simd-threaded.mjs',
    'yolov5n.onnx',
    'model.json',
    'names.json',
    'README.txt',
  ];
  assert.deepEqual(readdirSync(webDir).sort(), [...names].sort());
  assert.ok(existsSync(join(dir, 'yolov5n.onnx')));

  const requests: string[] = [];
  const { server, url } = await serve(webDir, requests);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1300 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.evaluate('window.tsyoloReady');
    // from a script
    const a = (await page.evaluate(`window.tsyoloDetect('/bus.jpg')`)) as WebResult;
    // as a person would: pick the file; the page draws the boxes and shows the detections as JSON
    await page.setInputFiles('#file', BUS);
    await page.waitForFunction(
      `document.body.dataset.state === 'done' && window.tsyoloDetections && window.tsyoloDetections.image === 'bus.jpg'`,
      undefined,
      { timeout: 30_000 },
    );
    const shown = JSON.parse((await page.textContent('#detections')) ?? 'null') as WebResult;
    const status = await page.textContent('#status');
    const shot = join(dir, 'web-bus.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`# screenshot: ${shot}`);
    assert.ok(statSync(shot).size > 20_000);
    assert.deepEqual(errors, []);
    assert.deepEqual(shown.detections, a.detections, 'picked file and tsyoloDetect agree');
    assert.match(status ?? '', /^bus\.jpg: 810×1080, \d+ /);
    for (const f of [
      '/ort.wasm.min.js',
      '/ort-wasm-simd-threaded.wasm',
      '/tsyolo-web.js',
      '/model.json',
      '/yolov5n.onnx',
    ])
      assert.ok(requests.includes(f), `${f} was not requested (${requests.join(' ')})`);

    // the libtorch Detector on the same model and image (the export is fixed at 320×320: no auto rectangle)
    const det = await Detector.load(WEIGHTS, { imgsz: 320, auto: false });
    const want = (await det.detect(BUS)).detections;
    det.dispose();
    assert.deepEqual([a.width, a.height], [810, 1080]);
    assert.ok(want.length > 0);
    assert.equal(a.detections.length, want.length, 'count');
    const used = new Set<number>();
    let maxBox = 0;
    let maxConf = 0;
    for (const w of want) {
      const j = a.detections.findIndex(
        (g, k) =>
          !used.has(k) &&
          g.cls === w.cls &&
          g.name === w.name &&
          Math.abs(g.conf - w.conf) <= 1e-2 &&
          g.box.every((v, c) => Math.abs(v - w.box[c]) <= 2),
      );
      assert.ok(j >= 0, `no browser detection matches ${JSON.stringify(w)}`);
      used.add(j);
      const g = a.detections[j];
      maxBox = Math.max(maxBox, ...g.box.map((v, c) => Math.abs(v - w.box[c])));
      maxConf = Math.max(maxConf, Math.abs(g.conf - w.conf));
    }
    console.log(
      `# browser vs libtorch: ${want.length} detections, max box Δ ${maxBox} px, max conf Δ ${maxConf.toExponential(2)}; ${a.speed.inference.toFixed(0)} ms wasm inference`,
    );

    // opened from file:// the page says it must be served
    const local = await browser.newPage();
    await local.goto(pathToFileURL(join(webDir, 'index.html')).href);
    await local.waitForFunction(`document.body.dataset.state === 'error'`, undefined, { timeout: 10_000 });
    assert.match((await local.textContent('#status')) ?? '', /must be served over http/);
  } finally {
    await browser.close();
    server.close();
  }
});
