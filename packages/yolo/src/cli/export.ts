// tsyolo export: export.py's flags for ONNX, TensorRTx .wts and a browser page. Files are written next
// to the weights (best.pt → best.onnx, best.wts, best_web/), atomically, and only after they check out:
// the ONNX graph passes the structural check and ONNX Runtime reproduces tsyolo's own output on a real
// image; the .wts file reads back to the same values. `web` writes the ONNX model too.
import { Command, InvalidArgumentError } from 'commander';
import { statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { writeFileAtomic } from '@tsyolo/torch';
import { loadModelFile } from '../models/weights.js';
import { checkImgSize } from '../engine/paths.js';
import { exportOnnxDetailed, type OnnxExportOptions } from '../export/onnx.js';
import { checkOnnx, formatCheck, MAX_OPSET, MIN_OPSET } from '../export/check.js';
import { formatVerify, verifyOnnx } from '../export/verify.js';
import { readWts, wtsTensors, writeWts } from '../export/wts.js';
import { exportWeb } from '../export/web.js';
import { emitJson } from './output.js';
import { requireCpu } from '../distributed/devices.js';
import { imgSize, intIn, intList, intsDefault, positiveInt } from './parse.js';

const FORMATS = ['onnx', 'wts', 'web'];

function formats(v: string, prev: string[] | undefined): string[] {
  const f = v.toLowerCase().replace(/^\./, '');
  if (!FORMATS.includes(f)) throw new InvalidArgumentError(`'${v}' is not an export format (${FORMATS.join(', ')})`);
  return prev && !defaultFormats.has(prev) ? [...new Set([...prev, f])] : [f];
}
const defaultFormats = new WeakSet<string[]>();
const onnxOnly = ['onnx'];
defaultFormats.add(onnxOnly);

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

export function exportCommand(): Command {
  return new Command('export')
    .description('export a model to ONNX, TensorRTx .wts and/or a browser page running the ONNX model (yolov5 export.py)')
    .requiredOption('--weights <file>', 'model weights (.pt, .safetensors, tsyolo checkpoint)')
    .option('--include <formats...>', `formats: ${FORMATS.join(', ')}`, formats, onnxOnly)
    .option('--imgsz, --img <px...>', 'image size: one side (square) or h w', intList(imgSize), intsDefault([640]))
    .option('--batch-size <n>', 'batch size', positiveInt, 1)
    .option('--opset <n>', `ONNX opset (${MIN_OPSET}..${MAX_OPSET})`, intIn(MIN_OPSET, MAX_OPSET), 12)
    .option('--dynamic [axes]', "ONNX dynamic axes: batch, height and width; '--dynamic batch' for the batch only")
    .option('--half', 'ONNX with float16 weights and input/output (for GPU runtimes)')
    .option('--cfg <yaml>', 'model config, for weights files that do not carry one')
    .option('--no-verify', 'skip the ONNX Runtime comparison (the structural check still runs)')
    .option('--threads <n>', 'ONNX Runtime threads for the comparison', positiveInt, 2)
    .option('--device <d>', 'cpu', '')
    .option('--json', 'print a JSON summary as the last line')
    .action(async (o: Record<string, unknown>) => {
      const t0 = performance.now();
      requireCpu(o.device as string, 'export');
      const weights = o.weights as string;
      const include = o.include as string[];
      const sizes = o.img as number[];
      if (sizes.length > 2) throw new Error(`--imgsz takes one or two values (h w), got ${sizes.length}`);
      const dyn = o.dynamic as boolean | string | undefined;
      if (typeof dyn === 'string' && dyn !== 'batch') throw new Error(`--dynamic ${dyn}: the only partial choice is 'batch' (plain --dynamic makes batch, height and width dynamic)`);
      const dynamic: OnnxExportOptions['dynamic'] = dyn === 'batch' ? 'batch' : !!dyn;
      const opset = o.opset as number;
      if (opset < MIN_OPSET || opset > MAX_OPSET) throw new Error(`--opset ${opset}: supported opsets are ${MIN_OPSET}..${MAX_OPSET}`);
      const onnxNeeded = include.includes('onnx') || include.includes('web');
      if (!onnxNeeded && (o.half || dyn)) console.log('note: --half and --dynamic only apply to ONNX');
      if (include.includes('web') && o.half) throw new Error('--include web: the web page runs float32 models; drop --half');
      if (include.includes('web') && !include.includes('onnx')) console.log('note: web includes the ONNX model; it is exported too');

      const loaded = loadModelFile(weights, { cfg: o.cfg as string | undefined });
      const model = loaded.model;
      const gs = Math.max(Math.max(...model.stride), 32);
      const log = (s: string): void => console.log(`warning: ${s}`);
      const imgsz: [number, number] = [checkImgSize(sizes[0], gs, 0, log), checkImgSize(sizes[1] ?? sizes[0], gs, 0, log)];
      const batch = o.batchSize as number;
      if (batch < 1) throw new Error(`--batch-size ${batch}: must be at least 1`);
      const base = join(dirname(weights), basename(weights, extname(weights)));
      console.log(`tsyolo export: ${weights} (${loaded.format}, ${model.nc} classes, strides ${model.stride.join('/')}), ${include.join(' + ')}`);
      const summary: Record<string, unknown> = { command: 'export', weights, include, imgsz, batch };

      if (include.includes('wts')) {
        const path = `${base}.wts`;
        const t = performance.now();
        const w = writeWts(model, path);
        // read it back: the values must come back bit for bit
        const back = readWts(path);
        const want = wtsTensors(model);
        for (const [k, v] of want) {
          const b = back.get(k);
          const same = !!b && b.length === v.length && Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
          if (!same) throw new Error(`${path}: '${k}' does not read back to the values written`);
        }
        if (back.size !== want.size) throw new Error(`${path}: ${back.size} tensors read back, ${want.size} written`);
        console.log(`TensorRTx: ${path} (${mb(w.bytes)}, ${w.tensors} tensors, ${w.values.toLocaleString('en-US')} values, read back identical) in ${((performance.now() - t) / 1000).toFixed(1)}s`);
        summary.wts = { path, bytes: w.bytes, tensors: w.tensors, values: w.values };
      }

      if (onnxNeeded) {
        const path = `${base}.onnx`;
        const t = performance.now();
        model.fuse().eval();
        const opts: OnnxExportOptions = { imgsz, batch, opset, dynamic, half: !!o.half };
        const { bytes, info } = exportOnnxDetailed(model, { ...opts, noCheck: true });
        const check = checkOnnx(bytes);
        console.log(formatCheck(check));
        if (!check.ok) throw new Error('the ONNX graph failed the structural check; nothing written');
        let verify: Awaited<ReturnType<typeof verifyOnnx>> | undefined;
        if (o.verify !== false) {
          verify = await verifyOnnx(model, bytes, { imgsz, batch, threads: o.threads as number });
          console.log(formatVerify(verify));
          if (!verify.ok) {
            const why = verify.half ? ' (a float16 file is held to 1e-2 of the float32 output: this model loses more than that in float16 rounding; export float32, or check it on the target runtime)' : '';
            throw new Error(`ONNX Runtime does not reproduce tsyolo's output (${verify.errors.join('; ')})${why}; nothing written (--no-verify writes it anyway)`);
          }
        }
        writeFileAtomic(path, bytes);
        const size = statSync(path).size;
        console.log(
          `ONNX: ${path} (${mb(size)}, opset ${info.opset}, IR ${info.irVersion}, input images [${check.inputs[0]?.shape.join(',')}], output output0 [${check.outputs[0]?.shape.join(',')}]${info.half ? ', float16' : ''}) in ${((performance.now() - t) / 1000).toFixed(1)}s`,
        );
        summary.onnx = {
          path,
          bytes: size,
          opset: info.opset,
          irVersion: info.irVersion,
          dynamic: info.dynamic,
          half: info.half,
          input: check.inputs[0],
          output: check.outputs[0],
          metadata: { stride: info.metadata.stride },
          check: { ok: check.ok, nodes: check.nodes, initializers: check.initializers, parameters: check.parameters, ops: check.ops, errors: check.errors, warnings: check.warnings },
          verify: verify && {
            ok: verify.ok,
            maxAbsDiff: verify.maxAbsDiff,
            maxAbsDiffScores: verify.maxAbsDiffScores,
            maxAbsDiffBoxes: verify.maxAbsDiffBoxes,
            maxRelDiffBoxes: verify.maxRelDiffBoxes,
            effectiveAtol: verify.effectiveAtol,
            effectiveRtol: verify.effectiveRtol,
            float64: verify.float64,
            detections: verify.detections,
            source: verify.source,
          },
        };
        if (include.includes('web')) {
          const tw = performance.now();
          const dir = `${base}_web`;
          const web = await exportWeb(bytes, basename(path), dir, { imgsz });
          const total = web.files.reduce((n, f) => n + f.bytes, 0);
          console.log(`Web: ${dir}/ (${web.files.map((f) => f.name).join(', ')}; ${mb(total)}) in ${((performance.now() - tw) / 1000).toFixed(1)}s`);
          console.log(`     serve it over http (ONNX Runtime Web cannot load .wasm from file://): npx http-server ${dir} -p 8080, or cd ${dir} && python3 -m http.server 8080`);
          summary.web = web;
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      console.log(`Export complete (${seconds.toFixed(1)}s)`);
      if (o.json) emitJson({ ...summary, seconds });
      model.dispose();
    });
}
