// results.csv with yolov5's columns and layout (each value right-aligned in 20 characters).
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '@tsyolo/torch';
import { readCsvTable } from '../util/csv-table.js';
import { g5 } from '../util/python.js';

export { g5 };
/** results.csv as its header and numeric rows. */
export const readResults = readCsvTable;

export const RESULT_KEYS = [
  'train/box_loss',
  'train/obj_loss',
  'train/cls_loss',
  'metrics/precision',
  'metrics/recall',
  'metrics/mAP_0.5',
  'metrics/mAP_0.5:0.95',
  'val/box_loss',
  'val/obj_loss',
  'val/cls_loss',
  'x/lr0',
  'x/lr1',
  'x/lr2',
] as const;

/** Adds a row (the whole file is rewritten atomically: a kill never leaves half a row). */
export function appendResults(file: string, epoch: number, values: readonly number[]): void {
  const old = existsSync(file)
    ? readFileSync(file, 'utf8')
    : `${['epoch', ...RESULT_KEYS].map((k) => k.padStart(20)).join(',')}\n`;
  writeFileAtomic(file, new TextEncoder().encode(`${old + [epoch, ...values].map(g5).join(',')}\n`));
}
