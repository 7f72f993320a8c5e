// The optimizer base: parameter groups with mutable hyperparameters, per-parameter state
// tensors that the optimizer owns (kept, freed on replace/load/dispose), and state dicts
// in PyTorch's layout (parameters numbered across groups in order).

import { enableGrad, noGrad } from '../autograd.js';
import { emptyLike } from '../creation.js';
import { isFloating } from '../dtype.js';
import { keep, tidy } from '../scope.js';
import { Tensor } from '../tensor.js';

/** One parameter's optimizer state: buffers (owned by the optimizer) and counters. */
export type ParamState = Record<string, Tensor | number>;

/** A parameter group: its tensors and hyperparameters (mutable between steps, e.g. by warmup). */
export interface ParamGroup {
  params: Tensor[];
  lr: number;
  /** Set by LR schedulers: the lr their factors multiply. */
  initial_lr?: number;
}

/** The hyperparameters of a group type. */
export type Hyper<G extends ParamGroup> = Omit<G, 'params'>;

/** A group as given to a constructor or addParamGroup: tensors plus any hyperparameter overrides. */
export type ParamGroupInput<G extends ParamGroup> = { params: Tensor[] | Tensor } & Partial<Hyper<G>>;

/** A group in a state dict: hyperparameters plus parameter indices. */
export type GroupState<G extends ParamGroup = ParamGroup> = Hyper<G> & { params: number[] };

/**
 * PyTorch's optimizer state_dict layout. Tensors in `state` returned by stateDict() are the
 * optimizer's live buffers (not copies): serialize them before the next step; never dispose them.
 */
export interface OptimizerStateDict<G extends ParamGroup = ParamGroup> {
  state: Map<number, ParamState> | Record<string, ParamState>;
  paramGroups: GroupState<G>[];
}

function copyValue<V>(v: V): V {
  return (Array.isArray(v) ? [...v] : v) as V;
}

function disposeState(s: ParamState): void {
  for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
}

export abstract class Optimizer<G extends ParamGroup = ParamGroup> {
  readonly paramGroups: G[] = [];
  /** Per-parameter state, keyed by the parameter tensor. */
  readonly state = new Map<Tensor, ParamState>();
  readonly defaults: Hyper<G>;

  constructor(params: Tensor[] | ParamGroupInput<G>[], defaults: Hyper<G>) {
    this.defaults = defaults;
    if (params.length === 0) throw new Error('optimizer got an empty parameter list');
    if (params[0] instanceof Tensor) this.addParamGroup({ params: params as Tensor[] } as ParamGroupInput<G>);
    else for (const g of params as ParamGroupInput<G>[]) this.addParamGroup(g);
  }

