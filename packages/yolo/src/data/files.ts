// Image file lists from dataset sources (folders, .txt lists, single files) and yolov5's
// image → label path rule.
import { existsSync, lstatSync, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname, extname, isAbsolute, join, resolve, sep } from 'node:path';

/** Extensions this package decodes (what sharp/libvips reads in its prebuilt form). */
export const IMG_FORMATS = ['jpg', 'jpeg', 'png', 'webp', 'tif', 'tiff', 'gif', 'avif'] as const;
/**
 * Extensions yolov5 lists as images that sharp cannot decode: such files are still listed, so that
 * verification refuses them by name with a clear reason rather than dropping them silently.
 */
export const UNSUPPORTED_IMG_FORMATS = ['bmp', 'dng', 'mpo', 'pfm'] as const;

const LISTED = new Set<string>([...IMG_FORMATS, ...UNSUPPORTED_IMG_FORMATS]);

/** The lower-case extension without the dot ('' when none). */
export function imageExt(p: string): string {
  return extname(p).slice(1).toLowerCase();
}
export function isSupportedImage(p: string): boolean {
  return (IMG_FORMATS as readonly string[]).includes(imageExt(p));
}

/**
 * Files under a folder whose names `keep` accepts: recursive, hidden entries skipped (macOS '._x.jpg',
 * our own temp files); symlinked folders are not entered (no loops, no escaping the dataset), symlinked
 * files are listed and judged later.
 */
export function walkFiles(dir: string, keep: (name: string) => boolean, out: string[] = []): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new Error(`cannot read folder ${dir}: ${(e as Error).message}`);
  }
  for (const n of names) {
    if (n.startsWith('.')) continue;
    const p = join(dir, n);
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) walkFiles(p, keep, out);
    else if ((st.isFile() || st.isSymbolicLink()) && keep(n)) out.push(p);
  }
  return out;
}

function walk(dir: string, out: string[]): void {
  walkFiles(dir, (n) => LISTED.has(imageExt(n)), out);
}

export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface ListImagesOptions {
  /** relative lines of .txt lists that do not start with './' resolve against this (default: the list's folder) */
  root?: string;
}

/**
 * Image files from sources: a folder (searched recursively, hidden entries skipped), a .txt file
 * listing one image per line (lines starting with './' are relative to the list's folder, other
 * relative lines to `root`), or an image file. Each source's images are sorted by code point; sources
 * keep their order; repeats in lists are kept (yolov5 behaviour, used to oversample). Paths are
 * absolute. Throws when a source does not exist or when nothing is found.
 */
export function listImages(sources: string | readonly string[], opts: ListImagesOptions = {}): string[] {
  const srcs = typeof sources === 'string' ? [sources] : sources;
  const all: string[] = [];
  for (const s of srcs) {
    const p = resolve(s);
    if (!existsSync(p)) throw new Error(`${p} does not exist`);
    const st = statSync(p);
    const found: string[] = [];
    if (st.isDirectory()) {
      walk(p, found);
    } else if (LISTED.has(imageExt(p))) {
      found.push(p);
    } else {
      const parent = dirname(p);
      const base = opts.root ? resolve(opts.root) : parent;
      for (const raw of readFileSync(p, 'utf8').split(/\r?\n/)) {
        const line = raw.trim();
        if (!line || line.startsWith('#')) continue;
        if (!LISTED.has(imageExt(line))) continue;
        if (line.startsWith('./')) found.push(resolve(parent, line));
        else found.push(isAbsolute(line) ? resolve(line) : resolve(base, line));
      }
    }
    found.sort(byCodePoint);
    all.push(...found);
  }
  if (all.length === 0) throw new Error(`no images found in ${srcs.join(', ')}`);
  return all;
}

/**
 * yolov5's rule: the last '/images/' in the path becomes '/labels/' and the extension '.txt'
 * (`sb.join(x.rsplit(sa, 1)).rsplit('.', 1)[0] + '.txt'`).
 */
export function img2labelPath(p: string): string {
  const sa = `${sep}images${sep}`;
  const sb = `${sep}labels${sep}`;
  const i = p.lastIndexOf(sa);
  const x = i < 0 ? p : p.slice(0, i) + sb + p.slice(i + sa.length);
  const d = x.lastIndexOf('.');
  return `${d < 0 ? x : x.slice(0, d)}.txt`;
}
