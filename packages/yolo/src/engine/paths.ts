// Run directories as yolov5 names them: runs/train/exp, exp2, exp3, ...
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export function incrementPath(project: string, name: string, existOk = false): string {
  let p = join(project, name);
  if (existsSync(p) && !existOk) {
    for (let n = 2; ; n++) {
      const candidate = join(project, `${name}${n}`);
      if (!existsSync(candidate)) {
        p = candidate;
        break;
      }
    }
  }
  mkdirSync(p, { recursive: true });
  return p;
}

/** An image size that is a multiple of the stride (rounded up, at least floor), as check_img_size. */
export function checkImgSize(imgsz: number, stride: number, floor = 0, log?: (s: string) => void): number {
  const size = Math.max(Math.ceil(imgsz / stride) * stride, floor);
  if (size !== imgsz) log?.(`--imgsz ${imgsz} must be a multiple of max stride ${stride}, updating to ${size}`);
  return size;
}
