// A whole detect.py run: images and videos (through the system's ffmpeg) from a source, annotated
// images / .mp4 videos, labels/*.txt (video frames: labels/<stem>_<frame>.txt) and crops/<class>/*.jpg
// in a run folder, per-image results to a callback, totals and mean speeds in the result.

import { mkdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { writeFileAtomic } from '@tsyolo/torch';
import type { RawImage } from '../data/types.js';
import { requireCpu } from '../distributed/devices.js';
import { incrementPath } from '../util/paths.js';
import { type AnnotateOptions, annotate, annotateRaw } from './annotate.js';
import { saveOneBox } from './crop.js';
import { type Detection, type DetectOptions, Detector, type DetectResult } from './detector.js';
import { requireFfmpeg } from './ffmpeg.js';
import { readImage } from './image.js';
import { resolveSources } from './sources.js';
import { isVideo, probeVideo, readFrames } from './video.js';
import { VideoWriter } from './video-writer.js';

export interface RunDetectOptions extends DetectOptions, AnnotateOptions {
  /** weights files (several: an ensemble), or one .onnx file */
  weights: string | string[];
  /** image, video, directory, glob or .txt list */
  source: string;
  /** cpu (the default '') only for now */
  device?: string;
  /** results go to project/name (default runs/detect, exp; incremented unless existOk) */
  project?: string;
  name?: string;
  existOk?: boolean;
  /** no annotated images and videos */
  nosave?: boolean;
  /** labels/*.txt: class and normalized xywh per detection */
  saveTxt?: boolean;
  /** confidences in the labels */
  saveConf?: boolean;
  /** crops/<class>/<stem>.jpg per detection */
  saveCrop?: boolean;
  /** video frame-rate stride: every n-th frame (default 1) */
  vidStride?: number;
  /** warnings (default console.warn): .txt list lines naming nothing usable, images that cannot be read */
  warn?: (line: string) => void;
  /** called for each image or video frame once its outputs are saved */
  onResult?: (item: DetectedItem) => void;
}

/** The result of one image or video frame. */
export interface DetectedItem {
  file: string;
  /** 1-based position of the file among the sources, and their count */
  index: number;
  count: number;
  /** for a video: the frame number (1-based) and the frames expected at the stride */
  frame?: number;
  frames?: number;
  result: DetectResult;
}

export interface RunDetectResult {
  saveDir: string;
  /** images detected on (unreadable ones aside) */
  images: number;
  /** images that could not be read */
  skipped: string[];
  videos: number;
  /** video frames detected on */
  frames: number;
  detections: number;
  /** mean ms per image or frame: pre-process (decoding included), inference, NMS */
  speedMs: { pre: number; inference: number; nms: number };
}

/** What a run adds up and writes to, shared by its image and video steps. */
interface Run {
  o: RunDetectOptions;
  det: Detector;
  saveDir: string;
  look: AnnotateOptions;
  warn: (line: string) => void;
  skipped: string[];
  frames: number;
  detections: number;
  speed: { pre: number; inference: number; nms: number };
}

/** Detects objects in images and videos and saves what detect.py saves (yolov5's detect.py run()). */
export async function runDetect(o: RunDetectOptions): Promise<RunDetectResult> {
  const warn = o.warn ?? ((s: string) => console.warn(s));
  requireCpu(o.device ?? '', 'detect');
  const files = resolveSources(o.source, { warn });
  if (!files.length) throw new Error(`${o.source}: no images or videos found`);
  const videos = files.filter(isVideo).length;
  for (const f of files) if (isVideo(f)) requireFfmpeg(f); // before the model loads
  const det = await Detector.load(o.weights, {
    imgsz: o.imgsz,
    confThres: o.confThres,
    iouThres: o.iouThres,
    maxDet: o.maxDet,
    classes: o.classes,
    agnostic: o.agnostic,
    auto: o.auto,
    augment: o.augment,
    cfg: o.cfg,
    threads: o.threads,
  });
  const look: AnnotateOptions = { lineThickness: o.lineThickness, hideLabels: o.hideLabels, hideConf: o.hideConf };
  const run: Run = {
    o,
    det,
    saveDir: '',
    look,
    warn,
    skipped: [],
    frames: 0,
    detections: 0,
    speed: { pre: 0, inference: 0, nms: 0 },
  };
  try {
    run.saveDir = incrementPath(o.project ?? 'runs/detect', o.name ?? 'exp', !!o.existOk);
    if (o.saveTxt) mkdirSync(join(run.saveDir, 'labels'), { recursive: true });
    for (const [i, f] of files.entries()) {
      const at = { file: f, index: i + 1, count: files.length };
      if (isVideo(f)) await detectVideo(run, at);
      else await detectImage(run, at);
    }
  } finally {
    det.dispose();
  }
  const { skipped, frames, speed } = run;
  const images = files.length - videos - skipped.length;
  if (skipped.length)
    warn(
      `WARNING ⚠️ ${skipped.length} of ${files.length - videos} images could not be read and were skipped: ${skipped.join(', ')}`,
    );
  if (!images && !videos)
    throw new Error(`${o.source}: none of the ${skipped.length} images could be read (see the warnings above)`);
  const n = Math.max(images + frames, 1);
  return {
    saveDir: run.saveDir,
    images,
    skipped,
    videos,
    frames,
    detections: run.detections,
    speedMs: { pre: speed.pre / n, inference: speed.inference / n, nms: speed.nms / n },
  };
}

type Position = Pick<DetectedItem, 'file' | 'index' | 'count'>;

/** One image: decoded (or skipped with a warning when it cannot be), detected, annotated and saved. */
async function detectImage(run: Run, at: Position): Promise<void> {
  const t = performance.now();
  let img: RawImage;
  try {
    img = await readImage(at.file);
  } catch (e) {
    run.warn(`WARNING ⚠️ ${e instanceof Error ? e.message : String(e)}; skipping it`); // a corrupt image is skipped, as training skips them
    run.skipped.push(at.file);
    return;
  }
  const ms = performance.now() - t;
  const r = await run.det.detect(img);
  r.speed.pre += ms; // decoding counts as pre-processing, as when detect() reads the file
  tally(run, r);
  if (!run.o.nosave) await annotate(at.file, r.detections, join(run.saveDir, basename(at.file)), run.look);
  await saveResults(run, at.file, r, img);
  run.o.onResult?.({ ...at, result: r });
}

/** One video: every vid-stride-th frame detected, written annotated to <stem>.mp4 and saved. */
async function detectVideo(run: Run, at: Position): Promise<void> {
  const stride = run.o.vidStride ?? 1;
  const info = await probeVideo(at.file);
  const frames = Math.floor(info.frames / stride);
  const writer = run.o.nosave
    ? undefined
    : new VideoWriter(
        join(run.saveDir, `${basename(at.file, extname(at.file))}.mp4`),
        info.width,
        info.height,
        info.fps,
      );
  try {
    for await (const frame of readFrames(at.file, info, stride)) {
      const r = await run.det.detect(frame);
      tally(run, r);
      run.frames++;
      if (writer) await writer.write(await annotateRaw(frame, r.detections, run.look));
      await saveResults(run, at.file, r, frame, frame.frame);
      run.o.onResult?.({ ...at, frame: frame.frame, frames, result: r });
    }
    await writer?.close();
  } catch (e) {
    await writer?.abort();
    throw e;
  }
}

function tally(run: Run, r: DetectResult): void {
  run.detections += r.detections.length;
  run.speed.pre += r.speed.pre;
  run.speed.inference += r.speed.inference;
  run.speed.nms += r.speed.nms;
}

/** Labels and crops of one image or video frame (`frame` for videos, 1-based). */
async function saveResults(run: Run, file: string, r: DetectResult, img: RawImage, frame?: number): Promise<void> {
  const stem = basename(file, extname(file));
  const txtName = frame === undefined ? stem : `${stem}_${frame}`;
  if (run.o.saveTxt)
    writeFileAtomic(
      join(run.saveDir, 'labels', `${txtName}.txt`),
      new TextEncoder().encode(
        labelLines(r.detections, r.width, r.height, !!run.o.saveConf) + (r.detections.length ? '\n' : ''),
      ),
    );
  if (run.o.saveCrop) {
    // detect.py walks reversed(det) (lowest confidence first): that order numbers repeated crop names
    for (const d of [...r.detections].reverse())
      await saveOneBox(d.box, img, join(run.saveDir, 'crops', d.name, `${stem}.jpg`));
  }
}

/** detect.py's label lines: class, normalized centre x, y, width, height (and the confidence), 6 decimals. */
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
