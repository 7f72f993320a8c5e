// A whole export.py run: ONNX, TensorRTx .wts and a browser page, written next to the weights
// (best.pt → best.onnx, best.wts, best_web/), atomically, and only after they check out: the ONNX graph
// passes the structural check and ONNX Runtime reproduces tsyolo's own output on a real image; the .wts
// file reads back to the same values. `web` writes the ONNX model too.

import { statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { writeFileAtomic } from '@tsyolo/torch';
import { requireCpu } from '../distributed/devices.js';
import type { DetectionModel } from '../models/model.js';
import { loadModelFile } from '../models/weights.js';
import { checkImgSize } from '../util/paths.js';
import { checkOnnx, formatCheck, MAX_OPSET, MIN_OPSET, type OnnxCheckReport, type OnnxValueSummary } from './check.js';
import { exportOnnxDetailed, type OnnxExportInfo, type OnnxExportOptions } from './onnx.js';
import { formatVerify, type VerifyReport, verifyOnnx } from './verify.js';
import { exportWeb, type WebExportResult } from './web.js';
import { readWts, writeWts, wtsTensors } from './wts.js';

export type ExportFormat = 'onnx' | 'wts' | 'web';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['onnx', 'wts', 'web'];

export function isExportFormat(f: string): f is ExportFormat {
  return EXPORT_FORMATS.some((x) => x === f);
}

export interface RunExportOptions {
  /** model weights (.pt, .safetensors, tsyolo checkpoint) */
  weights: string;
  /** default ['onnx'] */
  include?: ExportFormat[];
  /** one side (square) or [h, w], rounded up to a multiple of the stride (default 640) */
  imgsz?: number | [number, number];
  /** default 1 */
  batchSize?: number;
  /** ONNX opset (default 12) */
  opset?: number;
  /** ONNX dynamic axes: true for batch, height and width; 'batch' for the batch only */
  dynamic?: boolean | 'batch';
  /** ONNX with float16 weights and input/output */
  half?: boolean;
  /** model config for weights files that do not carry one */
  cfg?: string;
  /** the ONNX Runtime comparison (default true; the structural check always runs) */
  verify?: boolean;
  /** ONNX Runtime threads for the comparison (default 2) */
  threads?: number;
  /** cpu (the default '') only for now */
  device?: string;
  /** progress lines (default console.log): notes, the checks, each file written */
  log?: (line: string) => void;
}

export interface WtsExportSummary {
  path: string;
  bytes: number;
  tensors: number;
  values: number;
}

export interface OnnxExportSummary {
  path: string;
  bytes: number;
  opset: number;
  irVersion: number;
  dynamic: OnnxExportInfo['dynamic'];
  half: boolean;
  input: OnnxValueSummary;
  output: OnnxValueSummary;
  metadata: { stride: string };
  check: Pick<OnnxCheckReport, 'ok' | 'nodes' | 'initializers' | 'parameters' | 'ops' | 'errors' | 'warnings'>;
  /** the ONNX Runtime comparison, unless skipped */
  verify?: Pick<
    VerifyReport,
    | 'ok'
    | 'maxAbsDiff'
    | 'maxAbsDiffScores'
    | 'maxAbsDiffBoxes'
    | 'maxRelDiffBoxes'
    | 'effectiveAtol'
    | 'effectiveRtol'
    | 'float64'
    | 'detections'
    | 'source'
  >;
}

export interface RunExportResult {
  weights: string;
  include: ExportFormat[];
  /** [h, w] */
  imgsz: [number, number];
  batch: number;
  wts?: WtsExportSummary;
  onnx?: OnnxExportSummary;
  web?: WebExportResult;
}

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

function seconds(t: number): string {
  return ((performance.now() - t) / 1000).toFixed(1);
}

/** Exports weights to the formats asked for, each checked before it is written (yolov5's export.py run()). */
export async function runExport(o: RunExportOptions): Promise<RunExportResult> {
  const log = o.log ?? ((s: string) => console.log(s));
  requireCpu(o.device ?? '', 'export');
  const include = o.include ?? ['onnx'];
  const dynamic = o.dynamic ?? false;
  const opset = o.opset ?? 12;
  if (opset < MIN_OPSET || opset > MAX_OPSET)
    throw new Error(`--opset ${opset}: supported opsets are ${MIN_OPSET}..${MAX_OPSET}`);
  const onnxNeeded = include.includes('onnx') || include.includes('web');
  if (!onnxNeeded && (o.half || dynamic)) log('note: --half and --dynamic only apply to ONNX');
  if (include.includes('web') && o.half)
    throw new Error('--include web: the web page runs float32 models; drop --half');
  if (include.includes('web') && !include.includes('onnx'))
    log('note: web includes the ONNX model; it is exported too');

  const loaded = loadModelFile(o.weights, { cfg: o.cfg });
  const model = loaded.model;
  try {
    const gs = Math.max(Math.max(...model.stride), 32);
    const warn = (s: string): void => log(`warning: ${s}`);
    const [h, w] = typeof o.imgsz === 'object' ? o.imgsz : [o.imgsz ?? 640, o.imgsz ?? 640];
    const imgsz: [number, number] = [checkImgSize(h, gs, 0, warn), checkImgSize(w, gs, 0, warn)];
    const batch = o.batchSize ?? 1;
    if (batch < 1) throw new Error(`--batch-size ${batch}: must be at least 1`);
    const base = join(dirname(o.weights), basename(o.weights, extname(o.weights)));
    log(
      `tsyolo export: ${o.weights} (${loaded.format}, ${model.nc} classes, strides ${model.stride.join('/')}), ${include.join(' + ')}`,
    );
    const result: RunExportResult = { weights: o.weights, include, imgsz, batch };
    if (include.includes('wts')) result.wts = exportWtsChecked(model, `${base}.wts`, log);
    if (onnxNeeded) {
      const { summary, bytes } = await exportOnnxChecked(
        model,
        `${base}.onnx`,
        { imgsz, batch, opset, dynamic, half: !!o.half },
        o.verify ?? true,
        o.threads ?? 2,
        log,
      );
      result.onnx = summary;
      if (include.includes('web')) result.web = await exportWebChecked(bytes, summary.path, `${base}_web`, imgsz, log);
    }
    return result;
  } finally {
    model.dispose();
  }
}

/** The TensorRTx .wts file, read back: the values must come back bit for bit. */
function exportWtsChecked(model: DetectionModel, path: string, log: (s: string) => void): WtsExportSummary {
  const t = performance.now();
  const w = writeWts(model, path);
  const back = readWts(path);
  const want = wtsTensors(model);
  for (const [k, v] of want) {
    const b = back.get(k);
    const same =
      !!b &&
      b.length === v.length &&
      Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    if (!same) throw new Error(`${path}: '${k}' does not read back to the values written`);
  }
  if (back.size !== want.size) throw new Error(`${path}: ${back.size} tensors read back, ${want.size} written`);
  log(
    `TensorRTx: ${path} (${mb(w.bytes)}, ${w.tensors} tensors, ${w.values.toLocaleString('en-US')} values, read back identical) in ${seconds(t)}s`,
  );
  return { path, bytes: w.bytes, tensors: w.tensors, values: w.values };
}

/** The ONNX file, written only after the structural check and (with verify) ONNX Runtime's comparison pass. */
async function exportOnnxChecked(
  model: DetectionModel,
  path: string,
  opts: OnnxExportOptions & { imgsz: [number, number]; batch: number },
  verify: boolean,
  threads: number,
  log: (s: string) => void,
): Promise<{ summary: OnnxExportSummary; bytes: Uint8Array }> {
  const t = performance.now();
  model.fuse().eval();
  const { bytes, info } = exportOnnxDetailed(model, { ...opts, noCheck: true });
  const check = checkOnnx(bytes);
  log(formatCheck(check));
  if (!check.ok) throw new Error('the ONNX graph failed the structural check; nothing written');
  let report: VerifyReport | undefined;
  if (verify) {
    report = await verifyOnnx(model, bytes, { imgsz: opts.imgsz, batch: opts.batch, threads });
    log(formatVerify(report));
    if (!report.ok) {
      const why = report.half
        ? ' (a float16 file is held to 1e-2 of the float32 output: this model loses more than that in float16 rounding; export float32, or check it on the target runtime)'
        : '';
      throw new Error(
        `ONNX Runtime does not reproduce tsyolo's output (${report.errors.join('; ')})${why}; nothing written (--no-verify writes it anyway)`,
      );
    }
  }
  writeFileAtomic(path, bytes);
  const size = statSync(path).size;
  log(
    `ONNX: ${path} (${mb(size)}, opset ${info.opset}, IR ${info.irVersion}, input images [${check.inputs[0]?.shape.join(',')}], output output0 [${check.outputs[0]?.shape.join(',')}]${info.half ? ', float16' : ''}) in ${seconds(t)}s`,
  );
  const summary: OnnxExportSummary = {
    path,
    bytes: size,
    opset: info.opset,
    irVersion: info.irVersion,
    dynamic: info.dynamic,
    half: info.half,
    input: check.inputs[0],
    output: check.outputs[0],
    metadata: { stride: info.metadata.stride },
    check: {
      ok: check.ok,
      nodes: check.nodes,
      initializers: check.initializers,
      parameters: check.parameters,
      ops: check.ops,
      errors: check.errors,
      warnings: check.warnings,
    },
    verify: report && {
      ok: report.ok,
      maxAbsDiff: report.maxAbsDiff,
      maxAbsDiffScores: report.maxAbsDiffScores,
      maxAbsDiffBoxes: report.maxAbsDiffBoxes,
      maxRelDiffBoxes: report.maxRelDiffBoxes,
      effectiveAtol: report.effectiveAtol,
      effectiveRtol: report.effectiveRtol,
      float64: report.float64,
      detections: report.detections,
      source: report.source,
    },
  };
  return { summary, bytes };
}

/** The browser page folder next to the weights, with the ONNX model it runs. */
async function exportWebChecked(
  bytes: Uint8Array,
  onnxPath: string,
  dir: string,
  imgsz: [number, number],
  log: (s: string) => void,
): Promise<WebExportResult> {
  const t = performance.now();
  const web = await exportWeb(bytes, basename(onnxPath), dir, { imgsz });
  const total = web.files.reduce((n, f) => n + f.bytes, 0);
  log(`Web: ${dir}/ (${web.files.map((f) => f.name).join(', ')}; ${mb(total)}) in ${seconds(t)}s`);
  log(
    `     serve it over http (ONNX Runtime Web cannot load .wasm from file://): npx http-server ${dir} -p 8080, or cd ${dir} && python3 -m http.server 8080`,
  );
  return web;
}
