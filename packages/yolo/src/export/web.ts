// The browser export (tsyolo export --include web): a self-contained folder with index.html, the page
// script bundled by esbuild from web/page.ts (with src/portable, the pre/post-processing the Node ONNX
// backend runs), ONNX Runtime Web's wasm build (JS + .wasm) copied from node_modules, the ONNX model,
// model.json and names.json. It must be served over http: ONNX Runtime Web cannot load .wasm from file://.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '@tsyolo/torch';
import { onnxInfo } from '../onnx/info.js';

/** The page script's source (packages/yolo/web/page.ts, next to src/ and dist/). */
export function pageSource(): string {
  const p = fileURLToPath(new URL('../../../web/page.ts', import.meta.url));
  if (!existsSync(p))
    throw new Error(`web export: the page script ${p} is missing (it ships with the tsyolo package sources)`);
  return p;
}

/** ONNX Runtime Web's wasm-only build: the script that defines `ort`, its wasm module and the module's JS glue. */
export function ortWebFiles(): { name: string; path: string }[] {
  let main: string;
  try {
    main = createRequire(import.meta.url).resolve('onnxruntime-web/wasm'); // dist/ort.wasm.min.js
  } catch (e) {
    throw new Error(`web export needs onnxruntime-web (npm install onnxruntime-web): ${(e as Error).message}`);
  }
  const dist = dirname(main);
  const files = [basename(main), 'ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs'].map((name) => ({
    name,
    path: join(dist, name),
  }));
  for (const f of files)
    if (!existsSync(f.path)) throw new Error(`web export: ${f.path} is missing from onnxruntime-web`);
  return files;
}

/** The page script and src/portable as one browser script (an IIFE; `ort` is the global from ort.wasm.min.js). */
export async function bundlePage(): Promise<Uint8Array> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    throw new Error(`web export needs esbuild (npm install esbuild): ${(e as Error).message}`);
  }
  const r = await esbuild.build({
    entryPoints: [pageSource()],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    write: false,
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
    banner: { js: '// tsyolo web detector (bundled from packages/yolo/web/page.ts and src/portable)' },
  });
  const out = r.outputFiles?.[0];
  if (!out) throw new Error('web export: esbuild produced no output');
  return out.contents;
}

export interface WebExportOptions {
  /** confidence threshold of the page (default 0.25, detect.py's) */
  confThres?: number;
  /** NMS IoU threshold (default 0.45) */
  iouThres?: number;
  /** at most this many detections (default 1000) */
  maxDet?: number;
  /** letterbox size for models with dynamic height/width, [h, w] (default 640) */
  imgsz?: [number, number];
}

export interface WebExportResult {
  dir: string;
  files: { name: string; bytes: number }[];
}

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tsyolo</title>
<style>
  body { font: 15px system-ui, sans-serif; margin: 0; background: #f4f4f5; color: #18181b; }
  header { padding: 12px 20px; background: #18181b; color: #fafafa; display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 17px; margin: 0; }
  #status { opacity: .85; }
  body[data-state="error"] #status { color: #fca5a5; }
  main { padding: 16px 20px; display: grid; gap: 16px; }
  #drop { display: block; border: 2px dashed #a1a1aa; border-radius: 8px; padding: 22px; text-align: center; cursor: pointer; background: #fff; }
  #drop.over { border-color: #2563eb; background: #eff6ff; }
  #canvas { max-width: 100%; height: auto; background: #fff; justify-self: start; }
  #detections { background: #fff; padding: 10px; max-height: 320px; overflow: auto; font-size: 12px; margin: 0; }
</style>
</head>
<body data-state="loading">
<header><h1>tsyolo web detector</h1><span id="status">loading the model…</span></header>
<main>
  <label id="drop" for="file">Drop an image here, or <u>pick one</u><input id="file" type="file" accept="image/*" hidden></label>
  <canvas id="canvas" width="0" height="0"></canvas>
  <pre id="detections"></pre>
</main>
<noscript>This page needs JavaScript.</noscript>
<script src="ORT_SCRIPT"></script>
<script src="tsyolo-web.js"></script>
</body>
</html>
`;

const README = `tsyolo web detector
===================

Open index.html through a web server (ONNX Runtime Web cannot load its .wasm files from file://):

  npx http-server -p 8080 .        # or: python3 -m http.server 8080
  then open http://localhost:8080/

Drop or pick an image: the boxes and labels are drawn on the page, the detections are shown as JSON
(<pre id="detections">) and kept in window.tsyoloDetections; window.tsyoloDetect(url) runs a detection
from a script. ONNX Runtime Web runs the model with its wasm backend on one thread (no cross-origin
isolation needed). model.json holds the thresholds and input size the page uses; edit it to change them.
`;

/**
 * Writes the web folder for an exported ONNX model (float32): dir/index.html, tsyolo-web.js, ONNX Runtime
 * Web's files, the model (under its own file name), model.json, names.json and README.txt. Each file is
 * written atomically; other files in dir are left alone.
 */
export async function exportWeb(
  onnxBytes: Uint8Array,
  modelName: string,
  dir: string,
  opts: WebExportOptions = {},
): Promise<WebExportResult> {
  const info = onnxInfo(onnxBytes, modelName);
  if (info.half) throw new Error(`${modelName}: the web page runs float32 models; export without --half`);
  const imgsz = info.shape ?? opts.imgsz ?? [640, 640];
  if (imgsz[0] % info.stride || imgsz[1] % info.stride)
    throw new Error(`web export: image size ${imgsz.join('x')} is not a multiple of the stride ${info.stride}`);
  const ortFiles = ortWebFiles();
  const bundle = await bundlePage();
  const model = {
    model: basename(modelName),
    names: info.names,
    stride: info.stride,
    batch: info.batch,
    shape: info.shape,
    imgsz,
    confThres: opts.confThres ?? 0.25,
    iouThres: opts.iouThres ?? 0.45,
    maxDet: opts.maxDet ?? 1000,
  };
  const files: [string, Uint8Array][] = [
    ['index.html', Buffer.from(INDEX_HTML.replace('ORT_SCRIPT', ortFiles[0].name), 'utf8')],
    ['tsyolo-web.js', bundle],
    ...ortFiles.map((f): [string, Uint8Array] => [f.name, readFileSync(f.path)]),
    [model.model, onnxBytes],
    ['model.json', Buffer.from(`${JSON.stringify(model, null, 1)}\n`, 'utf8')],
    ['names.json', Buffer.from(`${JSON.stringify(info.names)}\n`, 'utf8')],
    ['README.txt', Buffer.from(README, 'utf8')],
  ];
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of files) writeFileAtomic(join(dir, name), bytes);
  return { dir, files: files.map(([name, bytes]) => ({ name, bytes: bytes.byteLength })) };
}
