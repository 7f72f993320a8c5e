// Generic access to every aten op through the dispatcher: ops are looked up once
// and cached; keyword arguments are mapped to positions by the op's schema.
import { types } from 'node:util';
import { type Handle, type NativeValue, native, type OpSchema } from './native.js';
import { opId } from './registry.js';
import { Tensor } from './tensor.js';

export { opId };

const schemas = new Map<number, OpSchema>();

export function opSchema(qualified: string): OpSchema {
  const id = opId(qualified);
  let s = schemas.get(id);
  if (!s) {
    s = native.opSchema(id);
    schemas.set(id, s);
  }
  return s;
}

/** What a dispatcher call gives back, with tensor handles wrapped. */
export type OpResult = Tensor | number | boolean | string | null | OpResult[];

export function wrapResult(v: NativeValue): OpResult {
  if (Array.isArray(v)) return v.map(wrapResult);
  if (v !== null && typeof v === 'object' && types.isExternal(v)) return new Tensor(v as Handle);
  return v as OpResult;
}

type Arg = unknown;
function lower(a: Arg): unknown {
  if (a instanceof Tensor) return a._h;
  if (Array.isArray(a)) return a.map(lower);
  return a;
}

/**
 * Calls any aten op: `callOp('conv2d', [x, w, b], { stride: 2 })` or `callOp('max.dim', [x, 1])`.
 * Tensors may appear anywhere an argument or list element is a Tensor.
 */
export function callOp(qualified: string, args: Arg[] = [], kwargs?: Record<string, Arg>): OpResult {
  const id = opId(qualified);
  const positional = args.map(lower);
  if (kwargs) {
    const schema = opSchema(qualified);
    for (const [k, v] of Object.entries(kwargs)) {
      const i = schema.args.findIndex((a) => a.name === k);
      if (i < 0) throw new TypeError(`${schema.schema}: no argument named '${k}'`);
      if (i < args.length) throw new TypeError(`${schema.name}: argument '${k}' given twice`);
      while (positional.length < i) positional.push(undefined);
      positional[i] = lower(v);
    }
  }
  return wrapResult(native.call(id, ...positional));
}

/** callOp for ops known to return exactly one tensor. */
export function callTensor(qualified: string, args: Arg[] = [], kwargs?: Record<string, Arg>): Tensor {
  const r = callOp(qualified, args, kwargs);
  if (!(r instanceof Tensor)) throw new TypeError(`${qualified}: expected a tensor result`);
  return r;
}
