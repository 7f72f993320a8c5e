// tsyolo detect: detect.py's flags. Images and videos (through the system's ffmpeg): annotated
// images / .mp4 videos, labels/*.txt (video frames: labels/<stem>_<frame>.txt), crops/<class>/*.jpg,
// a JSON line per image or frame with --json.
import { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { writeFileAtomic } from '@tsyolo/torch';
import { Detector, type Detection, type DetectResult } from '../detect/detector.js';
import { annotate, annotateRaw, type AnnotateOptions } from '../detect/annotate.js';
import { readImage } from '../detect/image.js';
import { saveOneBox } from '../detect/crop.js';
import { resolveSources } from '../detect/sources.js';
import { requireFfmpeg } from '../detect/ffmpeg.js';
import { isVideo, probeVideo, readFrames } from '../detect/video.js';
import { VideoWriter } from '../detect/video-writer.js';
import type { RawImage } from '../data/types.js';
import { incrementPath } from '../engine/paths.js';
import { emitJson } from './output.js';
import { requireCpu } from '../distributed/devices.js';
import { imgSize, intList, intsDefault, nonNegativeInt, positiveInt, unitFloat } from './parse.js';

function labelLines(dets: Detection[], w: number, h: number, saveConf: boolean): string {
  return dets
    .map((d) => {
      const [x1, y1, x2, y2] = d.box;
      const v = [d.cls, (x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h];
      const s = [String(d.cls), ...v.slice(1).map((x) => x.toFixed(6))];
      if (saveConf) s.push(d.conf.toFixed(6));
      return s.join(' ');
    })
    .join('\n');
}

/** detect.py's per-image summary: '2 persons, 1 bus' (or '(no detections)'). */
function countSummary(dets: Detection[]): string {
  const counts = new Map<string, number>();
  for (const d of dets) counts.set(d.name, (counts.get(d.name) ?? 0) + 1);
  return [...counts].map(([n, c]) => `${c} ${n}${c > 1 ? 's' : ''}`).join(', ') || '(no detections)';
}

interface Outputs {
  saveDir: string;
  saveTxt: boolean;
  saveConf: boolean;
  saveCrop: boolean;
  json: boolean;
}

/** Labels, crops and the JSON line of one image or video frame (`frame` for videos, 1-based). */
async function saveResults(out: Outputs, file: string, r: DetectResult, img: RawImage | undefined, frame?: number): Promise<void> {
  const stem = basename(file, extname(file));
  const txtName = frame === undefined ? stem : `${stem}_${frame}`;
  if (out.saveTxt) writeFileAtomic(join(out.saveDir, 'labels', `${txtName}.txt`), new TextEncoder().encode(labelLines(r.detections, r.width, r.height, out.saveConf) + (r.detections.length ? '\n' : '')));
  if (out.saveCrop && img) {
    // detect.py walks reversed(det) (lowest confidence first): that order numbers repeated crop names
    for (const d of [...r.detections].reverse()) await saveOneBox(d.box, img, join(out.saveDir, 'crops', d.name, `${stem}.jpg`));
  }
  if (out.json) emitJson({ image: file, ...(frame === undefined ? {} : { frame }), width: r.width, height: r.height, detections: r.detections, speed: r.speed });
}

/** Decodes an image, or warns naming it and returns null: a corrupt image is skipped, as training skips them. */
async function decodeOrSkip(file: string): Promise<{ img: RawImage; ms: number } | null> {
  const t = performance.now();
  try {
    return { img: await readImage(file), ms: performance.now() - t };
  } catch (e) {
    console.warn(`WARNING ⚠️ ${(e as Error).message}; skipping it`);
    return null;
  }
}

export function detectCommand(): Command {
  return new Command('detect')
    .description('detect objects in images and videos (yolov5 detect.py)')
    .option('--weights <files...>', 'model weights (several: an ensemble)')
    .requiredOption('--source <src>', 'image, video, directory, glob or .txt list (videos are read with ffmpeg)')
    .option('--imgsz, --img <px>', 'inference size', imgSize, 640)
    .option('--conf-thres <t>', 'confidence threshold', unitFloat, 0.25)
    .option('--iou-thres <t>', 'NMS IoU threshold', unitFloat, 0.45)
    .option('--max-det <n>', 'maximum detections per image', positiveInt, 1000)
    .option('--device <d>', 'cpu, or cuda device ids (0 or 0,1)', '')
    .option('--cfg <yaml>', 'model config, for weights files that do not carry one (plain state dicts, bare safetensors)')
    .option('--save-txt', 'save results to labels/*.txt')
    .option('--save-conf', 'save confidences in --save-txt labels')
    .option('--save-crop', 'save cropped prediction boxes to crops/<class>/')
    .option('--nosave', 'do not save annotated images and videos')
    .option('--classes <ids...>', 'filter by class: --classes 0, or --classes 0 2 3', intList(nonNegativeInt), intsDefault([]))
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
    .option('--json', 'print a JSON line per image or video frame and a JSON summary as the last line')
    .action(async (o: Record<string, unknown>) => {
      const t0 = performance.now();
      const weights = (o.weights as string[] | undefined) ?? [];
      if (!weights.length) throw new Error('--weights is required (a trained model, e.g. runs/train/exp/weights/best.safetensors)');
      requireCpu(o.device as string, 'detect');
      if (o.half) console.error('--half is ignored on the CPU (FP16 inference needs a CUDA device)');
      const stride = o.vidStride as number;
      const files = resolveSources(o.source as string, { warn: (s) => console.warn(s) });
      if (!files.length) throw new Error(`${o.source as string}: no images or videos found`);
      const nVideos = files.filter(isVideo).length;
      for (const f of files) if (isVideo(f)) requireFfmpeg(f); // before the model loads
      const det = await Detector.load(weights, {
        imgsz: o.img as number,
        confThres: o.confThres as number,
        iouThres: o.iouThres as number,
        maxDet: o.maxDet as number,
        classes: (o.classes as number[]).length ? (o.classes as number[]) : undefined,
        agnostic: !!o.agnosticNms,
        augment: !!o.augment,
        cfg: o.cfg as string | undefined,
      });
      const saveDir = incrementPath(o.project as string, o.name as string, !!o.existOk);
      const out: Outputs = { saveDir, saveTxt: !!o.saveTxt, saveConf: !!o.saveConf, saveCrop: !!o.saveCrop, json: !!o.json };
      if (out.saveTxt) mkdirSync(join(saveDir, 'labels'), { recursive: true });
      const look: AnnotateOptions = { lineThickness: o.lineThickness as number | undefined, hideLabels: !!o.hideLabels, hideConf: !!o.hideConf };
      let total = 0;
      let frames = 0;
      const skipped: string[] = [];
      const speed = { pre: 0, inference: 0, nms: 0 };
      const tally = (r: DetectResult): void => {
        total += r.detections.length;
        speed.pre += r.speed.pre;
        speed.inference += r.speed.inference;
        speed.nms += r.speed.nms;
      };
      try {
        for (const [i, f] of files.entries()) {
          const at = `${i + 1}/${files.length}`;
          if (!isVideo(f)) {
            const decoded = await decodeOrSkip(f);
            if (!decoded) {
              skipped.push(f);
              continue;
            }
            const { img } = decoded;
            const r = await det.detect(img);
            r.speed.pre += decoded.ms; // decoding counts as pre-processing, as when detect() reads the file
            tally(r);
            console.log(`image ${at} ${f}: ${r.height}x${r.width} ${countSummary(r.detections)}, ${r.speed.inference.toFixed(1)}ms`);
            if (!o.nosave) await annotate(f, r.detections, join(saveDir, basename(f)), look);
            await saveResults(out, f, r, img);
            continue;
          }
          const info = await probeVideo(f);
          const expected = Math.floor(info.frames / stride);
          const writer = o.nosave ? undefined : new VideoWriter(join(saveDir, `${basename(f, extname(f))}.mp4`), info.width, info.height, info.fps);
          try {
            for await (const frame of readFrames(f, info, stride)) {
              const r = await det.detect(frame);
              tally(r);
              frames++;
              console.log(`video ${at} (${frame.frame}/${expected}) ${f}: ${r.height}x${r.width} ${countSummary(r.detections)}, ${r.speed.inference.toFixed(1)}ms`);
              if (writer) await writer.write(await annotateRaw(frame, r.detections, look));
              await saveResults(out, f, r, frame, frame.frame);
            }
            await writer?.close();
          } catch (e) {
            await writer?.abort();
            throw e;
          }
        }
      } finally {
        det.dispose();
      }
      const images = files.length - nVideos - skipped.length;
      if (skipped.length) console.warn(`WARNING ⚠️ ${skipped.length} of ${files.length - nVideos} images could not be read and were skipped: ${skipped.join(', ')}`);
      if (!images && !nVideos) throw new Error(`${o.source as string}: none of the ${skipped.length} images could be read (see the warnings above)`);
      const n = Math.max(images + frames, 1);
      console.log(`Speed: ${(speed.pre / n).toFixed(1)}ms pre-process, ${(speed.inference / n).toFixed(1)}ms inference, ${(speed.nms / n).toFixed(1)}ms NMS per image`);
      if (!o.nosave || out.saveTxt || out.saveCrop) console.log(`Results saved to ${saveDir}`);
      if (out.json) {
        emitJson({ command: 'detect', saveDir, images, skipped, videos: nVideos, frames, detections: total, speedMs: { pre: speed.pre / n, inference: speed.inference / n, nms: speed.nms / n }, seconds: (performance.now() - t0) / 1000 });
      }
    });
}
