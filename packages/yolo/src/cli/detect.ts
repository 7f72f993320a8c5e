// tsyolo detect: detect.py's flags. Images and videos (through the system's ffmpeg): annotated
// images / .mp4 videos, labels/*.txt (video frames: labels/<stem>_<frame>.txt), crops/<class>/*.jpg,
// a JSON line per image or frame with --json. The run itself is runDetect (detect/run.ts).
import { Command } from '@commander-js/extra-typings';
import type { Command as CommanderCommand } from 'commander';
import type { Detection } from '../detect/detector.js';
import { type DetectedItem, runDetect } from '../detect/run.js';
import { requireCpu } from '../distributed/devices.js';
import { asCommand } from './command.js';
import { emitJson } from './output.js';
import { imgSize, intList, intsDefault, nonNegativeInt, positiveInt, unitFloat } from './parse.js';

/** detect.py's per-image summary: '2 persons, 1 bus' (or '(no detections)'). */
function countSummary(dets: Detection[]): string {
  const counts = new Map<string, number>();
  for (const d of dets) counts.set(d.name, (counts.get(d.name) ?? 0) + 1);
  return [...counts].map(([n, c]) => `${c} ${n}${c > 1 ? 's' : ''}`).join(', ') || '(no detections)';
}

/** detect's flags; the action receives them typed (DetectFlags). */
function declareDetect() {
  return new Command('detect')
    .description('detect objects in images and videos (yolov5 detect.py)')
    .option('--weights <files...>', 'model weights (several: an ensemble)')
    .requiredOption('--source <src>', 'image, video, directory, glob or .txt list (videos are read with ffmpeg)')
    .option('--imgsz, --img <px>', 'inference size', imgSize, 640)
    .option('--conf-thres <t>', 'confidence threshold', unitFloat, 0.25)
    .option('--iou-thres <t>', 'NMS IoU threshold', unitFloat, 0.45)
    .option('--max-det <n>', 'maximum detections per image', positiveInt, 1000)
    .option('--device <d>', 'cpu, or cuda device ids (0 or 0,1)', '')
    .option(
      '--cfg <yaml>',
      'model config, for weights files that do not carry one (plain state dicts, bare safetensors)',
    )
    .option('--save-txt', 'save results to labels/*.txt')
    .option('--save-conf', 'save confidences in --save-txt labels')
    .option('--save-crop', 'save cropped prediction boxes to crops/<class>/')
    .option('--nosave', 'do not save annotated images and videos')
    .option(
      '--classes <ids...>',
      'filter by class: --classes 0, or --classes 0 2 3',
      intList(nonNegativeInt),
      intsDefault([]),
    )
    .option('--agnostic-nms', 'class-agnostic NMS')
    .option('--augment', 'augmented inference (TTA)')
    .option('--project <dir>', 'save results to project/name', 'runs/detect')
    .option('--name <name>', 'save results to project/name', 'exp')
    .option('--exist-ok', 'existing project/name ok, do not increment')
    .option('--line-thickness <px>', 'bounding box thickness', positiveInt)
    .option('--hide-labels', 'hide labels')
    .option('--hide-conf', 'hide confidences')
    .option('--half', 'FP16 half-precision inference (CUDA only: ignored on the CPU)')
    .option('--vid-stride <n>', 'video frame-rate stride: keep every n-th frame', positiveInt, 1)
    .option('--json', 'print a JSON line per image or video frame and a JSON summary as the last line');
}

type DetectFlags = ReturnType<ReturnType<typeof declareDetect>['opts']>;

export function detectCommand(): CommanderCommand {
  return asCommand(declareDetect().action(detectAction));
}

async function detectAction(o: DetectFlags): Promise<void> {
  const t0 = performance.now();
  const weights = o.weights ?? [];
  if (!weights.length)
    throw new Error('--weights is required (a trained model, e.g. runs/train/exp/weights/best.safetensors)');
  requireCpu(o.device, 'detect');
  if (o.half) console.error('--half is ignored on the CPU (FP16 inference needs a CUDA device)');
  const r = await runDetect({
    weights,
    source: o.source,
    imgsz: o.img,
    confThres: o.confThres,
    iouThres: o.iouThres,
    maxDet: o.maxDet,
    classes: o.classes.length ? o.classes : undefined,
    agnostic: !!o.agnosticNms,
    augment: !!o.augment,
    cfg: o.cfg,
    device: o.device,
    project: o.project,
    name: o.name,
    existOk: o.existOk,
    nosave: o.nosave,
    saveTxt: o.saveTxt,
    saveConf: o.saveConf,
    saveCrop: o.saveCrop,
    lineThickness: o.lineThickness,
    hideLabels: !!o.hideLabels,
    hideConf: !!o.hideConf,
    vidStride: o.vidStride,
    onResult: (item) => printItem(item, !!o.json),
  });
  const s = r.speedMs;
  console.log(
    `Speed: ${s.pre.toFixed(1)}ms pre-process, ${s.inference.toFixed(1)}ms inference, ${s.nms.toFixed(1)}ms NMS per image`,
  );
  if (!o.nosave || o.saveTxt || o.saveCrop) console.log(`Results saved to ${r.saveDir}`);
  if (o.json) {
    emitJson({
      command: 'detect',
      saveDir: r.saveDir,
      images: r.images,
      skipped: r.skipped,
      videos: r.videos,
      frames: r.frames,
      detections: r.detections,
      speedMs: s,
      seconds: (performance.now() - t0) / 1000,
    });
  }
}

/** detect.py's line per image or video frame, and with --json its JSON line. */
function printItem(item: DetectedItem, json: boolean): void {
  const r = item.result;
  const at = `${item.index}/${item.count}`;
  const what = item.frame === undefined ? `image ${at}` : `video ${at} (${item.frame}/${item.frames})`;
  console.log(
    `${what} ${item.file}: ${r.height}x${r.width} ${countSummary(r.detections)}, ${r.speed.inference.toFixed(1)}ms`,
  );
  if (json)
    emitJson({
      image: item.file,
      ...(item.frame === undefined ? {} : { frame: item.frame }),
      width: r.width,
      height: r.height,
      detections: r.detections,
      speed: r.speed,
    });
}
