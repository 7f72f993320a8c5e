// detect.py sources: an image, a video, a directory, a glob, or a .txt list of paths. As yolov5's
// LoadImages, images come first, then videos (each group in the order found); gif is a video here.
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { globSync } from 'tinyglobby';
import { IMG_FORMATS, imageExt, UNSUPPORTED_IMG_FORMATS } from '../data/files.js';
import { isVideo } from './video.js';

// formats sharp cannot read are listed too, so that they fail by name rather than vanish
const IMAGES = new Set<string>([...IMG_FORMATS, ...UNSUPPORTED_IMG_FORMATS]);

export function isImageSource(p: string): boolean {
  return IMAGES.has(imageExt(p)) && !isVideo(p);
}

function isMedia(p: string): boolean {
  return isImageSource(p) || isVideo(p);
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Images and videos under a folder (recursive, hidden entries skipped, symlinked folders not entered). */
function walk(dir: string, out: string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new Error(`cannot read folder ${dir}: ${(e as Error).message}`);
  }
  for (const n of names) {
    if (n.startsWith('.')) continue;
    const p = join(dir, n);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) walk(p, out);
    else if ((st.isFile() || st.isSymbolicLink()) && isMedia(n)) out.push(p);
  }
}

function imagesThenVideos(files: string[]): string[] {
  return [...files.filter((f) => !isVideo(f)), ...files.filter(isVideo)];
}

export function resolveSources(source: string): string[] {
  if (/[*?[]/.test(source)) return imagesThenVideos(globSync(source, { absolute: true }).filter(isMedia).sort(byCodePoint));
  if (!existsSync(source)) throw new Error(`${source}: no such file or directory`);
  if (statSync(source).isDirectory()) {
    const found: string[] = [];
    walk(resolve(source), found);
    return imagesThenVideos(found.sort(byCodePoint));
  }
  if (source.toLowerCase().endsWith('.txt')) {
    return imagesThenVideos(
      readFileSync(source, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .map((l) => resolve(dirname(source), l)),
    );
  }
  return [source];
}