  /** Adds a group; hyperparameters it does not set come from the optimizer's defaults. */
  addParamGroup(group: ParamGroupInput<G>): void {
    const params = group.params instanceof Tensor ? [group.params] : [...group.params];
    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) for (const p of g.params) seen.add(p);
    for (const p of params) {
      if (!(p instanceof Tensor)) throw new TypeError('optimizer can only optimize Tensors');
      if (!p.isLeaf) throw new Error("can't optimize a non-leaf Tensor");
      if (seen.has(p))
        throw new Error('some parameters appear more than once in the optimizer (within or across parameter groups)');
      seen.add(p);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.defaults)) out[k] = copyValue(v);
    for (const [k, v] of Object.entries(group)) if (k !== 'params' && v !== undefined) out[k] = copyValue(v);
    out.params = params;
    this.validateGroup(out as unknown as G);
    this.paramGroups.push(out as unknown as G);
  }

  /** Throws on invalid hyperparameters (called for every added group). */
  protected validateGroup(group: G): void {
    if (!(group.lr >= 0)) throw new RangeError(`Invalid learning rate: ${group.lr}`);
  }

  /** Clears gradients: sets them to null (default) or zeroes them in place. */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (setToNone) {
          p.grad = null;
          continue;
        }
        const grad = p.grad;
        if (grad === null) continue;
        noGrad(() => grad.zero_());
        grad.dispose();
      }
    }
  }

  /**
   * One update of every parameter that has a gradient. A closure, if given, recomputes the
   * loss (with gradients enabled) before the update and its value is returned.
   */
  step(closure?: () => number): number | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    noGrad(() =>
      tidy(() => {
        for (const group of this.paramGroups) {
          if (this.updateGroup(group)) continue;
          for (const p of group.params) {
            const grad = p.grad;
            if (grad === null) continue;
            const s = this.state.get(p) ?? {};
            this.update(p, grad, s, group);
            if (!this.state.has(p) && Object.keys(s).length > 0) this.state.set(p, s);
          }
        }
      }),
    );
    return loss;
  }

  /**
   * Updates a whole group at once (multi-tensor ops) and returns true, or returns false to have
   * update() called per parameter. Runs inside noGrad and tidy.
   */
  protected updateGroup(_group: G): boolean {
    return false;
  }

  /**
   * Updates one parameter in place. Runs inside noGrad and tidy: temporaries are freed,
   * new state tensors must be keep()-ed (use stateTensor()).
   */
  protected abstract update(param: Tensor, grad: Tensor, state: ParamState, group: G): void;

  /** The state buffer `key`, created by `init` (and kept) on first use. */
  protected stateTensor(state: ParamState, key: string, init: () => Tensor): Tensor {
    const v = state[key];
    if (v instanceof Tensor) return v;
    const t = keep(init());
    state[key] = t;
    return t;
  }

  /** PyTorch's state_dict layout; state tensors are the live buffers (see OptimizerStateDict). */
  stateDict(): OptimizerStateDict<G> & { state: Map<number, ParamState> } {
    const state = new Map<number, ParamState>();
    let index = 0;
    const paramGroups = this.paramGroups.map((g) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params') out[k] = copyValue(v);
      out.params = g.params.map((p) => {
        const s = this.state.get(p);
        if (s) state.set(index, { ...s });
        return index++;
      });
      return out as GroupState<G>;
    });
    return { state, paramGroups };
  }

  /**
   * Restores hyperparameters and state (tensors are copied, cast to each parameter's dtype and
   * device). Validates group and parameter counts and state shapes before changing anything.
   */
  loadStateDict(sd: OptimizerStateDict<G>): void {
    const groups = sd.paramGroups;
    if (groups.length !== this.paramGroups.length) {
      throw new Error(
        `loaded state dict has ${groups.length} parameter groups, the optimizer has ${this.paramGroups.length}`,
      );
    }
    const byIndex = new Map<number, Tensor>();
    groups.forEach((g, i) => {
      const mine = this.paramGroups[i].params;
      if (g.params.length !== mine.length) {
        throw new Error(
          `parameter group ${i}: loaded state dict has ${g.params.length} parameters, the optimizer has ${mine.length}`,
        );
      }
      g.params.forEach((id, j) => byIndex.set(id, mine[j]));
    });
    const entries =
      sd.state instanceof Map ? [...sd.state] : Object.entries(sd.state).map(([k, v]) => [Number(k), v] as const);
    for (const [id, s] of entries) {
      const p = byIndex.get(id);
      if (p === undefined)
        throw new Error(`loaded state dict has state for parameter ${id}, which no parameter group lists`);
      for (const [k, v] of Object.entries(s)) {
        if (v instanceof Tensor && v.ndim > 0 && v.shape.join(',') !== p.shape.join(',')) {
          throw new Error(
            `state '${k}' of parameter ${id} has shape [${v.shape.join(', ')}], the parameter has [${p.shape.join(', ')}]`,
          );
        }
      }
    }
    const next = new Map<Tensor, ParamState>();
    for (const [id, s] of entries) {
      const p = byIndex.get(id)!;
      const out: ParamState = {};
      for (const [k, v] of Object.entries(s)) out[k] = v instanceof Tensor ? copyStateTensor(k, v, p) : v;
      next.set(p, out);
    }
    groups.forEach((g, i) => {
      const mine = this.paramGroups[i] as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(g)) if (k !== 'params') mine[k] = copyValue(v);
    });
    for (const s of this.state.values()) disposeState(s);
    this.state.clear();
    for (const [p, s] of next) this.state.set(p, s);
  }

  /** Frees every state tensor (the optimizer remains usable; state restarts empty). */
  dispose(): void {
    for (const s of this.state.values()) disposeState(s);
    this.state.clear();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * A kept copy of a loaded state tensor; `step` becomes a number, floats follow the parameter: its
 * device and dtype, and its memory layout when the shapes match (a channels-last weight's momentum
 * is channels-last as if the optimizer had made it, so a resumed step computes what the first did).
 */
function copyStateTensor(key: string, v: Tensor, p: Tensor): Tensor | number {
  if (key === 'step') return v.item();
  return tidy(() => {
    const cast = v.to(p.device, isFloating(v.dtype) ? p.dtype : v.dtype);
    const sameShape = cast.dtype === p.dtype && cast.shape.join(',') === p.shape.join(',');
    return keep(sameShape ? emptyLike(p).copy_(cast) : cast.clone());
  });
}
