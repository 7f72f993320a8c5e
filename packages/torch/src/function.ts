// Custom autograd functions (torch.autograd.Function) with JS forward and backward. The forward
// runs without gradient recording; its outputs are recorded in the graph with a node whose
// backward calls `backward` with the output gradients (null where none) and takes one gradient
// (or null) per input. Tensors saved with ctx.save() live until the backward has run.

import { noGrad } from './autograd.js';
import { type Handle, native } from './native.js';
import { keep, tidy } from './scope.js';
import { Tensor } from './tensor.js';

export class FunctionContext {
  saved: Tensor[] = [];
  /** Keeps tensors for the backward (freed once it has run). */
  save(...ts: Tensor[]): void {
    for (const t of ts) this.saved.push(keep(t));
  }
  release(): void {
    for (const t of this.saved) t.dispose();
    this.saved = [];
  }
}

export interface CustomFunction {
  forward(ctx: FunctionContext, inputs: Tensor[]): Tensor[];
  backward(ctx: FunctionContext, grads: (Tensor | null)[]): (Tensor | null)[];
}

interface Entry {
  fn: CustomFunction;
  ctx: FunctionContext;
}
const registry = new Map<number, Entry>();
let nextId = 1;

// Hands tensors to the native side, which takes them over: a tensor that is also an input
// wrapper, or appears twice, is cloned first so that each handed-over handle is unique.
function handOver(out: (Tensor | null)[], inputs: Tensor[]): (Handle | null)[] {
  const seen = new Set<Tensor>(inputs);
  return out.map((t) => {
    if (!t) return null;
    const x = seen.has(t) ? noGrad(() => t.clone()) : t;
    seen.add(x);
    keep(x);
    return x._h;
  });
}

function handler(kind: 'forward' | 'backward', id: number, handles: (Handle | null)[]): (Handle | null)[] {
  const e = registry.get(id);
  if (!e) throw new Error(`custom function ${id}: ${kind} after its context was released (backward can run once)`);
  return tidy(() => {
    const ts = handles.map((h) => (h ? new Tensor(h) : null));
    const present = ts.filter((t): t is Tensor => t !== null);
    if (kind === 'forward') return handOver(e.fn.forward(e.ctx, present), present);
    try {
      return handOver(e.fn.backward(e.ctx, ts), present);
    } finally {
      e.ctx.release();
      registry.delete(id);
    }
  });
}
native.setFunctionHandler(handler);

/** Applies a custom function: outputs are recorded in the autograd graph with `fn.backward`. */
export function applyFunction(fn: CustomFunction, inputs: Tensor[]): Tensor[] {
  const id = nextId++;
  const ctx = new FunctionContext();
  registry.set(id, { fn, ctx });
  let outs: Tensor[];
  try {
    outs = native
      .applyFunction(
        id,
        inputs.map((t) => t._h),
      )
      .map((h) => new Tensor(h as Handle));
  } catch (err) {
    ctx.release();
    registry.delete(id);
    throw err;
  }
  if (!outs.some((t) => t.requiresGrad)) {
    // nothing recorded: no backward will come
    ctx.release();
    registry.delete(id);
  }
  return outs;
}

/** Contexts waiting for a backward (for leak checks). */
export function pendingFunctions(): number {
  return registry.size;
}
