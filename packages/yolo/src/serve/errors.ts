// The errors a request can end with: an HTTP status, a reason for the client, and extra headers
// (Retry-After on 503). Plain data, so the decode workers can send them back as messages.

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** What travels from a decode worker when an image is refused. */
export interface HttpErrorData {
  statusCode: number;
  message: string;
}

export function toErrorData(e: unknown): HttpErrorData {
  if (e instanceof HttpError) return { statusCode: e.statusCode, message: e.message };
  return { statusCode: 500, message: (e as Error)?.message ?? String(e) };
}
