// The bounded queue in front of the model: at most `capacity` detect requests are admitted at once (from
// their headers to their answer); the next one gets a 503 at once, with a Retry-After from the recent
// rate of answers (the time the queue ahead takes to drain, at least 1 s).
import { HttpError } from './errors.js';

export class Admission {
  private n = 0;
  private lastDone = 0;
  /** exponentially weighted mean ms between answers */
  private interval = 0;

  constructor(readonly capacity: number) {}

  /** Requests admitted and not yet answered. */
  get count(): number {
    return this.n;
  }

  /** Admits a request, or throws a 503. Returns its release (idempotent). */
  admit(): () => void {
    if (this.n >= this.capacity) {
      throw new HttpError(503, `the server is at capacity (${this.capacity} requests queued); retry later`, {
        'Retry-After': String(this.retryAfterS()),
      });
    }
    this.n++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.n--;
    };
  }

  /** Notes an answered request (for the Retry-After estimate). */
  answered(): void {
    const now = performance.now();
    if (this.lastDone)
      this.interval = this.interval ? 0.9 * this.interval + 0.1 * (now - this.lastDone) : now - this.lastDone;
    this.lastDone = now;
  }

  retryAfterS(): number {
    return Math.max(1, Math.ceil((this.n * this.interval) / 1000));
  }
}
