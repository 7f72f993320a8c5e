// detect.py sources: an image, a directory, a glob, or a .txt list of paths.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { globSync } from 'tinyglobby';
import { isSupportedImage, listImages } from '../data/files.js';

const VIDEO = new Set(['.mp4', '.mov', '.avi', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg', '.wmv']);

export function resolveSources(source: string): string[] {
  const lower = source.toLowerCase();
  if ([...VIDEO].some((e) => lower.endsWith(e))) {
    throw new Error(`${source}: video sources are not supported yet (decode frames with ffmpeg to a folder of images and pass the folder)`);
  }
  if (/[*?[]/.test(source)) return globSync(source, { absolute: true }).filter((f) => isSupportedImage(f)).sort();
  if (!existsSync(source)) throw new Error(`${source}: no such file or directory`);
  if (statSync(source).isDirectory()) return listImages([source]);
  if (lower.endsWith('.txt')) {
    return readFileSync(source, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => resolve(dirname(source), l));
  }
  return [source];
}
