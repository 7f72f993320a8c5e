// results.csv with yolov5's columns and layout (each value right-aligned in 20 characters).
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '@tsyolo/torch';

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

/** Python's '%20.5g'. */
export function g5(v: number): string {
  let s: string;
  if (v === 0) s = '0';
  else {
    const exp = Math.floor(Math.log10(Math.abs(v)));
    if (exp < -4 || exp >= 5) {
      s = v.toExponential(4).replace(/\.?0+e/, 'e');
      s = s.replace(/e([+-])(\d)$/, 'e$10$2');
    } else {
      s = Number(v.toPrecision(5)).toString();
    }
  }
  return s.padStart(20);
}

/** Adds a row (the whole file is rewritten atomically: a kill never leaves half a row). */
export function appendResults(file: string, epoch: number, values: readonly number[]): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : ['epoch', ...RESULT_KEYS].map((k) => k.padStart(20)).join(',') + '\n';
  writeFileAtomic(file, new TextEncoder().encode(old + [epoch, ...values].map(g5).join(',') + '\n'));
}

export function readResults(file: string): { header: string[]; rows: number[][] } {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  return { header: lines[0].split(',').map((s) => s.trim()), rows: lines.slice(1).map((l) => l.split(',').map(Number)) };
}
