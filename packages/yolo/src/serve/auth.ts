// Bearer-token authentication: `Authorization: Bearer <key>`, compared in constant time (SHA-256 digests
// of both sides, so neither the key's length nor its first differing byte shows in the timing).
import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from './errors.js';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** A checker for one key: throws a 401 unless the header carries it. */
export function bearerAuth(apiKey: string): (authorization: string | undefined) => void {
  if (!apiKey) throw new Error('the API key must not be empty');
  const want = digest(apiKey);
  const challenge = { 'WWW-Authenticate': 'Bearer realm="tsyolo"' };
  return (authorization) => {
    const m = /^Bearer[ ]+(\S.*)$/i.exec(authorization ?? '');
    if (!m) throw new HttpError(401, 'missing API key: send Authorization: Bearer <key>', challenge);
    if (!timingSafeEqual(digest(m[1].trim()), want)) throw new HttpError(401, 'invalid API key', challenge);
  };
}
