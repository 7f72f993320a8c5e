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

export interface SourceOptions {
  /** where warnings go (default console.warn): .txt list lines that name nothing usable */
  warn?: (line: string) => void;
}

function globMedia(pattern: string): string[] {
  return globSync(pattern, { absolute: true }).filter(isMedia).sort(byCodePoint);
}

/** A .txt list: one image, video, folder or glob per line, relative to the list's folder; unusable lines are warned about and skipped. */
function fromList(list: string, warn: (line: string) => void): string[] {
  const out: string[] = [];
  readFileSync(list, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (!line) return;
      const p = resolve(dirname(list), line);
      const skip = (why: string): void => warn(`WARNING ⚠️ ${list} line ${i + 1}: '${line}' ${why}; skipped`);
      if (/[*?[]/.test(line)) {
        const found = globMedia(p);
        if (!found.length) skip('matches no images or videos');
        out.push(...found);
      } else if (!existsSync(p)) skip(`does not exist (${p}; relative paths start at the list's folder)`);
      else if (statSync(p).isDirectory()) out.push(...walkFiles(p, isMedia).sort(byCodePoint));
      else if (!isMedia(p)) skip('is not an image or video (by its extension)');
      else out.push(p);
    });
  return out;
}

export function resolveSources(source: string, opts: SourceOptions = {}): string[] {
  if (/[*?[]/.test(source)) return imagesThenVideos(globMedia(source));
  if (!existsSync(source)) throw new Error(`${source}: no such file or directory`);
  if (statSync(source).isDirectory()) {
    return imagesThenVideos(walkFiles(resolve(source), isMedia).sort(byCodePoint));
  }
  if (source.toLowerCase().endsWith('.txt')) return imagesThenVideos(fromList(source, opts.warn ?? console.warn));
  return [source];
}
