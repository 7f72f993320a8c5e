// What val saves per image besides the metrics: --save-txt labels (normalized xywh, with --save-conf the
// confidence) and --save-json COCO detections (top-left xywh in original pixels), from each batch's
// predictions mapped back to the original images.

import { basename, extname, join } from 'node:path';
import { type Tensor, tidy, writeFileAtomic } from '@tsyolo/torch';
import { scaleBoxes, xyxy2xywh } from '../../boxes/convert.js';
import type { CocoDetection } from '../../metrics/coco.js';
import { formatG, pyRound } from '../../util/python.js';
import type { ValBatch } from '../validator.js';
import { cocoImageId } from './coco.js';

/** A COCO detection; the image id is the file's stem when it is not numeric (cocoEval then refuses the file). */
export type ValCocoDetection = Omit<CocoDetection, 'image_id'> & { image_id: number | string };

export interface SavePredictionsOptions {
  /** folder of the --save-txt label files, or null for none */
  labelsDir: string | null;
  saveConf: boolean;
  saveJson: boolean;
}

/** The predictions a val run saves: label files as batches come, COCO detections and image ids kept here. */
export class SavedPredictions {
  /** COCO detections (--save-json) */
  readonly detections: ValCocoDetection[] = [];
  /** the COCO image id of every image seen, in order */
  readonly imageIds: (number | string)[] = [];

  constructor(private readonly opts: SavePredictionsOptions) {}

  /** Records one batch (validate's onBatch). */
  add(b: ValBatch): void {
    const [, , h, w] = b.images.shape;
    b.preds.forEach((p, si) => {
      const path = b.paths[si];
      this.imageIds.push(cocoImageId(path));
      if (!p.shape[0] || (!this.opts.labelsDir && !this.opts.saveJson)) return;
      const [h0, w0] = b.shapes[si];
      tidy(() => {
        const boxes = scaleBoxes([h, w], p.index(':', ':4'), [h0, w0], b.ratioPads[si]); // original-image xyxy
        const xywh = xyxy2xywh(boxes);
        const conf = p.index(':', 4).toArray();
        const cls = p.index(':', 5).toArray();
        if (this.opts.labelsDir)
          this.writeLabels(join(this.opts.labelsDir, `${basename(path, extname(path))}.txt`), xywh, conf, cls, w0, h0);
        if (this.opts.saveJson) this.addCoco(cocoImageId(path), xywh, conf, cls);
      });
    });
  }

  /** yolov5's save_one_txt: class, normalized xywh (and the confidence) per line, numbers as Python's %g. */
  private writeLabels(file: string, xywh: Tensor, conf: number[], cls: number[], w0: number, h0: number): void {
    const n = xywh.clone();
    for (const [i, v] of [w0, h0, w0, h0].entries()) n.index(':', i).div_(v);
    const v = n.toArray();
    const lines = conf.map((c, i) => {
      const row = [cls[i], v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3], ...(this.opts.saveConf ? [c] : [])];
      return row.map(formatG).join(' ');
    });
    writeFileAtomic(file, Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
  }

  /** yolov5's save_one_json: top-left xywh rounded to 3 decimals, score to 5. */
  private addCoco(id: number | string, xywh: Tensor, conf: number[], cls: number[]): void {
    const bb = xywh.clone();
    bb.index(':', ':2').sub_(xywh.index(':', '2:4').div(2)); // xy centre → top-left
    const v = bb.toArray();
    conf.forEach((c, i) => {
      this.detections.push({
        image_id: id,
        category_id: cls[i],
        bbox: [0, 1, 2, 3].map((k) => pyRound(v[4 * i + k], 3)),
        score: pyRound(c, 5),
      });
    });
  }
}
