// Run folders as yolov5 names them (runs/train/exp, exp2, exp3, ...) and image sizes rounded to the stride.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Claims the run folder project/name, or name2, name3, … when it exists (yolov5's increment_path with
 * mkdir=True), atomically: each candidate is created with a non-recursive mkdir, which fails when
 * another process took it first, so two runs started together never share a folder. With existOk the
 * folder is used as it is.
 */
export function incrementPath(project: string, name: string, existOk = false): string {
  const base = join(project, name);
  if (existOk) {
    mkdirSync(base, { recursive: true });
    return base;
  }
  mkdirSync(dirname(base), { recursive: true });
  for (let n = 1; ; n++) {
    const p = n === 1 ? base : `${base}${n}`;
    try {
      mkdirSync(p);
      return p;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** An image size that is a multiple of the stride (rounded up, at least floor), as check_img_size. */
export function checkImgSize(imgsz: number, stride: number, floor = 0, log?: (s: string) => void): number {
  const size = Math.max(Math.ceil(imgsz / stride) * stride, floor);
  if (size !== imgsz) log?.(`--imgsz ${imgsz} must be a multiple of max stride ${stride}, updating to ${size}`);
  return size;
}
