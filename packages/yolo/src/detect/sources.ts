// detect.py sources: an image, a video, a directory, a glob, or a .txt list of paths. As yolov5's
// LoadImages, images come first, then videos (each group in the order found); gif is a video here.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { globSync } from 'tinyglobby';
import { byCodePoint, IMG_FORMATS, imageExt, UNSUPPORTED_IMG_FORMATS, walkFiles } from '../data/files.js';
import { isVideo } from './video.js';

// formats sharp cannot read are listed too, so that they fail by name rather than vanish
const IMAGES = new Set<string>([...IMG_FORMATS, ...UNSUPPORTED_IMG_FORMATS]);

export function isImageSource(p: string): boolean {
  return IMAGES.has(imageExt(p)) && !isVideo(p);
}

function isMedia(p: string): boolean {
  return isImageSource(p) || isVideo(p);
}

function imagesThenVideos(files: string[]): string[] {
  return [...files.filter((f) => !isVideo(f)), ...files.filter(isVideo)];
}

export function resolveSources(source: string): string[] {
  if (/[*?[]/.test(source)) return imagesThenVideos(globSync(source, { absolute: true }).filter(isMedia).sort(byCodePoint));
  if (!existsSync(source)) throw new Error(`${source}: no such file or directory`);
  if (statSync(source).isDirectory()) {
    return imagesThenVideos(walkFiles(resolve(source), isMedia).sort(byCodePoint));
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
