// The per-request options of POST /v1/detect (conf, iou, classes, max_det, imgsz) from the query string,
// multipart fields or a JSON `options` field, checked against the server's limits. Anything unknown,
// repeated across sources, malformed or out of range is a 400 that says which and why.
import { HttpError } from './errors.js';

/** The server's defaults and bounds for one request. */
export interface RequestLimits {
  confThres: number;
  iouThres: number;
  maxDet: number;
  imgsz: number;
  /** largest max_det a request may ask for */
  maxDetLimit: number;
  /** largest imgsz a request may ask for */
  maxImgsz: number;
  /** the model's input size when it is fixed (an ONNX file exported without dynamic axes) */
  fixedSize: [number, number] | null;
  nc: number;
}

/** A request's options, resolved. */
export interface RequestOptions {
  confThres: number;
  iouThres: number;
  maxDet: number;
  classes?: number[];
  imgsz: number;
}

export const OPTION_NAMES: readonly string[] = ['conf', 'iou', 'classes', 'max_det', 'imgsz'];

function scalar(name: string, v: unknown): number {
  const s = Array.isArray(v) && v.length === 1 ? v[0] : v;
  if (typeof s === 'number') return s;
  if (typeof s === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(s)) return Number(s);
  throw new HttpError(400, `${name}: expected one number, got ${JSON.stringify(v)}`);
}

function inRange(name: string, v: number, lo: number, hi: number, integer: boolean): number {
  if (integer && !Number.isInteger(v)) throw new HttpError(400, `${name}: ${v} is not an integer`);
  if (!(v >= lo && v <= hi)) throw new HttpError(400, `${name}: ${v} is outside [${lo}, ${hi}]`);
  return v;
}

function classList(v: unknown, nc: number): number[] {
  const items = (Array.isArray(v) ? v : [v]).flatMap((x) => (typeof x === 'string' ? x.split(',') : [x]));
  if (!items.length || items.length > nc) throw new HttpError(400, `classes: expected 1 to ${nc} class indices`);
  const ids = items.map((x) => inRange('classes', scalar('classes', x), 0, nc - 1, true));
  return [...new Set(ids)];
}

/** Merges option sources (query, form fields, JSON), refusing unknown and repeated names. */
export function mergeOptionSources(sources: ReadonlyArray<Readonly<Record<string, unknown>>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const src of sources) {
    for (const [k, v] of Object.entries(src)) {
      if (!OPTION_NAMES.includes(k))
        throw new HttpError(400, `unknown option '${k}' (known: ${OPTION_NAMES.join(', ')})`);
      if (k in out) throw new HttpError(400, `option '${k}' given twice`);
      out[k] = v;
    }
  }
  return out;
}

/** The options of one request, defaults from the server filled in. */
export function resolveOptions(raw: Readonly<Record<string, unknown>>, lim: RequestLimits): RequestOptions {
  const o: RequestOptions = { confThres: lim.confThres, iouThres: lim.iouThres, maxDet: lim.maxDet, imgsz: lim.imgsz };
  if (raw.conf !== undefined) o.confThres = inRange('conf', scalar('conf', raw.conf), 0, 1, false);
  if (raw.iou !== undefined) o.iouThres = inRange('iou', scalar('iou', raw.iou), 0, 1, false);
  if (raw.max_det !== undefined)
    o.maxDet = inRange('max_det', scalar('max_det', raw.max_det), 1, lim.maxDetLimit, true);
  if (raw.classes !== undefined) o.classes = classList(raw.classes, lim.nc);
  if (raw.imgsz !== undefined) {
    o.imgsz = inRange('imgsz', scalar('imgsz', raw.imgsz), 32, lim.maxImgsz, true);
    const f = lim.fixedSize;
    if (f && (o.imgsz !== f[0] || o.imgsz !== f[1]))
      throw new HttpError(400, `imgsz: the model's input is fixed at ${f[0]}x${f[1]}`);
  }
  return o;
}

/** The JSON `options` field of a multipart request: an object of options. */
export function parseJsonOptions(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `options: not JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new HttpError(400, 'options: expected a JSON object');
  return v as Record<string, unknown>;
}
