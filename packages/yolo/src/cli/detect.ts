// tsyolo detect: detect.py's flags. Annotated images, labels/*.txt, a JSON line per image with --json.
import { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { writeFileAtomic } from '@tsyolo/torch';
import { Detector, type Detection } from '../detect/detector.js';
import { annotate } from '../detect/annotate.js';
import { resolveSources } from '../detect/sources.js';
import { incrementPath } from '../engine/paths.js';
import { emitJson } from './output.js';
import { float, int, ints, intsDefault } from './parse.js';

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

export function detectCommand(): Command {
  return new Command('detect')
    .description('detect objects in images (yolov5 detect.py)')
    .option('--weights <files...>', 'model weights (several: an ensemble)')
    .requiredOption('--source <src>', 'image, directory, glob or .txt list')
    .option('--imgsz, --img <px>', 'inference size', int, 640)
    .option('--conf-thres <t>', 'confidence threshold', float, 0.25)
    .option('--iou-thres <t>', 'NMS IoU threshold', float, 0.45)
    .option('--max-det <n>', 'maximum detections per image', int, 1000)
    .option('--device <d>', 'cpu or cuda device', '')
    .option('--save-txt', 'save results to labels/*.txt')
    .option('--save-conf', 'save confidences in --save-txt labels')
    .option('--nosave', 'do not save annotated images')
    .option('--classes <ids...>', 'filter by class: --classes 0, or --classes 0 2 3', ints, intsDefault([]))
    .option('--agnostic-nms', 'class-agnostic NMS')
    .option('--augment', 'augmented inference (TTA)')
    .option('--project <dir>', 'save results to project/name', 'runs/detect')
    .option('--name <name>', 'save results to project/name', 'exp')
    .option('--exist-ok', 'existing project/name ok, do not increment')
    .option('--line-thickness <px>', 'bounding box thickness', int)
    .option('--hide-labels', 'hide labels')
    .option('--hide-conf', 'hide confidences')
    .option('--json', 'print a JSON line per image and a JSON summary as the last line')
    .action(async (o: Record<string, unknown>) => {
      const t0 = performance.now();
      const weights = (o.weights as string[] | undefined) ?? [];
      if (!weights.length) throw new Error('--weights is required (a trained model, e.g. runs/train/exp/weights/best.safetensors)');
      if (o.device && o.device !== 'cpu') throw new Error(`--device ${o.device as string}: this build runs on the CPU; use --device cpu`);
      const files = resolveSources(o.source as string);
      if (!files.length) throw new Error(`${o.source as string}: no images found`);
      const det = await Detector.load(weights, {
        imgsz: o.img as number,
        confThres: o.confThres as number,
        iouThres: o.iouThres as number,
        maxDet: o.maxDet as number,
        classes: (o.classes as number[]).length ? (o.classes as number[]) : undefined,
        agnostic: !!o.agnosticNms,
        augment: !!o.augment,
      });
      const saveDir = incrementPath(o.project as string, o.name as string, !!o.existOk);
      if (o.saveTxt) mkdirSync(join(saveDir, 'labels'), { recursive: true });
      let total = 0;
      const speed = { pre: 0, inference: 0, nms: 0 };
      for (const f of files) {
        const r = await det.detect(f);
        total += r.detections.length;
        speed.pre += r.speed.pre;
        speed.inference += r.speed.inference;
        speed.nms += r.speed.nms;
        const counts = new Map<string, number>();
        for (const d of r.detections) counts.set(d.name, (counts.get(d.name) ?? 0) + 1);
        const summary = [...counts].map(([n, c]) => `${c} ${n}${c > 1 ? 's' : ''}`).join(', ') || '(no detections)';
        console.log(`${f}: ${r.height}x${r.width} ${summary}, ${r.speed.inference.toFixed(1)}ms`);
        const stem = basename(f, extname(f));
        if (!o.nosave) await annotate(f, r.detections, join(saveDir, basename(f)), { lineThickness: o.lineThickness as number | undefined, hideLabels: !!o.hideLabels, hideConf: !!o.hideConf });
        if (o.saveTxt) writeFileAtomic(join(saveDir, 'labels', `${stem}.txt`), new TextEncoder().encode(labelLines(r.detections, r.width, r.height, !!o.saveConf) + (r.detections.length ? '\n' : '')));
        if (o.json) emitJson({ image: f, width: r.width, height: r.height, detections: r.detections, speed: r.speed });
      }
      const n = files.length;
      console.log(`Speed: ${(speed.pre / n).toFixed(1)}ms pre-process, ${(speed.inference / n).toFixed(1)}ms inference, ${(speed.nms / n).toFixed(1)}ms NMS per image`);
      if (!o.nosave || o.saveTxt) console.log(`Results saved to ${saveDir}`);
      det.dispose();
      if (o.json) emitJson({ command: 'detect', saveDir, images: n, detections: total, speedMs: { pre: speed.pre / n, inference: speed.inference / n, nms: speed.nms / n }, seconds: (performance.now() - t0) / 1000 });
    });
}
