// The image and the option fields of a POST /v1/detect: the raw body (image/jpeg, image/png, image/webp,
// application/octet-stream; read by the content-type parsers registered in app.ts), or multipart/form-data
// with one file field `image` and text fields (conf, iou, classes, max_det, imgsz, or `options` holding a
// JSON object of them). Whatever else a form holds is a 400.

import type { Multipart } from '@fastify/multipart'; // its typings also add parts() and isMultipart() to FastifyRequest
import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';
import { parseJsonOptions } from './limits.js';

export const RAW_IMAGE_TYPES: readonly string[] = ['image/jpeg', 'image/png', 'image/webp', 'application/octet-stream'];

export interface Upload {
  bytes: Buffer;
  /** option sources from the form (the query string comes separately) */
  fields: Array<Record<string, unknown>>;
}

export interface UploadLimits {
  bodyLimit: number;
}

function fieldValue(v: unknown): unknown {
  return typeof v === 'string' || typeof v === 'number' ? v : JSON.stringify(v);
}

/** Multipart overhead allowed beyond the body limit (boundaries, part headers, option fields). */
const FORM_OVERHEAD = 64 * 1024;

async function readParts(parts: AsyncIterableIterator<Multipart>, seen: { part?: Multipart }): Promise<Upload> {
  let bytes: Buffer | null = null;
  const simple: Record<string, unknown> = {};
  const fields: Array<Record<string, unknown>> = [simple];
  for (let r = await parts.next(); !r.done; r = await parts.next()) {
    const part = r.value;
    seen.part = part;
    if (part.type === 'file') {
      if (part.fieldname !== 'image')
        throw new HttpError(400, `unknown file field '${part.fieldname}': send the image as the field 'image'`);
      if (bytes) throw new HttpError(400, 'one image per request');
      bytes = await part.toBuffer();
      continue;
    }
    if (part.valueTruncated) throw new HttpError(400, `field '${part.fieldname}' is too long`);
    if (part.fieldname === 'image') throw new HttpError(400, "the field 'image' must be a file");
    if (part.fieldname === 'options') {
      fields.push(parseJsonOptions(typeof part.value === 'string' ? part.value : JSON.stringify(part.value)));
      continue;
    }
    const prev = simple[part.fieldname];
    const v = fieldValue(part.value);
    simple[part.fieldname] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  if (!bytes) throw new HttpError(400, "multipart request without an 'image' file field");
  return { bytes, fields };
}

/** Reads (and drops) what is left of a refused form, so that its connection can serve the next request. */
async function drain(parts: AsyncIterableIterator<Multipart>, current: Multipart | undefined): Promise<void> {
  if (current?.type === 'file') current.file.resume();
  try {
    for (let r = await parts.next(); !r.done; r = await parts.next())
      if (r.value.type === 'file') r.value.file.resume();
  } catch {
    // the form is refused already; the first reason is the one to give
  }
}

async function readMultipart(req: FastifyRequest, lim: UploadLimits): Promise<Upload> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > lim.bodyLimit + FORM_OVERHEAD)
    throw new HttpError(413, `the body exceeds the limit of ${lim.bodyLimit} bytes`);
  const parts = req.parts({ limits: { fileSize: lim.bodyLimit, files: 2, fields: 16, parts: 18, fieldSize: 4096 } });
  const seen: { part?: Multipart } = {};
  try {
    return await readParts(parts, seen);
  } catch (e) {
    await drain(parts, seen.part);
    throw e;
  }
}

export async function readUpload(req: FastifyRequest, lim: UploadLimits): Promise<Upload> {
  if (req.isMultipart()) return readMultipart(req, lim);
  if (Buffer.isBuffer(req.body)) return { bytes: req.body, fields: [] };
  throw new HttpError(
    400,
    `no image: send it as the body (Content-Type ${RAW_IMAGE_TYPES.slice(0, 3).join(', ')}) or as the multipart file field 'image'`,
  );
}
