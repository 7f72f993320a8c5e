// The exported web page's script (bundled by `tsyolo export --include web` with esbuild into
// tsyolo-web.js): ONNX Runtime Web (wasm, one thread) runs <model>.onnx on an image that is dropped,
// picked, or passed to window.tsyoloDetect(url); pre- and post-processing are src/portable, the code the
// Node ONNX backend runs. Images are decoded by the browser (createImageBitmap without colour-space
// conversion, EXIF orientation applied) and read back from a canvas as RGBA.
import type * as Ort from 'onnxruntime-web';
import { type Detection, letterboxInput, nonMaxSuppressionRows, toDetections } from '../src/portable/index.js';

declare const ort: typeof Ort;

/** model.json, written by the exporter. */
interface ModelInfo {
  model: string;
  names: string[];
  stride: number;
  /** fixed input batch, or null */
  batch: number | null;
  /** fixed input [h, w], or null (dynamic: imgsz, letterboxed to a stride multiple) */
  shape: [number, number] | null;
  imgsz: [number, number];
  confThres: number;
  iouThres: number;
  maxDet: number;
}

export interface WebResult {
  image: string;
  width: number;
  height: number;
  detections: Detection[];
  /** ms: decode + letterbox, inference, NMS */
  speed: { pre: number; inference: number; nms: number };
}

declare global {
  interface Window {
    /** resolves when the model is loaded (rejects with the reason it cannot be) */
    tsyoloReady: Promise<void>;
    /** detects objects in an image (URL or Blob), draws them and publishes the result */
    tsyoloDetect: (src: string | Blob) => Promise<WebResult>;
    /** the last result */
    tsyoloDetections: WebResult | null;
  }
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id}`);
  return el as T;
};
const statusEl = $<HTMLElement>('status');
const canvas = $<HTMLCanvasElement>('canvas');
const output = $<HTMLPreElement>('detections');
const fileInput = $<HTMLInputElement>('file');
const drop = $<HTMLElement>('drop');

function setStatus(text: string, state: 'loading' | 'ready' | 'busy' | 'done' | 'error'): void {
  statusEl.textContent = text;
  document.body.dataset.state = state;
}

let info: ModelInfo;
let session: Ort.InferenceSession;

async function load(): Promise<void> {
  if (location.protocol === 'file:') {
    throw new Error(
      'this page must be served over http(s): ONNX Runtime Web cannot load its .wasm files from file://. In this folder run `npx http-server -p 8080` or `python3 -m http.server 8080` and open http://localhost:8080/',
    );
  }
  if (typeof ort === 'undefined') throw new Error('ort.wasm.min.js (ONNX Runtime Web) did not load');
  const res = await fetch('model.json');
  if (!res.ok) throw new Error(`model.json: HTTP ${res.status}`);
  info = (await res.json()) as ModelInfo;
  // the plain wasm backend on one thread: no SharedArrayBuffer, so no cross-origin isolation needed
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = new URL('./', location.href).href;
  session = await ort.InferenceSession.create(info.model, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  document.title = `tsyolo: ${info.model}`;
  setStatus(
    `${info.model} loaded (${info.names.length} classes, input ${info.shape ? info.shape.join('×') : `${info.imgsz.join('×')}, dynamic`}). Drop or pick an image.`,
    'ready',
  );
}

/** A colour per class (hue steps of the golden angle). */
function color(cls: number): string {
  return `hsl(${Math.round((cls * 137.508) % 360)} 85% 50%)`;
}

function draw(bitmap: ImageBitmap, dets: Detection[]): void {
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d canvas context');
  ctx.drawImage(bitmap, 0, 0);
  const lw = Math.max(Math.round(((bitmap.width + bitmap.height) / 2) * 0.003), 2);
  const fs = Math.max(lw * 5, 11);
  ctx.font = `${fs}px sans-serif`;
  ctx.textBaseline = 'top';
  for (const d of dets) {
    const [x1, y1, x2, y2] = d.box;
    ctx.strokeStyle = ctx.fillStyle = color(d.cls);
    ctx.lineWidth = lw;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const label = `${d.name} ${d.conf.toFixed(2)}`;
    const tw = ctx.measureText(label).width + 2 * lw;
    const ty = y1 - fs - lw >= 0 ? y1 - fs - lw : y1;
    ctx.fillRect(x1 - lw / 2, ty, tw, fs + lw);
    ctx.fillStyle = '#fff';
    ctx.fillText(label, x1 + lw / 2, ty + lw / 2);
  }
}

async function detect(src: string | Blob): Promise<WebResult> {
  await window.tsyoloReady;
  setStatus('detecting…', 'busy');
  try {
    const name = typeof src === 'string' ? src : src instanceof File ? src.name : 'image';
    const blob = typeof src === 'string' ? await fetchBlob(src) : src;
    const t0 = performance.now();
    const bitmap = await createImageBitmap(blob, {
      colorSpaceConversion: 'none',
      imageOrientation: 'from-image',
      premultiplyAlpha: 'none',
    });
    const { width, height } = bitmap;
    const work = document.createElement('canvas');
    work.width = width;
    work.height = height;
    const wctx = work.getContext('2d', { willReadFrequently: true });
    if (!wctx) throw new Error('no 2d canvas context');
    wctx.drawImage(bitmap, 0, 0);
    const pixels = { data: wctx.getImageData(0, 0, width, height).data, width, height, channels: 4 as const };
    const lb = letterboxInput(pixels, info.shape ?? info.imgsz, { auto: !info.shape, stride: info.stride });
    const [h, w] = lb.shape;
    const batch = info.batch ?? 1;
    let data = lb.data;
    if (batch > 1) {
      data = new Float32Array(batch * lb.data.length);
      data.set(lb.data);
    }
    const t1 = performance.now();
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, [batch, 3, h, w]) });
    const y = out[session.outputNames[0]];
    const t2 = performance.now();
    const [rows] = nonMaxSuppressionRows(y.data as Float32Array, y.dims, {
      confThres: info.confThres,
      iouThres: info.iouThres,
      maxDet: info.maxDet,
    });
    const detections = toDetections(rows, [h, w], [height, width], info.names);
    const t3 = performance.now();
    for (const v of Object.values(out)) v.dispose();
    const result: WebResult = {
      image: name,
      width,
      height,
      detections,
      speed: { pre: t1 - t0, inference: t2 - t1, nms: t3 - t2 },
    };
    draw(bitmap, detections);
    bitmap.close();
    window.tsyoloDetections = result;
    output.textContent = JSON.stringify(result, null, 1);
    const counts = new Map<string, number>();
    for (const d of detections) counts.set(d.name, (counts.get(d.name) ?? 0) + 1);
    const summary = [...counts].map(([n, c]) => `${c} ${n}`).join(', ') || 'nothing';
    setStatus(`${name}: ${width}×${height}, ${summary} (${result.speed.inference.toFixed(0)} ms inference)`, 'done');
    return result;
  } catch (e) {
    setStatus(`error: ${(e as Error).message}`, 'error');
    throw e;
  }
}

async function fetchBlob(url: string): Promise<Blob> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.blob();
}

window.tsyoloDetections = null;
window.tsyoloDetect = detect;
window.tsyoloReady = load().catch((e: unknown) => {
  setStatus(`error: ${(e as Error).message}`, 'error');
  throw e;
});
window.tsyoloReady.catch(() => undefined); // reported on the page; callers still see the rejection

fileInput.addEventListener('change', () => {
  const f = fileInput.files?.[0];
  if (f) detect(f).catch(() => undefined);
});
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer?.files[0];
  if (f) detect(f).catch(() => undefined);
});
