// Module: parameters, buffers and children in registration order, with
// PyTorch's dotted names ("model.0.conv.weight"), train/eval, state dicts and dtype moves.
import { noGrad } from '../autograd.js';
import type { DType } from '../dtype.js';
import { isFloating } from '../dtype.js';
import { keep } from '../scope.js';
import type { Tensor } from '../tensor.js';

export type StateDict = Map<string, Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export abstract class Module {
  training = true;
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _modules = new Map<string, Module>();

  abstract forward(...args: never[]): unknown;

  /** Adds a trainable tensor; the module owns it (no scope frees it). */
  registerParameter(name: string, t: Tensor | null): Tensor | null {
    if (t) {
      keep(t);
      if (!t.requiresGrad && isFloating(t.dtype)) t.requiresGrad_(true);
    }
    const old = this._parameters.get(name);
    if (old && old !== t) old.dispose();
    this._parameters.set(name, t);
    return t;
  }
  registerBuffer(name: string, t: Tensor | null): Tensor | null {
    if (t) keep(t);
    const old = this._buffers.get(name);
    if (old && old !== t) old.dispose();
    this._buffers.set(name, t);
    return t;
  }
  registerModule<M extends Module>(name: string, m: M): M {
    this._modules.set(name, m);
    return m;
  }
  /** Removes a child (its tensors are not freed: the caller decides). */
  unregisterModule(name: string): void {
    this._modules.delete(name);
  }
  /** The parameter or buffer called `name` on this module (not its children). */
  param(name: string): Tensor {
    const t = this._parameters.get(name) ?? this._buffers.get(name);
    if (!t) throw new Error(`${this.constructor.name}: no parameter or buffer '${name}'`);
    return t;
  }
  hasParam(name: string): boolean {
    return !!(this._parameters.get(name) ?? this._buffers.get(name));
  }
  child(name: string): Module {
    const m = this._modules.get(name);
    if (!m) throw new Error(`${this.constructor.name}: no submodule '${name}'`);
    return m;
  }

  *namedChildren(): IterableIterator<[string, Module]> {
    yield* this._modules.entries();
  }
  *children(): IterableIterator<Module> {
    yield* this._modules.values();
  }
  /** This module and every descendant, depth first, with dotted names. */
  *namedModules(prefix = ''): IterableIterator<[string, Module]> {
    yield [prefix, this];
    for (const [n, m] of this._modules) yield* m.namedModules(prefix ? `${prefix}.${n}` : n);
  }
  *modules(): IterableIterator<Module> {
    for (const [, m] of this.namedModules()) yield m;
  }
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [p, m] of this.namedModules(prefix)) {
      for (const [n, t] of m._parameters) if (t) out.push([p ? `${p}.${n}` : n, t]);
    }
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [p, m] of this.namedModules(prefix)) {
      for (const [n, t] of m._buffers) if (t) out.push([p ? `${p}.${n}` : n, t]);
    }
    return out;
  }
  /** Number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((n, t) => n + t.numel, 0);
  }

  /**
   * Parameters and buffers by dotted name, in PyTorch's order (per module: its parameters,
   * then its buffers, then its children). The tensors are the module's own: do not dispose them.
   */
  stateDict(): StateDict {
    const sd: StateDict = new Map();
    const walk = (m: Module, prefix: string): void => {
      for (const [n, t] of m._parameters) if (t) sd.set(prefix + n, t);
      for (const [n, t] of m._buffers) if (t) sd.set(prefix + n, t);
      for (const [n, c] of m._modules) walk(c, `${prefix}${n}.`);
    };
    walk(this, '');
    return sd;
  }

  /** Copies values in (converting dtype); strict mode requires exactly the same keys. Shapes must match. */
  loadStateDict(sd: ReadonlyMap<string, Tensor>, strict = true): LoadResult {
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !sd.has(k));
    const unexpectedKeys = [...sd.keys()].filter((k) => !own.has(k));
    if (strict && (missingKeys.length || unexpectedKeys.length)) {
      throw new Error(
        `loadStateDict: keys differ (missing ${missingKeys.length}: ${missingKeys.slice(0, 5).join(', ')}; unexpected ${unexpectedKeys.length}: ${unexpectedKeys.slice(0, 5).join(', ')})`,
      );
    }
    for (const [k, t] of own) {
      const src = sd.get(k);
      if (!src) continue;
      if (src.shape.length !== t.shape.length || src.shape.some((d, i) => d !== t.shape[i])) {
        throw new Error(
          `loadStateDict: '${k}' has shape [${src.shape.join(', ')}], the module expects [${t.shape.join(', ')}]`,
        );
      }
    }
    noGrad(() => {
      for (const [k, t] of own) {
        const src = sd.get(k);
        if (src) t.copy_(src);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Converts floating parameters and buffers to dtype and/or moves everything to device. */
  to(target: DType | string, dtype?: DType): this {
    const device = target === 'cpu' || target.startsWith('cuda') ? target : undefined;
    const dt = device ? dtype : (target as DType);
    for (const m of this.modules()) {
      for (const map of [m._parameters, m._buffers]) {
        for (const [n, t] of map) {
          if (!t) continue;
          const castDtype = dt && isFloating(t.dtype) ? dt : undefined;
          if (!castDtype && (!device || device === t.device)) continue;
          const rg = t.requiresGrad;
          const moved = noGrad(() => (device ? t.to(device, castDtype ?? t.dtype) : t.to(castDtype!)));
          keep(moved);
          if (rg) moved.requiresGrad_(true);
          t.dispose();
          map.set(n, moved);
        }
      }
    }
    return this;
  }
  half(): this {
    return this.to('float16');
  }
  float(): this {
    return this.to('float32');
  }
  double(): this {
    return this.to('float64');
  }

  /** Sets .grad of every parameter to null. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }
  /** Calls fn on every module (children first, as PyTorch's apply). */
  apply(fn: (m: Module) => void): this {
    for (const c of this._modules.values()) c.apply(fn);
    fn(this);
    return this;
  }
  /** Frees every parameter and buffer now. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const t of m._parameters.values()) t?.dispose();
      for (const t of m._buffers.values()) t?.dispose();
    }
  }
}
