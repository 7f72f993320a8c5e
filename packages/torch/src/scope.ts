// Deterministic freeing of native tensors: every tensor created while a scope is
// open belongs to it and is disposed when the scope closes, except what the scope
// returns or what is explicitly kept. Node runs N-API finalizers lazily, so a
// synchronous training loop must not rely on GC to free tensor memory.
// While a scope is open, new tensors are not reported to V8 as external memory (the
// scope frees them; reports would only start GCs that free nothing); what outlives
// every scope, or is kept, is reported then, so the GC still sees unscoped memory.
import { native } from './native.js';

/** Anything that owns native memory and can be freed now. */
export interface Disposable {
  dispose(): void;
  /** Set by keep(): survives every scope until disposed by hand. */
  _kept: boolean;
  /** Called when it outlives every scope (or is kept): from now on only the GC or dispose() frees it. */
  _escape?(): void;
}

const stack: Disposable[][] = [];
let current: Disposable[] | null = null;

/** Called by every tensor constructor: registers the tensor with the open scope. */
export function track<T extends Disposable>(t: T): T {
  if (current !== null) current.push(t);
  return t;
}

/** Marks tensors as owned by the caller: no scope disposes them. */
export function keep<T>(value: T): T {
  visit(value, (d) => {
    d._kept = true;
    d._escape?.();
  });
  return value;
}

/** Makes a kept tensor scope-owned again (by the scope open now, if any). */
export function unkeep<T extends Disposable>(t: T): T {
  t._kept = false;
  return track(t);
}

function isDisposable(v: unknown): v is Disposable {
  return typeof v === 'object' && v !== null && typeof (v as Disposable).dispose === 'function' && '_kept' in v;
}

function visit(value: unknown, fn: (d: Disposable) => void, depth = 0): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  if (isDisposable(value)) {
    fn(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) visit(v, fn, depth + 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) visit(v, fn, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) visit(v, fn, depth + 1);
  }
}

function open(): Disposable[] {
  const s: Disposable[] = [];
  if (stack.length === 0) native.setExternalReporting(false);
  stack.push(s);
  current = s;
  return s;
}

function close(s: Disposable[], result: unknown): void {
  const i = stack.lastIndexOf(s);
  if (i < 0) throw new Error('scope closed twice');
  // Closing an outer scope also closes any inner one left open (e.g. by an exception).
  const closing = stack.splice(i);
  current = stack.length ? stack[stack.length - 1] : null;
  if (current === null) native.setExternalReporting(true);
  const survivors = new Set<Disposable>();
  visit(result, (d) => survivors.add(d));
  for (const sc of closing) {
    for (const t of sc) {
      if (t._kept) continue;
      if (survivors.has(t)) {
        if (current !== null) current.push(t);
        else t._escape?.();
      } else {
        t.dispose();
      }
    }
  }
}

/**
 * Runs fn in a scope: tensors created inside are disposed when it returns,
 * except those in its result (tensors, or arrays/plain objects/Maps of them) and kept ones.
 * Returned tensors move to the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  const s = open();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    close(s, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    close(s, undefined);
    throw new Error('tidy(fn): fn must be synchronous; use a Scope for async code');
  }
  close(s, result);
  return result;
}

/**
 * The same idiom for `using`: `using scope = new Scope();` disposes every tensor created
 * after it when the block ends, except those passed to scope.keep().
 */
export class Scope {
  private readonly s: Disposable[];
  private readonly saved: Disposable[] = [];
  private closed = false;
  constructor() {
    this.s = open();
  }
  /** Survive this scope (moved to the enclosing one). */
  keep<T>(value: T): T {
    visit(value, (d) => this.saved.push(d));
    return value;
  }
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    close(this.s, this.saved);
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Number of open scopes (for tests). */
export function scopeDepth(): number {
  return stack.length;
}
