// tsyolo export: export.py's flags for ONNX, TensorRTx .wts and a browser page, written next to the
// weights (best.pt → best.onnx, best.wts, best_web/), each only after it checks out. The run itself is
// runExport (export/run.ts).
import { Command, InvalidArgumentError } from '@commander-js/extra-typings';
import type { Command as CommanderCommand } from 'commander';
import { requireCpu } from '../distributed/devices.js';
import { MAX_OPSET, MIN_OPSET } from '../export/check.js';
import { EXPORT_FORMATS, type ExportFormat, isExportFormat, runExport } from '../export/run.js';
import { asCommand } from './command.js';
import { emitJson } from './output.js';
import { imgSize, intIn, intList, intsDefault, positiveInt } from './parse.js';

/** --include: formats accumulate (without repeats) and replace the default. */
function formats(v: string, prev: ExportFormat[] | undefined): ExportFormat[] {
  const f = v.toLowerCase().replace(/^\./, '');
  if (!isExportFormat(f))
    throw new InvalidArgumentError(`'${v}' is not an export format (${EXPORT_FORMATS.join(', ')})`);
  return prev && !defaultFormats.has(prev) ? [...new Set([...prev, f])] : [f];
}
const defaultFormats = new WeakSet<ExportFormat[]>();
const onnxOnly: ExportFormat[] = ['onnx'];
defaultFormats.add(onnxOnly);

/** --dynamic: true for batch, height and width, or 'batch' for the batch only. */
function dynamicAxes(dyn: string | true | undefined): boolean | 'batch' {
  if (typeof dyn === 'string' && dyn !== 'batch')
    throw new Error(
      `--dynamic ${dyn}: the only partial choice is 'batch' (plain --dynamic makes batch, height and width dynamic)`,
    );
  return dyn === 'batch' ? 'batch' : !!dyn;
}

/** export's flags; the action receives them typed (ExportFlags). */
function declareExport() {
  return new Command('export')
    .description(
      'export a model to ONNX, TensorRTx .wts and/or a browser page running the ONNX model (yolov5 export.py)',
    )
    .requiredOption('--weights <file>', 'model weights (.pt, .safetensors, tsyolo checkpoint)')
    .option('--include <formats...>', `formats: ${EXPORT_FORMATS.join(', ')}`, formats, onnxOnly)
    .option('--imgsz, --img <px...>', 'image size: one side (square) or h w', intList(imgSize), intsDefault([640]))
    .option('--batch-size <n>', 'batch size', positiveInt, 1)
    .option('--opset <n>', `ONNX opset (${MIN_OPSET}..${MAX_OPSET})`, intIn(MIN_OPSET, MAX_OPSET), 12)
    .option('--dynamic [axes]', "ONNX dynamic axes: batch, height and width; '--dynamic batch' for the batch only")
    .option('--half', 'ONNX with float16 weights and input/output (for GPU runtimes)')
    .option('--cfg <yaml>', 'model config, for weights files that do not carry one')
    .option('--no-verify', 'skip the ONNX Runtime comparison (the structural check still runs)')
    .option('--threads <n>', 'ONNX Runtime threads for the comparison', positiveInt, 2)
    .option('--device <d>', 'cpu', '')
    .option('--json', 'print a JSON summary as the last line');
}

type ExportFlags = ReturnType<ReturnType<typeof declareExport>['opts']>;

export function exportCommand(): CommanderCommand {
  return asCommand(declareExport().action(exportAction));
}

async function exportAction(o: ExportFlags): Promise<void> {
  const t0 = performance.now();
  requireCpu(o.device, 'export');
  const sizes = o.img;
  if (sizes.length > 2) throw new Error(`--imgsz takes one or two values (h w), got ${sizes.length}`);
  const r = await runExport({
    weights: o.weights,
    include: o.include,
    imgsz: [sizes[0], sizes[1] ?? sizes[0]],
    batchSize: o.batchSize,
    opset: o.opset,
    dynamic: dynamicAxes(o.dynamic),
    half: !!o.half,
    cfg: o.cfg,
    verify: o.verify,
    threads: o.threads,
    device: o.device,
  });
  const seconds = (performance.now() - t0) / 1000;
  console.log(`Export complete (${seconds.toFixed(1)}s)`);
  if (o.json) emitJson({ command: 'export', ...r, seconds });
}
